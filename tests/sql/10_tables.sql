-- The table matrix: every table of the exposed schema `api` × select / insert / update / delete /
-- upsert × every actor, on org A's row and on org B's row. A cell lists the targets where the action
-- is allowed ('.' = nowhere); every other cell must be denied (nothing seen or affected, or 42501),
-- and no action may change the org it did not target. See tests/sql/lib/fixture.sql for the actors.
begin;
\ir lib/fixture.sql
select plan(1 + 9 * 5 * 13 * 2);

-- How each table is read and written; {x} is the target org ('a' or 'b').
create temporary table ops (tbl text primary key, target text, upd text, ins text, ups text);
insert into ops values
  ('platform_settings', 'id', 'pending_org_max_users',
   'default values',
   '(id) values (true) on conflict (id) do update set pending_org_max_users = excluded.pending_org_max_users'),
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
  ('audit_log', 'org_id = isolation_test.id(''{x}'')', 'action',
   '(org_id, action, table_name, row_key) values (isolation_test.id(''{x}''), ''INSERT'', ''forged'', ''{}'')',
   '(org_id, id, action, table_name, row_key) values (isolation_test.id(''{x}''), isolation_test.id(''forged''),
      ''INSERT'', ''forged'', ''{}'') on conflict (org_id, id) do update set action = excluded.action');

-- A table added to `api` without a place in this matrix fails here.
select set_eq(
  $$select c.relname::text from pg_class c
     where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
       and c.relname <> 'todos'$$,
  $$select tbl from ops$$,
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

select isolation_test.check_line(
         m.tbl || ' ' || m.cmd,
         case m.cmd
           when 'select' then format('select count(*) from api.%I where %s', m.tbl, o.target)
           when 'insert' then format('insert into api.%I %s', m.tbl, o.ins)
           when 'update' then format('update api.%I set %I = %I where %s', m.tbl, o.upd, o.upd, o.target)
           when 'delete' then format('delete from api.%I where %s', m.tbl, o.target)
           when 'upsert' then format('insert into api.%I %s', m.tbl, o.ups)
         end,
         m.cells)
  from matrix m join ops o using (tbl)
 order by m.line;

select * from finish();
rollback;
