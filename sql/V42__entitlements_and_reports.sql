-- Entitlements controlled by the platform (issue 17 point 5), and the two report views: what each
-- org uses against its plan (api.org_usage, point 4) and who can use which catalog item
-- (api.access_report). The functions (api.grant_entitlement, api.revoke_entitlement,
-- internal.has_model_access, internal.member_email) live in functions/entitlements.sql;
-- internal.member_email is created here as a stub because the view needs it to exist.
--
-- api.org_entitlements: what the platform (the super admin or service_role, through the RPCs)
-- granted an org, optionally until `expires_at` (a paid period). api.org_models: what the org's
-- owners and admins enabled among their entitlements — the foreign key to api.org_entitlements
-- refuses anything else, and revoking an entitlement disables the model (cascade). Existing
-- enabled models become entitlements, so nothing an org uses today stops working.

create table api.org_entitlements (
  org_id uuid not null references api.organizations (id) on delete cascade,
  model_id uuid not null references api.models (id) on delete cascade,
  granted_at timestamptz not null default now(),
  granted_by uuid references auth.users (id) on delete set null,
  expires_at timestamptz,
  primary key (org_id, model_id)
);
create index org_entitlements_model_id_idx on api.org_entitlements (model_id);

insert into api.org_entitlements (org_id, model_id, granted_at)
select org_id, model_id, created_at from api.org_models;

alter table api.org_models add constraint org_models_entitlement_fkey
  foreign key (org_id, model_id) references api.org_entitlements (org_id, model_id) on delete cascade;

alter table api.org_entitlements owner to rowgate_owner;
revoke all on api.org_entitlements from public, anon, authenticated, service_role;
alter table api.org_entitlements enable row level security;
alter table api.org_entitlements force row level security;
-- Members read their org's entitlements; writes go through api.grant_entitlement and
-- api.revoke_entitlement only.
grant select on api.org_entitlements to authenticated;

-- Stub, replaced by functions/entitlements.sql on the same `rowgate migrate` run.
create function internal.member_email(org uuid, uid uuid) returns text
language plpgsql stable security definer set search_path = '' as $$ begin return null; end $$;
revoke all on function internal.member_email(uuid, uuid) from public;
grant execute on function internal.member_email(uuid, uuid) to authenticated;

-- Usage against the limits of the plan that applies (`pending` while pending approval). Read as
-- the caller: members see their orgs, the super admin every org.
create view api.org_usage with (security_invoker = true) as
select o.id as org_id, o.name, o.status, o.plan_id, p.id as effective_plan,
       coalesce(c.members, 0) as members, p.max_members,
       coalesce(c.projects, 0) as projects, p.max_projects,
       coalesce(c.tasks, 0) as tasks, p.max_tasks,
       coalesce(c.api_tokens, 0) as api_tokens, p.max_api_tokens,
       coalesce(c.storage_mb, 0) as storage_mb, p.max_storage_mb,
       coalesce(c.counters, '{}') as counters, p.limits
  from api.organizations o
  join api.plans p on p.id = case when o.status = 'pending_approval' then 'pending' else o.plan_id end
  left join (
    select u.org_id,
           sum(u.used) filter (where u.counter = 'members') as members,
           sum(u.used) filter (where u.counter = 'projects') as projects,
           sum(u.used) filter (where u.counter = 'tasks') as tasks,
           sum(u.used) filter (where u.counter = 'api_tokens') as api_tokens,
           sum(u.used) filter (where u.counter = 'storage_mb') as storage_mb,
           jsonb_object_agg(u.counter, u.used)
             filter (where u.counter not in ('members', 'projects', 'tasks', 'api_tokens', 'storage_mb')) as counters
      from api.usage_counters u
     group by u.org_id
  ) c on c.org_id = o.id;

-- Who can use which catalog item: per org, every enabled member × every enabled, entitled and
-- unexpired model, while the org is active or pending approval (what internal.has_model_access
-- answers). Owners and admins see their orgs, the super admin every org.
create view api.access_report with (security_invoker = true) as
select m.org_id, o.name as org_name, m.user_id, x.email, m.role, om.model_id, mo.name as model_name,
       e.expires_at
  from api.memberships m
  join api.organizations o on o.id = m.org_id
  join api.org_models om on om.org_id = m.org_id
  join api.org_entitlements e on e.org_id = om.org_id and e.model_id = om.model_id
  join api.models mo on mo.id = om.model_id
  cross join lateral (select internal.member_email(m.org_id, m.user_id) as email) x
 where (m.org_id = any ((select internal.user_org_ids_at('admin'))::uuid[]) or (select internal.is_super_admin()))
   and o.status in ('active', 'pending_approval')
   and (e.expires_at is null or e.expires_at > now())
   and x.email is not null;

alter view api.org_usage owner to rowgate_owner;
alter view api.access_report owner to rowgate_owner;
revoke all on api.org_usage, api.access_report from public, anon, authenticated, service_role;
grant select on api.org_usage, api.access_report to authenticated;
