-- Org lifecycle (issue 17 point 3): an owner or the super admin deletes an org, which turns
-- pending_deletion — read-only, restorable to the status it had until purge_after (the platform's
-- grace period) — and the maintenance job purges it afterwards, its rows with it, exactly once
-- per interval whoever calls it; suspension and reactivation record who, when and why, for the
-- org's owners. Other orgs never change.
begin;
\ir lib/fixture.sql
select plan(42);

create function pg_temp.status(x text) returns text
language sql as $$ select status from api.organizations where id = isolation_test.id(x) $$;

-- Who may delete.
select is(isolation_test.attempt(a, $$select count(*) from api.delete_organization(isolation_test.id('a'))$$, 'b'),
          'denied (PT403)', format('%s cannot delete org A', a))
  from unnest(array['admin_a', 'member_a', 'viewer_a', 'owner_b', 'loner', 'token_a']) a;
select is(isolation_test.attempt(a, $$select count(*) from api.delete_organization(isolation_test.id('a'))$$, 'b'),
          'denied (42501)', format('%s may not even call it', a))
  from unnest(array['service', 'anon']) a;
select is(isolation_test.attempt('owner_a', $$select count(*) from api.delete_organization(isolation_test.id('a'))$$, 'b'),
          'allowed', 'its owner deletes org A (org B unchanged)');

-- Deleted: pending deletion, read-only, restorable.
update api.platform_settings set deletion_grace_period = '7 days';
select isolation_test.act_as('owner_a');
select is(api.delete_organization(isolation_test.id('a')) ->> 'status', 'pending_deletion', 'org A is pending deletion');
select isolation_test.act_as_admin();
select is((select row(restore_status, purge_after > now() + interval '6 days 23 hours',
                      purge_after <= now() + interval '7 days', status_changed_by = isolation_test.id('owner_a'))::text
             from api.organizations where id = isolation_test.id('a')),
          row('active', true, true, true)::text,
          'it remembers its status and is purged after the grace period (a platform setting), the owner recorded');
select is(isolation_test.attempt('member_a', $$select count(*) from api.tasks where org_id = isolation_test.id('a')$$),
          'allowed', 'its members still read it');
select is(isolation_test.attempt('member_a', $$insert into api.tasks (org_id, project_id, title)
                                              values (isolation_test.id('a'), isolation_test.id('project_a'), 'x')$$),
          'denied (PT403)', 'but write nothing');
select is(isolation_test.attempt('owner_a', $$update api.organizations set name = 'x' where id = isolation_test.id('a')$$),
          'denied (0 rows)', 'nor rename it');
select is(isolation_test.attempt('owner_a', $$select count(*) from api.delete_organization(isolation_test.id('a'))$$),
          'denied (PT409)', 'deleting it again is refused');
select is(isolation_test.attempt('owner_b', $$select count(*) from api.restore_organization(isolation_test.id('a'))$$),
          'denied (PT403)', 'another org''s owner cannot restore it');
select is(isolation_test.attempt('admin_a', $$select count(*) from api.restore_organization(isolation_test.id('a'))$$),
          'denied (PT403)', 'nor its admin');
select is(isolation_test.attempt('owner_a', $$select count(*) from api.restore_organization(isolation_test.id('a'))$$, 'b'),
          'allowed', 'its owner restores it');
select isolation_test.act_as('owner_a');
select is(api.restore_organization(isolation_test.id('a')) ->> 'status', 'active', 'back to active');
select isolation_test.act_as_admin();
select is((select row(purge_after, restore_status)::text from api.organizations where id = isolation_test.id('a')),
          row(null, null)::text, 'no purge date any more');
select is(isolation_test.attempt('member_a', $$insert into api.tasks (org_id, project_id, title)
                                              values (isolation_test.id('a'), isolation_test.id('project_a'), 'x')$$),
          'allowed', 'and writable again');

-- A suspended org deleted and restored stays suspended: deleting is no way out of a suspension.
select isolation_test.act_as('owner_s');
select is(api.delete_organization(isolation_test.id('s')) ->> 'status', 'pending_deletion', 'a suspended org''s owner may delete it');
select is(api.restore_organization(isolation_test.id('s')) ->> 'status', 'suspended', 'restoring it gives it back suspended');
select isolation_test.act_as_admin();

-- The super admin deletes any org; after the grace period only the maintenance job acts.
select isolation_test.act_as('super');
select is(api.delete_organization(isolation_test.id('b')) ->> 'status', 'pending_deletion', 'the super admin deletes org B');
select isolation_test.act_as_admin();
update api.organizations set purge_after = now() - interval '1 second' where id = isolation_test.id('b');
select is(isolation_test.attempt('owner_b', $$select count(*) from api.restore_organization(isolation_test.id('b'))$$),
          'denied (PT409)', 'past the grace period it cannot be restored');

-- The maintenance job: one run per interval, whichever instance asks. (Runs a restored copy
-- recorded before are forgotten in this transaction.)
delete from internal.maintenance_runs;
create temporary table a_before as select isolation_test.org_digest('a') as d;
select is(internal.run_maintenance('instance 1', interval '1 hour') ->> 'purged_orgs', '1', 'a maintenance run purges org B');
select is((select count(*)::int from api.organizations where id = isolation_test.id('b')), 0, 'org B is gone');
select is((select count(*)::int from api.projects where org_id = isolation_test.id('b'))
        + (select count(*)::int from api.tasks where org_id = isolation_test.id('b'))
        + (select count(*)::int from api.memberships where org_id = isolation_test.id('b'))
        + (select count(*)::int from api.invitations where org_id = isolation_test.id('b'))
        + (select count(*)::int from api.org_models where org_id = isolation_test.id('b'))
        + (select count(*)::int from api.org_entitlements where org_id = isolation_test.id('b'))
        + (select count(*)::int from api.usage_counters where org_id = isolation_test.id('b'))
        + (select count(*)::int from auth.api_tokens where org_id = isolation_test.id('b')), 0,
          'and every row of it');
select is((select count(*)::int from api.audit_log where org_id = isolation_test.id('b') and action = 'DELETE'), 0,
          'the purge writes no entry per removed row');
select is((select diff -> 'removed' ->> 'tasks' from api.audit_log where org_id = isolation_test.id('b') and action = 'PURGE'),
          '1', 'but one PURGE entry, counting what went');
select is((select count(*)::int from api.audit_log where org_id = isolation_test.id('b') and action <> 'PURGE') > 0, true,
          'the org''s history stays in the append-only log');
select is(isolation_test.org_digest('a'), (select d from a_before), 'org A is unchanged');
select is(internal.run_maintenance('instance 2', interval '1 hour') ->> 'ran', 'false',
          'another instance asking within the interval does nothing');
select is((select count(*)::int from internal.maintenance_runs), 1, 'one run recorded');
select is(internal.run_maintenance('instance 2', interval '0') ->> 'ran', 'true', 'after the interval it runs again');
select is(isolation_test.attempt('owner_a', $$select count(*) from internal.run_maintenance('x', interval '0')$$),
          'denied (42501)', 'request roles cannot run it (the gateway''s own role does)');

-- Suspension and reactivation: who, when and why, for the org's owners.
select isolation_test.act_as('super');
select is(api.set_org_status(isolation_test.id('a'), 'suspended', 'Billing issue') ->> 'reason', 'Billing issue',
          'the super admin suspends org A with a reason');
select isolation_test.act_as_admin();
select isolation_test.act_as('owner_a');
select is((select row(status, status_reason, status_changed_by = isolation_test.id('super'),
                      status_changed_at = now())::text
             from api.organizations where id = isolation_test.id('a')),
          row('suspended', 'Billing issue', true, true)::text, 'its owner sees who suspended it, when and why');
select is((select diff -> 'status_reason' ->> 'new' from api.audit_log
            where org_id = isolation_test.id('a') and table_name = 'organizations' and action = 'UPDATE'
            order by at desc limit 1),
          'Billing issue', 'and so does its audit log');
select isolation_test.act_as_admin();
select isolation_test.act_as('super');
select is(api.set_org_status(isolation_test.id('a'), 'active', 'Paid') ->> 'status', 'active', 'and reactivates it');
select isolation_test.act_as_admin();
select isolation_test.act_as('owner_a');
select is((select status_reason from api.organizations where id = isolation_test.id('a')), 'Paid', 'with its reason');
select isolation_test.act_as_admin();
select is(isolation_test.attempt('super', $$select count(*) from api.set_org_status(isolation_test.id('a'), 'pending_deletion')$$),
          'denied (PT400)', 'set_org_status does not delete (api.delete_organization does)');

select * from finish();
rollback;
