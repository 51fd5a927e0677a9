-- Policies of api.org_entitlements (re-runnable: every policy of the table is dropped, then recreated).
alter table api.org_entitlements enable row level security;
alter table api.org_entitlements force row level security;

do $$
declare
  p record;
begin
  for p in select policyname from pg_catalog.pg_policies where schemaname = 'api' and tablename = 'org_entitlements' loop
    execute format('drop policy %I on api.org_entitlements', p.policyname);
  end loop;
end
$$;

-- What the platform granted an org: its members read it (owners and admins enable models among
-- it), the super admin every org's. Written only through api.grant_entitlement and
-- api.revoke_entitlement (the super admin or service_role; no write grant).
create policy org_entitlements_select on api.org_entitlements for select to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));

-- The tenant fence (restrictive, ANDed with every policy above): whatever they allow, only within the
-- caller's orgs (the super admin: every org). A mistake in one permissive policy cannot cross orgs.
create policy org_entitlements_org_fence on api.org_entitlements as restrictive for all to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()))
  with check (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));
