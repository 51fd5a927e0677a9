-- Policies of api.projects (re-runnable: every policy of the table is dropped, then recreated).
alter table api.projects enable row level security;
alter table api.projects force row level security;

do $$
declare
  p record;
begin
  for p in select policyname from pg_catalog.pg_policies where schemaname = 'api' and tablename = 'projects' loop
    execute format('drop policy %I on api.projects', p.policyname);
  end loop;
end
$$;

-- Viewers and above read; members and above write. Suspended orgs are read-only and pending orgs
-- have a project limit (triggers org_writable, pending_limits).
create policy projects_select on api.projects for select to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]));
create policy projects_insert on api.projects for insert to authenticated
  with check (org_id = any ((select internal.user_org_ids_at('member'))::uuid[]));
create policy projects_update on api.projects for update to authenticated
  using (org_id = any ((select internal.user_org_ids_at('member'))::uuid[]))
  with check (org_id = any ((select internal.user_org_ids_at('member'))::uuid[]));
create policy projects_delete on api.projects for delete to authenticated
  using (org_id = any ((select internal.user_org_ids_at('member'))::uuid[]));

-- The tenant fence (restrictive, ANDed with every policy above): whatever they allow, only within the
-- caller's orgs (the super admin: every org). A mistake in one permissive policy cannot cross orgs.
create policy projects_org_fence on api.projects as restrictive for all to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()))
  with check (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));
