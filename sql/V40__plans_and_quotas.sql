-- Plans and quotas (issue 17 point 4): the tables and the counters. The functions (the limit of a
-- counter, the counting triggers, internal.add_usage) live in functions/quota.sql; the trigger
-- functions are created here as stubs only because the triggers below need them to exist.
-- See docs/tenancy.md "Plans and quotas".
--
-- A plan holds an org's limits: members, projects, tasks, API tokens, storage in MB (NULL: no
-- limit), and `limits`, any counter a product adds (`{"executions": 100}`). Every org has a plan
-- (`plan_id`, default `standard`: no limits). An org pending approval is held to the `pending`
-- plan whatever its own: the old platform settings pending_org_max_users/_projects become that
-- plan's limits and are dropped.
--
-- api.usage_counters keeps each org's usage, one row per counter, maintained by statement-level
-- triggers (memberships, projects, tasks) and a row trigger (API tokens not revoked), so checking a
-- quota and api.org_usage cost one row read, not a count over the org's rows.

create table api.plans (
  id text primary key check (id ~ '^[a-z][a-z0-9_-]{0,39}$'),
  name text not null check (length(btrim(name)) between 1 and 200),
  max_members integer check (max_members >= 0),
  max_projects integer check (max_projects >= 0),
  max_tasks integer check (max_tasks >= 0),
  max_api_tokens integer check (max_api_tokens >= 0),
  max_storage_mb integer check (max_storage_mb >= 0),
  -- Further counters: a JSON object of name → a whole number >= 0; the built-in names live in
  -- the columns above.
  limits jsonb not null default '{}' check (
    jsonb_typeof(limits) = 'object'
    and not jsonb_path_exists(limits, '$.* ? (@.type() != "number" || @ < 0 || @ != @.floor())')
    and not jsonb_path_exists(limits, '$.keyvalue() ? (!(@.key like_regex "^[a-z][a-z0-9_]{0,39}$"))')
    and not limits ?| array['members', 'projects', 'tasks', 'api_tokens', 'storage_mb']),
  created_at timestamptz not null default now()
);

insert into api.plans (id, name, max_members, max_projects)
select 'pending', 'Pending approval', s.pending_org_max_users, s.pending_org_max_projects from api.platform_settings s;
insert into api.plans (id, name) values ('standard', 'Standard (no limits)');

alter table api.organizations add column plan_id text not null default 'standard' references api.plans (id)
  check (plan_id <> 'pending');
create index organizations_plan_id_idx on api.organizations (plan_id);

alter table api.platform_settings drop column pending_org_max_users, drop column pending_org_max_projects;

create table api.usage_counters (
  org_id uuid not null references api.organizations (id) on delete cascade,
  counter text not null check (counter ~ '^[a-z][a-z0-9_]{0,39}$'),
  used bigint not null default 0 check (used >= 0),
  updated_at timestamptz not null default now(),
  primary key (org_id, counter)
);

insert into api.usage_counters (org_id, counter, used)
select org_id, 'members', count(*) from api.memberships group by org_id
union all
select org_id, 'projects', count(*) from api.projects group by org_id
union all
select org_id, 'tasks', count(*) from api.tasks group by org_id
union all
select org_id, 'api_tokens', count(*) from auth.api_tokens where revoked_at is null group by org_id;

do $$
declare
  t text;
begin
  foreach t in array array['plans', 'usage_counters'] loop
    execute format('alter table api.%I owner to rowgate_owner', t);
    execute format('revoke all on api.%I from public, anon, authenticated, service_role', t);
    execute format('alter table api.%I enable row level security', t);
    execute format('alter table api.%I force row level security', t);
  end loop;
end
$$;

-- Everyone signed in reads the plans; the super admin writes them (policies/plans.sql). Members
-- read their org's counters; nobody writes them but the triggers.
grant select, insert, update (name, max_members, max_projects, max_tasks, max_api_tokens, max_storage_mb, limits),
  delete on api.plans to authenticated;
grant select on api.usage_counters to authenticated;

-- The pending-org limits are the `pending` plan's now (internal.tg_usage).
drop trigger pending_limits on api.memberships;
drop trigger pending_limits on api.projects;
drop function internal.tg_pending_limits();

-- Stubs, replaced by functions/quota.sql on the same `rowgate migrate` run.
create function internal.tg_usage() returns trigger
language plpgsql security definer set search_path = '' as $$ begin return null; end $$;
create function internal.tg_api_token_usage() returns trigger
language plpgsql security definer set search_path = '' as $$ begin return null; end $$;
revoke all on function internal.tg_usage(), internal.tg_api_token_usage() from public;

-- tg_argv: the counter, and +1 for inserted rows or -1 for deleted ones.
create trigger usage_insert after insert on api.memberships
  referencing new table as changed for each statement execute function internal.tg_usage('members', '1');
create trigger usage_delete after delete on api.memberships
  referencing old table as changed for each statement execute function internal.tg_usage('members', '-1');
create trigger usage_insert after insert on api.projects
  referencing new table as changed for each statement execute function internal.tg_usage('projects', '1');
create trigger usage_delete after delete on api.projects
  referencing old table as changed for each statement execute function internal.tg_usage('projects', '-1');
create trigger usage_insert after insert on api.tasks
  referencing new table as changed for each statement execute function internal.tg_usage('tasks', '1');
create trigger usage_delete after delete on api.tasks
  referencing old table as changed for each statement execute function internal.tg_usage('tasks', '-1');
-- API tokens count while not revoked.
create trigger usage after insert or update of revoked_at or delete on auth.api_tokens
  for each row execute function internal.tg_api_token_usage();
