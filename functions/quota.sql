-- Plans and quotas: the limit of a counter, the counting triggers, and internal.add_usage for the
-- counters a product adds. See docs/tenancy.md "Plans and quotas".
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- The plan that applies to an org: `pending` while it awaits approval, else its own.
create or replace function internal.effective_plan(org uuid) returns text
language plpgsql stable security definer set search_path = ''
as $$
declare
  p text;
begin
  select case when o.status = 'pending_approval' then 'pending' else o.plan_id end into p
    from api.organizations o where o.id = org;
  return p;
end
$$;

-- The limit of `counter` for `org` under the plan that applies; NULL: no limit (or no such org).
create or replace function internal.quota_limit(org uuid, counter_name text) returns bigint
language plpgsql stable security definer set search_path = ''
as $$
declare
  lim bigint;
begin
  select case counter_name
           when 'members' then p.max_members
           when 'projects' then p.max_projects
           when 'tasks' then p.max_tasks
           when 'api_tokens' then p.max_api_tokens
           when 'storage_mb' then p.max_storage_mb
           else (p.limits ->> counter_name)::bigint
         end into lim
    from api.plans p where p.id = internal.effective_plan(org);
  return lim;
end
$$;

-- Refuses a write that took `counter` of `org` to `used`, beyond its limit: HTTP 403, code
-- `quota_exceeded`, a hint naming the limit (PostgREST's RAISE SQLSTATE 'PGRST' form).
create or replace function internal.check_quota(org uuid, counter_name text, used bigint) returns void
language plpgsql stable security definer set search_path = ''
as $$
declare
  lim bigint := internal.quota_limit(org, counter_name);
  plan text;
  pending boolean;
  limit_name text := case when counter_name in ('members', 'projects', 'tasks', 'api_tokens', 'storage_mb')
                          then 'max_' || counter_name else 'limits.' || counter_name end;
begin
  if lim is null or used <= lim then
    return;
  end if;
  plan := internal.effective_plan(org);
  pending := plan = 'pending';
  raise sqlstate 'PGRST' using
    message = pg_catalog.json_build_object(
      'code', 'quota_exceeded',
      'message', 'quota exceeded: ' || counter_name,
      'details', case when pending then format('organization pending approval: at most %s %s', lim, counter_name)
                      else format('plan %s allows at most %s %s', plan, lim, counter_name) end,
      'hint', format('the limit is %s of plan %s; %s', limit_name, plan,
                     case when pending then 'an administrator must approve the organization first'
                          else 'a super admin can move the organization to another plan' end))::text,
    detail = '{"status":403}';
end
$$;

-- Statement-level counting on memberships, projects and tasks: tg_argv[0] the counter, tg_argv[1]
-- +1 (inserted rows, `changed` the new table) or -1 (deleted rows, the old table). Inserts add to
-- the counter row (created on first use; rows locked in org order, so concurrent writers queue up
-- and each check sees the count before it) and are refused beyond the limit; deletes only
-- subtract (an org being deleted has no counters any more, and none is recreated).
create or replace function internal.tg_usage() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_counter text := tg_argv[0];
  r record;
  shard text;
  n bigint;
begin
  -- Citus: each org's counter on the node that holds its shard, once (functions/citus.sql).
  if pg_catalog.current_setting('citus.version', true) is not null and internal.citus_table(tg_relid) is not null then
    for r in select c.org_id, count(*) as k from changed c group by c.org_id order by c.org_id loop
      shard := internal.citus_local_shard('api.usage_counters', r.org_id);
      continue when shard is null;
      if tg_argv[1] = '1' then
        execute pg_catalog.format('insert into %s as u (org_id, counter, used) values ($1, $2, $3)
                                   on conflict (org_id, counter) do update set used = u.used + excluded.used,
                                   updated_at = pg_catalog.now() returning u.used', shard)
          into n using r.org_id, v_counter, r.k;
        perform internal.check_quota(r.org_id, v_counter, n);
      else
        execute pg_catalog.format('update %s u set used = greatest(u.used - $3, 0), updated_at = pg_catalog.now()
                                    where u.org_id = $1 and u.counter = $2', shard)
          using r.org_id, v_counter, r.k;
      end if;
    end loop;
    return null;
  end if;
  if tg_argv[1] = '1' then
    for r in
      insert into api.usage_counters as u (org_id, counter, used)
      select c.org_id, v_counter, count(*) from changed c group by c.org_id order by c.org_id
      on conflict on constraint usage_counters_pkey
      do update set used = u.used + excluded.used, updated_at = pg_catalog.now()
      returning u.org_id, u.used
    loop
      perform internal.check_quota(r.org_id, v_counter, r.used);
    end loop;
  else
    update api.usage_counters u set used = greatest(u.used - d.n, 0), updated_at = pg_catalog.now()
      from (select c.org_id, count(*) as n from changed c group by c.org_id) d
     where u.org_id = d.org_id and u.counter = v_counter;
  end if;
  return null;
end
$$;

-- API tokens count while not revoked (row level: tokens are few and their revocation is an UPDATE).
create or replace function internal.tg_api_token_usage() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  was boolean := tg_op <> 'INSERT' and old.revoked_at is null;
  now_active boolean := tg_op <> 'DELETE' and new.revoked_at is null;
  org uuid := case when tg_op = 'DELETE' then old.org_id else new.org_id end;
  n bigint;
  shard text;
begin
  -- Citus: on the node that holds the org's counters, once (functions/citus.sql).
  if pg_catalog.current_setting('citus.version', true) is not null and internal.citus_table(tg_relid) is not null then
    shard := internal.citus_local_shard('api.usage_counters', org);
    if shard is null then
      return null;
    elsif now_active and not was then
      execute pg_catalog.format('insert into %s as u (org_id, counter, used) values ($1, $2, 1)
                                 on conflict (org_id, counter) do update set used = u.used + 1,
                                 updated_at = pg_catalog.now() returning u.used', shard) into n using org, 'api_tokens';
      perform internal.check_quota(org, 'api_tokens', n);
    elsif was and not now_active then
      execute pg_catalog.format('update %s u set used = greatest(u.used - 1, 0), updated_at = pg_catalog.now()
                                  where u.org_id = $1 and u.counter = $2', shard) using org, 'api_tokens';
    end if;
    return null;
  end if;
  if now_active and not was then
    insert into api.usage_counters as u (org_id, counter, used) values (org, 'api_tokens', 1)
    on conflict on constraint usage_counters_pkey do update set used = u.used + 1, updated_at = pg_catalog.now()
    returning u.used into n;
    perform internal.check_quota(org, 'api_tokens', n);
  elsif was and not now_active then
    update api.usage_counters u set used = greatest(u.used - 1, 0), updated_at = pg_catalog.now()
     where u.org_id = org and u.counter = 'api_tokens';
  end if;
  return null;
end
$$;

-- For the counters a product adds (and storage): add `amount` (negative to give back) to
-- `counter` of `org` and refuse, like the built-in counters, an increase beyond the plan's limit
-- (`plans.limits ->> counter`, or `max_storage_mb` for storage_mb). Returns the new value. Call it
-- from your own SECURITY DEFINER functions or triggers, e.g. an execution counter:
--   perform internal.add_usage(new.org_id, 'executions', 1);
-- Not callable by request roles.
create or replace function internal.add_usage(org uuid, counter_name text, amount bigint) returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  n bigint;
begin
  if counter_name in ('members', 'projects', 'tasks', 'api_tokens') then
    raise exception 'counter % is kept by the database itself', counter_name using errcode = 'PT400';
  end if;
  insert into api.usage_counters as u (org_id, counter, used) values (org, counter_name, greatest(amount, 0))
  on conflict on constraint usage_counters_pkey
  do update set used = greatest(u.used + amount, 0), updated_at = pg_catalog.now()
  returning u.used into n;
  if amount > 0 then
    perform internal.check_quota(org, counter_name, n);
  end if;
  return n;
end
$$;

-- Who may call them (re-applied so PUBLIC never may and a lost grant returns).
revoke all on function internal.effective_plan(uuid) from public;
revoke all on function internal.quota_limit(uuid, text) from public;
revoke all on function internal.check_quota(uuid, text, bigint) from public;
revoke all on function internal.tg_usage() from public;
revoke all on function internal.tg_api_token_usage() from public;
revoke all on function internal.add_usage(uuid, text, bigint) from public;
