-- Entitlements controlled by the platform (issue 17 point 5): only the super admin or service_role
-- grant a catalog item to an org; its owners and admins enable and disable among what it is
-- entitled to; internal.has_model_access (and api.has_model_access) answers for the caller; the
-- access report lists, per org, who can use which item — an org's admins see their org, the super
-- admin every org. Other orgs never change.
begin;
\ir lib/fixture.sql
select plan(40);

create function pg_temp.access(actor text, model text) returns boolean
language plpgsql as $$
declare
  ok boolean;
begin
  perform isolation_test.act_as(actor);
  ok := api.has_model_access(isolation_test.id('model_' || model));
  perform isolation_test.act_as_admin();
  return ok;
end
$$;

-- An org admin enables only what the org is entitled to (the bug this closes: enabling any
-- catalog item whose id they knew).
select is(isolation_test.attempt('admin_a', $$insert into api.org_models (org_id, model_id)
                                             values (isolation_test.id('a'), isolation_test.id('model_extra'))$$),
          'error 23503: insert or update on table "org_models" violates foreign key constraint "org_models_entitlement_fkey"',
          'an admin cannot enable a model the org is not entitled to');
select is(isolation_test.attempt('admin_a', $$insert into api.org_models (org_id, model_id)
                                             values (isolation_test.id('a'), isolation_test.id('model_free'))$$, 'b'),
          'allowed', 'but enables one it is entitled to');
select is(isolation_test.attempt('admin_a', $$insert into api.org_entitlements (org_id, model_id)
                                             values (isolation_test.id('a'), isolation_test.id('model_extra'))$$),
          'denied (42501)', 'nor can an admin entitle the org');
select is(isolation_test.attempt(a, $$select count(*) from api.grant_entitlement(isolation_test.id('a'), isolation_test.id('model_extra'))$$),
          'denied (PT403)', format('%s cannot grant an entitlement', a))
  from unnest(array['owner_a', 'admin_a', 'member_a', 'owner_b', 'loner', 'token_a']) a;
select is(isolation_test.attempt('anon', $$select count(*) from api.grant_entitlement(isolation_test.id('a'), isolation_test.id('model_extra'))$$),
          'denied (42501)', 'anonymous callers may not call it');

-- The platform grants; admins then enable.
select is(isolation_test.attempt('service', $$select count(*) from api.grant_entitlement(isolation_test.id('a'), isolation_test.id('model_extra'))$$, 'b'),
          'allowed', 'service_role (billing automation) grants model_extra to org A');
select is(isolation_test.attempt('super', $$select count(*) from api.grant_entitlement(isolation_test.id('a'), isolation_test.id('model_extra'),
                                                                             now() + interval '30 days')$$, 'b'),
          'allowed', 'the super admin grants it, paid for 30 days');
select isolation_test.act_as('super');
select is(api.grant_entitlement(isolation_test.id('a'), isolation_test.id('model_extra'), now() + interval '30 days') ->> 'granted_by',
          isolation_test.id('super')::text, 'granted (who granted it is recorded)');
select isolation_test.act_as_admin();
select is(isolation_test.attempt('super', $$select count(*) from api.grant_entitlement(isolation_test.id('a'), isolation_test.id('model_extra'),
                                                                             now() - interval '1 day')$$),
          'denied (PT400)', 'an expiry in the past is refused');
select is(isolation_test.attempt('super', $$select count(*) from api.grant_entitlement(isolation_test.id('a'), isolation_test.id('nothing'))$$),
          'denied (PT404)', 'an unknown model is refused');
select is((select count(*)::int from api.audit_log where org_id = isolation_test.id('a') and table_name = 'org_entitlements'
              and action = 'INSERT' and actor_user_id = isolation_test.id('super')), 1,
          'the grant is in org A''s audit log');
select is(isolation_test.attempt('admin_a', $$select count(*) from api.audit_log where table_name = 'org_entitlements'
                                             and org_id = isolation_test.id('a')$$),
          'allowed', 'which org A''s admins read');
select is(isolation_test.attempt('admin_a', $$insert into api.org_models (org_id, model_id)
                                             values (isolation_test.id('a'), isolation_test.id('model_extra'))$$, 'b'),
          'allowed', 'now org A''s admin enables it');
insert into api.org_models (org_id, model_id) values (isolation_test.id('a'), isolation_test.id('model_extra'));

-- has_model_access: members of an org that enabled an entitled model.
select is(pg_temp.access(a, 'a'), true, format('%s may use model_a', a))
  from unnest(array['owner_a', 'admin_a', 'member_a', 'viewer_a', 'token_a']) a;
select is(pg_temp.access(a, 'a'), false, format('%s may not use model_a', a))
  from unnest(array['owner_b', 'member_b', 'loner', 'super']) a;
select is(pg_temp.access('member_a', 'free'), false, 'entitled but not enabled: no access');
select is(pg_temp.access('member_a', 'b'), false, 'another org''s model: no access');
select is(pg_temp.access('member_a', 'extra'), true, 'the newly granted and enabled model: access');
update api.org_entitlements set expires_at = now() - interval '1 second'
 where org_id = isolation_test.id('a') and model_id = isolation_test.id('model_extra');
select is(pg_temp.access('member_a', 'extra'), false, 'once the paid period is over: no access');
update auth.users set disabled_at = now() where id = isolation_test.id('viewer_a');
select is(pg_temp.access('viewer_a', 'a'), false, 'a disabled user: no access');
update auth.users set disabled_at = null where id = isolation_test.id('viewer_a');
update api.organizations set status = 'suspended' where id = isolation_test.id('a');
select is(pg_temp.access('member_a', 'a'), false, 'a suspended org: no access');
update api.organizations set status = 'active' where id = isolation_test.id('a');

-- The access report.
select is((select array_agg(row(r ->> 'email', r ->> 'role', r ->> 'model_name')::text order by r ->> 'email', r ->> 'model_name')
             from jsonb_array_elements(isolation_test.rows_as('admin_a', 'select * from api.access_report')) r),
          array[row('admin_a@isolation.test', 'admin', 'isolation model a')::text,
                row('extra_a@isolation.test', 'member', 'isolation model a')::text,
                row('member_a@isolation.test', 'member', 'isolation model a')::text,
                row('owner_a@isolation.test', 'owner', 'isolation model a')::text,
                row('viewer_a@isolation.test', 'viewer', 'isolation model a')::text],
          'org A''s admin sees who in org A can use which model (model_extra expired)');
select is(isolation_test.rows_as('super', $q$select count(distinct org_id) as n from api.access_report
                                            where org_id in (isolation_test.id('a'), isolation_test.id('b'))$q$) -> 0 ->> 'n', '2',
          'the super admin sees every org''s');
select is(isolation_test.attempt('member_a', $$select count(*) from api.access_report$$), 'denied (0 rows)',
          'a member does not');

-- Revoking takes the enabled copy with it, also in a suspended org.
update api.organizations set status = 'suspended' where id = isolation_test.id('a');
select is(isolation_test.attempt('service', $$select count(*) from api.revoke_entitlement(isolation_test.id('a'), isolation_test.id('model_a'))$$, 'b'),
          'allowed', 'the platform revokes model_a from a suspended org A');
select isolation_test.act_as('service');
select is(api.revoke_entitlement(isolation_test.id('a'), isolation_test.id('model_a')) ->> 'model_id',
          isolation_test.id('model_a')::text, 'revoked');
select isolation_test.act_as_admin();
select is((select count(*)::int from api.org_models where org_id = isolation_test.id('a') and model_id = isolation_test.id('model_a')), 0,
          'and org A no longer has it enabled');
select is(isolation_test.attempt('service', $$select count(*) from api.revoke_entitlement(isolation_test.id('a'), isolation_test.id('model_a'))$$),
          'denied (PT404)', 'revoking again: not found');

select * from finish();
rollback;
