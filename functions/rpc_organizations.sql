-- RPCs that create organizations and change their status.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- Anyone may register: a user, an org (active or pending per the settings) and its owner.
create or replace function api.register_organization(email text, password text, org_name text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_email text := btrim(register_organization.email);
  v_name text := btrim(register_organization.org_name);
  v_user uuid;
  v_org uuid;
  v_status text;
begin
  if v_email is null or length(v_email) > 254 or v_email !~ '^[^@\s]+@[^@\s]+\.[^@\s.]+$' then
    raise exception 'invalid email' using errcode = 'PT400';
  end if;
  if register_organization.password is null or length(register_organization.password) < 8 then
    raise exception 'password too weak' using errcode = 'PT400', hint = 'At least 8 characters.';
  end if;
  if octet_length(register_organization.password) > 72 then
    raise exception 'password too long' using errcode = 'PT400', hint = 'At most 72 bytes.';
  end if;
  if v_name is null or length(v_name) not between 1 and 200 then
    raise exception 'invalid organization name' using errcode = 'PT400';
  end if;
  select case when s.auto_activate_new_orgs then 'active' else 'pending_approval' end
    into v_status from api.platform_settings s;
  begin
    insert into auth.users (email, encrypted_password)
    values (v_email, public.crypt(register_organization.password, public.gen_salt('bf', 10)))
    returning id into v_user;
  exception when unique_violation then
    raise exception 'registration failed' using errcode = 'PT409';
  end;
  insert into api.organizations (name, status) values (v_name, coalesce(v_status, 'pending_approval'))
  returning id into v_org;
  insert into api.memberships (org_id, user_id, role) values (v_org, v_user, 'owner');
  return json_build_object('user_id', v_user, 'org_id', v_org, 'status', v_status);
end
$$;

-- A signed-in user (not an API token) creates an organization and becomes its owner. Its status
-- follows api.platform_settings.auto_activate_new_orgs as for api.register_organization: active,
-- or pending approval (then the pending limits apply: the pending_limits trigger). Returns
-- {org_id, status}.
create or replace function api.create_organization(name text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_user uuid := internal.user_id();
  v_name text := btrim(create_organization.name);
  v_org uuid;
  v_status text;
begin
  if internal.is_api_token_request() then
    raise exception 'API tokens cannot create organizations' using errcode = 'PT403';
  end if;
  if v_user is null or not exists (select 1 from auth.users u where u.id = v_user and u.disabled_at is null) then
    raise exception 'not signed in' using errcode = 'PT401';
  end if;
  if v_name is null or length(v_name) not between 1 and 200 then
    raise exception 'invalid organization name' using errcode = 'PT400';
  end if;
  select case when s.auto_activate_new_orgs then 'active' else 'pending_approval' end
    into v_status from api.platform_settings s;
  v_status := coalesce(v_status, 'pending_approval');
  insert into api.organizations (name, status) values (v_name, v_status) returning id into v_org;
  insert into api.memberships (org_id, user_id, role) values (v_org, v_user, 'owner');
  return json_build_object('org_id', v_org, 'status', v_status);
end
$$;

-- Super admin only: activate, suspend or set an org back to pending.
create or replace function api.set_org_status(org uuid, status text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
begin
  if not internal.is_super_admin() then
    raise exception 'only the super admin changes an organization''s status' using errcode = 'PT403';
  end if;
  if set_org_status.status is null or set_org_status.status not in ('pending_approval', 'active', 'suspended') then
    raise exception 'invalid status' using errcode = 'PT400';
  end if;
  update api.organizations o set status = set_org_status.status where o.id = set_org_status.org;
  if not found then
    raise exception 'organization not found' using errcode = 'PT404';
  end if;
  return json_build_object('id', set_org_status.org, 'status', set_org_status.status);
end
$$;

-- Who may call them (as the migrations left it; re-applied so PUBLIC never may and a lost grant returns).
revoke all on function api.register_organization(text,text,text) from public;
grant execute on function api.register_organization(text,text,text) to anon, authenticated;
revoke all on function api.create_organization(text) from public;
grant execute on function api.create_organization(text) to authenticated;
revoke all on function api.set_org_status(uuid,text) from public;
grant execute on function api.set_org_status(uuid,text) to authenticated;
