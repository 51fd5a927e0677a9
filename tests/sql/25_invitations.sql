-- Invitations and new organizations, step by step (the RPC matrix of 20_rpcs.sql checks each call
-- on its own, rolled back): an invitation addressed to an email is accepted only by that user
-- (case-insensitively) and by nobody else — not a user of another org, of no org, of the same org,
-- nor an API token — and a refusal changes nothing; an "anyone with the link" invitation admits
-- signed-in users up to its use count, until it expires, within the org's limits, and a member
-- using it consumes nothing; a signed-in user creates an organization and owns it, active or
-- pending per the platform settings.
begin;
\ir lib/fixture.sql
select plan(90);

-- Users in no org besides `loner` (`newbie` is in the fixture, but not an actor there), a disabled
-- user, and a token naming no user; all outside the matrices.
insert into auth.users (id, email) values
  (isolation_test.id('stranger'), 'stranger@isolation.test'),
  (isolation_test.id('disabled'), 'disabled@isolation.test');
update auth.users set disabled_at = now() where id = isolation_test.id('disabled');
insert into isolation_test.actors
select 102 + n, u, 'authenticated', jsonb_build_object('role', 'authenticated', 'sub', isolation_test.id(u))
  from unnest(array['stranger', 'disabled', 'newbie']) with ordinality t (u, n);
insert into isolation_test.actors values
  (110, 'nobody', 'authenticated', jsonb_build_object('role', 'authenticated', 'sub', isolation_test.id('no such user')));

-- Runs `stmt` as `actor` and keeps what it did (unlike isolation_test.attempt): its single value
-- as text, or 'error SQLSTATE: message' (the failed statement changed nothing; a quota: 'error
-- quota_exceeded: details').
create function pg_temp.run(actor text, stmt text) returns text
language plpgsql as $$
declare
  result text;
begin
  begin
    perform isolation_test.act_as(actor);
    execute stmt into result;
    perform isolation_test.act_as_admin();
    return coalesce(result, 'null');
  exception when others then
    -- A quota (RAISE SQLSTATE 'PGRST' with a JSON message): its code and details.
    if sqlstate = 'PGRST' then
      return 'error ' || (sqlerrm::jsonb ->> 'code') || ': ' || (sqlerrm::jsonb ->> 'details');
    end if;
    return 'error ' || sqlstate || ': ' || sqlerrm;
  end;
end
$$;

-- Everything a refused call must leave alone.
create function pg_temp.world() returns text
language sql as $$
  select isolation_test.org_digest('a') || isolation_test.org_digest('b') || isolation_test.org_digest('p')
      || (select md5(string_agg(m::text, '|' order by m::text)) from api.memberships m)
      || (select md5(string_agg(o::text, '|' order by o::text)) from api.organizations o)
$$;

-- A result as jsonb; an error message becomes a JSON string (so a failure shows it).
create function pg_temp.j(t text) returns jsonb
language plpgsql as $$
begin
  return t::jsonb;
exception when others then
  return to_jsonb(t);
end
$$;

create function pg_temp.accept(token text) returns text
language sql as $$ select format('select api.accept_invitation(%L)', token) $$;

create temporary table saved (name text primary key, value text);

-- ---------------------------------------------------------------------------------------------
-- Email invitations: only the addressee.

insert into saved select 'world', pg_temp.world();
select is(pg_temp.run(u, pg_temp.accept(isolation_test.invitation_token('a', 'for_loner_a'))),
          'error PT403: this invitation is for another email address',
          format('an invitation of A for the loner is refused to %s', u))
  from unnest(array['member_b', 'owner_b', 'stranger', 'super', 'viewer_a', 'owner_a']) u;
select is(pg_temp.run('token_a', pg_temp.accept(isolation_test.invitation_token('a', 'for_loner_a'))),
          'error PT403: API tokens cannot accept invitations', 'and to an API token');
select matches(pg_temp.run('anon', pg_temp.accept(isolation_test.invitation_token('a', 'for_loner_a'))),
               '^error 42501: permission denied for function accept_invitation', 'and to anonymous callers');
select is(pg_temp.run('disabled', pg_temp.accept(isolation_test.invitation_token('a', 'for_loner_a'))),
          'error PT401: not signed in', 'and to a disabled user');
select is(pg_temp.world(), (select value from saved where name = 'world'), 'the refusals changed nothing');
select is((select accepted_at from api.invitations where id = isolation_test.id('for_loner_a')), null,
          'the invitation is still open');

-- The addressee accepts, whatever the case of either address.
select is(pg_temp.j(pg_temp.run('loner', pg_temp.accept(isolation_test.invitation_token('a', 'for_loner_a')))),
          jsonb_build_object('org_id', isolation_test.id('a'), 'role', 'viewer'),
          'the loner accepts the invitation for Loner@Isolation.TEST');
select is((select role from api.memberships where org_id = isolation_test.id('a') and user_id = isolation_test.id('loner')),
          'viewer', 'and is a viewer of A');
select is((select accepted_by from api.invitations where id = isolation_test.id('for_loner_a')),
          isolation_test.id('loner'), 'the invitation records who accepted it');
select is((select actor_user_id from api.audit_log
            where org_id = isolation_test.id('a') and table_name = 'memberships' and action = 'INSERT'
              and row_key ->> 'user_id' = isolation_test.id('loner')::text),
          isolation_test.id('loner'), 'the audit log records the loner joining');
select is(pg_temp.run('loner', pg_temp.accept(isolation_test.invitation_token('a', 'for_loner_a'))),
          'error PT400: invitation invalid, expired or already used', 'it cannot be used twice');
select is(pg_temp.run('stranger', pg_temp.accept(isolation_test.invitation_token('a', 'for_loner_a'))),
          'error PT400: invitation invalid, expired or already used', 'by anyone');

-- A user of another org accepts an invitation addressed to them; the API token of its creator
-- cannot accept it for them.
insert into api.invitations (org_id, id, email, role, token_hash)
values (isolation_test.id('b'), isolation_test.id('for_owner_a'), ' OWNER_A@isolation.test', 'member',
        encode(digest(isolation_test.invitation_token('b', 'for_owner_a'), 'sha256'), 'hex'));
select is(pg_temp.run('token_a', pg_temp.accept(isolation_test.invitation_token('b', 'for_owner_a'))),
          'error PT403: API tokens cannot accept invitations', 'an API token cannot accept its creator''s invitation');
select is(pg_temp.j(pg_temp.run('owner_a', pg_temp.accept(isolation_test.invitation_token('b', 'for_owner_a')))),
          jsonb_build_object('org_id', isolation_test.id('b'), 'role', 'member'),
          'the creator, signed in, accepts it (a member of A joins B)');

-- Expired: refused to the addressee too.
update api.invitations set expires_at = now() - interval '1 second' where id = isolation_test.id('for_loner_b');
select is(pg_temp.run('loner', pg_temp.accept(isolation_test.invitation_token('b', 'for_loner_b'))),
          'error PT400: invitation invalid, expired or already used', 'an expired invitation is refused to its addressee');
-- A member addressed by an invitation of their own org: already a member.
insert into api.invitations (org_id, id, email, role, token_hash)
values (isolation_test.id('a'), isolation_test.id('for_viewer_a'), 'viewer_a@isolation.test', 'admin',
        encode(digest(isolation_test.invitation_token('a', 'for_viewer_a'), 'sha256'), 'hex'));
select is(pg_temp.run('viewer_a', pg_temp.accept(isolation_test.invitation_token('a', 'for_viewer_a'))),
          'error PT409: already a member of this organization', 'a member cannot re-join through an invitation');
select is((select accepted_at from api.invitations where id = isolation_test.id('for_viewer_a')), null,
          'which stays unused');

-- create_invitation is unchanged for its callers: the token it returns works for the addressee only.
insert into saved
select 'for_stranger', pg_temp.run('admin_a', $$select api.create_invitation(isolation_test.id('a'), 'Stranger@Isolation.test', 'member')$$);
select matches((select value from saved where name = 'for_stranger'), '^' || isolation_test.id('a') || '\.[0-9a-f]{48}$',
               'create_invitation returns the token');
select is(pg_temp.run('newbie', pg_temp.accept((select value from saved where name = 'for_stranger'))),
          'error PT403: this invitation is for another email address', 'refused to another user');
select is(pg_temp.j(pg_temp.run('stranger', pg_temp.accept((select value from saved where name = 'for_stranger')))),
          jsonb_build_object('org_id', isolation_test.id('a'), 'role', 'member'), 'accepted by the addressee');

-- ---------------------------------------------------------------------------------------------
-- Links: who may create them.

select is(pg_temp.run(a, format($$select api.create_invite_link(isolation_test.id('a'), %L, %s, %L)$$, r, n, e)),
          'error ' || msg, format('create_invite_link(A, %s, %s, %s) by %s: %s', r, n, e, a, msg))
  from (values
    ('member_a', 'viewer', '5', '1 day', 'PT403: only owners and admins invite'),
    ('token_a', 'viewer', '5', '1 day', 'PT403: only owners and admins invite'),
    ('admin_b', 'viewer', '5', '1 day', 'PT403: only owners and admins invite'),
    ('super', 'viewer', '5', '1 day', 'PT403: only owners and admins invite'),
    ('loner', 'viewer', '5', '1 day', 'PT403: only owners and admins invite'),
    ('admin_a', 'owner', '5', '1 day', 'PT403: cannot invite with a role above your own'),
    ('admin_a', 'superuser', '5', '1 day', 'PT400: invalid role'),
    ('admin_a', 'viewer', '0', '1 day', 'PT400: max_uses must be between 1 and 1000'),
    ('admin_a', 'viewer', '1001', '1 day', 'PT400: max_uses must be between 1 and 1000'),
    ('admin_a', 'viewer', 'null', '1 day', 'PT400: max_uses must be between 1 and 1000'),
    ('admin_a', 'viewer', '5', '0', 'PT400: expires_in must be more than zero and at most 30 days'),
    ('admin_a', 'viewer', '5', '-1 day', 'PT400: expires_in must be more than zero and at most 30 days'),
    ('admin_a', 'viewer', '5', '31 days', 'PT400: expires_in must be more than zero and at most 30 days')
  ) v (a, r, n, e, msg);
select is(pg_temp.run('owner_s', $$select api.create_invite_link(isolation_test.id('s'), 'viewer', 5)$$),
          'error PT403: organization is suspended: read-only', 'a suspended org creates no link');
select is((select count(*)::integer from api.invitations where kind = 'link'), 2, 'no link was created by them');
select is(pg_temp.run('admin_a', $$select api.create_invite_link(isolation_test.id('a'), 'admin', 1000, '30 days') ->> 'role'$$),
          'admin', 'an admin creates an admin link, up to 1000 uses and 30 days');
select is(pg_temp.run('owner_a', $$select api.create_invite_link(isolation_test.id('a'), 'owner', 1) ->> 'role'$$),
          'owner', 'an owner creates an owner link');
select is((select expires_at from api.invitations where kind = 'link' and role = 'owner'
            and org_id = isolation_test.id('a')) - now(),
          interval '7 days', 'a link expires in 7 days by default');

-- Links: their use.
insert into saved
select 'link', pg_temp.run('admin_a', $$select api.create_invite_link(isolation_test.id('a'), 'member', 2, '1 day')$$);
select is((select array_agg(k order by k)
             from (select pg_temp.j(value) as v from saved where name = 'link') s,
                  jsonb_object_keys(case jsonb_typeof(s.v) when 'object' then s.v else '{}' end) k),
          array['expires_at', 'id', 'max_uses', 'org_id', 'role', 'token'],
          'create_invite_link returns id, token, org_id, role, max_uses and expires_at');
update saved set value = pg_temp.j(value) ->> 'token' where name = 'link';
select matches((select value from saved where name = 'link'), '^' || isolation_test.id('a') || '\.[0-9a-f]{48}$',
               'the token is the org id and 48 hex digits');
select is((select row(i.kind, i.email, i.role, i.max_uses, i.use_count, i.invited_by)::text from api.invitations i
            where i.token_hash = encode(digest((select value from saved where name = 'link'), 'sha256'), 'hex')),
          row('link', null::text, 'member', 2, 0, isolation_test.id('admin_a'))::text,
          'only the token''s hash is stored, with the kind, role, use count and creator');

delete from saved where name = 'world';
insert into saved select 'world', pg_temp.world();
select is(pg_temp.run('member_a', pg_temp.accept((select value from saved where name = 'link'))),
          'error PT409: already a member of this organization', 'a member of the org cannot use the link');
select is(pg_temp.run('token_a', pg_temp.accept((select value from saved where name = 'link'))),
          'error PT403: API tokens cannot accept invitations', 'nor an API token');
select matches(pg_temp.run('anon', pg_temp.accept((select value from saved where name = 'link'))),
               '^error 42501: ', 'nor an anonymous caller');
select is(pg_temp.run('nobody', pg_temp.accept((select value from saved where name = 'link'))),
          'error PT401: not signed in', 'nor a token of no user');
select is(pg_temp.world(), (select value from saved where name = 'world'), 'those refusals consumed no use');

select is(pg_temp.j(pg_temp.run('member_b', pg_temp.accept((select value from saved where name = 'link')))),
          jsonb_build_object('org_id', isolation_test.id('a'), 'role', 'member'), 'a member of B joins A through the link');
select is(pg_temp.j(pg_temp.run('newbie', pg_temp.accept((select value from saved where name = 'link')))),
          jsonb_build_object('org_id', isolation_test.id('a'), 'role', 'member'), 'a user in no org joins through it');
select is(pg_temp.run('super', pg_temp.accept((select value from saved where name = 'link'))),
          'error PT400: invitation invalid, expired or already used', 'a third user is refused: it is used up');
select is((select row(i.use_count, i.accepted_at, i.accepted_by, i.last_used_at is not null)::text from api.invitations i
            where i.token_hash = encode(digest((select value from saved where name = 'link'), 'sha256'), 'hex')),
          row(2, null::timestamptz, null::uuid, true)::text, 'the link counts two uses');
select is((select array_agg(m.role order by m.user_id) from api.memberships m
            where m.org_id = isolation_test.id('a') and m.user_id in (isolation_test.id('member_b'), isolation_test.id('newbie'))),
          array['member', 'member'], 'both joined A with the link''s role');
select is((select count(*)::integer from api.audit_log l
            where l.org_id = isolation_test.id('a') and l.table_name = 'invitations' and l.action = 'UPDATE'
              and l.diff ? 'use_count' and l.actor_user_id in (isolation_test.id('member_b'), isolation_test.id('newbie'))),
          2, 'the audit log records each use with its user');
select is((select count(*)::integer from api.memberships m where m.user_id = isolation_test.id('super')), 0,
          'the refused user joined nothing');

-- Expired, or revoked (deleted by an admin): refused.
insert into saved
select 'expired', pg_temp.run('owner_b', $$select api.create_invite_link(isolation_test.id('b'), 'viewer', 5) ->> 'token'$$);
update api.invitations set expires_at = now() - interval '1 second'
 where token_hash = encode(digest((select value from saved where name = 'expired'), 'sha256'), 'hex');
select is(pg_temp.run('loner', pg_temp.accept((select value from saved where name = 'expired'))),
          'error PT400: invitation invalid, expired or already used', 'an expired link is refused');
select is(pg_temp.run('admin_b', format($$with d as (delete from api.invitations where id = %L returning 1) select count(*) from d$$,
                                        isolation_test.id('link_b'))),
          '1', 'an admin revokes a link by deleting it');
select is(pg_temp.run('loner', pg_temp.accept(isolation_test.invitation_token('b', 'link_b'))),
          'error PT400: invitation invalid, expired or already used', 'a revoked link is refused');
-- Suspended org: its links are refused. (The link is made while S is briefly active again: the
-- org_writable trigger refuses even the superuser's insert into a suspended org.)
update api.organizations set status = 'active' where id = isolation_test.id('s');
insert into api.invitations (org_id, id, kind, role, max_uses, token_hash)
values (isolation_test.id('s'), isolation_test.id('link_s'), 'link', 'viewer', 5,
        encode(digest(isolation_test.invitation_token('s', 'link_s'), 'sha256'), 'hex'));
update api.organizations set status = 'suspended' where id = isolation_test.id('s');
select is(pg_temp.run('loner', pg_temp.accept(isolation_test.invitation_token('s', 'link_s'))),
          'error PT403: organization is suspended: read-only', 'a suspended org''s link is refused');
select is((select use_count from api.invitations where id = isolation_test.id('link_s')), 0, 'and not used');

-- A pending org's link admits users up to the member limit (3 by default); the one refused
-- consumes no use.
insert into saved
select 'pending', pg_temp.run('owner_p', $$select api.create_invite_link(isolation_test.id('p'), 'member', 10) ->> 'token'$$);
select is(pg_temp.j(pg_temp.run(u, pg_temp.accept((select value from saved where name = 'pending')))) ->> 'role', 'member',
          format('%s joins the pending org', u))
  from unnest(array['loner', 'stranger']) u;
select is(pg_temp.run('super', pg_temp.accept((select value from saved where name = 'pending'))),
          'error quota_exceeded: organization pending approval: at most 3 members', 'a fourth member is refused');
select is((select use_count from api.invitations
            where token_hash = encode(digest((select value from saved where name = 'pending'), 'sha256'), 'hex')),
          2, 'and consumed no use');

-- ---------------------------------------------------------------------------------------------
-- create_organization

-- The orgs before the refused calls (the suite also runs on copies holding more than the fixture).
insert into saved select 'orgs before', count(*)::text from api.organizations;
select is(pg_temp.run(a, format('select api.create_organization(%s)', n)), 'error ' || msg,
          format('create_organization(%s) by %s: %s', case when length(n) > 20 then 'a name of 201 characters' else n end,
                 a, msg))
  from (values
    ('loner', $$''$$, 'PT400: invalid organization name'),
    ('loner', $$'   '$$, 'PT400: invalid organization name'),
    ('loner', 'null', 'PT400: invalid organization name'),
    ('loner', format('%L', repeat('x', 201)), 'PT400: invalid organization name'),
    ('token_a', $$'Token org'$$, 'PT403: API tokens cannot create organizations'),
    ('nobody', $$'Nobody''s org'$$, 'PT401: not signed in'),
    ('disabled', $$'Disabled org'$$, 'PT401: not signed in')
  ) v (a, n, msg);
select matches(pg_temp.run('anon', $$select api.create_organization('Anon org')$$),
               '^error 42501: permission denied for function create_organization', 'anonymous callers may not');
select matches(pg_temp.run('service', $$select api.create_organization('Service org')$$),
               '^error 42501: permission denied for function create_organization', 'nor service_role');
select is((select count(*)::text from api.organizations), (select value from saved where name = 'orgs before'),
          'no org was created by them');

insert into saved select 'org', pg_temp.run('stranger', $$select api.create_organization('  Stranger''s org  ')$$);
select is((select pg_temp.j(value) ->> 'status' from saved where name = 'org'), 'active',
          'a signed-in user creates an org: active (auto_activate_new_orgs)');
update saved set value = pg_temp.j(value) ->> 'org_id' where name = 'org';
select is((select row(o.name, o.status, m.user_id, m.role)::text
             from api.organizations o join api.memberships m on m.org_id = o.id
            where o.id = (select value::uuid from saved where name = 'org')),
          row('Stranger''s org', 'active', isolation_test.id('stranger'), 'owner')::text,
          'named as given (trimmed), with the caller as its only member, the owner');
select is(pg_temp.run('stranger', format('select count(*) from api.organizations where id = %L',
                                         (select value from saved where name = 'org'))),
          '1', 'the new owner sees the org');
select is(pg_temp.run('stranger', format($$with p as (insert into api.projects (org_id, name) values (%L, 'first') returning 1)
                                           select count(*) from p$$, (select value from saved where name = 'org'))),
          '1', 'and creates a project in it');
select is(pg_temp.run('member_a', format('select count(*) from api.organizations where id = %L',
                                         (select value from saved where name = 'org'))),
          '0', 'nobody else sees it');
select is((select actor_user_id from api.audit_log
            where org_id = (select value::uuid from saved where name = 'org') and table_name = 'organizations'),
          isolation_test.id('stranger'), 'the audit log records its creator');
select is(pg_temp.run('owner_a', $$select api.create_organization('Second org') ->> 'status'$$), 'active',
          'a member of another org may create one too');

-- With auto-activation off: pending approval, within the pending limits.
update api.platform_settings set auto_activate_new_orgs = false;
insert into saved select 'pending_org', pg_temp.run('loner', $$select api.create_organization('Pending org') ->> 'org_id'$$);
select is((select status from api.organizations where id = (select value::uuid from saved where name = 'pending_org')),
          'pending_approval', 'with auto_activate_new_orgs off the new org is pending approval');
select is(pg_temp.run('loner', format($$select api.create_organization('Pending org 2') ->> 'status'$$)),
          'pending_approval', 'and so answers create_organization');
select is(pg_temp.run('loner', format($$with p as (insert into api.projects (org_id, name) values (%L, 'first') returning 1)
                                        select count(*) from p$$, (select value from saved where name = 'pending_org'))),
          '1', 'the pending org creates its first project');
select is(pg_temp.run('loner', format($$insert into api.projects (org_id, name) values (%L, 'second') returning 1$$,
                                      (select value from saved where name = 'pending_org'))),
          'error quota_exceeded: organization pending approval: at most 1 projects', 'but not a second one');
select is(pg_temp.run('loner', format('select api.set_org_status(%L, ''active'')', (select value from saved where name = 'pending_org'))),
          'error PT403: only the super admin changes an organization''s status', 'its owner cannot approve it');
select is(pg_temp.run('super', format('select api.set_org_status(%L, ''active'') ->> ''status''',
                                      (select value from saved where name = 'pending_org'))),
          'active', 'the super admin does');

select * from finish();
rollback;
