-- Super-admin operations: create an org for a customer, list orgs with status, plan and usage,
-- change an org's plan. (Status with a reason: api.set_org_status; moving ownership:
-- api.transfer_ownership; entitlements: functions/entitlements.sql.) See docs/tenancy.md
-- "Super-admin operations".
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- Creates an org (active, on `plan`, default `standard`) for a customer named by email: an
-- existing user becomes its owner at once; otherwise an invitation to be its owner is created for
-- that address and its token returned (shown only here; the super admin sends it). Returns
-- {org_id, status, plan, owner_user_id | invitation: {id, token, expires_at}}.
create or replace function api.admin_create_organization(name text, owner_email text, plan text default 'standard')
returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_name text := btrim(admin_create_organization.name);
  v_email text := btrim(admin_create_organization.owner_email);
  v_plan text := coalesce(admin_create_organization.plan, 'standard');
  v_org uuid;
  v_user uuid;
  v_token text;
  v_inv api.invitations;
begin
  if not internal.is_super_admin() then
    raise exception 'only the super admin creates organizations for others' using errcode = 'PT403';
  end if;
  if v_name is null or length(v_name) not between 1 and 200 then
    raise exception 'invalid organization name' using errcode = 'PT400';
  end if;
  if v_email is null or length(v_email) > 254 or v_email !~ '^[^@\s]+@[^@\s]+\.[^@\s.]+$' then
    raise exception 'invalid email' using errcode = 'PT400';
  end if;
  if not exists (select 1 from api.plans p where p.id = v_plan) or v_plan = 'pending' then
    raise exception 'unknown plan' using errcode = 'PT400', hint = 'GET /plans lists them (pending is not assignable).';
  end if;
  insert into api.organizations (name, status, plan_id, status_changed_at, status_changed_by, status_reason)
  values (v_name, 'active', v_plan, pg_catalog.now(), internal.user_id(), 'created by the super admin')
  returning id into v_org;
  select u.id into v_user from auth.users u where pg_catalog.lower(u.email) = pg_catalog.lower(v_email);
  if v_user is not null then
    insert into api.memberships (org_id, user_id, role) values (v_org, v_user, 'owner');
    return json_build_object('org_id', v_org, 'status', 'active', 'plan', v_plan, 'owner_user_id', v_user);
  end if;
  v_token := v_org::text || '.' || encode(public.gen_random_bytes(24), 'hex');
  insert into api.invitations (org_id, email, role, token_hash, invited_by)
  values (v_org, v_email, 'owner', encode(public.digest(v_token, 'sha256'), 'hex'), internal.user_id())
  returning * into v_inv;
  return json_build_object('org_id', v_org, 'status', 'active', 'plan', v_plan,
                           'invitation', json_build_object('id', v_inv.id, 'token', v_token, 'expires_at', v_inv.expires_at));
end
$$;

-- Every org with its status, plan and usage (the rows of api.org_usage), for the super admin;
-- PostgREST's filters, order and paging apply (`?status=eq.suspended&order=name`).
create or replace function api.admin_list_organizations() returns setof api.org_usage
language plpgsql stable security definer set search_path = ''
as $$
begin
  if not internal.is_super_admin() then
    raise exception 'only the super admin lists every organization' using errcode = 'PT403';
  end if;
  return query select * from api.org_usage;
end
$$;

-- Moves an org to another plan (not `pending`: that one applies by itself while an org awaits
-- approval). Super admin only. Returns {id, plan}.
create or replace function api.set_org_plan(org uuid, plan text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
begin
  if not internal.is_super_admin() then
    raise exception 'only the super admin changes an organization''s plan' using errcode = 'PT403';
  end if;
  if set_org_plan.plan is null or set_org_plan.plan = 'pending'
     or not exists (select 1 from api.plans p where p.id = set_org_plan.plan) then
    raise exception 'unknown plan' using errcode = 'PT400', hint = 'GET /plans lists them (pending is not assignable).';
  end if;
  update api.organizations o set plan_id = set_org_plan.plan where o.id = set_org_plan.org;
  if not found then
    raise exception 'organization not found' using errcode = 'PT404';
  end if;
  return json_build_object('id', set_org_plan.org, 'plan', set_org_plan.plan);
end
$$;

-- Who may call them (re-applied so PUBLIC never may and a lost grant returns).
revoke all on function api.admin_create_organization(text, text, text) from public;
grant execute on function api.admin_create_organization(text, text, text) to authenticated;
revoke all on function api.admin_list_organizations() from public;
grant execute on function api.admin_list_organizations() to authenticated;
revoke all on function api.set_org_plan(uuid, text) from public;
grant execute on function api.set_org_plan(uuid, text) to authenticated;
