-- The benchmark's data set on the reference schema (run as a superuser after `rowgate migrate`).
-- Sizes come from the psql-style settings below (replaced by the bench tool before it runs this):
-- bench.orgs organizations, bench.members users each (1 owner, 1 admin, 6 members, 2 viewers),
-- bench.projects projects and bench.tasks tasks per organization, two API tokens per org, and
-- the model catalog with each org's entitlements.
--
-- Ids are derived from numbers (bench.uid), so the tool knows every key without asking.
-- Triggers and foreign-key checks are skipped while loading (session_replication_role =
-- replica): the data is consistent by construction, and the audit log starts empty.

set session_replication_role = replica;
set maintenance_work_mem = '256MB';

create schema bench;
-- kind: 1 org, 2 user, 3 project, 4 task, 5 API token.
create function bench.uid(kind int, n bigint) returns uuid
language sql immutable as $$
  select (lpad(to_hex(kind), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid
$$;

-- One bcrypt hash (cost 4) shared by every user: signing in checks it like any other.
create temporary table pw as select public.crypt('bench-password', public.gen_salt('bf', 4)) as hash;

insert into auth.users (id, email, encrypted_password)
select bench.uid(2, n), 'user' || n || '@bench.test', (select hash from pw)
  from generate_series(1, :orgs * :members) n;

insert into api.organizations (id, name, status)
select bench.uid(1, o), 'Org ' || o, 'active' from generate_series(1, :orgs) o;

insert into api.memberships (org_id, user_id, role)
select bench.uid(1, o), bench.uid(2, (o - 1) * :members + j),
       case when j = 1 then 'owner' when j = 2 then 'admin' when j > :members - 2 then 'viewer' else 'member' end
  from generate_series(1, :orgs) o, generate_series(1, :members) j;

insert into api.projects (org_id, id, name)
select bench.uid(1, o), bench.uid(3, (o - 1) * :projects + p), 'Project ' || p
  from generate_series(1, :orgs) o, generate_series(1, :projects) p;

-- Task n of org o: project ((n - 1) % projects) + 1, assigned to member ((n - 1) % members) + 1,
-- every other one done, one second older than the next.
insert into api.tasks (org_id, id, project_id, title, done, assignee_id, created_at)
select bench.uid(1, o), bench.uid(4, (o - 1) * :tasks + n),
       bench.uid(3, (o - 1) * :projects + (n - 1) % :projects + 1),
       'Task ' || n || ' of org ' || o, n % 2 = 0,
       bench.uid(2, (o - 1) * :members + (n - 1) % :members + 1),
       timestamptz '2026-01-01' + n * interval '1 second'
  from generate_series(1, :orgs) o, generate_series(1, :tasks) n;

insert into auth.api_tokens (id, org_id, created_by, name, role, token_hash)
select bench.uid(5, (o - 1) * 2 + t), bench.uid(1, o), bench.uid(2, (o - 1) * :members + 1),
       'ci ' || t, 'member', auth.hash_token('rg_bench_' || o || '_' || t)
  from generate_series(1, :orgs) o, generate_series(1, 2) t;

-- The catalog (issue 17): 20 models; each org entitled to 5 of them (from its own number on), 3
-- of those enabled. Model n is bench.uid(6, n).
insert into api.models (id, name) select bench.uid(6, m), 'Model ' || m from generate_series(1, 20) m;
insert into api.org_entitlements (org_id, model_id)
select bench.uid(1, o), bench.uid(6, (o + k) % 20 + 1) from generate_series(1, :orgs) o, generate_series(0, 4) k;
insert into api.org_models (org_id, model_id)
select bench.uid(1, o), bench.uid(6, (o + k) % 20 + 1) from generate_series(1, :orgs) o, generate_series(0, 2) k;

-- The usage counters, as the triggers would have kept them (they are skipped while loading).
insert into api.usage_counters (org_id, counter, used)
select bench.uid(1, o), v.counter, v.used
  from generate_series(1, :orgs) o,
       (values ('members', :members), ('projects', :projects), ('tasks', :tasks), ('api_tokens', 2)) v (counter, used);

-- Refresh tokens for one benchmark run: `chains` sessions (of members of orgs 1, 2, …), each with
-- `per_chain` unused tokens named 'bench-rt-<run>-<chain>-<n>' (n from 1). The wrk scripts start
-- one rotation chain from each token n = 1; pgbench's client c uses chain c's tokens in turn.
create function bench.refresh_tokens(run text, chains int, per_chain int) returns void
language sql as $$
  insert into auth.sessions (id, user_id)
  select md5('bench-session ' || run || ' ' || c)::uuid, bench.uid(2, (c % :orgs) * :members + 3)
    from generate_series(0, chains - 1) c;
  insert into auth.refresh_tokens (token_hash, session_id)
  select auth.hash_token('bench-rt-' || run || '-' || c || '-' || n), md5('bench-session ' || run || ' ' || c)::uuid
    from generate_series(0, chains - 1) c, generate_series(1, per_chain) n;
$$;

reset session_replication_role;
analyze;
