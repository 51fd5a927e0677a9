-- The isolation suite's fixture, included by every file in tests/sql/ inside its transaction (each
-- file ends with ROLLBACK, so nothing here outlives the run). Needs a superuser connection: it seeds
-- rows directly and switches to the request roles with SET ROLE.
--
-- Orgs A and B are active and mirror each other (owner, admin, member, viewer, and an extra member
-- who is the target of membership changes); S is suspended and P is pending approval. Every id is
-- derived from a name by isolation_test.id(), so tests read as names.

create schema isolation_test;
grant usage on schema isolation_test to anon, authenticated, service_role;

create function isolation_test.id(name text) returns uuid
language sql immutable as $$ select md5('rowgate isolation suite: ' || name)::uuid $$;
grant execute on function isolation_test.id(text) to anon, authenticated, service_role;

-- The token of invitation `name` of org x (the format api.accept_invitation expects: org id, dot,
-- 48 hex); with one argument, org x's invitation `invitation_<x>`.
create function isolation_test.invitation_token(x text, name text) returns text
language sql immutable as $$
  select isolation_test.id(x)::text || '.' || substr(md5('token ' || name) || md5('more ' || name), 1, 48)
$$;
create function isolation_test.invitation_token(x text) returns text
language sql immutable as $$ select isolation_test.invitation_token(x, x) $$;
grant execute on function isolation_test.invitation_token(text, text), isolation_test.invitation_token(text)
  to anon, authenticated, service_role;

-- Seed (as the superuser, so RLS does not apply; the triggers do and write the audit log).
insert into auth.users (id, email, is_super_admin)
select isolation_test.id(u), u || '@isolation.test', u = 'super'
  from unnest(array['owner_a', 'admin_a', 'member_a', 'viewer_a', 'extra_a',
                    'owner_b', 'admin_b', 'member_b', 'viewer_b', 'extra_b',
                    'owner_s', 'owner_p', 'loner', 'super', 'newbie']) u;

insert into api.organizations (id, name, status) values
  (isolation_test.id('a'), 'Org A', 'active'),
  (isolation_test.id('b'), 'Org B', 'active'),
  (isolation_test.id('s'), 'Org S', 'active'),
  (isolation_test.id('p'), 'Org P', 'pending_approval');

insert into api.memberships (org_id, user_id, role)
select isolation_test.id(x), isolation_test.id(r || '_' || x), case r when 'extra' then 'member' else r end
  from unnest(array['a', 'b']) x, unnest(array['owner', 'admin', 'member', 'viewer', 'extra']) r;
insert into api.memberships (org_id, user_id, role) values
  (isolation_test.id('s'), isolation_test.id('owner_s'), 'owner'),
  (isolation_test.id('p'), isolation_test.id('owner_p'), 'owner');

insert into api.projects (org_id, id, name)
select isolation_test.id(x), isolation_test.id('project_' || x), 'project ' || x from unnest(array['a', 'b', 's']) x;
insert into api.tasks (org_id, id, project_id, title)
select isolation_test.id(x), isolation_test.id('task_' || x), isolation_test.id('project_' || x), 'task ' || x
  from unnest(array['a', 'b', 's']) x;

-- The catalog: model_a and model_b are granted to (entitled) and enabled by their org; model_free
-- is granted to both and enabled by neither; model_extra is granted to nobody.
insert into api.models (id, name)
select isolation_test.id('model_' || x), 'isolation model ' || x from unnest(array['a', 'b', 'free', 'extra']) x;
insert into api.org_entitlements (org_id, model_id)
select isolation_test.id(x), isolation_test.id('model_' || m)
  from unnest(array['a', 'b']) x, unnest(array[x, 'free']) m;
insert into api.org_models (org_id, model_id)
select isolation_test.id(x), isolation_test.id('model_' || x) from unnest(array['a', 'b']) x;

-- Two plans of the platform, `plan_a` and `plan_b` (assigned to no org: the rows the table
-- matrix aims at for orgs A and B).
insert into api.plans (id, name, max_members) values ('plan_a', 'Plan A', 50), ('plan_b', 'Plan B', 50);

-- Per org: `invitation_<x>`, addressed to a guest who is none of the actors (the target of the
-- table matrix); `for_loner_<x>`, addressed to the user in no org (in another case: emails match
-- case-insensitively); `cross_<x>`, addressed to the member of the other org; `link_<x>`, an
-- "anyone with the link" invitation with uses to spare.
insert into api.invitations (org_id, id, email, role, token_hash, invited_by)
select isolation_test.id(x), isolation_test.id('invitation_' || x), 'guest_' || x || '@isolation.test', 'viewer',
       encode(digest(isolation_test.invitation_token(x), 'sha256'), 'hex'), isolation_test.id('owner_' || x)
  from unnest(array['a', 'b']) x;
insert into api.invitations (org_id, id, email, role, token_hash, invited_by)
select isolation_test.id(x), isolation_test.id(i || x), e, 'viewer',
       encode(digest(isolation_test.invitation_token(x, i || x), 'sha256'), 'hex'), isolation_test.id('owner_' || x)
  from (values ('a', 'for_loner_', 'Loner@Isolation.TEST'), ('b', 'for_loner_', 'Loner@Isolation.TEST'),
               ('a', 'cross_', 'member_b@isolation.test'), ('b', 'cross_', 'member_a@isolation.test')) v (x, i, e);
insert into api.invitations (org_id, id, kind, email, role, max_uses, token_hash, invited_by)
select isolation_test.id(x), isolation_test.id('link_' || x), 'link', null, 'viewer', 100,
       encode(digest(isolation_test.invitation_token(x, 'link_' || x), 'sha256'), 'hex'), isolation_test.id('owner_' || x)
  from unnest(array['a', 'b']) x;

-- One API token per org, role ceiling `member`, created by the org's owner.
insert into auth.api_tokens (id, org_id, created_by, name, role, token_hash)
select isolation_test.id('token_' || x), isolation_test.id(x), isolation_test.id('owner_' || x), 'isolation suite',
       'member', md5('isolation token ' || x)
  from unnest(array['a', 'b']) x;

update api.organizations set status = 'suspended' where id = isolation_test.id('s');

-- The actors of the matrices, in the order of their columns (ord < 100). `token_a` is what the gateway makes of an
-- org-A API token (role ceiling member) after internal.check_request.
create table isolation_test.actors (ord integer primary key, name text unique not null, db_role text not null,
                                    claims jsonb);
insert into isolation_test.actors values
  (1, 'anon', 'anon', '{"role": "anon"}'),
  (2, 'owner_a', 'authenticated', null), (3, 'admin_a', 'authenticated', null),
  (4, 'member_a', 'authenticated', null), (5, 'viewer_a', 'authenticated', null),
  (6, 'owner_b', 'authenticated', null), (7, 'admin_b', 'authenticated', null),
  (8, 'member_b', 'authenticated', null), (9, 'viewer_b', 'authenticated', null),
  (10, 'loner', 'authenticated', null), (11, 'super', 'authenticated', null),
  (12, 'service', 'service_role', '{"role": "service_role"}'),
  (13, 'token_a', 'authenticated',
   jsonb_build_object('role', 'authenticated', 'sub', isolation_test.id('owner_a'),
                      'api_token_id', isolation_test.id('token_a'))),
  -- Not in the matrices: the owners of the suspended and the pending org.
  (101, 'owner_s', 'authenticated', null), (102, 'owner_p', 'authenticated', null);
update isolation_test.actors set claims = jsonb_build_object('role', 'authenticated', 'sub', isolation_test.id(name))
 where claims is null;
alter table isolation_test.actors alter column claims set not null;

-- How each table of the matrices is read and written; {x} is the target org ('a' or 'b').
create table isolation_test.ops (tbl text primary key, target text, upd text, ins text, ups text);
insert into isolation_test.ops values
  ('platform_settings', 'id', 'deletion_grace_period',
   'default values',
   '(id) values (true) on conflict (id) do update set deletion_grace_period = excluded.deletion_grace_period'),
  ('organizations', 'id = isolation_test.id(''{x}'')', 'name',
   '(name) values (''new org {x}'')',
   '(id, name) values (isolation_test.id(''{x}''), ''renamed'') on conflict (id) do update set name = excluded.name'),
  ('memberships', 'org_id = isolation_test.id(''{x}'') and user_id = isolation_test.id(''extra_{x}'')', 'role',
   '(org_id, user_id, role) values (isolation_test.id(''{x}''), isolation_test.id(''newbie''), ''viewer'')',
   '(org_id, user_id, role) values (isolation_test.id(''{x}''), isolation_test.id(''extra_{x}''), ''member'')
      on conflict (org_id, user_id) do update set role = excluded.role'),
  ('invitations', 'org_id = isolation_test.id(''{x}'') and id = isolation_test.id(''invitation_{x}'')', 'email',
   '(org_id, email, role, token_hash) values (isolation_test.id(''{x}''), ''new@isolation.test'', ''viewer'', ''h'')',
   '(org_id, id, email, role, token_hash) values (isolation_test.id(''{x}''), isolation_test.id(''invitation_{x}''),
      ''new@isolation.test'', ''viewer'', ''h'') on conflict (org_id, id) do update set email = excluded.email'),
  ('projects', 'org_id = isolation_test.id(''{x}'') and id = isolation_test.id(''project_{x}'')', 'name',
   '(org_id, name) values (isolation_test.id(''{x}''), ''new project'')',
   '(org_id, id, name) values (isolation_test.id(''{x}''), isolation_test.id(''project_{x}''), ''renamed'')
      on conflict (org_id, id) do update set name = excluded.name'),
  ('tasks', 'org_id = isolation_test.id(''{x}'') and id = isolation_test.id(''task_{x}'')', 'title',
   '(org_id, project_id, title) values (isolation_test.id(''{x}''), isolation_test.id(''project_{x}''), ''new task'')',
   '(org_id, id, project_id, title) values (isolation_test.id(''{x}''), isolation_test.id(''task_{x}''),
      isolation_test.id(''project_{x}''), ''renamed'') on conflict (org_id, id) do update set title = excluded.title'),
  ('models', 'id = isolation_test.id(''model_{x}'')', 'name',
   '(name) values (''new model {x}'')',
   '(id, name) values (isolation_test.id(''model_{x}''), ''renamed {x}'') on conflict (id) do update set name = excluded.name'),
  ('org_models', 'org_id = isolation_test.id(''{x}'') and model_id = isolation_test.id(''model_{x}'')', 'created_at',
   '(org_id, model_id) values (isolation_test.id(''{x}''), isolation_test.id(''model_free''))',
   '(org_id, model_id) values (isolation_test.id(''{x}''), isolation_test.id(''model_{x}''))
      on conflict (org_id, model_id) do update set created_at = excluded.created_at'),
  ('plans', 'id = ''plan_{x}''', 'name',
   '(id, name) values (''new_plan_{x}'', ''New plan {x}'')',
   '(id, name) values (''plan_{x}'', ''renamed'') on conflict (id) do update set name = excluded.name'),
  ('usage_counters', 'org_id = isolation_test.id(''{x}'') and counter = ''members''', 'used',
   '(org_id, counter, used) values (isolation_test.id(''{x}''), ''forged'', 1)',
   '(org_id, counter, used) values (isolation_test.id(''{x}''), ''members'', 99)
      on conflict (org_id, counter) do update set used = excluded.used'),
  ('org_entitlements', 'org_id = isolation_test.id(''{x}'') and model_id = isolation_test.id(''model_{x}'')', 'expires_at',
   '(org_id, model_id) values (isolation_test.id(''{x}''), isolation_test.id(''model_extra''))',
   '(org_id, model_id) values (isolation_test.id(''{x}''), isolation_test.id(''model_{x}''))
      on conflict (org_id, model_id) do update set expires_at = excluded.expires_at'),
  -- The views: read only (the joins make them not updatable: PostgreSQL refuses every write).
  ('org_usage', 'org_id = isolation_test.id(''{x}'')', 'name',
   '(org_id, name) values (isolation_test.id(''{x}''), ''forged'')',
   '(org_id, name) values (isolation_test.id(''{x}''), ''forged'') on conflict do nothing'),
  ('access_report', 'org_id = isolation_test.id(''{x}'')', 'role',
   '(org_id, role) values (isolation_test.id(''{x}''), ''owner'')',
   '(org_id, role) values (isolation_test.id(''{x}''), ''owner'') on conflict do nothing'),
  ('audit_log', 'org_id = isolation_test.id(''{x}'')', 'action',
   '(org_id, action, table_name, row_key) values (isolation_test.id(''{x}''), ''INSERT'', ''forged'', ''{}'')',
   '(org_id, id, action, table_name, row_key) values (isolation_test.id(''{x}''), isolation_test.id(''forged''),
      ''INSERT'', ''forged'', ''{}'') on conflict (org_id, id) do update set action = excluded.action');

-- The statement for one command on one table.
create function isolation_test.statement(tbl text, cmd text) returns text
language sql stable as $$
  select case cmd
           when 'select' then format('select count(*) from api.%I where %s', o.tbl, o.target)
           when 'insert' then format('insert into api.%I %s', o.tbl, o.ins)
           when 'update' then format('update api.%I set %I = %I where %s', o.tbl, o.upd, o.upd, o.target)
           when 'delete' then format('delete from api.%I where %s', o.tbl, o.target)
           when 'upsert' then format('insert into api.%I %s', o.tbl, o.ups)
         end
    from isolation_test.ops o where o.tbl = statement.tbl
$$;

-- Become an actor for the rest of the current (sub)transaction.
create function isolation_test.act_as(actor text) returns void
language plpgsql as $$
declare
  a isolation_test.actors;
begin
  select * into strict a from isolation_test.actors where name = actor;
  if exists (select 1 from pg_catalog.pg_extension where extname = 'citus') then
    -- On Citus, as the gateway does there: the claims by SET LOCAL, propagated to the shard
    -- connections (set_config never reaches the workers); the role is not propagated, Citus opens
    -- the shard connections as the current role.
    set local citus.propagate_set_commands = 'local';
    execute format('set local "request.jwt.claims" = %L', a.claims::text);
    perform set_config('role', a.db_role, true);
  else
    perform set_config('request.jwt.claims', a.claims::text, true);
    perform set_config('role', a.db_role, true);
  end if;
end
$$;

-- Back to the session's (superuser) role.
create function isolation_test.act_as_admin() returns void
language plpgsql as $$
begin
  if exists (select 1 from pg_catalog.pg_extension where extname = 'citus') then
    perform set_config('role', 'none', true);
    set local "request.jwt.claims" = '';
  else
    perform set_config('role', 'none', true);
    perform set_config('request.jwt.claims', '', true);
  end if;
end
$$;

-- The rows `query` returns when run as `actor`, as one JSON array (errors propagate).
create function isolation_test.rows_as(actor text, query text) returns jsonb
language plpgsql as $$
declare
  r jsonb;
begin
  perform isolation_test.act_as(actor);
  execute format('select coalesce(jsonb_agg(to_jsonb(q)), ''[]'') from (%s) q', query) into r;
  perform isolation_test.act_as_admin();
  return r;
end
$$;

-- A digest of everything org x owns: its row in organizations, its rows in every table with an
-- org_id column, and its API tokens. Read as the superuser.
create function isolation_test.org_digest(x text) returns text
language plpgsql as $$
declare
  t regclass;
  part text;
  acc text := '';
begin
  select coalesce(md5(o::text), '-') into acc from api.organizations o where o.id = isolation_test.id(x);
  for t in select c.oid::regclass from pg_class c join pg_attribute a on a.attrelid = c.oid
            where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'p') and a.attname = 'org_id'
              and not a.attisdropped
            order by c.relname loop
    execute format('select md5(coalesce(string_agg(r::text, ''|'' order by r::text), '''')) from %s r where r.org_id = $1', t)
      into part using isolation_test.id(x);
    acc := acc || t::text || ':' || part || ';';
  end loop;
  select acc || 'tokens:' || md5(coalesce(string_agg(k::text, '|' order by k::text), ''))
    into acc from auth.api_tokens k where k.org_id = isolation_test.id(x);
  return md5(acc);
end
$$;

-- Runs `stmt` as `actor` in a subtransaction that is always rolled back, and says what happened:
--   'allowed'            rows were seen / affected (a SELECT statement must return a count)
--   'denied (0 rows)'    nothing seen or affected
--   'denied (SQLSTATE)'  refused with 42501 (privilege or policy) or a PT4xx raised by the schema
--   'error SQLSTATE: …'  anything else (a test failure unless asserted on purpose)
-- A digest of the org that is *not* the target (`other`, 'a' or 'b'; null to skip) is compared
-- before and after: ', but changed org X' is appended when the statement reached into it.
create function isolation_test.attempt(actor text, stmt text, other text default null) returns text
language plpgsql as $$
declare
  n bigint;
  outcome text;
  detail text;
  before text := case when other is not null then isolation_test.org_digest(other) end;
begin
  begin
    perform isolation_test.act_as(actor);
    if stmt ~* '^\s*(select|with)\M' then
      execute stmt into n;
    else
      execute stmt;
      get diagnostics n = row_count;
    end if;
    perform isolation_test.act_as_admin();
    outcome := case when coalesce(n, 0) > 0 then 'allowed' else 'denied (0 rows)' end;
    if other is not null and isolation_test.org_digest(other) is distinct from before then
      outcome := outcome || ', but changed org ' || upper(other);
    end if;
    raise exception using errcode = 'RGT01', message = outcome;
  exception
    when sqlstate 'RGT01' then
      outcome := sqlerrm;
    when insufficient_privilege then
      outcome := 'denied (42501)';
    when others then
      get stacked diagnostics detail = pg_exception_detail;
      outcome := case when sqlstate like 'PT4%' then 'denied (' || sqlstate || ')'
                      -- RAISE SQLSTATE 'PGRST' with a 4xx status: a quota, in PostgREST's own form.
                      when sqlstate = 'PGRST' and detail ~ '"status":\s*4' then 'denied (' || (sqlerrm::jsonb ->> 'code') || ')'
                      -- A write to a view PostgreSQL cannot update.
                      when sqlstate = '55000' and sqlerrm ~ '^cannot (insert into|update|delete from) view' then 'denied (55000)'
                      else 'error ' || sqlstate || ': ' || sqlerrm end;
  end;
  return outcome;
end
$$;

-- 'allowed' / 'denied', or the whole outcome when it is neither (so a failure shows it).
create function isolation_test.verdict(outcome text) returns text
language sql immutable as $$
  select case when outcome = 'allowed' then 'allowed'
              when outcome ~ '^denied \([^)]*\)$' then 'denied'
              else outcome end
$$;

-- One line of a matrix: `cells` holds one cell per actor (in actors.ord order), each naming the
-- targets on which the action is allowed: '.', 'A', 'B' or 'AB'. `stmt` is run once per actor and
-- target with {x} replaced by the target ('a' or 'b'); the other org must stay unchanged.
create function isolation_test.check_line(what text, stmt text, cells text) returns setof text
language plpgsql as $$
declare
  expected text[] := regexp_split_to_array(btrim(cells), '\s+');
  a isolation_test.actors;
  x text;
  outcome text;
  n integer;
begin
  select count(*) into n from isolation_test.actors where ord < 100;
  if array_length(expected, 1) is distinct from n then
    raise exception 'matrix line "%" has % cells for % actors', what, array_length(expected, 1), n;
  end if;
  for a in select * from isolation_test.actors where ord < 100 order by ord loop
    foreach x in array array['a', 'b'] loop
      outcome := isolation_test.attempt(a.name, replace(stmt, '{x}', x), case x when 'a' then 'b' else 'a' end);
      return next is(
        isolation_test.verdict(outcome),
        case when position(upper(x) in expected[a.ord]) > 0 then 'allowed' else 'denied' end,
        format('%s by %s on org %s: %s', what, a.name, upper(x), outcome));
    end loop;
  end loop;
end
$$;
