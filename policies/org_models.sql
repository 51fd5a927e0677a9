-- Policies of api.org_models (re-runnable: every policy of the table is dropped, then recreated).
alter table api.org_models enable row level security;
alter table api.org_models force row level security;

do $$
declare
  p record;
begin
  for p in select policyname from pg_catalog.pg_policies where schemaname = 'api' and tablename = 'org_models' loop
    execute format('drop policy %I on api.org_models', p.policyname);
  end loop;
end
$$;

-- Entitlements: members read their org's; owners/admins and the super admin manage them.
create policy org_models_select on api.org_models for select to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));
create policy org_models_insert on api.org_models for insert to authenticated
  with check (org_id = any ((select internal.user_org_ids_at('admin'))::uuid[]) or (select internal.is_super_admin()));
create policy org_models_delete on api.org_models for delete to authenticated
  using (org_id = any ((select internal.user_org_ids_at('admin'))::uuid[]) or (select internal.is_super_admin()));

-- The tenant fence (restrictive, ANDed with every policy above): whatever they allow, only within the
-- caller's orgs (the super admin: every org). A mistake in one permissive policy cannot cross orgs.
create policy org_models_org_fence on api.org_models as restrictive for all to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()))
  with check (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));
