-- Org lifecycle: deletion with a grace period, restore, and moving ownership.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- An owner (a signed-in user, not an API token) or the super admin deletes an org: it becomes
-- `pending_deletion` — read-only, restorable by them until `purge_after` (now + the platform's
-- deletion_grace_period), then removed by the maintenance job. Returns {id, status, purge_after}.
-- Anyone else gets PT403, whether or not the org exists.
create or replace function api.delete_organization(org uuid) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_org api.organizations;
  v_grace interval;
begin
  if internal.is_api_token_request() then
    raise exception 'API tokens cannot delete organizations' using errcode = 'PT403';
  end if;
  if not (internal.has_org_role(delete_organization.org, 'owner') or internal.is_super_admin()) then
    raise exception 'only owners delete an organization' using errcode = 'PT403';
  end if;
  select * into v_org from api.organizations o where o.id = delete_organization.org for update;
  if not found then
    raise exception 'organization not found' using errcode = 'PT404';
  end if;
  if v_org.status = 'pending_deletion' then
    raise exception 'organization already pending deletion' using errcode = 'PT409',
      hint = format('It will be purged after %s; api.restore_organization cancels that.', v_org.purge_after);
  end if;
  select s.deletion_grace_period into v_grace from api.platform_settings s;
  update api.organizations o
     set status = 'pending_deletion', restore_status = v_org.status,
         purge_after = pg_catalog.now() + coalesce(v_grace, interval '30 days'),
         status_reason = 'deletion requested', status_changed_at = pg_catalog.now(),
         status_changed_by = internal.user_id()
   where o.id = delete_organization.org
  returning * into v_org;
  return json_build_object('id', v_org.id, 'status', v_org.status, 'purge_after', v_org.purge_after);
end
$$;

-- Cancels a deletion within the grace period: back to the status the org had (a suspended org
-- stays suspended). Owners (not API tokens) and the super admin. Returns {id, status}.
create or replace function api.restore_organization(org uuid) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_org api.organizations;
begin
  if internal.is_api_token_request() then
    raise exception 'API tokens cannot restore organizations' using errcode = 'PT403';
  end if;
  if not (internal.has_org_role(restore_organization.org, 'owner') or internal.is_super_admin()) then
    raise exception 'only owners restore an organization' using errcode = 'PT403';
  end if;
  select * into v_org from api.organizations o where o.id = restore_organization.org for update;
  if not found then
    raise exception 'organization not found' using errcode = 'PT404';
  end if;
  if v_org.status <> 'pending_deletion' then
    raise exception 'organization is not pending deletion' using errcode = 'PT409';
  end if;
  if v_org.purge_after <= pg_catalog.now() then
    raise exception 'the grace period is over' using errcode = 'PT409',
      hint = 'The organization is purged by the next maintenance run.';
  end if;
  update api.organizations o
     set status = v_org.restore_status, restore_status = null, purge_after = null,
         status_reason = 'deletion cancelled', status_changed_at = pg_catalog.now(),
         status_changed_by = internal.user_id()
   where o.id = restore_organization.org
  returning * into v_org;
  return json_build_object('id', v_org.id, 'status', v_org.status);
end
$$;

-- Moves ownership of `org` to a user (by id, or by email for the super admin), who becomes an
-- owner (joining the org if needed); every other owner becomes an admin. Current owners and the
-- super admin may; not API tokens. Returns {org_id, owner}.
create or replace function api.transfer_ownership(org uuid, user_id uuid default null, email text default null)
returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_user uuid;
begin
  if internal.is_api_token_request() then
    raise exception 'API tokens cannot move ownership' using errcode = 'PT403';
  end if;
  if not (internal.has_org_role(transfer_ownership.org, 'owner') or internal.is_super_admin()) then
    raise exception 'only owners and the super admin move ownership' using errcode = 'PT403';
  end if;
  if (transfer_ownership.user_id is null) = (transfer_ownership.email is null) then
    raise exception 'name the new owner by user_id or by email' using errcode = 'PT400';
  end if;
  if not exists (select 1 from api.organizations o where o.id = transfer_ownership.org) then
    raise exception 'organization not found' using errcode = 'PT404';
  end if;
  if transfer_ownership.email is not null then
    -- An email names any user of the platform: only the super admin may look one up.
    if not internal.is_super_admin() then
      raise exception 'only the super admin names the new owner by email' using errcode = 'PT403';
    end if;
    select u.id into v_user from auth.users u
     where pg_catalog.lower(u.email) = pg_catalog.lower(btrim(transfer_ownership.email)) and u.disabled_at is null;
  else
    select u.id into v_user from auth.users u
     where u.id = transfer_ownership.user_id and u.disabled_at is null
       and (internal.is_super_admin()
            or exists (select 1 from api.memberships m where m.org_id = transfer_ownership.org and m.user_id = u.id));
  end if;
  if v_user is null then
    raise exception 'no such user' using errcode = 'PT404',
      hint = 'An owner moves ownership to a member of the organization.';
  end if;
  insert into api.memberships as m (org_id, user_id, role) values (transfer_ownership.org, v_user, 'owner')
  on conflict on constraint memberships_pkey do update set role = 'owner' where m.role <> 'owner';
  update api.memberships m set role = 'admin'
   where m.org_id = transfer_ownership.org and m.role = 'owner' and m.user_id <> v_user;
  return json_build_object('org_id', transfer_ownership.org, 'owner', v_user);
end
$$;

-- Who may call them (re-applied so PUBLIC never may and a lost grant returns).
revoke all on function api.delete_organization(uuid) from public;
grant execute on function api.delete_organization(uuid) to authenticated;
revoke all on function api.restore_organization(uuid) from public;
grant execute on function api.restore_organization(uuid) to authenticated;
revoke all on function api.transfer_ownership(uuid, uuid, text) from public;
grant execute on function api.transfer_ownership(uuid, uuid, text) to authenticated;
