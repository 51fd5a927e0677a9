-- The reference schema on Citus (docs/scaling.md): applied by `rowgate migrate` after functions/
-- and policies/ whenever the database has the citus extension; re-runnable (every step checks
-- what is already there). Outside the versioned migrations: a single-node database never runs it.
--
-- Layout: tenant tables distributed by org_id and co-located (projects, tasks, invitations,
-- audit_log, usage_counters); what the policy helpers and triggers read on a shard as reference
-- tables (users, organizations, memberships, plans, platform_settings, models, org_entitlements,
-- org_models, api_tokens); the rest of auth on the coordinator (sessions, refresh_tokens,
-- login_failures, org_registrations).

-- Foreign keys to reference tables: one connection per node for the whole step.
set local citus.multi_shard_modify_mode = 'sequential';

-- Citus opens the shard connections as the current role: request roles must be able to log in on
-- the workers (pg_hba.conf decides from where; see docs/scaling.md).
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not (select rolcanlogin from pg_catalog.pg_roles where rolname = r) then
      execute format('alter role %I login', r);
    end if;
  end loop;
end
$$;

-- The one foreign key Citus refuses: ON DELETE SET NULL (assignee_id) from a distributed table to
-- a reference table through the distribution column. Assignees are checked by the same key on a
-- single node only (docs/scaling.md).
alter table api.tasks drop constraint if exists tasks_assignee_fkey;

-- Policies, the Citus form, generated from the single-node form policies/ just created (one source,
-- so the two cannot drift): Citus drops AS RESTRICTIVE on the shards, so each table's restrictive
-- fence is folded into every permissive policy (P1 or P2, and F  ==  (P1 and F) or (P2 and F));
-- Citus refuses subqueries in policies, so `(select internal.f(…))` becomes `internal.f(…)`.
-- The coordinator's single-node policies go with propagation off (on a Citus table the shards
-- have none: sql/citus/policies_before.sql), and the Citus form is created with propagation on.
do $$
declare
  t regclass;
  p record;
  names text[];
  n text;
  fence_using text;
  fence_check text;
  u text;
  c text;
  roles text;
  cmd text;
  unwrap constant text := '\(\s*SELECT\s+(internal\.[a-z_]+\([^()]*\))\s+AS\s+[a-z_]+\)';
  defs text[];
begin
  foreach t in array array['api.projects', 'api.tasks', 'api.invitations', 'api.audit_log', 'api.usage_counters',
                           'auth.users', 'api.organizations', 'api.memberships', 'api.plans',
                           'api.platform_settings', 'api.models', 'api.org_entitlements', 'api.org_models',
                           'auth.api_tokens']::regclass[] loop
    -- The fence: every restrictive policy, ANDed; each must cover every command and role.
    fence_using := null;
    fence_check := null;
    for p in select pol.*, pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) as q,
                    pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) as wc
               from pg_catalog.pg_policy pol where pol.polrelid = t and not pol.polpermissive loop
      if p.polcmd <> '*' or p.polroles <> array['authenticated'::regrole::oid] then
        raise exception 'citus: restrictive policy % on % is not FOR ALL TO authenticated: fold it by hand', p.polname, t;
      end if;
      fence_using := concat_ws(' and ', fence_using, '(' || p.q || ')');
      fence_check := concat_ws(' and ', fence_check, '(' || coalesce(p.wc, p.q) || ')');
    end loop;
    defs := '{}';
    names := '{}';
    for p in select pol.*, pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) as q,
                    pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) as wc
               from pg_catalog.pg_policy pol where pol.polrelid = t order by pol.polname loop
      names := names || p.polname::text;
      continue when not p.polpermissive;
      if fence_using is not null and p.polroles <> array['authenticated'::regrole::oid] then
        raise exception 'citus: policy % on % is not TO authenticated: fold the fence by hand', p.polname, t;
      end if;
      u := p.q;
      c := case when p.polcmd in ('w', '*') then coalesce(p.wc, p.q) else p.wc end;
      if fence_using is not null then
        u := case when u is not null then '(' || u || ') and ' || fence_using end;
        c := case when c is not null then '(' || c || ') and ' || fence_check end;
      end if;
      u := regexp_replace(u, unwrap, '\1', 'g');
      c := regexp_replace(c, unwrap, '\1', 'g');
      select string_agg(case when r = 0 then 'public' else quote_ident(r::regrole::text) end, ', ')
        into roles from unnest(p.polroles) r;
      cmd := case p.polcmd when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update'
                           when 'd' then 'delete' else 'all' end;
      defs := defs || format('create policy %I on %s as permissive for %s to %s%s%s', p.polname, t, cmd, roles,
                             case when u is not null then ' using (' || u || ')' else '' end,
                             case when c is not null and p.polcmd <> 'r' and p.polcmd <> 'd'
                                  then ' with check (' || c || ')' else '' end);
    end loop;
    set local citus.enable_ddl_propagation = off;
    foreach n in array names loop
      execute format('drop policy %I on %s', n, t);
    end loop;
    set local citus.enable_ddl_propagation = on;
    foreach n in array defs loop
      execute n;
    end loop;
  end loop;
end
$$;

-- Distribution (only what is not a Citus table yet). Triggers run on the shards: the trigger
-- functions see the logical table through internal.citus_logical_table() and write the audit log
-- and the counters once, on the node that holds the org's shard (functions/citus.sql).
set citus.enable_unsafe_triggers = on;
do $$
declare
  t regclass;
  n text;
  fk record;
  fks text[] := '{}';
  reference constant regclass[] := array['auth.users', 'api.plans', 'api.organizations', 'api.memberships',
    'api.platform_settings', 'api.models', 'api.org_entitlements', 'api.org_models', 'auth.api_tokens'];
  distributed constant regclass[] := array['api.projects', 'api.tasks', 'api.invitations', 'api.audit_log',
    'api.usage_counters'];
begin
  if not exists (select 1 from unnest(reference || distributed) x
                  where not exists (select 1 from pg_catalog.pg_dist_partition d where d.logicalrelid = x)) then
    return;
  end if;
  -- Citus converts tables that a foreign key connects one at a time (and drops the views on them
  -- on the way): the keys among these tables (and from the coordinator's auth tables) go first and
  -- come back, the same, once every table has its place.
  for fk in select c.conname, c.conrelid::regclass as tbl, pg_catalog.pg_get_constraintdef(c.oid) as def
              from pg_catalog.pg_constraint c
             where c.contype = 'f' and (c.conrelid = any (reference || distributed) or c.confrelid = any (reference || distributed))
             order by c.conrelid::regclass::text, c.conname loop
    fks := fks || format('alter table %s add constraint %I %s', fk.tbl, fk.conname, fk.def);
    execute format('alter table %s drop constraint %I', fk.tbl, fk.conname);
  end loop;
  -- Copying the existing rows into the shards is not a change to audit or count.
  foreach t in array reference || distributed loop
    execute format('alter table %s disable trigger user', t);
  end loop;
  foreach t in array reference loop
    if not exists (select 1 from pg_catalog.pg_dist_partition d where d.logicalrelid = t) then
      perform create_reference_table(t);
    end if;
  end loop;
  foreach t in array distributed loop
    if not exists (select 1 from pg_catalog.pg_dist_partition d where d.logicalrelid = t) then
      perform create_distributed_table(t, 'org_id', colocate_with => case when t = 'api.projects'::regclass
                                                                         then 'default' else 'api.projects' end);
    end if;
  end loop;
  foreach t in array reference || distributed loop
    execute format('alter table %s enable trigger user', t);
  end loop;
  foreach n in array fks loop
    execute n;
  end loop;
end
$$;
reset citus.enable_unsafe_triggers;

-- Helpers and triggers run inside shard queries; what they read are reference tables (a local
-- placement), which Citus allows only with nested execution switched on for the function.
-- `create or replace` in functions/ resets this on every migrate, so it is set again here.
do $$
declare
  f regprocedure;
begin
  for f in select pr.oid from pg_catalog.pg_proc pr
            where pr.pronamespace = 'internal'::regnamespace and pr.prolang = (select oid from pg_catalog.pg_language where lanname = 'plpgsql')
              and pr.prokind = 'f' and pr.proname not in ('citus_propagate_context', 'set_local') loop
    execute format('alter function %s set citus.allow_nested_distributed_execution = on', f);
  end loop;
end
$$;
