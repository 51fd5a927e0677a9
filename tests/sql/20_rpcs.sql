-- The RPC matrix: every function of the exposed schema `api` × every actor, aimed at org A and at
-- org B. Cells as in 10_tables.sql: where the call succeeds; everywhere else it must be refused
-- (42501 or a PT4xx raised by the function) and change nothing; no call may change the org it did
-- not target.
begin;
\ir lib/fixture.sql
select plan(1 + 24 * 13 * 2);

-- One line per function, or several (`what` tells them apart) where who may call it depends on
-- the arguments: accept_invitation is called with four invitations of the target org (see
-- lib/fixture.sql), addressed to a guest who is none of the actors, to the user in no org (in
-- another case), to the other org's member, and a link anyone signed in may use.
create temporary table calls (line serial, fn regprocedure not null, what text not null, stmt text, cells text);
--                                                                                anon owner_a admin_a member_a viewer_a owner_b admin_b member_b viewer_b loner super service token_a
insert into calls (fn, what, stmt, cells) values
  ('api.register_organization(text, text, text)', '',
   'select count(*) from api.register_organization(''new_{x}@isolation.test'', ''correct horse'', ''New org'')',
                                                                                  'AB   AB      AB      AB       AB       AB      AB      AB       AB       AB    AB    .       AB'),
  ('api.create_organization(text)', '',
   'select count(*) from api.create_organization(''New org {x}'')',
                                                                                  '.    AB      AB      AB       AB       AB      AB      AB       AB       AB    AB    .       . '),
  ('api.create_invitation(uuid, text, text)', '',
   'select count(*) from api.create_invitation(isolation_test.id(''{x}''), ''invitee@isolation.test'', ''viewer'')',
                                                                                  '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('api.create_invite_link(uuid, text, integer, interval)', '',
   'select count(*) from api.create_invite_link(isolation_test.id(''{x}''), ''viewer'', 5)',
                                                                                  '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('api.accept_invitation(text)', ' for a guest',
   'select count(*) from api.accept_invitation(isolation_test.invitation_token(''{x}''))',
                                                                                  '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('api.accept_invitation(text)', ' for the loner',
   'select count(*) from api.accept_invitation(isolation_test.invitation_token(''{x}'', ''for_loner_{x}''))',
                                                                                  '.    .       .       .        .        .       .       .        .        AB    .     .       . '),
  ('api.accept_invitation(text)', ' for the other org''s member',
   'select count(*) from api.accept_invitation(isolation_test.invitation_token(''{x}'', ''cross_{x}''))',
                                                                                  '.    .       .       B        .        .       .       A        .        .     .     .       . '),
  ('api.accept_invitation(text)', ' of a link',
   'select count(*) from api.accept_invitation(isolation_test.invitation_token(''{x}'', ''link_{x}''))',
                                                                                  '.    B       B       B        B        A       A       A        A        AB    AB    .       . '),
  ('api.set_org_status(uuid, text, text)', '',
   'select count(*) from api.set_org_status(isolation_test.id(''{x}''), ''suspended'', ''a reason'')',
                                                                                  '.    .       .       .        .        .       .       .        .        .     AB    .       . '),
  ('api.set_org_plan(uuid, text)', '',
   'select count(*) from api.set_org_plan(isolation_test.id(''{x}''), ''plan_{x}'')',
                                                                                  '.    .       .       .        .        .       .       .        .        .     AB    .       . '),
  ('api.admin_create_organization(text, text, text)', '',
   'select count(*) from api.admin_create_organization(''Customer of {x}'', ''owner_{x}@isolation.test'')',
                                                                                  '.    .       .       .        .        .       .       .        .        .     AB    .       . '),
  ('api.admin_list_organizations()', '',
   'select count(*) from api.admin_list_organizations() where org_id = isolation_test.id(''{x}'')',
                                                                                  '.    .       .       .        .        .       .       .        .        .     AB    .       . '),
  ('api.transfer_ownership(uuid, uuid, text)', '',
   'select count(*) from api.transfer_ownership(isolation_test.id(''{x}''), isolation_test.id(''admin_{x}''))',
                                                                                  '.    A       .       .        .        B       .       .        .        .     AB    .       . '),
  ('api.delete_organization(uuid)', '',
   'select count(*) from api.delete_organization(isolation_test.id(''{x}''))',
                                                                                  '.    A       .       .        .        B       .       .        .        .     AB    .       . '),
  -- Orgs A and B are not pending deletion: refused to everyone (70_lifecycle.sql restores one).
  ('api.restore_organization(uuid)', '',
   'select count(*) from api.restore_organization(isolation_test.id(''{x}''))',
                                                                                  '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('api.grant_entitlement(uuid, uuid, timestamptz)', '',
   'select count(*) from api.grant_entitlement(isolation_test.id(''{x}''), isolation_test.id(''model_extra''))',
                                                                                  '.    .       .       .        .        .       .       .        .        .     AB    AB      . '),
  ('api.revoke_entitlement(uuid, uuid)', '',
   'select count(*) from api.revoke_entitlement(isolation_test.id(''{x}''), isolation_test.id(''model_{x}''))',
                                                                                  '.    .       .       .        .        .       .       .        .        .     AB    AB      . '),
  ('api.has_model_access(uuid)', ' (a row when true)',
   'select count(*) from api.has_model_access(isolation_test.id(''model_{x}'')) h where h',
                                                                                  '.    A       A       A        A        B       B       B        B        .     .     .       A '),
  ('api.export_my_data()', '',
   'select count(*) from api.export_my_data()',
                                                                                  '.    AB      AB      AB       AB       AB      AB      AB       AB       AB    AB    .       . '),
  ('api.export_org(uuid)', '',
   'select count(*) from api.export_org(isolation_test.id(''{x}''))',
                                                                                  '.    A       .       .        .        B       .       .        .        .     AB    .       . '),
  -- The fixture's users have no password: refused to everyone (75_erasure.sql deletes accounts).
  ('api.delete_my_account(text)', '',
   'select count(*) from api.delete_my_account(''correct horse'')',
                                                                                  '.    .       .       .        .        .       .       .        .        .     .     .       . '),
  ('api.create_api_token(uuid, text, text, timestamptz)', '',
   'select count(*) from api.create_api_token(isolation_test.id(''{x}''), ''new'', ''viewer'')',
                                                                                  '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('api.list_api_tokens(uuid)', '',
   'select count(*) from api.list_api_tokens(isolation_test.id(''{x}''))',
                                                                                  '.    A       A       .        .        B       B       .        .        .     .     .       . '),
  ('api.revoke_api_token(uuid, uuid)', '',
   'select count(*) from api.revoke_api_token(isolation_test.id(''{x}''), isolation_test.id(''token_{x}''))',
                                                                                  '.    A       A       .        .        B       B       .        .        .     .     .       . ');

-- A function added to `api` without a place in this matrix fails here.
select set_eq(
  $$select p.oid::regprocedure::text from pg_proc p where p.pronamespace = 'api'::regnamespace$$,
  $$select distinct fn::text from calls$$,
  'every function in api is in the RPC matrix');

select isolation_test.check_line(c.fn::text || c.what, c.stmt, c.cells) from calls c order by c.line;

select * from finish();
rollback;
