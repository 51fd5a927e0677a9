-- Erasure (issue 17 point 2): a user deleted in any way — DELETE /auth/v1/admin/users/{id},
-- api.delete_my_account, or a plain `delete from auth.users` in SQL — leaves no id or email of
-- theirs in the audit log: this trigger hands every deleted user to internal.redact_user (the one
-- function that may touch the log). The function lives in functions/privacy.sql; created here as a
-- stub because the trigger needs it to exist.

create function internal.tg_redact_user() returns trigger
language plpgsql security definer set search_path = '' as $$ begin return null; end $$;
revoke all on function internal.tg_redact_user() from public;

-- Deferred: it runs once the deleting transaction has done everything else (the foreign keys'
-- cascades and theirs: a deleted member's tasks unassigned, and their audit entries), so nothing
-- written later in the transaction names the person. internal.erase_user runs it at once
-- (`set constraints auth.redact immediate`) to report what it redacted.
create constraint trigger redact after delete on auth.users deferrable initially deferred
  for each row execute function internal.tg_redact_user();
