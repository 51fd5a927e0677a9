-- What the caller may do in an org: roles, orgs, the super-admin flag, writable orgs, entitled models.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- owner > admin > member > viewer; anything else ranks 0 (below every role).
create or replace function internal.role_rank(role text) returns integer
language sql immutable set search_path = ''
as $$
  select case role when 'owner' then 4 when 'admin' then 3 when 'member' then 2 when 'viewer' then 1 else 0 end
$$;

-- An API token never carries the platform role: it is scoped to one org.
create or replace function internal.is_super_admin() returns boolean
language plpgsql stable security definer set search_path = ''
as $$
declare
  c jsonb := internal.request_claims();
  flag boolean;
begin
  if internal.claims_api_token(c) then
    return false;
  end if;
  select u.is_super_admin into flag
    from auth.users u
   where u.id = internal.claims_sub(c) and u.disabled_at is null;
  return coalesce(flag, false);
end
$$;

-- The platform acting: the super admin, or a `service_role` request (automation the policies and
-- RPCs deliberately allow more: it has no table privileges, only the RPCs granted to it). The role
-- is the one the gateway switched to (`role` setting), never a claim alone.
create or replace function internal.is_platform() returns boolean
language plpgsql stable security definer set search_path = ''
as $$
begin
  return pg_catalog.current_setting('role', true) = 'service_role' or internal.is_super_admin();
end
$$;

-- The audit log's org for entries that belong to no org (platform settings, the catalog, plans,
-- users, sign-ins): the nil uuid, which no organization can have.
create or replace function internal.platform_org_id() returns uuid
language sql immutable set search_path = ''
as $$
  select '00000000-0000-0000-0000-000000000000'::uuid
$$;

create or replace function internal.org_role(org uuid) returns text
language plpgsql stable security definer set search_path = ''
as $$
declare
  c jsonb := internal.request_claims();
  r text;
begin
  if internal.claims_api_token(c) then
    select g.role into r from internal.api_token_grant() g where g.org_id = org;
  else
    select m.role into r
      from api.memberships m
      join auth.users u on u.id = m.user_id and u.disabled_at is null
     where m.org_id = org and m.user_id = internal.claims_sub(c);
  end if;
  return r;
end
$$;

create or replace function internal.has_org_role(org uuid, at_least text) returns boolean
language plpgsql stable security definer set search_path = ''
as $$
begin
  return internal.role_rank(at_least) > 0
     and internal.role_rank(internal.org_role(org)) >= internal.role_rank(at_least);
end
$$;

create or replace function internal.user_org_ids() returns uuid[]
language plpgsql stable security definer set search_path = ''
as $$
declare
  c jsonb := internal.request_claims();
  ids uuid[];
begin
  if internal.claims_api_token(c) then
    select coalesce(pg_catalog.array_agg(g.org_id), '{}') into ids from internal.api_token_grant() g;
  else
    select coalesce(pg_catalog.array_agg(m.org_id), '{}') into ids
      from api.memberships m
      join auth.users u on u.id = m.user_id and u.disabled_at is null
     where m.user_id = internal.claims_sub(c);
  end if;
  return ids;
end
$$;

create or replace function internal.user_org_ids_at(at_least text) returns uuid[]
language plpgsql stable security definer set search_path = ''
as $$
declare
  rank integer := internal.role_rank(at_least);
  c jsonb;
  ids uuid[];
begin
  if rank = 0 then
    return '{}';
  end if;
  c := internal.request_claims();
  if internal.claims_api_token(c) then
    select coalesce(pg_catalog.array_agg(g.org_id), '{}') into ids
      from internal.api_token_grant() g
     where internal.role_rank(g.role) >= rank;
  else
    select coalesce(pg_catalog.array_agg(m.org_id), '{}') into ids
      from api.memberships m
      join auth.users u on u.id = m.user_id and u.disabled_at is null
     where m.user_id = internal.claims_sub(c)
       and internal.role_rank(m.role) >= rank;
  end if;
  return ids;
end
$$;

-- Active, or pending approval (within the limits the triggers enforce); suspended is read-only.
create or replace function internal.org_writable(org uuid) returns boolean
language plpgsql stable security definer set search_path = ''
as $$
declare
  ok boolean;
begin
  select o.status in ('active', 'pending_approval') into ok from api.organizations o where o.id = org;
  return coalesce(ok, false);
end
$$;

-- Models enabled for one of the caller's orgs.
create or replace function internal.user_model_ids() returns uuid[]
language plpgsql stable security definer set search_path = ''
as $$
declare
  orgs uuid[] := internal.user_org_ids();
  ids uuid[];
begin
  select coalesce(pg_catalog.array_agg(distinct om.model_id), '{}') into ids
    from api.org_models om
   where om.org_id = any (orgs);
  return ids;
end
$$;

-- The email address an invitation may be matched against: the user's address, lower-cased, when
-- it counts as confirmed (`email_confirmed_at`, set by sign-up under autoconfirm or by the
-- emailed link); NULL otherwise (and for unknown or disabled users): invitations addressed to an
-- email do not match unconfirmed users.
-- Not SECURITY DEFINER and executable by nobody but its owner: only the invitation RPCs call it.
create or replace function internal.confirmed_email(uid uuid) returns text
language sql stable set search_path = ''
as $$
  select pg_catalog.lower(u.email)
    from auth.users u
   where u.id = uid and u.disabled_at is null and u.email_confirmed_at is not null
$$;

-- Who may call them (as the migrations left it; re-applied so PUBLIC never may and a lost grant returns).
revoke all on function internal.role_rank(text) from public;
grant execute on function internal.role_rank(text) to anon, authenticated, service_role;
revoke all on function internal.is_super_admin() from public;
grant execute on function internal.is_super_admin() to anon, authenticated, service_role;
revoke all on function internal.is_platform() from public;
revoke all on function internal.platform_org_id() from public;
revoke all on function internal.org_role(uuid) from public;
grant execute on function internal.org_role(uuid) to authenticated;
revoke all on function internal.has_org_role(uuid,text) from public;
grant execute on function internal.has_org_role(uuid,text) to authenticated;
revoke all on function internal.user_org_ids() from public;
grant execute on function internal.user_org_ids() to authenticated;
revoke all on function internal.user_org_ids_at(text) from public;
grant execute on function internal.user_org_ids_at(text) to authenticated;
revoke all on function internal.org_writable(uuid) from public;
grant execute on function internal.org_writable(uuid) to authenticated;
revoke all on function internal.user_model_ids() from public;
grant execute on function internal.user_model_ids() to authenticated;
revoke all on function internal.confirmed_email(uuid) from public;
