-- The table matrix: every table of the exposed schema `api` × select / insert / update / delete /
-- upsert × every actor, on org A's row and on org B's row. A cell lists the targets where the action
-- is allowed ('.' = nowhere); every other cell must be denied (nothing seen or affected, or 42501),
-- and no action may change the org it did not target. See tests/sql/lib/fixture.sql for the actors.
begin;
\ir lib/fixture.sql
select plan(1 + 14 * 5 * 13 * 2);

-- A table added to `api` without a place in this matrix fails here.
select set_eq(
  $$select c.relname::text from pg_class c
     where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
       and c.relname <> 'todos'$$,
  $$select tbl from isolation_test.ops$$,
  'every relation in api is in the matrix (api.todos is the embedded demo, not the reference schema)');

\ir lib/table_matrix.sql
select isolation_test.check_line(m.tbl || ' ' || m.cmd, isolation_test.statement(m.tbl, m.cmd), m.cells)
  from isolation_test.matrix m order by m.line;

select * from finish();
rollback;
