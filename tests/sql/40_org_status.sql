-- Org status: a suspended org is read-only for its members (whatever path the write takes); a
-- pending org works within the platform limits until the super admin approves it.
begin;
\ir lib/fixture.sql
select plan(17);

-- Suspended: reads work, every write is refused, also through RPCs.
select is(isolation_test.attempt('owner_s', $$select count(*) from api.projects where org_id = isolation_test.id('s')$$),
          'allowed', 'the owner of a suspended org still reads its projects');
select is(isolation_test.attempt('owner_s', $$insert into api.projects (org_id, name) values (isolation_test.id('s'), 'new')$$),
          'denied (PT403)', 'but cannot add one');
select is(isolation_test.attempt('owner_s', $$update api.tasks set title = 'x' where org_id = isolation_test.id('s')$$),
          'denied (PT403)', 'nor change a task');
select is(isolation_test.attempt('owner_s', $$delete from api.projects where org_id = isolation_test.id('s')$$),
          'denied (PT403)', 'nor delete a project');
select is(isolation_test.attempt('owner_s', $$update api.organizations set name = 'x' where id = isolation_test.id('s')$$),
          'denied (0 rows)', 'nor rename the org');
select is(isolation_test.attempt('owner_s', $$select count(*) from api.create_invitation(isolation_test.id('s'), 'x@isolation.test', 'viewer')$$),
          'denied (PT403)', 'nor invite (the trigger refuses the SECURITY DEFINER path too)');
select is(isolation_test.attempt('owner_s', $$insert into api.memberships (org_id, user_id, role)
                                             values (isolation_test.id('s'), isolation_test.id('newbie'), 'viewer')$$),
          'denied (PT403)', 'nor change memberships');
select is(isolation_test.attempt('super', $$select count(*) from api.set_org_status(isolation_test.id('s'), 'active')$$),
          'allowed', 'the super admin reactivates it');

-- Pending: within the limits of the `pending` plan (1 project, 3 members by default), then refused.
select is(isolation_test.attempt('owner_p', $$insert into api.projects (org_id, name) values (isolation_test.id('p'), 'first')$$),
          'allowed', 'a pending org creates its first project');
insert into api.projects (org_id, name) values (isolation_test.id('p'), 'first');
select is(isolation_test.attempt('owner_p', $$insert into api.projects (org_id, name) values (isolation_test.id('p'), 'second')$$),
          'denied (quota_exceeded)', 'but not a second one (the pending plan''s limit)');
select is(isolation_test.attempt('owner_p', $$insert into api.memberships (org_id, user_id, role)
                                             values (isolation_test.id('p'), isolation_test.id('newbie'), 'member')$$),
          'allowed', 'it adds a second member');
insert into api.memberships (org_id, user_id, role) values
  (isolation_test.id('p'), isolation_test.id('newbie'), 'member'),
  (isolation_test.id('p'), isolation_test.id('loner'), 'member');
select is(isolation_test.attempt('owner_p', $$insert into api.memberships (org_id, user_id, role)
                                             values (isolation_test.id('p'), isolation_test.id('extra_a'), 'member')$$),
          'denied (quota_exceeded)', 'but not a fourth');
select is(isolation_test.attempt('owner_p', $$select count(*) from api.set_org_status(isolation_test.id('p'), 'active')$$),
          'denied (PT403)', 'its owner cannot approve it');
select is(isolation_test.attempt('owner_p', $$update api.organizations set status = 'active' where id = isolation_test.id('p')$$),
          'denied (42501)', 'not even by writing the status column');
select is(isolation_test.attempt('super', $$select count(*) from api.set_org_status(isolation_test.id('p'), 'active')$$),
          'allowed', 'the super admin approves it');
update api.organizations set status = 'active' where id = isolation_test.id('p');
select is(isolation_test.attempt('owner_p', $$insert into api.projects (org_id, name) values (isolation_test.id('p'), 'second')$$),
          'allowed', 'once active, the limits are gone');
-- The pending org's data stayed its own throughout.
select is(isolation_test.attempt('owner_p', $$select count(*) from api.projects where org_id <> isolation_test.id('p')$$),
          'denied (0 rows)', 'the pending org''s owner sees no other org''s projects');

select * from finish();
rollback;
