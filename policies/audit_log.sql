-- Policies of api.audit_log (re-runnable: every policy of the table is dropped, then recreated).
alter table api.audit_log enable row level security;
alter table api.audit_log force row level security;

do $$
declare
  p record;
begin
  for p in select policyname from pg_catalog.pg_policies where schemaname = 'api' and tablename = 'audit_log' loop
    execute format('drop policy %I on api.audit_log', p.policyname);
  end loop;
end
$$;

-- Written only by the trigger internal.tg_audit (runs as its owner); read by the org's owners and
-- admins and by the super admin. Append-only: only SELECT is granted, and the append_only
-- triggers refuse UPDATE, DELETE and TRUNCATE for everyone, superusers included.
create policy audit_log_select on api.audit_log for select to authenticated
  using (org_id = any ((select internal.user_org_ids_at('admin'))::uuid[]) or (select internal.is_super_admin()));

-- The tenant fence (restrictive, ANDed with every policy above): whatever they allow, only within the
-- caller's orgs (the super admin: every org). A mistake in one permissive policy cannot cross orgs.
create policy audit_log_org_fence on api.audit_log as restrictive for all to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()))
  with check (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));
