-- Policies of api.models (re-runnable: every policy of the table is dropped, then recreated).
alter table api.models enable row level security;
alter table api.models force row level security;

do $$
declare
  p record;
begin
  for p in select policyname from pg_catalog.pg_policies where schemaname = 'api' and tablename = 'models' loop
    execute format('drop policy %I on api.models', p.policyname);
  end loop;
end
$$;

-- The global catalog: users read the models enabled for one of their orgs (the super admin reads
-- all); only the super admin writes.
create policy models_select on api.models for select to authenticated
  using (id = any ((select internal.user_model_ids())::uuid[]) or (select internal.is_super_admin()));
create policy models_insert on api.models for insert to authenticated
  with check ((select internal.is_super_admin()));
create policy models_update on api.models for update to authenticated
  using ((select internal.is_super_admin()))
  with check ((select internal.is_super_admin()));
create policy models_delete on api.models for delete to authenticated
  using ((select internal.is_super_admin()));
