-- The maintenance job and what the gateway's operations surface reads: purging orgs whose
-- deletion grace period is over, pruning expired auth rows, the tenant gauge, the migration
-- version. The gateway calls these as its own role (authenticator), never as a request role.
-- See docs/operations.md "Maintenance".
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- Removes one org pending deletion whose grace period is over: its rows go with it (every tenant
-- table references the org with ON DELETE CASCADE); the audit log keeps its history and gets one
-- PURGE entry instead of an entry per removed row. Returns whether it was purged.
create or replace function internal.purge_org(org uuid) returns boolean
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_org api.organizations;
  counts jsonb;
begin
  select * into v_org from api.organizations o
   where o.id = org and o.status = 'pending_deletion' and o.purge_after <= pg_catalog.now()
     for update skip locked;
  if not found then
    return false;
  end if;
  select jsonb_build_object(
           'members', (select count(*) from api.memberships m where m.org_id = org),
           'projects', (select count(*) from api.projects p where p.org_id = org),
           'tasks', (select count(*) from api.tasks t where t.org_id = org),
           'invitations', (select count(*) from api.invitations i where i.org_id = org),
           'api_tokens', (select count(*) from auth.api_tokens k where k.org_id = org))
    into counts;
  perform internal.set_local('rowgate.purging_org', org::text);
  delete from api.organizations o where o.id = org;
  perform internal.set_local('rowgate.purging_org', '');
  insert into api.audit_log (org_id, actor_user_id, action, table_name, row_key, diff)
  values (org, null, 'PURGE', 'organizations', jsonb_build_object('id', org),
          jsonb_build_object('name', v_org.name, 'deletion_requested_by', v_org.status_changed_by,
                             'purge_after', v_org.purge_after, 'removed', counts));
  return true;
end
$$;

-- One maintenance run, for whichever gateway instance calls it: at most one run at a time (an
-- advisory lock; a second caller returns at once) and at most one per `min_interval` across all
-- instances (the last run's start in internal.maintenance_runs). Purges orgs past their grace
-- period; prunes failed sign-ins older than a day, refresh tokens expired or revoked more than a
-- day ago, sessions revoked more than 30 days ago and registration records older than 2 days.
-- Returns {ran, …what it did}.
create or replace function internal.run_maintenance(instance text, min_interval interval) returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  run_id bigint;
  org uuid;
  purged integer := 0;
  n integer;
  done jsonb;
begin
  if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('rowgate.maintenance')) then
    return '{"ran": false, "why": "another instance is running it"}';
  end if;
  if exists (select 1 from internal.maintenance_runs r
              where r.started_at > pg_catalog.now() - coalesce(min_interval, interval '0')) then
    return '{"ran": false, "why": "it ran less than an interval ago"}';
  end if;
  insert into internal.maintenance_runs (instance) values (coalesce(instance, '')) returning id into run_id;
  for org in select o.id from api.organizations o
              where o.status = 'pending_deletion' and o.purge_after <= pg_catalog.now()
              order by o.purge_after limit 100 loop
    if internal.purge_org(org) then
      purged := purged + 1;
    end if;
  end loop;
  done := jsonb_build_object('ran', true, 'purged_orgs', purged);
  delete from auth.login_failures f where f.at < pg_catalog.now() - interval '1 day';
  get diagnostics n = row_count;
  done := done || jsonb_build_object('login_failures', n);
  delete from auth.refresh_tokens t
   where t.expires_at < pg_catalog.now() - interval '1 day' or t.revoked_at < pg_catalog.now() - interval '1 day';
  get diagnostics n = row_count;
  done := done || jsonb_build_object('refresh_tokens', n);
  delete from auth.sessions s where s.revoked_at < pg_catalog.now() - interval '30 days';
  get diagnostics n = row_count;
  done := done || jsonb_build_object('sessions', n);
  delete from auth.org_registrations r where r.created_at < pg_catalog.now() - interval '2 days';
  get diagnostics n = row_count;
  done := done || jsonb_build_object('registrations', n);
  delete from auth.one_time_tokens t
   where t.expires_at < pg_catalog.now() - interval '1 day' or t.used_at < pg_catalog.now() - interval '1 day';
  get diagnostics n = row_count;
  done := done || jsonb_build_object('one_time_tokens', n);
  delete from auth.rate_events e where e.at < pg_catalog.now() - interval '1 day';
  get diagnostics n = row_count;
  done := done || jsonb_build_object('rate_events', n);
  delete from internal.maintenance_runs r where r.started_at < pg_catalog.now() - interval '30 days';
  update internal.maintenance_runs r set finished_at = pg_catalog.clock_timestamp(), report = done
   where r.id = run_id;
  return done;
end
$$;

-- The tenant gauge: orgs by status and plan, for /metrics (the gateway refreshes it on a timer,
-- not per scrape).
create or replace function internal.tenant_gauges() returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  g jsonb;
begin
  select coalesce(jsonb_agg(jsonb_build_object('status', s.status, 'plan', s.plan_id, 'orgs', s.n)
                            order by s.status, s.plan_id), '[]')
    into g
    from (select o.status, o.plan_id, count(*) as n from api.organizations o group by o.status, o.plan_id) s;
  return g;
end
$$;

-- The newest applied migration, for /health.
create or replace function internal.migration_version() returns integer
language plpgsql stable security definer set search_path = ''
as $$
declare
  v integer;
begin
  select max(h.version) into v from public.refinery_schema_history h;
  return v;
exception when undefined_table then
  return null;
end
$$;

-- Who may call them (re-applied so PUBLIC never may and a lost grant returns). The gateway's own
-- role runs the job and reads the gauge and the version; request roles cannot.
revoke all on function internal.purge_org(uuid) from public;
revoke all on function internal.run_maintenance(text, interval) from public;
grant execute on function internal.run_maintenance(text, interval) to authenticator;
revoke all on function internal.tenant_gauges() from public;
grant execute on function internal.tenant_gauges() to authenticator;
revoke all on function internal.migration_version() from public;
grant execute on function internal.migration_version() to authenticator;
