-- The tenant fences on their own: every permissive policy of a tenant table is replaced by a
-- wide-open one (and every command granted), so only the restrictive `<table>_org_fence` policy
-- stands between orgs. It must still keep each org to its own rows. The matrix of 10_tables.sql
-- proves the permissive policies; this proves the second layer (rolled back like everything here).
begin;
\ir lib/fixture.sql
select plan(1 + 8 * 5 * 13 * 2);

create temporary table tenant_tables as
  select c.relname::text as tbl from pg_class c
   where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'p')
     and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'org_id');
select set_eq('select tbl from tenant_tables',
              array['memberships', 'invitations', 'projects', 'tasks', 'org_models', 'org_entitlements', 'usage_counters', 'audit_log'],
              'the fenced tables are the tenant tables');

do $$
declare
  t text;
  p record;
begin
  for t in select tbl from tenant_tables loop
    for p in select policyname from pg_policies where schemaname = 'api' and tablename = t and permissive = 'PERMISSIVE' loop
      execute format('drop policy %I on api.%I', p.policyname, t);
    end loop;
    execute format('create policy wide_open on api.%I for all to authenticated using (true) with check (true)', t);
    execute format('grant select, insert, update, delete on api.%I to authenticated', t);
  end loop;
end
$$;

create temporary table matrix (line serial, tbl text, cmd text, cells text);
--                                       anon owner_a admin_a member_a viewer_a owner_b admin_b member_b viewer_b loner super service token_a
insert into matrix (tbl, cmd, cells)
select t, c, '.    A       A       A        A        B       B       B        B        .     AB    .       A'
  from unnest(array['memberships', 'invitations', 'projects', 'tasks', 'org_models', 'org_entitlements', 'usage_counters']) t,
       unnest(array['select', 'insert', 'update', 'delete', 'upsert']) c;
-- The audit log stays append-only whatever the policies say (trigger append_only).
insert into matrix (tbl, cmd, cells) values
  ('audit_log', 'select', '.    A       A       A        A        B       B       B        B        .     AB    .       A'),
  ('audit_log', 'insert', '.    A       A       A        A        B       B       B        B        .     AB    .       A'),
  ('audit_log', 'update', '.    .       .       .        .        .       .       .        .        .     .     .       .'),
  ('audit_log', 'delete', '.    .       .       .        .        .       .       .        .        .     .     .       .'),
  ('audit_log', 'upsert', '.    A       A       A        A        B       B       B        B        .     AB    .       A');

select isolation_test.check_line('fence alone: ' || m.tbl || ' ' || m.cmd, isolation_test.statement(m.tbl, m.cmd), m.cells)
  from matrix m order by m.line;

select * from finish();
rollback;
