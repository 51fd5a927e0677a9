-- Export and erasure (issue 17 points 1 and 2): a person exports everything stored about them, an
-- org's owner (or the super admin) the org's whole data set, each as one JSON document in pieces;
-- a person deletes their account (with their password) or an administrator deletes them: their
-- sessions, tokens, memberships and personal data go at once, the last-owner rule holds, and the
-- audit log keeps its chain with the person's identifying values replaced by one pseudonym.
begin;
\ir lib/fixture.sql
select plan(52);

-- The whole document a streamed export returns (its pieces in order), as jsonb.
create function pg_temp.export(actor text, call text) returns jsonb
language plpgsql as $$
declare
  doc jsonb;
begin
  perform isolation_test.act_as(actor);
  execute format('select string_agg(piece, '''' order by n)::jsonb from %s with ordinality as e (piece, n)', call) into doc;
  perform isolation_test.act_as_admin();
  return doc;
end
$$;

-- Owner A works a little: 1,200 tasks (so the export comes in several pieces), a session.
select isolation_test.act_as('owner_a');
insert into api.tasks (org_id, project_id, title)
select isolation_test.id('a'), isolation_test.id('project_a'), 'task ' || i from generate_series(1, 1200) i;
select isolation_test.act_as_admin();
insert into auth.sessions (id, user_id) values (isolation_test.id('session_owner_a'), isolation_test.id('owner_a'));

-- Export my data.
create temporary table mine as select pg_temp.export('owner_a', 'api.export_my_data()') as doc;
select is((select doc -> 'user' ->> 'email' from mine), 'owner_a@isolation.test', 'the profile');
select is((select jsonb_path_query_array(doc, '$.memberships[*].org_id') from mine),
          jsonb_build_array(isolation_test.id('a')), 'the memberships');
select is((select doc -> 'sessions' -> 0 ->> 'id' from mine), isolation_test.id('session_owner_a')::text, 'the sessions');
select is((select doc -> 'api_tokens' -> 0 ->> 'name' from mine), 'isolation suite', 'the API tokens they created');
select is((select doc -> 'api_tokens' -> 0 ? 'token_hash' from mine), false, '(never a token hash)');
select is((select jsonb_array_length(doc -> 'invitations') from mine), 4, 'the invitations they sent');
select is((select jsonb_array_length(doc -> 'created_rows' -> 'tasks') from mine), 1200, 'the rows they created');
select is((select jsonb_array_length(doc -> 'audit_log') from mine) >= 1200, true, 'the audit entries they caused');
select is((select strpos(doc::text, isolation_test.id('b')::text) from mine), 0, 'nothing of org B');
select cmp_ok((isolation_test.rows_as('owner_a', 'select count(*) as n from api.export_my_data()') -> 0 ->> 'n')::int, '>', 8,
              'it comes in pieces (rows), not one value');
select is(isolation_test.attempt('token_a', $$select count(*) from api.export_my_data()$$), 'denied (PT403)',
          'not for an API token');
select is(isolation_test.attempt('anon', $$select count(*) from api.export_my_data()$$), 'denied (42501)',
          'nor anonymous callers');

-- Export an org.
create temporary table org_a as select pg_temp.export('owner_a', format('api.export_org(%L)', isolation_test.id('a'))) as doc;
select is((select doc -> 'organization' ->> 'name' from org_a), 'Org A', 'the org');
select is((select jsonb_array_length(doc -> 'members') from org_a), 5, 'its members');
select is((select doc -> 'members' @> '[{"email": "viewer_a@isolation.test", "role": "viewer"}]' from org_a), true, 'with their email');
select is((select jsonb_array_length(doc -> 'tasks') from org_a), 1201, 'its tasks');
select is((select jsonb_array_length(doc -> 'projects') from org_a), 1, 'its projects');
select is((select doc -> 'invitations' -> 0 ? 'token_hash' from org_a), false, 'invitations without their hash');
select is((select doc -> 'usage' ->> 'tasks' from org_a), '1201', 'its usage');
select is((select strpos(doc::text, isolation_test.id('b')::text) from org_a), 0, 'nothing of org B');
select is(isolation_test.attempt(a, format('select count(*) from api.export_org(%L)', isolation_test.id('a'))), 'denied (PT403)',
          format('%s cannot export org A', a))
  from unnest(array['admin_a', 'member_a', 'token_a', 'owner_b', 'loner']) a;
select is(isolation_test.attempt('super', format('select count(*) from api.export_org(%L)', isolation_test.id('a'))), 'allowed',
          'the super admin may export any org');

-- Erasure: the last owner cannot go.
select throws_like(format('select internal.erase_user(%L, ''test'')', isolation_test.id('owner_b')),
                   'the last owner of an organization cannot be deleted', 'org B''s only owner cannot be deleted');
select set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'sub', isolation_test.id('super'))::text, true);
select is(auth.admin_delete_user(isolation_test.id('owner_b')) -> 'error' ->> 'status', '409',
          'DELETE /auth/v1/admin/users/{id}: 409 for the last owner');
-- (On a restored copy there may be other super admins: this transaction leaves only one.)
update auth.users set is_super_admin = false where is_super_admin and id <> isolation_test.id('super');
select is(auth.admin_delete_user(isolation_test.id('super')) -> 'error' ->> 'message', 'the last super admin cannot be deleted',
          'nor the last super admin');
select is(auth.admin_delete_user(isolation_test.id('nobody at all')) -> 'error' ->> 'code', 'user_not_found', 'an unknown user: 404');
select set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'sub', isolation_test.id('owner_a'))::text, true);
select is(auth.admin_delete_user(isolation_test.id('member_b')) -> 'error' ->> 'code', 'not_admin', 'a non-admin may not delete users');
select set_config('request.jwt.claims', '', true);

-- Member A, with a password, a session, a sign-in, a task assigned, work in the log, and an
-- invitation to org B (suspended) addressed to them, deletes their account.
update auth.users set encrypted_password = crypt('member password', gen_salt('bf', 4)) where id = isolation_test.id('member_a');
select set_config('request.jwt.claims', '{}', true);
create temporary table member_session as select auth.login('member_a@isolation.test', 'member password', '198.51.100.4') as s;
select set_config('request.jwt.claims', '', true);
update api.tasks set assignee_id = isolation_test.id('member_a') where id = isolation_test.id('task_a');
select isolation_test.act_as('member_a');
insert into api.projects (org_id, name) values (isolation_test.id('a'), 'by member a');
select isolation_test.act_as_admin();
update api.organizations set status = 'suspended' where id = isolation_test.id('b');
create temporary table b_before as select isolation_test.org_digest('b') as d;
select is(isolation_test.attempt('member_a', $$select count(*) from api.delete_my_account('wrong')$$), 'denied (PT403)',
          'a wrong password deletes nothing');
select is(isolation_test.attempt('token_a', $$select count(*) from api.delete_my_account('member password')$$), 'denied (PT403)',
          'an API token deletes nothing');
select isolation_test.act_as('member_a');
create temporary table erased as select api.delete_my_account('member password') as r;
select isolation_test.act_as_admin();
select is((select (r ->> 'redacted_entries')::int > 0 from erased), true, 'member A deleted their account');
select is((select count(*)::int from auth.users where id = isolation_test.id('member_a')), 0, 'the user is gone');
select is((select count(*)::int from auth.sessions where user_id = isolation_test.id('member_a')), 0, 'with their sessions');
select is((select count(*)::int from api.memberships where user_id = isolation_test.id('member_a')), 0, 'and memberships');
select is((select assignee_id from api.tasks where id = isolation_test.id('task_a')), null, 'their task is unassigned');
select is((select count(*)::int from api.invitations where email = 'member_a@isolation.test'), 0,
          'the invitation addressed to them is gone, also from a suspended org');
select is((select count(*)::int from api.audit_log
            where actor_user_id = isolation_test.id('member_a')
               or strpos(row_key::text || coalesce(diff::text, ''), isolation_test.id('member_a')::text) > 0
               or (row_key::text || coalesce(diff::text, '')) ~* 'member_a@isolation\.test'), 0,
          'the log names them nowhere any more');
-- This transaction's REDACT entries (a restored copy may hold older ones): written after its start.
create temporary table pseudonym as
  select (row_key ->> 'pseudonym')::uuid as p, diff from api.audit_log where action = 'REDACT' and at >= now();
select is((select count(*)::int from pseudonym), 1, 'one REDACT entry');
select is((select count(distinct actor_user_id)::int from api.audit_log
            where action in ('SIGN_IN', 'DELETE') and table_name in ('sessions', 'users')
              and actor_user_id = (select p from pseudonym)), 1, 'their entries carry one pseudonym');
select is((select count(*)::int from api.audit_log where action = 'INSERT' and table_name = 'projects'
              and actor_user_id = (select p from pseudonym) and diff ->> 'name' = 'by member a'), 1,
          'so their work is still in the chain, under the pseudonym');
select is((select diff ? 'ip' from api.audit_log where action = 'SIGN_IN' and actor_user_id = (select p from pseudonym)), false,
          'their sign-ins lose the client address');
select is((select (diff ->> 'entries')::int from pseudonym), (select (r ->> 'redacted_entries')::int from erased),
          'the REDACT entry counts what it changed');
select is((select count(*)::int from api.audit_log where org_id = isolation_test.id('b')
              and actor_user_id = (select p from pseudonym) and table_name = 'invitations' and action = 'DELETE'
              and diff ->> 'email' = (select p::text from pseudonym)), 1,
          'the invitation''s removal is in org B''s log (by the pseudonym, of the pseudonym)');
select is(isolation_test.org_digest('b') <> (select d from b_before), true, 'org B changed only by that invitation');

-- After moving ownership, an administrator deletes org B's former owner.
select isolation_test.act_as('super');
select is(api.transfer_ownership(isolation_test.id('b'), isolation_test.id('admin_b')) ->> 'owner',
          isolation_test.id('admin_b')::text, 'the super admin moves org B''s ownership');
select isolation_test.act_as_admin();
select set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'sub', isolation_test.id('super'))::text, true);
select is(auth.admin_delete_user(isolation_test.id('owner_b')) ->> 'email', 'owner_b@isolation.test',
          'then deleting its former owner works (GoTrue answers the deleted user)');
select set_config('request.jwt.claims', '', true);
select is((select count(*)::int from auth.api_tokens where created_by = isolation_test.id('owner_b')), 0,
          'their API tokens are gone');

-- A user deleted in plain SQL is redacted too (the deferred trigger `redact`, here made to run
-- as a commit would).
delete from auth.users where id = isolation_test.id('viewer_a');
set constraints all immediate;
select is((select count(*)::int from api.audit_log
            where actor_user_id = isolation_test.id('viewer_a')
               or strpos(row_key::text || coalesce(diff::text, ''), isolation_test.id('viewer_a')::text) > 0
               or (row_key::text || coalesce(diff::text, '')) ~* 'viewer_a@isolation\.test'), 0,
          'a user deleted in SQL is named nowhere in the log either');
select is((select diff ->> 'reason' from api.audit_log where action = 'REDACT' and at >= now() order by at desc limit 1),
          'user deleted', 'one REDACT entry says so');

select * from finish();
rollback;
