-- Registration abuse (issue 17 point 8): a cap on orgs created pending approval per client IP and
-- per email domain per day (platform settings; NULL: no cap). api.register_organization and
-- api.create_organization record who created each org in auth.org_registrations (not exposed;
-- pruned by the maintenance job after two days) and refuse with PT429 beyond a cap. The client IP
-- is what the gateway resolved (`request.client_ip`, behind ROWGATE_TRUSTED_PROXIES).

alter table api.platform_settings
  add column pending_orgs_per_ip_per_day integer default 10 check (pending_orgs_per_ip_per_day >= 0),
  add column pending_orgs_per_email_domain_per_day integer default 25
    check (pending_orgs_per_email_domain_per_day >= 0);
grant update (pending_orgs_per_ip_per_day, pending_orgs_per_email_domain_per_day) on api.platform_settings
  to authenticated;

create table auth.org_registrations (
  org_id uuid primary key,
  ip text,
  email_domain text not null,
  pending boolean not null,
  created_at timestamptz not null default now()
);
create index org_registrations_ip_idx on auth.org_registrations (ip, created_at) where pending;
create index org_registrations_email_domain_idx on auth.org_registrations (email_domain, created_at) where pending;
alter table auth.org_registrations owner to rowgate_owner;
revoke all on auth.org_registrations from public, anon, authenticated, service_role;
