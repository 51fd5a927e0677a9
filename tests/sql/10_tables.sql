-- The table matrix: every table of the exposed schema `api` × select / insert / update / delete /
-- upsert × every actor, on org A's row and on org B's row. A cell lists the targets where the action
-- is allowed ('.' = nowhere); every other cell must be denied (nothing seen or affected, or 42501),
-- and no action may change the org it did not target. See tests/sql/lib/fixture.sql for the actors.
begin;
\ir lib/fixture.sql
select plan(1 + 9 * 5 * 13 * 2);

-- A table added to `api` without a place in this matrix fails here.
select set_eq(
  $$select c.relname::text from pg_class c
     where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
       and c.relname <> 'todos'$$,
  $$select tbl from isolation_test.ops$$,
  'every relation in api is in the matrix (api.todos is the embedded demo, not the reference schema)');

create temporary table matrix (line serial, tbl text, cmd text, cells text);
--                                       anon owner_a admin_a member_a viewer_a owner_b admin_b member_b viewer_b loner super service token_a
insert into matrix (tbl, cmd, cells) values
  ('platform_settings', 'select', '.    AB      AB      AB       AB       AB      AB      AB       AB       AB    AB    .       AB'),
  ('platform_settings', 'insert', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('platform_settings', 'update', '.    .       .       .        .        .       .       .        .        .     AB    .       . '),
  ('platform_settings', 'delete', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('platform_settings', 'upsert', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('organizations',     'select', '.    A       A       A        A        B       B       B        B        .     AB    .       A '),
  ('organizations',     'insert', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('organizations',     'update', '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('organizations',     'delete', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('organizations',     'upsert', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('memberships',       'select', '.    A       A       A        A        B       B       B        B        .     .     .       A '),
  ('memberships',       'insert', '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('memberships',       'update', '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('memberships',       'delete', '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('memberships',       'upsert', '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('invitations',       'select', '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('invitations',       'insert', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('invitations',       'update', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('invitations',       'delete', '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('invitations',       'upsert', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('projects',          'select', '.    A       A       A        A        B       B       B        B        .     .     .       A '),
  ('projects',          'insert', '.    A       A       A        .        B       B       B        .        .     .     .       A '),
  ('projects',          'update', '.    A       A       A        .        B       B       B        .        .     .     .       A '),
  ('projects',          'delete', '.    A       A       A        .        B       B       B        .        .     .     .       A '),
  ('projects',          'upsert', '.    A       A       A        .        B       B       B        .        .     .     .       A '),
  ('tasks',             'select', '.    A       A       A        A        B       B       B        B        .     .     .       A '),
  ('tasks',             'insert', '.    A       A       A        .        B       B       B        .        .     .     .       A '),
  ('tasks',             'update', '.    A       A       A        .        B       B       B        .        .     .     .       A '),
  ('tasks',             'delete', '.    A       A       A        .        B       B       B        .        .     .     .       A '),
  ('tasks',             'upsert', '.    A       A       A        .        B       B       B        .        .     .     .       A '),
  ('models',            'select', '.    A       A       A        A        B       B       B        B        .     AB    .       A '),
  ('models',            'insert', '.    .       .       .        .        .       .       .        .        .     AB    .       . '),
  ('models',            'update', '.    .       .       .        .        .       .       .        .        .     AB    .       . '),
  ('models',            'delete', '.    .       .       .        .        .       .       .        .        .     AB    .       . '),
  ('models',            'upsert', '.    .       .       .        .        .       .       .        .        .     AB    .       . '),
  ('org_models',        'select', '.    A       A       A        A        B       B       B        B        .     AB    .       A '),
  ('org_models',        'insert', '.    A       A       .        .        B       B       .        .        .     AB    .       . '),
  ('org_models',        'update', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('org_models',        'delete', '.    A       A       .        .        B       B       .        .        .     AB    .       . '),
  ('org_models',        'upsert', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('audit_log',         'select', '.    A       A       .        .        B       B       .        .        .     AB    .       . '),
  ('audit_log',         'insert', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('audit_log',         'update', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('audit_log',         'delete', '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('audit_log',         'upsert', '.    .       .       .        .        .       .       .        .        .     .     .       . ');

select isolation_test.check_line(m.tbl || ' ' || m.cmd, isolation_test.statement(m.tbl, m.cmd), m.cells)
  from matrix m order by m.line;

select * from finish();
rollback;
