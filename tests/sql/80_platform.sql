-- Super-admin operations (issue 17 point 7): create an org for a customer (an existing user owns
-- it at once, an unknown email gets an owner invitation), list orgs with status, plan and usage,
-- move ownership (also owners themselves); nobody else may. The super admin reads every org's
-- memberships (who belongs where) but still no tenant's business rows.
begin;
\ir lib/fixture.sql
select plan(27);

-- Create an org for a customer.
select is(isolation_test.attempt(a, $$select count(*) from api.admin_create_organization('Acme', 'loner@isolation.test')$$),
          'denied (PT403)', format('%s cannot create an org for someone else', a))
  from unnest(array['owner_a', 'admin_a', 'loner', 'token_a']) a;
select is(isolation_test.attempt('service', $$select count(*) from api.admin_create_organization('Acme', 'loner@isolation.test')$$),
          'denied (42501)', 'nor can service_role');
select isolation_test.act_as('super');
create temporary table acme as select api.admin_create_organization('  Acme  ', 'LONER@isolation.test') as r;
select isolation_test.act_as_admin();
select is((select r ->> 'owner_user_id' from acme), isolation_test.id('loner')::text,
          'an existing user (matched case-insensitively) owns the new org at once');
select is((select row(o.name, o.status, o.plan_id, m.role)::text from api.organizations o
             join api.memberships m on m.org_id = o.id and m.user_id = isolation_test.id('loner')
            where o.id = (select (r ->> 'org_id')::uuid from acme)),
          row('Acme', 'active', 'standard', 'owner')::text, 'active, on the standard plan');
select throws_ok($$select isolation_test.rows_as('super', $q$select api.admin_create_organization('Globex', 'new.customer@globex.test', 'pending')$q$)$$,
                 'PT400', 'unknown plan', 'the pending plan is not assignable');
select isolation_test.act_as('super');
create temporary table initech as select api.admin_create_organization('Initech', 'Peter@initech.test', 'standard') as r;
select isolation_test.act_as_admin();
select is((select (r -> 'invitation')::jsonb ? 'token' from initech), true, 'an unknown email gets an invitation to own the org');
select is((select row(email, role, kind)::text from api.invitations where org_id = (select (r ->> 'org_id')::uuid from initech)),
          row('Peter@initech.test', 'owner', 'email')::text, 'addressed to them, as owner');
insert into auth.users (id, email) values (isolation_test.id('peter'), 'peter@initech.test');
insert into isolation_test.actors values
  (120, 'peter', 'authenticated', jsonb_build_object('role', 'authenticated', 'sub', isolation_test.id('peter')));
select isolation_test.act_as('peter');
select is(api.accept_invitation((select r -> 'invitation' ->> 'token' from initech)) ->> 'role', 'owner',
          'once signed up, they accept it and own the org');
select isolation_test.act_as_admin();

-- List orgs with status, plan and usage.
select is(isolation_test.attempt('owner_a', $$select count(*) from api.admin_list_organizations()$$), 'denied (PT403)',
          'an owner cannot list every org');
select is((select row(r ->> 'status', r ->> 'plan_id', r ->> 'members', r ->> 'projects')::text
             from jsonb_array_elements(isolation_test.rows_as('super', $q$select * from api.admin_list_organizations()
                                                                            where org_id = isolation_test.id('s')$q$)) r),
          row('suspended', 'standard', '1', '1')::text, 'the super admin lists each org''s status, plan and usage');
select is(isolation_test.rows_as('super', $q$select count(*) as n from api.admin_list_organizations()
                                            where status = 'pending_approval' and org_id = isolation_test.id('p')$q$)
            -> 0 ->> 'n', '1', 'filtering like any table-valued RPC');

-- Move ownership.
select is(isolation_test.attempt('admin_a', $$select count(*) from api.transfer_ownership(isolation_test.id('a'), isolation_test.id('admin_a'))$$),
          'denied (PT403)', 'an admin cannot take ownership');
select is(isolation_test.attempt('token_a', $$select count(*) from api.transfer_ownership(isolation_test.id('a'), isolation_test.id('member_a'))$$),
          'denied (PT403)', 'nor an API token move it');
select is(isolation_test.attempt('owner_a', $$select count(*) from api.transfer_ownership(isolation_test.id('a'), isolation_test.id('loner'))$$),
          'denied (PT404)', 'an owner moves it only to a member');
select is(isolation_test.attempt('owner_a', $$select count(*) from api.transfer_ownership(isolation_test.id('a'), email => 'loner@isolation.test')$$),
          'denied (PT403)', 'and never by email (that would look up any user of the platform)');
select is(isolation_test.attempt('owner_a', $$select count(*) from api.transfer_ownership(isolation_test.id('a'))$$),
          'denied (PT400)', 'the new owner must be named');
select is(isolation_test.attempt('owner_a', $$select count(*) from api.transfer_ownership(isolation_test.id('a'), isolation_test.id('member_a'))$$, 'b'),
          'allowed', 'an owner hands org A to a member');
select isolation_test.act_as('owner_a');
select api.transfer_ownership(isolation_test.id('a'), isolation_test.id('member_a'));
select isolation_test.act_as_admin();
select is((select array_agg(row(user_id = isolation_test.id('member_a'), role)::text order by role)
             from api.memberships where org_id = isolation_test.id('a') and user_id in (isolation_test.id('member_a'), isolation_test.id('owner_a'))),
          array[row(false, 'admin')::text, row(true, 'owner')::text], 'who becomes owner; the former owner an admin');
select isolation_test.act_as('super');
select is(api.transfer_ownership(isolation_test.id('b'), email => 'Loner@Isolation.test') ->> 'owner', isolation_test.id('loner')::text,
          'the super admin gives org B to a user of the platform by email');
select isolation_test.act_as_admin();
select is((select role from api.memberships where org_id = isolation_test.id('b') and user_id = isolation_test.id('loner')), 'owner',
          'who joins it as its owner');

-- What the super admin reads of tenants: memberships, not business rows.
select is(isolation_test.attempt('super', $$select count(*) from api.memberships where org_id = isolation_test.id('a')$$),
          'allowed', 'the super admin reads org A''s memberships (who belongs where)');
select is(isolation_test.attempt('super', $$select count(*) from api.projects where org_id = isolation_test.id('a')$$),
          'denied (0 rows)', 'but not its projects');
select is(isolation_test.attempt('super', $$select count(*) from api.tasks where org_id = isolation_test.id('a')$$),
          'denied (0 rows)', 'nor its tasks');
select is(isolation_test.attempt('super', $$select count(*) from api.invitations where org_id = isolation_test.id('a')$$),
          'denied (0 rows)', 'nor its invitations');

select * from finish();
rollback;
