-- The permissive policies on their own: the restrictive `<table>_org_fence` policies are dropped,
-- and the tenant tables' lines of the table matrix must still hold. With 50_fences.sql this proves
-- each layer by itself, so a weakened policy cannot hide behind the fence (rolled back).
begin;
\ir lib/fixture.sql
select plan(1 + 8 * 5 * 13 * 2);

select set_eq($$select tablename::text from pg_policies where schemaname = 'api' and permissive = 'RESTRICTIVE'$$,
              array['memberships', 'invitations', 'projects', 'tasks', 'org_models', 'org_entitlements', 'usage_counters', 'audit_log'],
              'the fenced tables are the tenant tables');
do $$
declare
  p record;
begin
  for p in select tablename, policyname from pg_policies where schemaname = 'api' and permissive = 'RESTRICTIVE' loop
    execute format('drop policy %I on api.%I', p.policyname, p.tablename);
  end loop;
end
$$;

\ir lib/table_matrix.sql
select isolation_test.check_line('without fence: ' || m.tbl || ' ' || m.cmd, isolation_test.statement(m.tbl, m.cmd), m.cells)
  from isolation_test.matrix m
 where m.tbl in ('memberships', 'invitations', 'projects', 'tasks', 'org_models', 'org_entitlements', 'usage_counters', 'audit_log')
 order by m.line;

select * from finish();
rollback;
