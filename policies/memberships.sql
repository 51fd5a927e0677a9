-- Policies of api.memberships (re-runnable: every policy of the table is dropped, then recreated).
alter table api.memberships enable row level security;
alter table api.memberships force row level security;

do $$
declare
  p record;
begin
  for p in select policyname from pg_catalog.pg_policies where schemaname = 'api' and tablename = 'memberships' loop
    execute format('drop policy %I on api.memberships', p.policyname);
  end loop;
end
$$;

-- Members read their org's memberships; the super admin reads every org's (who belongs where is
-- platform data, needed for access reports across orgs; the orgs' business rows stay hidden).
create policy memberships_select on api.memberships for select to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));
-- Owners/admins add members, never with a role above their own.
create policy memberships_insert on api.memberships for insert to authenticated
  with check (
    org_id = any ((select internal.user_org_ids_at('admin'))::uuid[])
    and internal.role_rank(role) <= internal.role_rank(internal.org_role(org_id))
  );
-- Owners/admins change roles of members not above them, to a role not above their own.
create policy memberships_update on api.memberships for update to authenticated
  using (
    org_id = any ((select internal.user_org_ids_at('admin'))::uuid[])
    and internal.role_rank(role) <= internal.role_rank(internal.org_role(org_id))
  )
  with check (
    org_id = any ((select internal.user_org_ids_at('admin'))::uuid[])
    and internal.role_rank(role) <= internal.role_rank(internal.org_role(org_id))
  );
-- Owners/admins remove members not above them; anyone may leave. The last owner stays
-- (trigger keep_an_owner); suspended orgs are read-only (trigger org_writable). Leaving is limited to
-- the caller's visible orgs, so an API token (one org) cannot make its creator leave another org.
create policy memberships_delete on api.memberships for delete to authenticated
  using (
    (user_id = (select internal.user_id()) and org_id = any ((select internal.user_org_ids())::uuid[]))
    or (
      org_id = any ((select internal.user_org_ids_at('admin'))::uuid[])
      and internal.role_rank(role) <= internal.role_rank(internal.org_role(org_id))
    )
  );

-- The tenant fence (restrictive, ANDed with every policy above): whatever they allow, only within the
-- caller's orgs (the super admin: every org). A mistake in one permissive policy cannot cross orgs.
create policy memberships_org_fence on api.memberships as restrictive for all to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()))
  with check (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));
