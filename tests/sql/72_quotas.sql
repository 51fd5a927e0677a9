-- Plans and quotas (issue 17 point 4): every org is on a plan; its limits hold at write time with
-- one error (403 `quota_exceeded`, a hint naming the limit) whatever the path (a table write, an
-- RPC, a trigger); usage is counted exactly as rows come and go; api.org_usage shows usage against
-- the limits; only the super admin changes plans and assigns them; other orgs never change.
begin;
\ir lib/fixture.sql
select plan(42);

-- What `stmt` run as `actor` answers, rolled back: 'no error', or the status, code, message and
-- hint of a quota error, or another error's SQLSTATE and message.
create function pg_temp.quota_error(actor text, stmt text) returns text
language plpgsql as $$
declare
  detail text;
begin
  begin
    perform isolation_test.act_as(actor);
    execute stmt;
    -- Rolled back either way (the subtransaction ends in an exception).
    raise exception using errcode = 'RGT01', message = 'no error';
  exception when others then
    get stacked diagnostics detail = pg_exception_detail;
    if sqlstate = 'RGT01' then
      return 'no error';
    end if;
    if sqlstate = 'PGRST' then
      return (detail::jsonb ->> 'status') || ' ' || (sqlerrm::jsonb ->> 'code') || ': '
          || (sqlerrm::jsonb ->> 'message') || ' / ' || (sqlerrm::jsonb ->> 'hint');
    end if;
    return sqlstate || ': ' || sqlerrm;
  end;
end
$$;

create function pg_temp.used(x text, counter text) returns bigint
language sql as $$
  select coalesce((select used from api.usage_counters where org_id = isolation_test.id(x) and counter = $2), 0)
$$;

-- The counters start exact (the fixture's rows were counted as they were inserted).
select is(pg_temp.used('a', 'members'), 5::bigint, 'org A counts its 5 members');
select is(pg_temp.used('a', 'projects'), 1::bigint, 'and its project');
select is(pg_temp.used('a', 'tasks'), 1::bigint, 'and its task');
select is(pg_temp.used('a', 'api_tokens'), 1::bigint, 'and its API token');
select is((select plan_id from api.organizations where id = isolation_test.id('a')), 'standard',
          'every org starts on the standard plan (no limits)');

-- A plan with limits, assigned by the super admin only.
select is(isolation_test.attempt('super', $$insert into api.plans (id, name, max_members, max_projects, max_tasks,
                                              max_api_tokens, max_storage_mb, limits)
                                            values ('small', 'Small', 6, 2, 2, 1, 10, '{"executions": 3}')$$),
          'allowed', 'the super admin creates a plan');
insert into api.plans (id, name, max_members, max_projects, max_tasks, max_api_tokens, max_storage_mb, limits)
values ('small', 'Small', 6, 2, 2, 1, 10, '{"executions": 3}');
select is(isolation_test.attempt('owner_a', $$select count(*) from api.set_org_plan(isolation_test.id('a'), 'small')$$),
          'denied (PT403)', 'an owner cannot pick their own plan');
select is(isolation_test.attempt('owner_a', $$update api.organizations set plan_id = 'small' where id = isolation_test.id('a')$$),
          'denied (42501)', 'nor write the column');
select is(isolation_test.attempt('super', $$select count(*) from api.set_org_plan(isolation_test.id('a'), 'pending')$$),
          'denied (PT400)', 'the pending plan is not assignable');
select is(isolation_test.attempt('super', $$select count(*) from api.set_org_plan(isolation_test.id('a'), 'nope')$$),
          'denied (PT400)', 'nor an unknown one');
select is(isolation_test.attempt('super', $$select count(*) from api.set_org_plan(isolation_test.id('a'), 'small')$$, 'b'),
          'allowed', 'the super admin moves org A to it (org B unchanged)');
update api.organizations set plan_id = 'small' where id = isolation_test.id('a');

-- Members: 5 of 6.
select is(pg_temp.quota_error('owner_a', $$insert into api.memberships (org_id, user_id, role)
                                           values (isolation_test.id('a'), isolation_test.id('newbie'), 'viewer')$$),
          'no error', 'the sixth member fits');
insert into api.memberships (org_id, user_id, role) values (isolation_test.id('a'), isolation_test.id('newbie'), 'viewer');
select is(pg_temp.quota_error('owner_a', $$insert into api.memberships (org_id, user_id, role)
                                           values (isolation_test.id('a'), isolation_test.id('loner'), 'viewer')$$),
          '403 quota_exceeded: quota exceeded: members / the limit is max_members of plan small; a super admin can move the organization to another plan',
          'the seventh is refused with 403 quota_exceeded, the hint naming the limit');
select is(pg_temp.quota_error('owner_a', $$select api.accept_invitation(isolation_test.invitation_token('a', 'link_a'))$$),
          'PT409: already a member of this organization', 'a member already is told so first');
select alike(pg_temp.quota_error('loner', $$select api.accept_invitation(isolation_test.invitation_token('a', 'link_a'))$$),
          '403 quota_exceeded: quota exceeded: members%', 'joining through a link is refused the same way (an RPC path)');

-- Projects 1 of 2, tasks 1 of 2.
select is(pg_temp.quota_error('member_a', $$insert into api.projects (org_id, name) values (isolation_test.id('a'), 'p2')$$),
          'no error', 'the second project fits');
insert into api.projects (org_id, id, name) values (isolation_test.id('a'), isolation_test.id('p2'), 'p2');
select alike(pg_temp.quota_error('member_a', $$insert into api.projects (org_id, name) values (isolation_test.id('a'), 'p3')$$),
          '403 quota_exceeded: quota exceeded: projects / the limit is max_projects of plan small%', 'the third is refused');
select alike(pg_temp.quota_error('member_a', $$insert into api.tasks (org_id, project_id, title)
                                            select isolation_test.id('a'), isolation_test.id('project_a'), 't' || i
                                              from generate_series(1, 2) i$$),
          '403 quota_exceeded: quota exceeded: tasks%', 'two more tasks in one statement would make three: refused whole');
select is(pg_temp.used('a', 'tasks'), 1::bigint, 'and nothing of it was counted');
select is(pg_temp.quota_error('token_a', $$insert into api.tasks (org_id, project_id, title)
                                          values (isolation_test.id('a'), isolation_test.id('project_a'), 'by token')$$),
          'no error', 'an API token writes within the same limits');

-- Deleting frees the quota; the count follows exactly.
delete from api.projects where org_id = isolation_test.id('a') and id = isolation_test.id('p2');
select is(pg_temp.used('a', 'projects'), 1::bigint, 'a deleted project is uncounted');
select is(pg_temp.quota_error('member_a', $$insert into api.projects (org_id, name) values (isolation_test.id('a'), 'p3')$$),
          'no error', 'and the next one fits again');

-- API tokens: 1 of 1 (revoking frees it).
select alike(pg_temp.quota_error('owner_a', $$select api.create_api_token(isolation_test.id('a'), 'ci 2', 'viewer')$$),
          '403 quota_exceeded: quota exceeded: api_tokens%', 'a second live API token is refused');
update auth.api_tokens set revoked_at = now() where id = isolation_test.id('token_a');
select is(pg_temp.used('a', 'api_tokens'), 0::bigint, 'a revoked token is uncounted');
select is(pg_temp.quota_error('owner_a', $$select api.create_api_token(isolation_test.id('a'), 'ci 2', 'viewer')$$),
          'no error', 'and a new one fits');

-- Storage and the counters a product adds: internal.add_usage.
select is(internal.add_usage(isolation_test.id('a'), 'storage_mb', 8), 8::bigint, 'storage: 8 MB of 10');
select is(isolation_test.attempt('owner_a', $$select count(*) from internal.add_usage(isolation_test.id('a'), 'storage_mb', 1)$$),
          'denied (42501)', 'request roles cannot call add_usage (products call it from their own functions)');
select throws_ok($$select internal.add_usage(isolation_test.id('a'), 'storage_mb', 3)$$, 'PGRST', null,
                 '11 MB of 10 is refused');
select is(internal.add_usage(isolation_test.id('a'), 'storage_mb', -5), 3::bigint, 'giving storage back always works');
select is(internal.add_usage(isolation_test.id('a'), 'executions', 3), 3::bigint, 'a product counter within its limit');
select throws_like($$select internal.add_usage(isolation_test.id('a'), 'executions', 1)$$,
                   '%"hint" : "the limit is limits.executions of plan small%', 'and beyond it (the hint names limits.executions)');
select throws_ok($$select internal.add_usage(isolation_test.id('a'), 'tasks', 1)$$, 'PT400', 'counter tasks is kept by the database itself',
                 'the built-in counters are the database''s own');

-- api.org_usage: usage against the limits of the plan that applies.
select is((select row(members, max_members, projects, max_projects, tasks, max_tasks, api_tokens, max_api_tokens,
                      storage_mb, max_storage_mb, counters ->> 'executions', limits ->> 'executions', effective_plan)::text
             from api.org_usage where org_id = isolation_test.id('a')),
          row(6, 6, 1, 2, 1, 2, 0, 1, 3, 10, '3', '3', 'small')::text,
          'org_usage shows org A against its plan (the tries above were rolled back)');
select is(isolation_test.attempt('viewer_a', $$select count(*) from api.org_usage where org_id = isolation_test.id('a')$$),
          'allowed', 'its members read it');
select is(isolation_test.attempt('owner_b', $$select count(*) from api.org_usage where org_id = isolation_test.id('a')$$),
          'denied (0 rows)', 'other orgs do not');
select is(isolation_test.attempt('super', $$select count(*) from api.org_usage$$), 'allowed', 'the super admin reads every org''s');

-- Org B, on the standard plan, was never limited nor counted by A's writes.
select is(pg_temp.used('b', 'members'), 5::bigint, 'org B''s counters are its own');
select is(pg_temp.quota_error('owner_b', $$insert into api.projects (org_id, name)
                                           select isolation_test.id('b'), 'p' || i from generate_series(1, 50) i$$),
          'no error', 'org B (standard plan) has no limits');

-- A pending org is held to the `pending` plan, whatever its own; approving it lifts that.
update api.organizations set plan_id = 'small' where id = isolation_test.id('p');
select is((select effective_plan from api.org_usage where org_id = isolation_test.id('p')), 'pending',
          'a pending org''s limits are the pending plan''s');
select is(isolation_test.attempt('super', $$update api.plans set max_projects = 0 where id = 'pending'$$), 'allowed',
          'the super admin sets the pending limits (the old platform settings)');
update api.plans set max_projects = 0 where id = 'pending';
select alike(pg_temp.quota_error('owner_p', $$insert into api.projects (org_id, name) values (isolation_test.id('p'), 'x')$$),
          '403 quota_exceeded: quota exceeded: projects / the limit is max_projects of plan pending; an administrator must approve the organization first',
          'so a pending org now creates no project');
update api.organizations set status = 'active' where id = isolation_test.id('p');
select is(pg_temp.quota_error('owner_p', $$insert into api.projects (org_id, name) values (isolation_test.id('p'), 'x')$$),
          'no error', 'once approved, its own plan applies');

select * from finish();
rollback;
