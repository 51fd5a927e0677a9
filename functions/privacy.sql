-- Data export and erasure (GDPR): a person's data and an org's data set as one JSON document each,
-- streamed in pieces; deleting a person, and the one redaction of the audit log that goes with it.
-- See docs/tenancy.md "Export and erasure".
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- A JSON array of the rows `query` returns (each one JSON text; `$1` is `arg`), in pieces of 500
-- rows: the export functions return the pieces of their document as rows, and the gateway sends
-- each on as it arrives (`rowgate.stream`), so a large export is never held whole in its memory.
create or replace function internal.json_array_pieces(query text, arg uuid) returns setof text
language plpgsql stable set search_path = ''
as $$
declare
  parts text[] := '{}';
  j text;
  sep text := '';
begin
  for j in execute query using arg loop
    parts := parts || j;
    if pg_catalog.cardinality(parts) >= 500 then
      return next sep || case when sep = '' then '[' else '' end || pg_catalog.array_to_string(parts, ',');
      sep := ',';
      parts := '{}';
    end if;
  end loop;
  return next case when sep = '' then '[' || pg_catalog.array_to_string(parts, ',') || ']'
                   when pg_catalog.cardinality(parts) = 0 then ']'
                   else ',' || pg_catalog.array_to_string(parts, ',') || ']' end;
end
$$;

-- GET /rpc/export_my_data: everything stored about the caller, as one JSON object: the profile,
-- memberships, sessions (metadata), API tokens they created (metadata, never a token or hash),
-- invitations they sent or accepted, the rows they created (still existing, in orgs they still
-- belong to: found by the audit log's INSERT entries), and every audit entry they caused.
create or replace function api.export_my_data() returns setof text
language plpgsql stable security definer set search_path = '' set rowgate.stream = 'json'
as $$
declare
  me uuid := internal.user_id();
  u auth.users;
begin
  if internal.is_api_token_request() then
    raise exception 'API tokens cannot export a person''s data' using errcode = 'PT403';
  end if;
  select * into u from auth.users x where x.id = me and x.disabled_at is null;
  if not found then
    raise exception 'not signed in' using errcode = 'PT401';
  end if;
  return next '{"exported_at":' || pg_catalog.to_json(pg_catalog.now())::text
    || ',"user":' || json_build_object('id', u.id, 'email', u.email, 'is_super_admin', u.is_super_admin,
                                       'created_at', u.created_at)::text;
  return next ',"memberships":' || coalesce((
    select json_agg(json_build_object('org_id', m.org_id, 'organization', o.name, 'role', m.role,
                                      'joined_at', m.created_at) order by m.created_at, m.org_id)
      from api.memberships m join api.organizations o on o.id = m.org_id where m.user_id = me), '[]')::text;
  return next ',"sessions":' || coalesce((
    select json_agg(json_build_object('id', s.id, 'created_at', s.created_at, 'refreshed_at', s.refreshed_at,
                                      'revoked_at', s.revoked_at) order by s.created_at, s.id)
      from auth.sessions s where s.user_id = me), '[]')::text;
  -- Sign-in identities (OAuth) and MFA factors (never a secret): functions/auth_oauth.sql, auth_mfa.sql.
  return next ',"identities":' || coalesce((
    select json_agg(json_build_object('provider', i.provider, 'provider_id', i.provider_id, 'email', i.email,
                                      'identity_data', i.identity_data, 'created_at', i.created_at,
                                      'last_sign_in_at', i.last_sign_in_at) order by i.created_at, i.id)
      from auth.identities i where i.user_id = me), '[]')::text;
  return next ',"mfa_factors":' || coalesce((
    select json_agg(json_build_object('id', f.id, 'friendly_name', f.friendly_name, 'factor_type', f.factor_type,
                                      'status', f.status, 'created_at', f.created_at) order by f.created_at, f.id)
      from auth.mfa_factors f where f.user_id = me), '[]')::text;
  return next ',"api_tokens":' || coalesce((
    select json_agg(json_build_object('id', t.id, 'org_id', t.org_id, 'name', t.name, 'role', t.role,
                                      'created_at', t.created_at, 'expires_at', t.expires_at,
                                      'last_used_at', t.last_used_at, 'revoked_at', t.revoked_at)
                    order by t.created_at, t.id)
      from auth.api_tokens t where t.created_by = me), '[]')::text;
  return next ',"invitations":' || coalesce((
    select json_agg(to_jsonb(i) - 'token_hash' order by i.created_at, i.id)
      from api.invitations i where i.invited_by = me or i.accepted_by = me), '[]')::text;
  return next ',"created_rows":{"projects":';
  return query select * from internal.json_array_pieces(
    $q$select to_jsonb(p)::text from api.audit_log a
         join api.projects p on p.org_id = a.org_id and p.id = (a.row_key ->> 'id')::uuid
        where a.actor_user_id = $1 and a.table_name = 'projects' and a.action = 'INSERT'
          and exists (select 1 from api.memberships m where m.org_id = p.org_id and m.user_id = $1)
        order by a.at, a.id$q$, me);
  return next ',"tasks":';
  return query select * from internal.json_array_pieces(
    $q$select to_jsonb(t)::text from api.audit_log a
         join api.tasks t on t.org_id = a.org_id and t.id = (a.row_key ->> 'id')::uuid
        where a.actor_user_id = $1 and a.table_name = 'tasks' and a.action = 'INSERT'
          and exists (select 1 from api.memberships m where m.org_id = t.org_id and m.user_id = $1)
        order by a.at, a.id$q$, me);
  return next '},"audit_log":';
  return query select * from internal.json_array_pieces(
    $q$select to_jsonb(a)::text from api.audit_log a where a.actor_user_id = $1 order by a.at, a.id$q$, me);
  return next '}';
end
$$;

-- GET /rpc/export_org?org_id=…: the org's whole data set as one JSON object — the org, its plan
-- and usage, members (with their email), invitations (never a token hash), projects, tasks,
-- entitlements, enabled models, API tokens (metadata) and its audit log. Its owners (an API token
-- with the owner ceiling too) and the super admin, who is otherwise never shown a tenant's
-- business rows (docs/tenancy.md); a super admin's export is written to PostgreSQL's log.
create or replace function api.export_org(org_id uuid) returns setof text
language plpgsql stable security definer set search_path = '' set rowgate.stream = 'json'
as $$
declare
  v_org uuid := export_org.org_id;
  o api.organizations;
begin
  if not (internal.org_role(v_org) is not distinct from 'owner' or internal.is_super_admin()) then
    raise exception 'only owners export an organization' using errcode = 'PT403';
  end if;
  select * into o from api.organizations x where x.id = v_org;
  if not found then
    raise exception 'organization not found' using errcode = 'PT404';
  end if;
  if internal.org_role(v_org) is distinct from 'owner' then
    raise log 'rowgate: export_org % by super admin %', v_org, internal.user_id();
  end if;
  return next '{"exported_at":' || pg_catalog.to_json(pg_catalog.now())::text
    || ',"organization":' || pg_catalog.to_json(o)::text
    || ',"plan":' || coalesce((select pg_catalog.to_json(p) from api.plans p where p.id = o.plan_id), 'null')::text
    || ',"usage":' || coalesce((select json_object_agg(u.counter, u.used) from api.usage_counters u
                                 where u.org_id = v_org), '{}')::text
    || ',"members":' || coalesce((
         select json_agg(json_build_object('user_id', m.user_id, 'email', x.email, 'role', m.role,
                                           'joined_at', m.created_at) order by m.created_at, m.user_id)
           from api.memberships m join auth.users x on x.id = m.user_id where m.org_id = v_org), '[]')::text
    || ',"invitations":' || coalesce((
         select json_agg(to_jsonb(i) - 'token_hash' order by i.created_at, i.id)
           from api.invitations i where i.org_id = v_org), '[]')::text
    || ',"entitlements":' || coalesce((
         select json_agg(to_jsonb(e) order by e.model_id) from api.org_entitlements e where e.org_id = v_org), '[]')::text
    || ',"org_models":' || coalesce((
         select json_agg(to_jsonb(m) order by m.model_id) from api.org_models m where m.org_id = v_org), '[]')::text
    || ',"api_tokens":' || coalesce((
         select json_agg(to_jsonb(t) - 'token_hash' order by t.created_at, t.id)
           from auth.api_tokens t where t.org_id = v_org), '[]')::text;
  return next ',"projects":';
  return query select * from internal.json_array_pieces(
    $q$select to_jsonb(p)::text from api.projects p where p.org_id = $1 order by p.id$q$, v_org);
  return next ',"tasks":';
  return query select * from internal.json_array_pieces(
    $q$select to_jsonb(t)::text from api.tasks t where t.org_id = $1 order by t.id$q$, v_org);
  return next ',"audit_log":';
  return query select * from internal.json_array_pieces(
    $q$select to_jsonb(a)::text from api.audit_log a where a.org_id = $1 order by a.at, a.id$q$, v_org);
  return next '}';
end
$$;

-- `text` as it appears inside a JSON string, as a case-insensitive regular expression.
create or replace function internal.json_text_pattern(value text) returns text
language sql immutable set search_path = ''
as $$
  select pg_catalog.regexp_replace(
           pg_catalog.substr(pg_catalog.to_json(value)::text, 2, pg_catalog.length(pg_catalog.to_json(value)::text) - 2),
           '([.\\+*?\[^\]$(){}=!<>|:#/-])', '\\\1', 'g')
$$;

-- The one way to touch the audit log: a deleted person's identifying values (their user id and
-- email, wherever they appear; the client address of their own sign-ins) become a pseudonym, the
-- same in every entry, so the log's chain of events stays whole and readable ("this person did
-- X, then Y") without naming them. The redaction is itself an entry (REDACT: the pseudonym, how
-- many entries, why). Returns the number of entries redacted. Called for every deleted user by
-- the trigger `redact` on auth.users.
create or replace function internal.redact_user(uid uuid, email text, reason text) returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  p uuid := public.gen_random_uuid();
  id_pattern text := uid::text;
  email_pattern text := internal.json_text_pattern(email);
  n bigint;
begin
  perform internal.set_local('rowgate.audit_redaction', p::text);
  update api.audit_log a
     set actor_user_id = case when a.actor_user_id = uid then p else a.actor_user_id end,
         row_key = pg_catalog.regexp_replace(pg_catalog.replace(a.row_key::text, id_pattern, p::text),
                                             email_pattern, p::text, 'gi')::jsonb,
         diff = case when a.diff is null then null
                     else pg_catalog.regexp_replace(pg_catalog.replace(a.diff::text, id_pattern, p::text),
                                                    email_pattern, p::text, 'gi')::jsonb
                          - case when a.actor_user_id = uid and a.action like 'SIGN%' then 'ip' else '' end
                end
   where a.actor_user_id = uid
      or pg_catalog.strpos(a.row_key::text, id_pattern) > 0 or a.row_key::text ~* email_pattern
      or pg_catalog.strpos(a.diff::text, id_pattern) > 0 or a.diff::text ~* email_pattern;
  get diagnostics n = row_count;
  perform internal.set_local('rowgate.audit_redaction', '');
  -- For the caller that deleted the user (internal.erase_user reports it).
  perform internal.set_local('rowgate.redacted_entries', n::text);
  insert into api.audit_log (org_id, actor_user_id, action, table_name, row_key, diff, request_id)
  values (internal.platform_org_id(),
          case when internal.user_id() is not distinct from uid then p else internal.user_id() end,
          'REDACT', 'users', json_build_object('pseudonym', p)::jsonb,
          json_build_object('entries', n, 'reason', reason)::jsonb,
          nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb ->> 'x-request-id');
  return n;
end
$$;

-- Every deleted user, however deleted (the deferred trigger `redact` on auth.users, at the end
-- of the deleting transaction): their identifying values leave the audit log. On Citus, where
-- auth.users is a reference table and the trigger fires on every placement, only the
-- coordinator's copy acts (functions/citus.sql): once, from the node that runs the transaction,
-- whose redaction reaches every audit shard; the workers' copies fire as they commit and do nothing.
create or replace function internal.tg_redact_user() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if pg_catalog.current_setting('citus.version', true) is not null and internal.citus_table(tg_relid) is not null
     and not internal.citus_coordinator_copy(tg_relid) then
    return null;
  end if;
  perform internal.redact_user(old.id, old.email,
                               coalesce(nullif(pg_catalog.current_setting('rowgate.erasure_reason', true), ''), 'user deleted'));
  return null;
end
$$;

-- Erases a person: refuses while they are the last owner of an org (PT409, the orgs named) or the
-- last super admin; removes the invitations addressed to their email and their failed sign-ins;
-- deletes the user, which removes at once their sessions, refresh tokens, API tokens and
-- memberships (their tasks become unassigned; invitations they sent, entitlements they granted
-- and status changes they made keep no reference to them); then redacts the audit log. Returns
-- {user_id, redacted_entries}.
create or replace function internal.erase_user(uid uuid, reason text) returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  u auth.users;
  orgs uuid[];
  n bigint;
  mode text;
  copy text;
begin
  select * into u from auth.users x where x.id = uid for update;
  if not found then
    raise exception 'user not found' using errcode = 'PT404';
  end if;
  select pg_catalog.array_agg(m.org_id order by m.org_id) into orgs
    from api.memberships m
   where m.user_id = uid and m.role = 'owner'
     and not exists (select 1 from api.memberships o where o.org_id = m.org_id and o.role = 'owner' and o.user_id <> uid);
  if orgs is not null then
    raise exception 'the last owner of an organization cannot be deleted' using errcode = 'PT409',
      detail = 'organizations: ' || pg_catalog.array_to_string(orgs, ', '),
      hint = 'Make another member owner first (api.transfer_ownership), or delete the organization and wait for its purge.';
  end if;
  if u.is_super_admin and not exists (select 1 from auth.users x
                                       where x.is_super_admin and x.disabled_at is null and x.id <> uid) then
    raise exception 'the last super admin cannot be deleted' using errcode = 'PT409',
      hint = 'Make another user super admin first.';
  end if;
  -- Citus: the invitations' multi-shard delete, then the user's (a reference table), in one
  -- transaction: one shard connection at a time (Citus refuses a reference table's DML after a
  -- parallel one); the caller's mode again afterwards.
  if pg_catalog.current_setting('citus.version', true) is not null then
    mode := pg_catalog.current_setting('citus.multi_shard_modify_mode');
    perform pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
  end if;
  -- Cleaning up after a person is no tenant's write: allowed in suspended orgs too.
  perform internal.set_local('rowgate.erasing_user', uid::text);
  delete from api.invitations i where i.accepted_at is null and pg_catalog.lower(i.email) = pg_catalog.lower(u.email);
  delete from auth.login_failures f where f.key = 'account:' || pg_catalog.lower(u.email);
  delete from auth.rate_events e
   where e.key in ('mail:' || pg_catalog.lower(u.email), 'code:' || pg_catalog.lower(u.email));
  -- The trigger `redact` pseudonymises the audit log, with this reason.
  perform internal.set_local('rowgate.erasure_reason', reason);
  delete from auth.users x where x.id = uid;
  -- Run the (deferred) redaction now, then defer it again for the rest of the transaction
  -- (another deletion's cascades must come before its redaction too).
  set constraints auth.redact immediate;
  set constraints auth.redact deferred;
  -- Citus: the trigger that acts is the one on the coordinator's copy of auth.users, named
  -- after its shard (`redact_102008`; tg_redact_user).
  if mode is not null then
    execute 'select ''redact_'' || p.shardid from pg_catalog.pg_dist_shard s
               join pg_catalog.pg_dist_placement p on p.shardid = s.shardid
               join pg_catalog.pg_dist_local_group g on g.groupid = p.groupid
              where s.logicalrelid = ''auth.users''::regclass'
      into copy;
    if copy is not null then
      execute pg_catalog.format('set constraints auth.%I immediate', copy);
      execute pg_catalog.format('set constraints auth.%I deferred', copy);
    end if;
  end if;
  perform internal.set_local('rowgate.erasing_user', '');
  perform internal.set_local('rowgate.erasure_reason', '');
  if mode is not null then
    perform pg_catalog.set_config('citus.multi_shard_modify_mode', mode, true);
  end if;
  n := nullif(pg_catalog.current_setting('rowgate.redacted_entries', true), '')::bigint;
  return jsonb_build_object('user_id', uid, 'redacted_entries', n);
end
$$;

-- POST /rpc/delete_my_account {"password": "…"}: the signed-in user deletes their own account,
-- re-authenticating with their current password (PT403 when wrong; rate limited by the gateway's
-- auth limiter like sign-in). Not for API tokens. See internal.erase_user.
create or replace function api.delete_my_account(password text) returns json
language plpgsql volatile security definer set search_path = '' set rowgate.rate_limit = 'auth'
as $$
declare
  me uuid := internal.user_id();
  u auth.users;
begin
  if internal.is_api_token_request() then
    raise exception 'API tokens cannot delete an account' using errcode = 'PT403';
  end if;
  select * into u from auth.users x where x.id = me and x.disabled_at is null;
  if not found then
    raise exception 'not signed in' using errcode = 'PT401';
  end if;
  if u.encrypted_password is null or delete_my_account.password is null
     or public.crypt(delete_my_account.password, u.encrypted_password) <> u.encrypted_password then
    raise exception 'password incorrect' using errcode = 'PT403',
      hint = 'Deleting an account needs its current password.';
  end if;
  return internal.erase_user(me, 'deleted by the user')::json;
end
$$;

-- Who may call them (re-applied so PUBLIC never may and a lost grant returns).
revoke all on function internal.json_array_pieces(text, uuid) from public;
revoke all on function api.export_my_data() from public;
grant execute on function api.export_my_data() to authenticated;
revoke all on function api.export_org(uuid) from public;
grant execute on function api.export_org(uuid) to authenticated;
revoke all on function internal.json_text_pattern(text) from public;
revoke all on function internal.redact_user(uuid, text, text) from public;
revoke all on function internal.tg_redact_user() from public;
revoke all on function internal.erase_user(uuid, text) from public;
revoke all on function api.delete_my_account(text) from public;
grant execute on function api.delete_my_account(text) to authenticated;
