-- What a tenant can learn about another org without seeing its rows: existence oracles through
-- unique and foreign keys (the task's project and its assignee), RETURNING (UPDATE, DELETE,
-- INSERT and upserts), upserts, counts, claims a client could forge, and another org's status.
begin;
\ir lib/fixture.sql
select plan(28);

-- An error with the ids the caller supplied blanked out, to compare two failures.
create function pg_temp.failure(actor text, stmt text) returns text
language plpgsql as $$
declare
  msg text;
  det text;
begin
  begin
    perform isolation_test.act_as(actor);
    execute stmt;
    raise exception using errcode = 'RGT01', message = 'no error';
  exception
    when sqlstate 'RGT01' then
      return sqlerrm;
    when others then
      get stacked diagnostics msg = message_text, det = pg_exception_detail;
      return regexp_replace(sqlstate || ': ' || msg || ' / ' || coalesce(det, ''),
                            '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
  end;
end
$$;

-- Keys are per org: an id that B uses is free in A, so inserting it tells nothing about B.
select is(isolation_test.attempt('member_a',
  $$insert into api.projects (org_id, id, name) values (isolation_test.id('a'), isolation_test.id('project_b'), 'same id')$$, 'b'),
  'allowed', 'a project id used by org B can be used in org A (keys include org_id)');
select is(isolation_test.attempt('member_a',
  $$insert into api.tasks (org_id, id, project_id, title)
    values (isolation_test.id('a'), isolation_test.id('task_b'), isolation_test.id('project_a'), 'same id')$$, 'b'),
  'allowed', 'a task id used by org B can be used in org A');

-- Foreign keys include org_id: pointing at B's project and at no project fail alike.
select is(
  pg_temp.failure('member_a', $$insert into api.tasks (org_id, project_id, title)
                               values (isolation_test.id('a'), isolation_test.id('project_b'), 'x')$$),
  pg_temp.failure('member_a', $$insert into api.tasks (org_id, project_id, title)
                               values (isolation_test.id('a'), isolation_test.id('no such project'), 'x')$$),
  'a task pointing at B''s project fails exactly like one pointing at nothing');
select matches(
  pg_temp.failure('member_a', $$insert into api.tasks (org_id, project_id, title)
                               values (isolation_test.id('a'), isolation_test.id('project_b'), 'x')$$),
  '^23503: ', 'that failure is a foreign-key violation');

-- The assignee is a member of the task's own org: naming a member of B fails exactly like naming
-- nobody, and assigning one's own org's member works.
select is(
  pg_temp.failure('member_a', $$update api.tasks set assignee_id = isolation_test.id('member_b')
                               where org_id = isolation_test.id('a') and id = isolation_test.id('task_a')$$),
  pg_temp.failure('member_a', $$update api.tasks set assignee_id = isolation_test.id('nobody at all')
                               where org_id = isolation_test.id('a') and id = isolation_test.id('task_a')$$),
  'assigning a member of org B fails exactly like assigning nobody');
select matches(
  pg_temp.failure('member_a', $$update api.tasks set assignee_id = isolation_test.id('member_b')
                               where org_id = isolation_test.id('a') and id = isolation_test.id('task_a')$$),
  '^23503: ', 'that failure is a foreign-key violation');
select is(isolation_test.attempt('member_a',
  $$update api.tasks set assignee_id = isolation_test.id('viewer_a')
     where org_id = isolation_test.id('a') and id = isolation_test.id('task_a')$$, 'b'),
  'allowed', 'a task can be assigned to a member of its own org');

-- A unique violation names no values at all: PostgreSQL leaves the key out of the detail when
-- the table has RLS.
select is(
  pg_temp.failure('member_a', $$insert into api.projects (org_id, id, name)
                               values (isolation_test.id('a'), isolation_test.id('project_a'), 'dup')$$),
  '23505: duplicate key value violates unique constraint "projects_pkey" / ',
  'a duplicate key reports no key values');

-- Upserts: B's key under ON CONFLICT DO NOTHING / DO UPDATE is refused like any row of B, whether
-- or not the row exists.
select is(
  pg_temp.failure('member_a', $$insert into api.tasks (org_id, id, project_id, title)
    values (isolation_test.id('b'), isolation_test.id('task_b'), isolation_test.id('project_b'), 'x') on conflict do nothing$$),
  pg_temp.failure('member_a', $$insert into api.tasks (org_id, id, project_id, title)
    values (isolation_test.id('b'), isolation_test.id('no such task'), isolation_test.id('project_b'), 'x') on conflict do nothing$$),
  'ON CONFLICT DO NOTHING on B''s existing and missing keys fails alike');
select matches(
  pg_temp.failure('member_a', $$insert into api.tasks (org_id, id, project_id, title)
    values (isolation_test.id('b'), isolation_test.id('task_b'), isolation_test.id('project_b'), 'x') on conflict do nothing$$),
  '^42501: new row violates row-level security policy', 'and is refused by RLS');
select is(
  pg_temp.failure('member_a', $$insert into api.tasks (org_id, id, project_id, title)
    values (isolation_test.id('b'), isolation_test.id('task_b'), isolation_test.id('project_b'), 'x')
    on conflict (org_id, id) do update set title = excluded.title$$),
  pg_temp.failure('member_a', $$insert into api.tasks (org_id, id, project_id, title)
    values (isolation_test.id('b'), isolation_test.id('no such task'), isolation_test.id('project_b'), 'x')
    on conflict (org_id, id) do update set title = excluded.title$$),
  'ON CONFLICT DO UPDATE on B''s existing and missing keys fails alike');

-- RETURNING and counts see only the caller's org, even for statements without a filter.
select is(isolation_test.attempt('member_a',
  $$with w as (update api.tasks set title = title returning org_id) select count(*) from w where org_id <> isolation_test.id('a')$$),
  'denied (0 rows)', 'an unfiltered UPDATE ... RETURNING returns no row of another org');
select is(isolation_test.attempt('member_a',
  $$with w as (update api.tasks set title = title returning org_id) select count(*) from w where org_id = isolation_test.id('a')$$),
  'allowed', 'and does return the own org''s rows');
select is(isolation_test.attempt('member_a',
  $$with w as (delete from api.projects returning org_id) select count(*) from w where org_id <> isolation_test.id('a')$$, 'b'),
  'denied (0 rows)', 'an unfiltered DELETE ... RETURNING touches no row of another org');
select is(isolation_test.attempt('member_a',
  $$select count(*) - (select count(*) from api.tasks where org_id = isolation_test.id('a')) from api.tasks$$),
  'denied (0 rows)', 'count(*) over tasks counts only the own org''s rows');

-- INSERT ... RETURNING and upserts with RETURNING (the statements behind `return=representation`):
-- what comes back is the caller's new or changed row of their own org, never a row of B; aimed at
-- B they are refused as a whole, with nothing returned and nothing of B changed.
select is(isolation_test.attempt('member_a',
  $$with w as (insert into api.projects (org_id, name) values (isolation_test.id('a'), 'returned') returning org_id, name)
    select count(*) from w having count(*) = 1 and bool_and(org_id = isolation_test.id('a') and name = 'returned')$$, 'b'),
  'allowed', 'INSERT ... RETURNING returns the new row of the own org');
select is(isolation_test.attempt('member_a',
  $$with w as (insert into api.projects (org_id, name) values (isolation_test.id('b'), 'returned') returning *)
    select count(*) from w$$, 'b'),
  'denied (42501)', 'INSERT ... RETURNING into B is refused, returning nothing');
select is(isolation_test.attempt('member_a',
  $$with w as (insert into api.projects (org_id, name)
                 values (isolation_test.id('a'), 'mine'), (isolation_test.id('b'), 'theirs') returning *)
    select count(*) from w$$, 'b'),
  'denied (42501)', 'an INSERT ... RETURNING with one row for A and one for B is refused as a whole');
select is(isolation_test.attempt('member_a',
  $$with w as (insert into api.tasks (org_id, id, project_id, title)
                 values (isolation_test.id('a'), isolation_test.id('task_a'), isolation_test.id('project_a'), 'upserted')
                 on conflict (org_id, id) do update set title = excluded.title returning org_id, id, title)
    select count(*) from w
    having count(*) = 1 and bool_and(org_id = isolation_test.id('a') and id = isolation_test.id('task_a') and title = 'upserted')$$, 'b'),
  'allowed', 'an upsert ... RETURNING on the own key returns the own row, updated');
select is(isolation_test.attempt('member_a',
  $$with w as (insert into api.tasks (org_id, id, project_id, title)
                 values (isolation_test.id('a'), isolation_test.id('task_b'), isolation_test.id('project_a'), 'same id')
                 on conflict (org_id, id) do update set title = excluded.title returning org_id, title)
    select count(*) from w having count(*) = 1 and bool_and(org_id = isolation_test.id('a') and title = 'same id')$$, 'b'),
  'allowed', 'an upsert ... RETURNING with B''s task id inserts and returns a row of A, never B''s');
select is(isolation_test.attempt('member_a',
  $$with w as (insert into api.tasks (org_id, id, project_id, title)
                 values (isolation_test.id('b'), isolation_test.id('task_b'), isolation_test.id('project_b'), 'x')
                 on conflict (org_id, id) do update set title = excluded.title returning *)
    select count(*) from w$$, 'b'),
  'denied (42501)', 'an upsert ... RETURNING (DO UPDATE) on B''s existing key is refused, returning nothing');
select is(isolation_test.attempt('member_a',
  $$with w as (insert into api.tasks (org_id, id, project_id, title)
                 values (isolation_test.id('b'), isolation_test.id('task_b'), isolation_test.id('project_b'), 'x')
                 on conflict do nothing returning *)
    select count(*) from w$$, 'b'),
  'denied (42501)', 'an upsert ... RETURNING (DO NOTHING) on B''s existing key is refused, returning nothing');

-- Claims a client might forge change nothing: the super-admin flag is read from auth.users, an
-- org claim is ignored, and a sub that is not a uuid is nobody.
update isolation_test.actors
   set claims = claims || '{"is_super_admin": true, "org_id": "x", "app_metadata": {"role": "super"}}'
 where name = 'member_a';
update isolation_test.actors set claims = jsonb_set(claims, '{org_id}', to_jsonb(isolation_test.id('b'))) where name = 'member_a';
select is(isolation_test.attempt('member_a', $$select count(*) from api.organizations where id = isolation_test.id('b')$$),
          'denied (0 rows)', 'forged is_super_admin / org_id claims reveal nothing of org B');
select is(isolation_test.attempt('member_a', $$select count(*) from api.set_org_status(isolation_test.id('b'), 'suspended')$$, 'b'),
          'denied (PT403)', 'nor let a member change an org''s status');
update isolation_test.actors set claims = ('{"role": "authenticated", "sub": "' || isolation_test.id('owner_b') || ' "}')::jsonb
 where name = 'loner';
select is(isolation_test.attempt('loner', $$select count(*) from api.projects$$),
          'denied (0 rows)', 'a sub that is not exactly a uuid is nobody');

-- Another org's state does not show through: writing into a suspended org, or a pending org at its
-- limit, is refused exactly like writing into an active one (the org triggers run after RLS).
insert into api.projects (org_id, name) values (isolation_test.id('p'), 'at the limit');
select is(
  pg_temp.failure('member_a', $$insert into api.projects (org_id, name) values (isolation_test.id('s'), 'x')$$),
  pg_temp.failure('member_a', $$insert into api.projects (org_id, name) values (isolation_test.id('b'), 'x')$$),
  'a suspended org is refused like an active one (no status oracle)');
select is(
  pg_temp.failure('member_a', $$insert into api.projects (org_id, name) values (isolation_test.id('p'), 'x')$$),
  pg_temp.failure('member_a', $$insert into api.projects (org_id, name) values (isolation_test.id('b'), 'x')$$),
  'a pending org at its limit is refused like an active one');

-- Registration answers an existing email without naming its org.
select is(pg_temp.failure('anon', $$select api.register_organization('owner_b@isolation.test', 'correct horse', 'x')$$),
          'PT409: registration failed / ', 'registering an existing email says only "registration failed"');

select * from finish();
rollback;
