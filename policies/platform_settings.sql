-- Policies of api.platform_settings (re-runnable: every policy of the table is dropped, then recreated).
alter table api.platform_settings enable row level security;
alter table api.platform_settings force row level security;

do $$
declare
  p record;
begin
  for p in select policyname from pg_catalog.pg_policies where schemaname = 'api' and tablename = 'platform_settings' loop
    execute format('drop policy %I on api.platform_settings', p.policyname);
  end loop;
end
$$;

-- Every signed-in user reads the settings; only the super admin changes them (no insert/delete grant).
create policy platform_settings_select on api.platform_settings for select to authenticated
  using (true);
create policy platform_settings_update on api.platform_settings for update to authenticated
  using ((select internal.is_super_admin()))
  with check ((select internal.is_super_admin()));
