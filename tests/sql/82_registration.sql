-- Registration abuse (issue 17 point 8): orgs created pending approval are capped per client IP
-- (`request.client_ip`, set by the gateway) and per email domain per day (platform settings),
-- through anonymous registration and a signed-in user's create_organization alike; the gateway's
-- auth limiter applies to the functions marked `rowgate.rate_limit = 'auth'` (tested over HTTP).
begin;
\ir lib/fixture.sql
select plan(20);

-- Password hashes at the lowest cost (the database setting the benchmark uses), so this is quick.
set local rowgate.password_cost = 4;
select is(internal.password_cost(), 4, 'rowgate.password_cost sets the bcrypt cost');

create function pg_temp.register(ip text, email text) returns text
language plpgsql as $$
declare
  r json;
begin
  perform set_config('request.client_ip', coalesce(ip, ''), true);
  perform isolation_test.act_as('anon');
  begin
    r := api.register_organization(email, 'correct horse', 'Org of ' || email);
  exception when others then
    perform isolation_test.act_as_admin();
    return sqlstate || ': ' || sqlerrm;
  end;
  perform isolation_test.act_as_admin();
  return r ->> 'status';
end
$$;

-- (Registrations a restored copy holds are forgotten in this transaction.)
delete from auth.org_registrations;
update api.platform_settings set auto_activate_new_orgs = false, pending_orgs_per_ip_per_day = 2,
                                  pending_orgs_per_email_domain_per_day = 3;
select is(pg_temp.register('203.0.113.5', 'one@spam.test'), 'pending_approval', 'a first pending org from an address');
select is((select substr(encrypted_password, 1, 7) from auth.users where email = 'one@spam.test'), '$2a$04$',
          'its owner''s password hashed at the configured cost');
select is(pg_temp.register('203.0.113.5', 'two@other.test'), 'pending_approval', 'a second one');
select is(pg_temp.register('203.0.113.5', 'three@third.test'),
          'PT429: too many organizations pending approval from this address today', 'a third from the same address is refused');
select is((select count(*)::int from auth.users where email = 'three@third.test'), 0, 'and creates nothing, not even the user');
select is(pg_temp.register('203.0.113.6', 'three@spam.test'), 'pending_approval', 'another address may');
select is(pg_temp.register('203.0.113.7', 'four@spam.test'), 'pending_approval', 'three from one email domain');
select is(pg_temp.register('203.0.113.8', 'five@SPAM.test'),
          'PT429: too many organizations pending approval for this email domain today',
          'a fourth from that domain (compared case-insensitively) is refused');
select is(pg_temp.register(null, 'six@spam.test'),
          'PT429: too many organizations pending approval for this email domain today',
          'without a client address, the domain cap still holds');

-- A signed-in user's org counts the same.
select set_config('request.client_ip', '203.0.113.5', true);
select is(isolation_test.attempt('loner', $$select count(*) from api.create_organization('Loner''s second')$$),
          'denied (PT429)', 'create_organization from a capped address is refused too');
select set_config('request.client_ip', '', true);

-- Yesterday's orgs do not count.
update auth.org_registrations set created_at = now() - interval '25 hours';
select is(pg_temp.register('203.0.113.5', 'seven@spam.test'), 'pending_approval', 'a day later the address and the domain may again');

-- Orgs that are active at once are not capped (the gateway's auth limiter still applies).
update api.platform_settings set auto_activate_new_orgs = true;
select is(pg_temp.register('203.0.113.5', 'a1@spam.test'), 'active', 'an active org');
select is(pg_temp.register('203.0.113.5', 'a2@spam.test'), 'active', 'and another');
select is(pg_temp.register('203.0.113.5', 'a3@spam.test'), 'active', 'and a third: not capped');
select is((select count(*)::int from auth.org_registrations where not pending), 3, 'but recorded');

-- NULL: no cap.
update api.platform_settings set auto_activate_new_orgs = false, pending_orgs_per_ip_per_day = null,
                                  pending_orgs_per_email_domain_per_day = null;
select is(pg_temp.register('203.0.113.5', 'n1@spam.test'), 'pending_approval', 'with the caps off');
select is(pg_temp.register('203.0.113.5', 'n2@spam.test'), 'pending_approval', 'nothing is capped');
select is(isolation_test.attempt('owner_a', $$update api.platform_settings set pending_orgs_per_ip_per_day = 100$$),
          'denied (0 rows)', 'only the super admin changes the caps');

-- The gateway's auth limiter: declared on the functions themselves.
select is((select array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text) from pg_proc p
            where 'rowgate.rate_limit=auth' = any (p.proconfig)),
          array['api.delete_my_account(text)', 'api.register_organization(text,text,text)'],
          'register_organization and delete_my_account are rate limited like sign-in (rowgate.rate_limit = auth)');

select * from finish();
rollback;
