-- RPCs that create organizations and change their status, and the registration caps they share.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- The bcrypt cost of new password hashes: 10 (GoTrue's), or the database setting
-- `rowgate.password_cost` (4 to 15; `alter database … set rowgate.password_cost = 12` raises it).
-- Only an operator with ALTER DATABASE sets it; requests cannot. The benchmark lowers it to 4 to
-- register 100,000 users through the API in minutes; never lower it in production.
create or replace function internal.password_cost() returns integer
language plpgsql stable set search_path = ''
as $$
declare
  v text := pg_catalog.current_setting('rowgate.password_cost', true);
begin
  if v ~ '^\s*[0-9]{1,2}\s*$' then
    return greatest(4, least(15, v::integer));
  end if;
  return 10;
end
$$;

-- Records an org created by registration (or by a signed-in user) and enforces the platform's
-- caps on orgs created pending approval: per client IP (the address the gateway resolved,
-- `request.client_ip`) and per email domain, in the last 24 hours. PT429 beyond either. Requests
-- from one IP (and one domain) are counted one after the other (advisory locks).
create or replace function internal.record_org_creation(org uuid, email text, pending boolean) returns void
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_ip text := nullif(pg_catalog.current_setting('request.client_ip', true), '');
  v_domain text := pg_catalog.lower(pg_catalog.split_part(email, '@', 2));
  s api.platform_settings;
  n integer;
begin
  if pending then
    select * into s from api.platform_settings;
    if v_ip is not null and s.pending_orgs_per_ip_per_day is not null then
      perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('rowgate.registration.ip:' || v_ip));
      select count(*) into n from auth.org_registrations r
       where r.pending and r.ip = v_ip and r.created_at > pg_catalog.now() - interval '1 day';
      if n >= s.pending_orgs_per_ip_per_day then
        raise exception 'too many organizations pending approval from this address today' using errcode = 'PT429',
          hint = format('At most %s a day per client address; try again tomorrow.', s.pending_orgs_per_ip_per_day);
      end if;
    end if;
    if s.pending_orgs_per_email_domain_per_day is not null then
      perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('rowgate.registration.domain:' || v_domain));
      select count(*) into n from auth.org_registrations r
       where r.pending and r.email_domain = v_domain and r.created_at > pg_catalog.now() - interval '1 day';
      if n >= s.pending_orgs_per_email_domain_per_day then
        raise exception 'too many organizations pending approval for this email domain today' using errcode = 'PT429',
          hint = format('At most %s a day per email domain; try again tomorrow.', s.pending_orgs_per_email_domain_per_day);
      end if;
    end if;
  end if;
  insert into auth.org_registrations (org_id, ip, email_domain, pending) values (org, v_ip, v_domain, pending);
end
$$;

-- Anyone may register: a user, an org (active or pending per the settings) and its owner. Rate
-- limited by the gateway like /auth/v1/signup (`rowgate.rate_limit = 'auth'`: the auth limiter,
-- ROWGATE_RATE_LIMIT_AUTH), and capped per client IP and email domain when the org is pending.
create or replace function api.register_organization(email text, password text, org_name text) returns json
language plpgsql volatile security definer set search_path = '' set rowgate.rate_limit = 'auth'
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
  v_status := coalesce(v_status, 'pending_approval');
  begin
    insert into auth.users (email, encrypted_password)
    values (v_email, public.crypt(register_organization.password, public.gen_salt('bf', internal.password_cost())))
    returning id into v_user;
  exception when unique_violation then
    raise exception 'registration failed' using errcode = 'PT409';
  end;
  insert into api.organizations (name, status) values (v_name, v_status) returning id into v_org;
  perform internal.record_org_creation(v_org, v_email, v_status = 'pending_approval');
  insert into api.memberships (org_id, user_id, role) values (v_org, v_user, 'owner');
  return json_build_object('user_id', v_user, 'org_id', v_org, 'status', v_status);
end
$$;

-- A signed-in user (not an API token) creates an organization and becomes its owner. Its status
-- follows api.platform_settings.auto_activate_new_orgs as for api.register_organization: active,
-- or pending approval (then the `pending` plan's limits apply, and the per-IP and per-domain caps).
-- Returns {org_id, status}.
create or replace function api.create_organization(name text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_user uuid := internal.user_id();
  v_email text;
  v_name text := btrim(create_organization.name);
  v_org uuid;
  v_status text;
begin
  if internal.is_api_token_request() then
    raise exception 'API tokens cannot create organizations' using errcode = 'PT403';
  end if;
  select u.email into v_email from auth.users u where u.id = v_user and u.disabled_at is null;
  if v_user is null or v_email is null then
    raise exception 'not signed in' using errcode = 'PT401';
  end if;
  if v_name is null or length(v_name) not between 1 and 200 then
    raise exception 'invalid organization name' using errcode = 'PT400';
  end if;
  select case when s.auto_activate_new_orgs then 'active' else 'pending_approval' end
    into v_status from api.platform_settings s;
  v_status := coalesce(v_status, 'pending_approval');
  insert into api.organizations (name, status) values (v_name, v_status) returning id into v_org;
  perform internal.record_org_creation(v_org, v_email, v_status = 'pending_approval');
  insert into api.memberships (org_id, user_id, role) values (v_org, v_user, 'owner');
  return json_build_object('org_id', v_org, 'status', v_status);
end
$$;

-- Super admin only: activate, suspend or set an org back to pending, with a reason; who and when
-- are recorded on the org (visible to its members) and in the audit log (its owners and admins).
-- An org pending deletion set to any of these is restored (its deletion cancelled).
create or replace function api.set_org_status(org uuid, status text, reason text default null) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_reason text := nullif(btrim(set_org_status.reason), '');
begin
  if not internal.is_super_admin() then
    raise exception 'only the super admin changes an organization''s status' using errcode = 'PT403';
  end if;
  if set_org_status.status is null or set_org_status.status not in ('pending_approval', 'active', 'suspended') then
    raise exception 'invalid status' using errcode = 'PT400',
      hint = 'pending_approval, active or suspended (deletion: api.delete_organization)';
  end if;
  if length(v_reason) > 500 then
    raise exception 'reason too long' using errcode = 'PT400', hint = 'At most 500 characters.';
  end if;
  update api.organizations o
     set status = set_org_status.status, status_reason = v_reason, status_changed_at = pg_catalog.now(),
         status_changed_by = internal.user_id(), purge_after = null, restore_status = null
   where o.id = set_org_status.org;
  if not found then
    raise exception 'organization not found' using errcode = 'PT404';
  end if;
  return json_build_object('id', set_org_status.org, 'status', set_org_status.status, 'reason', v_reason);
end
$$;

-- Who may call them (re-applied so PUBLIC never may and a lost grant returns).
revoke all on function internal.password_cost() from public;
revoke all on function internal.record_org_creation(uuid, text, boolean) from public;
revoke all on function api.register_organization(text,text,text) from public;
grant execute on function api.register_organization(text,text,text) to anon, authenticated;
revoke all on function api.create_organization(text) from public;
grant execute on function api.create_organization(text) to authenticated;
revoke all on function api.set_org_status(uuid,text,text) from public;
grant execute on function api.set_org_status(uuid,text,text) to authenticated;
