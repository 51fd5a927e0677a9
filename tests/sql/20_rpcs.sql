-- The RPC matrix: every function of the exposed schema `api` × every actor, aimed at org A and at
-- org B. Cells as in 10_tables.sql: where the call succeeds; everywhere else it must be refused
-- (42501 or a PT4xx raised by the function) and change nothing; no call may change the org it did
-- not target.
begin;
\ir lib/fixture.sql
select plan(1 + 7 * 13 * 2);

create temporary table calls (fn regprocedure primary key, stmt text, cells text);
--                                                                                anon owner_a admin_a member_a viewer_a owner_b admin_b member_b viewer_b loner super service token_a
insert into calls values
  ('api.register_organization(text, text, text)',
   'select count(*) from api.register_organization(''new_{x}@isolation.test'', ''correct horse'', ''New org'')',
                                                                                  'AB   AB      AB      AB       AB       AB      AB      AB       AB       AB    AB    .       AB'),
  ('api.create_invitation(uuid, text, text)',
   'select count(*) from api.create_invitation(isolation_test.id(''{x}''), ''invitee@isolation.test'', ''viewer'')',
                                                                                  '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('api.accept_invitation(text)',
   'select count(*) from api.accept_invitation(isolation_test.invitation_token(''{x}''))',
                                                                                  '.    B       B       B        B        A       A       A        A        AB    AB    .       . '),
  ('api.set_org_status(uuid, text)',
   'select count(*) from api.set_org_status(isolation_test.id(''{x}''), ''suspended'')',
                                                                                  '.    .       .       .        .        .       .       .        .        .     AB    .       . '),
  ('api.create_api_token(uuid, text, text, timestamptz)',
   'select count(*) from api.create_api_token(isolation_test.id(''{x}''), ''new'', ''viewer'')',
                                                                                  '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('api.list_api_tokens(uuid)',
   'select count(*) from api.list_api_tokens(isolation_test.id(''{x}''))',
                                                                                  '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('api.revoke_api_token(uuid, uuid)',
   'select count(*) from api.revoke_api_token(isolation_test.id(''{x}''), isolation_test.id(''token_{x}''))',
                                                                                  '.    A       A       .        .        B       B       .        .        .     .     .       . ');

-- A function added to `api` without a place in this matrix fails here.
select set_eq(
  $$select p.oid::regprocedure::text from pg_proc p where p.pronamespace = 'api'::regnamespace$$,
  $$select fn::text from calls$$,
  'every function in api is in the RPC matrix');

select isolation_test.check_line(c.fn::text, c.stmt, c.cells) from calls c order by c.fn::text;

select * from finish();
rollback;
