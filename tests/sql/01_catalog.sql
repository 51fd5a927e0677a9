-- The catalog guard: every table, view and function of the exposed schema `api` is checked for the
-- properties isolation rests on, so adding an object without them fails CI. Request roles are the
-- roles the gateway's login role (authenticator) may switch to.
begin;
\ir lib/fixture.sql
select * from no_plan();

create temporary table request_roles as
  select r.rolname::text as role
    from pg_auth_members m join pg_roles r on r.oid = m.roleid
   where m.member = 'authenticator'::regrole;
-- Tables without org_id: they must be named here (global by design, see docs/tenancy.md).
create temporary table global_tables (tbl text primary key);
insert into global_tables values ('platform_settings'), ('organizations'), ('models'), ('plans'), ('todos');

create temporary table rels as
  select c.oid, c.relname::text as tbl, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relowner, c.reloptions,
         exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped)
           as has_org_id
    from pg_class c where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f');

select set_eq('select role from request_roles', array['anon', 'authenticated', 'service_role'],
              'the gateway switches to anon, authenticated and service_role');

select is(r.rolsuper or r.rolbypassrls, false, format('request role %s neither is superuser nor bypasses RLS', r.rolname))
  from pg_roles r join request_roles q on q.role = r.rolname;
select is(has_schema_privilege(q.role, 'api', 'create'), false, format('%s cannot create objects in api', q.role))
  from request_roles q;
select is(has_schema_privilege(q.role, 'auth', 'usage'), false, format('%s cannot use schema auth', q.role))
  from request_roles q;

select is(relkind::text, 'r', format('api.%s is a table or a view (no materialized views or foreign tables: they have no RLS)', tbl))
  from rels where relkind in ('m', 'f');
select ok(relrowsecurity and relforcerowsecurity, format('api.%s has RLS enabled and forced', tbl))
  from rels where relkind in ('r', 'p');
select ok(pg_get_userbyid(relowner) not in (select role from request_roles),
          format('api.%s is owned by %s, not a request role', tbl, pg_get_userbyid(relowner)))
  from rels;
select ok(coalesce('security_invoker=true' = any (reloptions), false), format('view api.%s is security_invoker', tbl))
  from rels where relkind = 'v';

-- A policy for every command a request role is granted (a permissive one: restrictive policies
-- only narrow), and nothing dangerous granted.
select ok(exists (select 1 from pg_policies p
                   where p.schemaname = 'api' and p.tablename = r.tbl and p.permissive = 'PERMISSIVE'
                     and p.cmd in (c.cmd, 'ALL') and (q.role = any (p.roles) or 'public' = any (p.roles))),
          format('%s on api.%s granted to %s has a policy', c.cmd, r.tbl, q.role))
  from rels r cross join request_roles q
  cross join (values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE')) c (cmd)
 where r.relkind in ('r', 'p')
   and (has_table_privilege(q.role, r.oid, c.cmd)
        or (c.cmd <> 'DELETE' and has_any_column_privilege(q.role, r.oid, c.cmd)));
select ok(not has_table_privilege(q.role, r.oid, 'truncate, references, trigger'),
          format('%s has no TRUNCATE, REFERENCES or TRIGGER on api.%s', q.role, r.tbl))
  from rels r cross join request_roles q;

select ok(not ('public' = any (p.roles)), format('policy %s on api.%s names its roles (not PUBLIC)', p.policyname, p.tablename))
  from pg_policies p where p.schemaname = 'api';
select ok(p.cmd = 'SELECT' or (coalesce(p.qual, '') <> 'true' and coalesce(p.with_check, '') <> 'true'),
          format('policy %s on api.%s is not USING/WITH CHECK (true) on writes', p.policyname, p.tablename))
  from pg_policies p where p.schemaname = 'api';

-- Tenant tables: org_id indexed first, and fenced by a restrictive policy on org_id for every command.
select ok(has_org_id or tbl in (select tbl from global_tables),
          format('api.%s has org_id or is a declared global table', tbl))
  from rels;
select ok(exists (select 1 from pg_index i
                   where i.indrelid = r.oid and i.indkey[0] = (select a.attnum from pg_attribute a
                                                              where a.attrelid = r.oid and a.attname = 'org_id')),
          format('api.%s has an index led by org_id', r.tbl))
  from rels r where r.has_org_id and r.relkind in ('r', 'p');
select ok(exists (select 1 from pg_policies p
                   where p.schemaname = 'api' and p.tablename = r.tbl and p.permissive = 'RESTRICTIVE' and p.cmd = 'ALL'
                     and 'authenticated' = any (p.roles)
                     and p.qual ~ '\morg_id = ANY' and p.with_check ~ '\morg_id = ANY'),
          format('api.%s is fenced by a restrictive policy on org_id', r.tbl))
  from rels r where r.has_org_id and r.relkind in ('r', 'p');

-- Functions: SECURITY DEFINER ones pin search_path and are not executable by PUBLIC; none is owned
-- by a request role.
select ok(coalesce(exists (select 1 from unnest(p.proconfig) s where s like 'search_path=%'), false),
          format('%s (SECURITY DEFINER) pins search_path', p.oid::regprocedure))
  from pg_proc p where p.prosecdef and p.pronamespace in ('api'::regnamespace, 'internal'::regnamespace, 'auth'::regnamespace);
select ok(not has_function_privilege('public', p.oid, 'execute'),
          format('%s (SECURITY DEFINER) is not executable by PUBLIC', p.oid::regprocedure))
  from pg_proc p where p.prosecdef and p.pronamespace in ('api'::regnamespace, 'internal'::regnamespace, 'auth'::regnamespace);
select ok(pg_get_userbyid(p.proowner) not in (select role from request_roles),
          format('%s is not owned by a request role', p.oid::regprocedure))
  from pg_proc p where p.pronamespace = 'api'::regnamespace;

select set_eq(
  $$select p.oid::regprocedure::text from pg_proc p
     where p.pronamespace in ('api'::regnamespace, 'internal'::regnamespace, 'auth'::regnamespace)
       and has_function_privilege('anon', p.oid, 'execute')$$,
  array['api.register_organization(text,text,text)', 'internal.check_request()', 'internal.user_id()',
        'internal.is_super_admin()', 'internal.role_rank(text)'],
  'anonymous requests may run only registration and the helpers that answer "nobody"');

-- The pre-request check runs after the role switch: every request role must be able to run it,
-- or ROWGATE_DB_PRE_REQUEST refuses that role before its grants and policies are consulted.
select ok(has_function_privilege(role, 'internal.check_request()', 'execute'),
          format('%s may run the pre-request check internal.check_request()', role))
  from request_roles;

-- The helpers run once per statement (an InitPlan), not once per row.
create temporary table plans (tbl text, plan text);
grant insert on plans to authenticated;
do $$
declare
  r record;
  line text;
  acc text;
begin
  for r in select tbl from rels where relkind in ('r', 'p') and tbl <> 'todos' loop
    acc := '';
    perform isolation_test.act_as('member_a');
    for line in execute format('explain (costs off) select * from api.%I', r.tbl) loop
      acc := acc || line || E'\n';
    end loop;
    perform isolation_test.act_as_admin();
    insert into plans values (r.tbl, acc);
  end loop;
end
$$;
select ok(plan !~ 'SubPlan', format('reading api.%s evaluates no policy helper per row', tbl)) from plans;

select * from finish();
rollback;
