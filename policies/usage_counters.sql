-- Policies of api.usage_counters (re-runnable: every policy of the table is dropped, then recreated).
alter table api.usage_counters enable row level security;
alter table api.usage_counters force row level security;

do $$
declare
  p record;
begin
  for p in select policyname from pg_catalog.pg_policies where schemaname = 'api' and tablename = 'usage_counters' loop
    execute format('drop policy %I on api.usage_counters', p.policyname);
  end loop;
end
$$;

-- Members read their org's usage (api.org_usage reads it), the super admin every org's. Nobody
-- writes it but the counting triggers and internal.add_usage (no write grant).
create policy usage_counters_select on api.usage_counters for select to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));

-- The tenant fence (restrictive, ANDed with every policy above): whatever they allow, only within the
-- caller's orgs (the super admin: every org). A mistake in one permissive policy cannot cross orgs.
create policy usage_counters_org_fence on api.usage_counters as restrictive for all to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()))
  with check (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));
