-- Policies of api.plans (re-runnable: every policy of the table is dropped, then recreated).
alter table api.plans enable row level security;
alter table api.plans force row level security;

do $$
declare
  p record;
begin
  for p in select policyname from pg_catalog.pg_policies where schemaname = 'api' and tablename = 'plans' loop
    execute format('drop policy %I on api.plans', p.policyname);
  end loop;
end
$$;

-- The plans and their limits are public to everyone signed in (an org's owners see what another
-- plan would allow); only the super admin writes them. `pending` (the limits of orgs awaiting
-- approval) cannot be deleted.
create policy plans_select on api.plans for select to authenticated
  using (true);
create policy plans_insert on api.plans for insert to authenticated
  with check ((select internal.is_super_admin()));
create policy plans_update on api.plans for update to authenticated
  using ((select internal.is_super_admin()))
  with check ((select internal.is_super_admin()));
create policy plans_delete on api.plans for delete to authenticated
  using ((select internal.is_super_admin()) and id <> 'pending');
