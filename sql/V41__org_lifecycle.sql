-- Org lifecycle (issue 17 point 3): deletion with a grace period, and who changed an org's status,
-- when and why. The RPCs (api.delete_organization, api.restore_organization, api.set_org_status
-- with a reason) and the purge (internal.run_maintenance) live in functions/. See
-- docs/tenancy.md "Org lifecycle".
--
-- `pending_deletion`: an owner or the super admin deleted the org; it is read-only (like a
-- suspended org) until `purge_after`, restorable until then to `restore_status` (the status it
-- had), and its rows are removed by the maintenance job afterwards.

alter table api.organizations drop constraint organizations_status_check;
alter table api.organizations add constraint organizations_status_check
  check (status in ('pending_approval', 'active', 'suspended', 'pending_deletion'));

alter table api.organizations
  add column status_reason text check (length(status_reason) <= 500),
  add column status_changed_at timestamptz,
  add column status_changed_by uuid references auth.users (id) on delete set null,
  add column purge_after timestamptz,
  add column restore_status text check (restore_status in ('pending_approval', 'active', 'suspended'));
alter table api.organizations add constraint organizations_deletion_check
  check ((status = 'pending_deletion') = (purge_after is not null and restore_status is not null));
-- The nil uuid is the platform's own "org" in the audit log (entries that belong to no org).
alter table api.organizations add constraint organizations_not_platform
  check (id <> '00000000-0000-0000-0000-000000000000');
-- The maintenance job finds what to purge by this.
create index organizations_purge_after_idx on api.organizations (purge_after) where purge_after is not null;

alter table api.platform_settings
  add column deletion_grace_period interval not null default '30 days'
    check (deletion_grace_period >= interval '0' and deletion_grace_period <= interval '365 days');
grant update (deletion_grace_period) on api.platform_settings to authenticated;

-- One row per run of internal.run_maintenance (functions/maintenance.sql), whichever instance ran
-- it; the job runs at most once per interval across every instance (docs/operations.md).
create table internal.maintenance_runs (
  id bigint generated always as identity primary key,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  instance text not null,
  report jsonb
);
create index maintenance_runs_started_at_idx on internal.maintenance_runs (started_at);
alter table internal.maintenance_runs owner to rowgate_owner;
revoke all on internal.maintenance_runs from public, anon, authenticated, service_role;

-- set_org_status gains a reason (functions/rpc_organizations.sql defines the new signature; two
-- overloads would make `POST /rpc/set_org_status {org, status}` ambiguous).
drop function api.set_org_status(uuid, text);
