-- Roles of SPEC §4.3. Roles are cluster-wide, so each is created only if missing.
do $$
begin
  if not exists (select from pg_roles where rolname = 'rowgate_owner') then
    create role rowgate_owner nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;

-- The gateway connects as authenticator and switches to one of these per transaction.
grant anon, authenticated, service_role to authenticator;

create schema if not exists api authorization rowgate_owner;
-- Statements are prepared as authenticator before the role switch, so it needs USAGE.
grant usage on schema api to anon, authenticated, service_role, authenticator;

-- Functions are not executable by everyone unless granted.
alter default privileges for role rowgate_owner revoke execute on functions from public;
