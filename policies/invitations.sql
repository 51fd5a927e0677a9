-- Policies of api.invitations (re-runnable: every policy of the table is dropped, then recreated).
alter table api.invitations enable row level security;
alter table api.invitations force row level security;

do $$
declare
  p record;
begin
  for p in select policyname from pg_catalog.pg_policies where schemaname = 'api' and tablename = 'invitations' loop
    execute format('drop policy %I on api.invitations', p.policyname);
  end loop;
end
$$;

-- Owners/admins see and revoke their org's invitations (both kinds: addressed to an email, or
-- "anyone with the link"). Creation and acceptance go through api.create_invitation,
-- api.create_invite_link and api.accept_invitation (no insert/update grant).
create policy invitations_select on api.invitations for select to authenticated
  using (org_id = any ((select internal.user_org_ids_at('admin'))::uuid[]));
create policy invitations_delete on api.invitations for delete to authenticated
  using (org_id = any ((select internal.user_org_ids_at('admin'))::uuid[]));

-- The tenant fence (restrictive, ANDed with every policy above): whatever they allow, only within the
-- caller's orgs (the super admin: every org). A mistake in one permissive policy cannot cross orgs.
create policy invitations_org_fence on api.invitations as restrictive for all to authenticated
  using (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()))
  with check (org_id = any ((select internal.user_org_ids())::uuid[]) or (select internal.is_super_admin()));
