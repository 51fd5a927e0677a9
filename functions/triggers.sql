-- Trigger functions of the tenant tables: org status and limits, the last owner, the audit log.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- Writes to a suspended org's rows are refused (for everyone but the super admin); keys never
-- change. tg_argv: the key columns besides org_id.
create or replace function internal.tg_org_writable() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  org uuid := case when tg_op = 'DELETE' then old.org_id else new.org_id end;
  st text;
  i integer;
begin
  select o.status into st from api.organizations o where o.id = org;
  -- No org: the org itself is being deleted (cascade).
  if found and not internal.org_writable(org) and not internal.is_super_admin() then
    raise exception 'organization is %: read-only', st using errcode = 'PT403';
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

-- A pending org works within the platform limits (members, projects). Runs after the row is in,
-- so the count includes it; the org row is locked first, so concurrent inserts are counted one
-- after the other (each statement of this function takes a fresh snapshot).
create or replace function internal.tg_pending_limits() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  st text;
  n integer;
  max_n integer;
begin
  select o.status into st from api.organizations o where o.id = new.org_id for no key update;
  if st is distinct from 'pending_approval' then
    return null;
  end if;
  if tg_table_name = 'memberships' then
    select s.pending_org_max_users into max_n from api.platform_settings s;
    select count(*) into n from api.memberships m where m.org_id = new.org_id;
  else
    select s.pending_org_max_projects into max_n from api.platform_settings s;
    select count(*) into n from api.projects p where p.org_id = new.org_id;
  end if;
  if n > max_n then
    raise exception 'organization pending approval: at most % %', max_n, tg_table_name
      using errcode = 'PT403', hint = 'An administrator must approve the organization first.';
  end if;
  return null;
end
$$;

-- The last owner can neither leave, be removed nor be demoted.
create or replace function internal.tg_keep_an_owner() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if old.role <> 'owner' or (tg_op = 'UPDATE' and new.role = 'owner' and new.org_id = old.org_id) then
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
-- superuser session without claims, e.g. maintenance, may too). Column privileges already keep
-- `status` out of reach of request roles; this covers every other path.
create or replace function internal.tg_org_status() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.status is distinct from old.status
     and nullif(pg_catalog.current_setting('request.jwt.claims', true), '') is not null
     and not internal.is_super_admin() then
    raise exception 'only the super admin changes an organization''s status' using errcode = 'PT403';
  end if;
  if new.id is distinct from old.id then
    raise exception 'id cannot change' using errcode = 'PT400';
  end if;
  return new;
end
$$;

-- One generic audit trigger: tg_argv[0] names the org column, the rest the key columns.
create or replace function internal.tg_audit() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  o jsonb := case when tg_op <> 'INSERT' then to_jsonb(old) end;
  n jsonb := case when tg_op <> 'DELETE' then to_jsonb(new) end;
  r jsonb := coalesce(n, o);
  key jsonb := '{}';
  diff jsonb;
  i integer;
begin
  for i in 1 .. tg_nargs - 1 loop
    key := key || jsonb_build_object(tg_argv[i], r -> tg_argv[i]);
  end loop;
  if tg_op = 'INSERT' then
    diff := n - 'token_hash';
  elsif tg_op = 'DELETE' then
    diff := o - 'token_hash';
  else
    select jsonb_object_agg(e.key, jsonb_build_object('old', o -> e.key, 'new', e.value))
      into diff
      from jsonb_each(n) e
     where e.value is distinct from o -> e.key and e.key <> 'token_hash';
    if diff is null then
      return null; -- nothing changed
    end if;
  end if;
  insert into api.audit_log (org_id, actor_user_id, action, table_name, row_key, diff, request_id)
  values ((r ->> tg_argv[0])::uuid, internal.user_id(), tg_op, tg_table_name, key, diff,
          nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb ->> 'x-request-id');
  return null;
end
$$;

create or replace function internal.tg_append_only() returns trigger
language plpgsql set search_path = ''
as $$
begin
  raise exception 'audit_log is append-only' using errcode = '42501';
end
$$;

-- Who may call them (as the migrations left it; re-applied so PUBLIC never may and a lost grant returns).
revoke all on function internal.tg_org_writable() from public;
revoke all on function internal.tg_pending_limits() from public;
revoke all on function internal.tg_keep_an_owner() from public;
revoke all on function internal.tg_org_status() from public;
revoke all on function internal.tg_audit() from public;
revoke all on function internal.tg_append_only() from public;
