-- Policies of api.organizations (re-runnable: every policy of the table is dropped, then recreated).
alter table api.organizations enable row level security;
alter table api.organizations force row level security;

do $$
declare
  p record;
begin
  for p in select policyname from pg_catalog.pg_policies where schemaname = 'api' and tablename = 'organizations' loop
    execute format('drop policy %I on api.organizations', p.policyname);
  end loop;
end
$$;

-- Members read their orgs; the super admin reads all. No insert/delete grant: orgs are created by
-- api.register_organization (anonymous sign-up) and api.create_organization (a signed-in user).
create policy organizations_select on api.organizations for select to authenticated
  using (id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));
-- Owners and admins rename (only `name` is granted); status changes go through api.set_org_status
-- (trigger org_status). Suspended orgs are read-only.
create policy organizations_update on api.organizations for update to authenticated
  using (id = any ((select internal.user_org_ids_at('admin'))::uuid[]) and internal.org_writable(id))
  with check (id = any ((select internal.user_org_ids_at('admin'))::uuid[]) and internal.org_writable(id));
