-- Entitlements controlled by the platform: granting and revoking catalog items, the access check,
-- and the member emails the access report shows. See docs/tenancy.md "Entitlements".
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- The platform (the super admin, or service_role: billing automation) entitles an org to a
-- catalog item, optionally until `expires_at` (granting again replaces the expiry). Owners and
-- admins then enable it (POST /org_models) or not. Returns the entitlement.
create or replace function api.grant_entitlement(org uuid, model_id uuid, expires_at timestamptz default null)
returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_row api.org_entitlements;
begin
  if not internal.is_platform() then
    raise exception 'only the platform grants entitlements' using errcode = 'PT403',
      hint = 'The super admin or a service_role token; org admins enable what their org is entitled to.';
  end if;
  if grant_entitlement.expires_at is not null and grant_entitlement.expires_at <= pg_catalog.now() then
    raise exception 'expires_at must be in the future' using errcode = 'PT400';
  end if;
  if not exists (select 1 from api.organizations o where o.id = grant_entitlement.org) then
    raise exception 'organization not found' using errcode = 'PT404';
  end if;
  if not exists (select 1 from api.models m where m.id = grant_entitlement.model_id) then
    raise exception 'model not found' using errcode = 'PT404';
  end if;
  insert into api.org_entitlements as e (org_id, model_id, granted_by, expires_at)
  values (grant_entitlement.org, grant_entitlement.model_id, internal.user_id(), grant_entitlement.expires_at)
  on conflict on constraint org_entitlements_pkey
  do update set expires_at = excluded.expires_at, granted_by = excluded.granted_by, granted_at = pg_catalog.now()
  returning * into v_row;
  return pg_catalog.to_json(v_row);
end
$$;

-- Takes an entitlement back (the org's enabled copy goes with it). PT404 when there was none.
create or replace function api.revoke_entitlement(org uuid, model_id uuid) returns json
language plpgsql volatile security definer set search_path = ''
as $$
begin
  if not internal.is_platform() then
    raise exception 'only the platform revokes entitlements' using errcode = 'PT403';
  end if;
  delete from api.org_entitlements e
   where e.org_id = revoke_entitlement.org and e.model_id = revoke_entitlement.model_id;
  if not found then
    raise exception 'entitlement not found' using errcode = 'PT404';
  end if;
  return json_build_object('org_id', revoke_entitlement.org, 'model_id', revoke_entitlement.model_id);
end
$$;

-- Whether the caller may use catalog item `model_id` now: a member (any role; an API token: its
-- org) of an org that is active or pending approval, entitled to it (not expired) and having it
-- enabled. The super admin has no access of their own. One index lookup per join (memberships by
-- user, org_models and org_entitlements by key): docs/tenancy.md gives the EXPLAIN ANALYZE at
-- 10,000 orgs.
create or replace function internal.has_model_access(model_id uuid) returns boolean
language plpgsql stable security definer set search_path = ''
as $$
declare
  c jsonb := internal.request_claims();
  ok boolean;
begin
  if internal.claims_api_token(c) then
    select exists (
      select 1 from internal.api_token_grant() g
        join api.org_models om on om.org_id = g.org_id and om.model_id = has_model_access.model_id
        join api.org_entitlements e on e.org_id = om.org_id and e.model_id = om.model_id
        join api.organizations o on o.id = om.org_id
       where (e.expires_at is null or e.expires_at > pg_catalog.now())
         and o.status in ('active', 'pending_approval')) into ok;
  else
    select exists (
      select 1 from api.memberships m
        join auth.users u on u.id = m.user_id and u.disabled_at is null
        join api.org_models om on om.org_id = m.org_id and om.model_id = has_model_access.model_id
        join api.org_entitlements e on e.org_id = om.org_id and e.model_id = om.model_id
        join api.organizations o on o.id = om.org_id
       where m.user_id = internal.claims_sub(c)
         and (e.expires_at is null or e.expires_at > pg_catalog.now())
         and o.status in ('active', 'pending_approval')) into ok;
  end if;
  return ok;
end
$$;

-- For clients: GET /rpc/has_model_access?model_id=… → true / false.
create or replace function api.has_model_access(model_id uuid) returns boolean
language plpgsql stable security definer set search_path = ''
as $$
begin
  return internal.has_model_access(has_model_access.model_id);
end
$$;

-- The email of an enabled member of `org`, for the caller who may see it: an owner or admin of
-- the org, or the super admin; NULL otherwise (and for disabled users).
create or replace function internal.member_email(org uuid, uid uuid) returns text
language plpgsql stable security definer set search_path = ''
as $$
declare
  v text;
begin
  if not (internal.has_org_role(org, 'admin') or internal.is_super_admin()) then
    return null;
  end if;
  select u.email into v
    from api.memberships m join auth.users u on u.id = m.user_id and u.disabled_at is null
   where m.org_id = org and m.user_id = uid;
  return v;
end
$$;

-- Who may call them (re-applied so PUBLIC never may and a lost grant returns).
revoke all on function api.grant_entitlement(uuid, uuid, timestamptz) from public;
grant execute on function api.grant_entitlement(uuid, uuid, timestamptz) to authenticated, service_role;
revoke all on function api.revoke_entitlement(uuid, uuid) from public;
grant execute on function api.revoke_entitlement(uuid, uuid) to authenticated, service_role;
revoke all on function internal.has_model_access(uuid) from public;
grant execute on function internal.has_model_access(uuid) to authenticated;
revoke all on function api.has_model_access(uuid) from public;
grant execute on function api.has_model_access(uuid) to authenticated;
revoke all on function internal.member_email(uuid, uuid) from public;
grant execute on function internal.member_email(uuid, uuid) to authenticated;
