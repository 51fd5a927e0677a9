-- Policies of api.tasks (re-runnable: every policy of the table is dropped, then recreated).
alter table api.tasks enable row level security;
alter table api.tasks force row level security;

do $$
declare
  p record;
begin
  for p in select policyname from pg_catalog.pg_policies where schemaname = 'api' and tablename = 'tasks' loop
    execute format('drop policy %I on api.tasks', p.policyname);
  end loop;
end
$$;

-- Viewers and above read; members and above write. Suspended orgs are read-only (trigger
-- org_writable).
create policy tasks_select on api.tasks for select to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]));
create policy tasks_insert on api.tasks for insert to authenticated
  with check (org_id = any ((select internal.user_org_ids_at('member'))::uuid[]));
create policy tasks_update on api.tasks for update to authenticated
  using (org_id = any ((select internal.user_org_ids_at('member'))::uuid[]))
  with check (org_id = any ((select internal.user_org_ids_at('member'))::uuid[]));
create policy tasks_delete on api.tasks for delete to authenticated
  using (org_id = any ((select internal.user_org_ids_at('member'))::uuid[]));

-- The tenant fence (restrictive, ANDed with every policy above): whatever they allow, only within the
-- caller's orgs (the super admin: every org). A mistake in one permissive policy cannot cross orgs.
create policy tasks_org_fence on api.tasks as restrictive for all to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()))
  with check (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));
