-- Users and the claim helpers of SPEC §4.3/§6. Neither `auth` nor `internal` is exposed.
--
-- The helpers are SECURITY DEFINER functions owned by the role that runs `rowgate migrate`
-- (a superuser or a BYPASSRLS role): they must read memberships regardless of RLS, and the
-- tables are owned by rowgate_owner with FORCE ROW LEVEL SECURITY, so rowgate_owner could not.
-- Do not reassign them to rowgate_owner.

create extension if not exists pgcrypto with schema public;

create schema if not exists auth authorization rowgate_owner;
create schema if not exists internal authorization rowgate_owner;
revoke all on schema auth from public;
revoke all on schema internal from public;
-- Policies call the helpers as the request role, so it needs USAGE (not on auth).
grant usage on schema internal to anon, authenticated, service_role;

create table auth.users (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  encrypted_password text,
  is_super_admin boolean not null default false,
  disabled_at timestamptz,
  created_at timestamptz not null default now()
);
create unique index users_email_lower_key on auth.users (lower(email));
alter table auth.users owner to rowgate_owner;
revoke all on auth.users from public;

-- The caller: the `sub` claim as a uuid, NULL when absent, not a uuid, or the claims are not JSON.
create function internal.user_id() returns uuid
language plpgsql stable security definer set search_path = ''
as $$
declare
  sub text;
begin
  begin
    sub := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  exception when others then
    return null;
  end;
  if sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    return sub::uuid;
  end if;
  return null;
end
$$;

-- The caller is a super admin: read from auth.users (never from a claim); disabled users are not.
create function internal.is_super_admin() returns boolean
language sql stable security definer set search_path = ''
as $$
  select coalesce(
    (select u.is_super_admin from auth.users u
      where u.id = internal.user_id() and u.disabled_at is null),
    false)
$$;

-- owner > admin > member > viewer; anything else ranks 0 (below every role).
create function internal.role_rank(role text) returns integer
language sql immutable set search_path = ''
as $$
  select case role when 'owner' then 4 when 'admin' then 3 when 'member' then 2 when 'viewer' then 1 else 0 end
$$;

revoke execute on function internal.user_id(), internal.is_super_admin(), internal.role_rank(text) from public;
grant execute on function internal.user_id(), internal.is_super_admin(), internal.role_rank(text)
  to anon, authenticated, service_role;
