-- Audit everything that changes a tenant or the platform (issue 17 point 6). The trigger function
-- internal.tg_audit (functions/triggers.sql) now records platform tables too: their entries carry
-- the nil uuid as org_id (the platform's "org", which no org can have: organizations_not_platform),
-- so the log's restrictive fence shows them to the super admin only. Sign-ins, sign-in failures
-- and sign-outs are written by auth.login and auth.logout; the one redaction of the log (erasure
-- of a person) by internal.redact_user (functions/privacy.sql).

alter table api.audit_log drop constraint audit_log_action_check;
alter table api.audit_log add constraint audit_log_action_check
  check (action in ('INSERT', 'UPDATE', 'DELETE', 'SIGN_IN', 'SIGN_IN_FAILED', 'SIGN_OUT', 'REDACT', 'PURGE'));
-- Export and erasure look a person's entries up.
create index audit_log_actor_user_id_idx on api.audit_log (actor_user_id);

-- tg_argv: the org column ('' for a platform table), then the key columns.
create trigger audit after insert or update or delete on api.platform_settings
  for each row execute function internal.tg_audit('', 'id');
create trigger audit after insert or update or delete on api.models
  for each row execute function internal.tg_audit('', 'id');
create trigger audit after insert or update or delete on api.plans
  for each row execute function internal.tg_audit('', 'id');
create trigger audit after insert or update or delete on api.org_entitlements
  for each row execute function internal.tg_audit('org_id', 'org_id', 'model_id');
create trigger audit after insert or update or delete on auth.api_tokens
  for each row execute function internal.tg_audit('org_id', 'org_id', 'id');
create trigger audit after insert or update or delete on auth.users
  for each row execute function internal.tg_audit('', 'id');
