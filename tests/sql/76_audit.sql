-- The audit trail (issue 17 point 6): every change to a tenant or the platform is an entry —
-- platform settings, the catalog, plans, entitlements, API tokens (created, revoked), users
-- (created, disabled, deleted), sign-ins (and refusals) and sign-outs — without secrets. Org
-- entries are read by that org's owners and admins, platform entries (the nil org) by the super
-- admin only; nobody changes the log, superusers included, but for the one redaction function.
begin;
\ir lib/fixture.sql
select plan(32);

create function pg_temp.platform_entries(tbl text) returns setof api.audit_log
language sql as $$
  select * from api.audit_log where org_id = internal.platform_org_id() and table_name = tbl order by at, id
$$;

-- The platform's own tables.
select isolation_test.act_as('super');
update api.platform_settings set auto_activate_new_orgs = false;
insert into api.models (id, name) values (isolation_test.id('model_new'), 'new model');
insert into api.plans (id, name, max_members) values ('team', 'Team', 20);
update api.plans set max_members = 25 where id = 'team';
select isolation_test.act_as_admin();
select is((select row(actor_user_id = isolation_test.id('super'), action, diff)::text
             from pg_temp.platform_entries('platform_settings') order by at desc limit 1),
          row(true, 'UPDATE', '{"auto_activate_new_orgs": {"new": false, "old": true}}'::jsonb)::text,
          'a platform setting''s change: who, what, old and new');
select is((select row(action, row_key ->> 'id', diff ->> 'name')::text from pg_temp.platform_entries('models')
            where row_key ->> 'id' = isolation_test.id('model_new')::text),
          row('INSERT', isolation_test.id('model_new')::text, 'new model')::text, 'a catalog item added');
select is((select array_agg(action order by at, id) from pg_temp.platform_entries('plans') where row_key ->> 'id' = 'team'),
          array['INSERT', 'UPDATE'], 'a plan created and changed');
select is(isolation_test.attempt('super', $$select count(*) from api.audit_log where org_id = '00000000-0000-0000-0000-000000000000'$$),
          'allowed', 'the super admin reads the platform''s entries');
select is(isolation_test.attempt(a, $$select count(*) from api.audit_log where org_id = '00000000-0000-0000-0000-000000000000'$$),
          'denied (0 rows)', format('%s does not', a))
  from unnest(array['owner_a', 'admin_a', 'loner', 'token_a']) a;

-- API tokens: created and revoked, never the token or its hash; use is not a change.
select isolation_test.act_as('owner_a');
create temporary table new_token as select api.create_api_token(isolation_test.id('a'), 'deploy', 'viewer') as t;
grant select on new_token to authenticated;
select isolation_test.act_as_admin();
select is((select row(action, actor_user_id = isolation_test.id('owner_a'), diff ->> 'name', diff ? 'token_hash')::text
             from api.audit_log where org_id = isolation_test.id('a') and table_name = 'api_tokens'
              and row_key ->> 'id' = (select t ->> 'id' from new_token)),
          row('INSERT', true, 'deploy', false)::text, 'an API token created: by whom, its name, no hash');
select is((select count(*)::int from api.audit_log where strpos(diff::text, (select t ->> 'token' from new_token)) > 0
              or strpos(diff::text, auth.hash_token((select t ->> 'token' from new_token))) > 0), 0,
          'neither the token nor its hash is anywhere in the log');
update auth.api_tokens set last_used_at = now() where id = (select (t ->> 'id')::uuid from new_token);
select is((select count(*)::int from api.audit_log where table_name = 'api_tokens' and action = 'UPDATE'
              and row_key ->> 'id' = (select t ->> 'id' from new_token)), 0,
          'a token''s last use is no entry');
select isolation_test.act_as('admin_a');
select api.revoke_api_token(isolation_test.id('a'), (select (t ->> 'id')::uuid from new_token));
select isolation_test.act_as_admin();
select is((select row(actor_user_id = isolation_test.id('admin_a'), diff -> 'revoked_at' -> 'old')::text
             from api.audit_log where table_name = 'api_tokens' and action = 'UPDATE'
              and row_key ->> 'id' = (select t ->> 'id' from new_token)),
          row(true, 'null'::jsonb)::text, 'its revocation, by whom');
select is(isolation_test.attempt('admin_a', $$select count(*) from api.audit_log where table_name = 'api_tokens'$$),
          'allowed', 'org A''s admins read their tokens'' entries');
select is(isolation_test.attempt('owner_b', $$select count(*) from api.audit_log where table_name = 'api_tokens'
                                             and org_id = isolation_test.id('a')$$),
          'denied (0 rows)', 'org B''s owner does not');

-- Users: created, disabled, their password changed, deleted — never a password or a hash.
select set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'sub', isolation_test.id('super'))::text, true);
select is(auth.admin_create_user('carol@isolation.test', 'correct horse', false) ->> 'email', 'carol@isolation.test',
          'the super admin creates a user');
create temporary table carol as select id from auth.users where email = 'carol@isolation.test';
select is(auth.admin_set_disabled((select id from carol), true) ->> 'id', (select id::text from carol), 'and disables them');
select set_config('request.jwt.claims', '', true);
select is((select array_agg(row(action, actor_user_id = isolation_test.id('super'))::text order by at, id)
             from pg_temp.platform_entries('users') where row_key ->> 'id' = (select id::text from carol)),
          array[row('INSERT', true)::text, row('UPDATE', true)::text], 'both are entries, by the super admin');
select is((select count(*)::int from pg_temp.platform_entries('users')
            where diff ? 'encrypted_password' or diff::text ~ '\$2[aby]\$'), 0, 'no password hash in them');
update auth.users set disabled_at = null, encrypted_password = crypt('another one', gen_salt('bf', 4))
 where id = (select id from carol);
select is((select diff -> 'password' from pg_temp.platform_entries('users')
            where row_key ->> 'id' = (select id::text from carol) order by at desc, id desc limit 1),
          '"changed"'::jsonb, 'a new password is recorded as changed, nothing more');

-- Sign-ins and sign-outs (auth.login and auth.logout, as /auth/v1 runs them).
select set_config('request.jwt.claims', '{}', true);
create temporary table signed_in as select auth.login('carol@isolation.test', 'another one', '192.0.2.7') as s;
select is((select row(actor_user_id = (select id from carol), row_key ->> 'session_id' = (select s ->> 'session_id' from signed_in),
                      diff ->> 'ip')::text
             from api.audit_log where action = 'SIGN_IN' and actor_user_id = (select id from carol)),
          row(true, true, '192.0.2.7')::text, 'a sign-in: who, which session, from where');
select is(auth.login('carol@isolation.test', 'wrong password', '192.0.2.8') -> 'error' ->> 'code', 'invalid_credentials',
          'a wrong password');
select is((select row(actor_user_id = (select id from carol), diff ->> 'reason', diff ->> 'ip')::text
             from api.audit_log where action = 'SIGN_IN_FAILED' and actor_user_id = (select id from carol)),
          row(true, 'invalid_credentials', '192.0.2.8')::text, 'is a refused sign-in of that user');
select is(auth.login('my-password-typed-here', 'x', '192.0.2.9') -> 'error' ->> 'code', 'invalid_credentials',
          'an unknown email');
select is((select row(actor_user_id, row_key, diff ->> 'ip')::text from api.audit_log
            where action = 'SIGN_IN_FAILED' and diff ->> 'ip' = '192.0.2.9'),
          row(null, '{}'::jsonb, '192.0.2.9')::text, 'is recorded without the email (it may be a mistyped password)');
select is((select count(*)::int from api.audit_log where strpos(row_key::text || coalesce(diff::text, ''), 'my-password-typed-here') > 0
              or strpos(row_key::text || coalesce(diff::text, ''), 'another one') > 0 or strpos(coalesce(diff::text, ''), 'wrong password') > 0), 0,
          'no password anywhere in the log');
select set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'sub', (select id from carol),
                                                          'session_id', (select s ->> 'session_id' from signed_in))::text, true);
select is(auth.logout('global'), '{}'::jsonb, 'signing out');
select set_config('request.jwt.claims', '', true);
select is((select row(actor_user_id = (select id from carol), diff ->> 'scope', diff ->> 'sessions_revoked')::text
             from api.audit_log where action = 'SIGN_OUT' and actor_user_id = (select id from carol)),
          row(true, 'global', '1')::text, 'is an entry too');

-- Append-only: nobody updates or deletes an entry, superusers included.
select throws_ok($$update api.audit_log set action = 'DELETE' where action = 'SIGN_IN'$$, '42501',
                 'audit_log is append-only', 'a superuser cannot change an entry');
select throws_ok($$delete from api.audit_log where action = 'SIGN_IN'$$, '42501', 'audit_log is append-only',
                 'nor delete one');
select throws_ok($$truncate api.audit_log$$, '42501', 'audit_log is append-only', 'nor empty the log');
select set_config('rowgate.audit_redaction', gen_random_uuid()::text, true);
select throws_ok($$update api.audit_log set action = 'DELETE' where action = 'SIGN_IN'$$, '42501',
                 'audit_log is append-only', 'the redaction setting does not let the action change');
select throws_ok($$update api.audit_log set actor_user_id = gen_random_uuid() where action = 'SIGN_IN'$$, '42501',
                 'audit_log is append-only', 'nor an actor become anyone but the pseudonym being applied');
select set_config('rowgate.audit_redaction', '', true);

select * from finish();
rollback;
