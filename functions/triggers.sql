-- Trigger functions of the tenant tables: org status and limits, the last owner, the audit log.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- Writes to a suspended org's rows, or to an org pending deletion, are refused (for everyone but
-- the platform: the super admin, and service_role through the RPCs granted to it — revoking an
-- entitlement disables the model in a suspended org too); keys never change. tg_argv: the key
-- columns besides org_id. internal.erase_user's cleanup after a deleted person
-- (`rowgate.erasing_user`: their memberships and the invitations addressed to them) passes too.
-- (A foreign key's cascade fires these triggers at the depth of the statement that caused it,
-- so they cannot tell it apart from a direct write: a superuser's plain `delete from auth.users`
-- of a member of a suspended org is refused, like any of its writes there; erase the person with
-- internal.erase_user.)
create or replace function internal.tg_org_writable() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  org uuid := case when tg_op = 'DELETE' then old.org_id else new.org_id end;
  st text;
  i integer;
begin
  if pg_catalog.current_setting('citus.version', true) is not null and internal.citus_coordinator_copy(tg_relid) then
    return null; -- Citus: the workers' placements check (functions/citus.sql)
  end if;
  select o.status into st from api.organizations o where o.id = org;
  -- No org: the org itself is being deleted (cascade).
  if found and not internal.org_writable(org) and not internal.is_platform()
     and coalesce(pg_catalog.current_setting('rowgate.erasing_user', true), '') = '' then
    raise exception 'organization is %: read-only', replace(st, '_', ' ') using errcode = 'PT403';
  end if;
  -- Keys never change (the UPDATE grants include them only so that upserts can name them).
  if tg_op = 'UPDATE' then
    if new.org_id is distinct from old.org_id then
      raise exception 'org_id cannot change' using errcode = 'PT400';
    end if;
    for i in 0 .. tg_nargs - 1 loop
      if to_jsonb(new) -> tg_argv[i] is distinct from to_jsonb(old) -> tg_argv[i] then
        raise exception '% cannot change', tg_argv[i] using errcode = 'PT400';
      end if;
    end loop;
  end if;
  return null;
end
$$;

-- The last owner can neither leave, be removed nor be demoted.
create or replace function internal.tg_keep_an_owner() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if old.role <> 'owner' or (tg_op = 'UPDATE' and new.role = 'owner' and new.org_id = old.org_id)
     or (pg_catalog.current_setting('citus.version', true) is not null and internal.citus_coordinator_copy(tg_relid)) then
    return case when tg_op = 'DELETE' then old else new end;
  end if;
  -- Serialise owner changes per org; a missing org means it is being deleted (cascade).
  perform 1 from api.organizations o where o.id = old.org_id for no key update;
  if not found then
    return old;
  end if;
  if not exists (select 1 from api.memberships m
                  where m.org_id = old.org_id and m.role = 'owner' and m.user_id <> old.user_id) then
    raise exception 'an organization must keep at least one owner'
      using errcode = 'PT409', hint = 'Make another member owner first.';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end
$$;

-- Only the super admin changes an org's status when the change comes from a request (a
-- superuser session without claims, e.g. maintenance, may too); an owner may only move it to
-- pending deletion and back (api.delete_organization, api.restore_organization, which check the
-- rest). Column privileges already keep `status` out of reach of request roles; this covers every
-- other path.
create or replace function internal.tg_org_status() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if pg_catalog.current_setting('citus.version', true) is not null and internal.citus_coordinator_copy(tg_relid) then
    return new;
  end if;
  if new.status is distinct from old.status
     and nullif(pg_catalog.current_setting('request.jwt.claims', true), '') is not null
     and not internal.is_super_admin()
     and not ((new.status = 'pending_deletion' or old.status = 'pending_deletion')
              and internal.has_org_role(new.id, 'owner') and not internal.is_api_token_request()) then
    raise exception 'only the super admin changes an organization''s status' using errcode = 'PT403';
  end if;
  if new.id is distinct from old.id then
    raise exception 'id cannot change' using errcode = 'PT400';
  end if;
  return new;
end
$$;

-- One generic audit trigger: tg_argv[0] names the org column ('' for a platform table: the entry
-- goes to the platform's nil org, which only the super admin reads), the rest the key columns.
-- Secrets never reach the log (a changed password is recorded as changed, nothing more); a
-- token's last use is not a change worth an entry. An org being purged by the maintenance job
-- (`rowgate.purging_org`) gets one PURGE entry instead of one per removed row.
create or replace function internal.tg_audit() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  o jsonb := case when tg_op <> 'INSERT' then to_jsonb(old) end;
  n jsonb := case when tg_op <> 'DELETE' then to_jsonb(new) end;
  r jsonb := coalesce(n, o);
  secret constant text[] := array['token_hash', 'encrypted_password'];
  noise constant text[] := array['last_used_at'];
  org uuid := case when tg_argv[0] = '' then internal.platform_org_id() else (r ->> tg_argv[0])::uuid end;
  key jsonb := '{}';
  diff jsonb;
  i integer;
  -- (citus.version: set only where Citus is loaded, so a single node skips the call)
  logical regclass := case when pg_catalog.current_setting('citus.version', true) is not null
                           then internal.citus_table(tg_relid) end;
  shard text;
begin
  if org::text = pg_catalog.current_setting('rowgate.purging_org', true) then
    return null;
  end if;
  -- Citus (a shard, or one placement of a reference table): one entry, written on the node that
  -- holds the org's audit shard, under the logical table's name (functions/citus.sql).
  if logical is not null then
    shard := internal.citus_local_shard('api.audit_log', org);
    if shard is null then
      return null;
    end if;
  end if;
  for i in 1 .. tg_nargs - 1 loop
    key := key || jsonb_build_object(tg_argv[i], r -> tg_argv[i]);
  end loop;
  if tg_op = 'INSERT' then
    diff := n - secret;
  elsif tg_op = 'DELETE' then
    diff := o - secret;
  else
    select jsonb_object_agg(e.key, jsonb_build_object('old', o -> e.key, 'new', e.value))
      into diff
      from jsonb_each(n) e
     where e.value is distinct from o -> e.key and e.key <> all (secret || noise);
    if n -> 'encrypted_password' is distinct from o -> 'encrypted_password' then
      diff := coalesce(diff, '{}') || '{"password": "changed"}';
    end if;
    if diff is null then
      return null; -- nothing changed
    end if;
  end if;
  if shard is not null then
    execute pg_catalog.format('insert into %s (org_id, actor_user_id, action, table_name, row_key, diff, request_id)
                               values ($1, $2, $3, $4, $5, $6, $7)', shard)
      using org, internal.user_id(), tg_op, (select c.relname::text from pg_catalog.pg_class c where c.oid = logical),
            key, diff, nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb ->> 'x-request-id';
    return null;
  end if;
  insert into api.audit_log (org_id, actor_user_id, action, table_name, row_key, diff, request_id)
  values (org, internal.user_id(), tg_op, tg_table_name, key, diff,
          nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb ->> 'x-request-id');
  return null;
end
$$;

create or replace function internal.tg_append_only() returns trigger
language plpgsql set search_path = ''
as $$
declare
  pseudonym text := nullif(pg_catalog.current_setting('rowgate.audit_redaction', true), '');
begin
  -- internal.redact_user, and nothing else, replaces a person's identifying values with their
  -- pseudonym: only the actor, key and diff change, the actor only to the pseudonym.
  if tg_op = 'UPDATE' then
    if pseudonym is not null and new.org_id = old.org_id and new.id = old.id and new.at = old.at
       and new.action = old.action and new.table_name = old.table_name
       and new.request_id is not distinct from old.request_id
       and (new.actor_user_id is not distinct from old.actor_user_id or new.actor_user_id::text = pseudonym) then
      return new;
    end if;
  end if;
  raise exception 'audit_log is append-only' using errcode = '42501';
end
$$;

-- Who may call them (as the migrations left it; re-applied so PUBLIC never may and a lost grant returns).
revoke all on function internal.tg_org_writable() from public;
revoke all on function internal.tg_keep_an_owner() from public;
revoke all on function internal.tg_org_status() from public;
revoke all on function internal.tg_audit() from public;
revoke all on function internal.tg_append_only() from public;
