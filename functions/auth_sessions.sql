-- Sign-in, refresh, bootstrap and sign-up: the functions that start or continue a session.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- A sign-in, a refused sign-in or a sign-out in the audit log (a platform entry: the super admin
-- reads it; the person in their export). Never a password, a token or an email that is no
-- user's (a mistyped password may sit in the email field): the user when known, the session, the
-- client address and why a sign-in was refused.
create or replace function auth.audit_sign_in(action text, uid uuid, session uuid, ip text, reason text)
returns void
language plpgsql volatile set search_path = '' as $$
begin
  insert into api.audit_log (org_id, actor_user_id, action, table_name, row_key, diff, request_id)
  values (internal.platform_org_id(), uid, action, 'sessions',
          jsonb_strip_nulls(jsonb_build_object('user_id', uid, 'session_id', session)),
          jsonb_strip_nulls(jsonb_build_object('ip', nullif(ip, ''), 'reason', reason)),
          nullif(current_setting('request.headers', true), '')::jsonb ->> 'x-request-id');
end $$;

-- grant_type=password: one answer for unknown users and wrong passwords.
create or replace function auth.login(email text, password text, ip text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  u auth.users;
  session uuid;
  per_ip int;
  per_account int;
begin
  select count(*) into per_ip from auth.login_failures
    where key = 'ip:' || coalesce(ip, '') and at > now() - interval '5 minutes';
  select count(*) into per_account from auth.login_failures
    where key = 'account:' || lower(email) and at > now() - interval '5 minutes';
  select * into u from auth.users where lower(users.email) = lower(login.email);
  -- A timed ban (the admin API's ban_duration) is over.
  if u.banned_until is not null and u.banned_until <= now() then
    update auth.users x set disabled_at = null, banned_until = null where x.id = u.id returning * into u;
  end if;
  if per_ip >= 30 or per_account >= 10 then
    perform auth.audit_sign_in('SIGN_IN_FAILED', u.id, null, ip, 'rate_limited');
    return auth.error(429, 'over_request_rate_limit', 'Too many sign-in attempts; try again later');
  end if;
  if u.id is null or u.encrypted_password is null or u.disabled_at is not null
     or public.crypt(password, u.encrypted_password) <> u.encrypted_password then
    insert into auth.login_failures (key) values ('ip:' || coalesce(ip, '')), ('account:' || lower(email));
    perform auth.audit_sign_in('SIGN_IN_FAILED', u.id, null, ip, 'invalid_credentials');
    return auth.error(400, 'invalid_credentials', 'Invalid login credentials');
  end if;
  -- Only a right password learns that the address awaits confirmation (as GoTrue answers).
  if u.email_confirmed_at is null then
    return auth.error(400, 'email_not_confirmed', 'Email not confirmed');
  end if;
  update auth.users x set last_sign_in_at = now() where x.id = u.id returning * into u;
  insert into auth.sessions (user_id) values (u.id) returning id into session;
  perform auth.audit_sign_in('SIGN_IN', u.id, session, ip, null);
  return jsonb_build_object('user', auth.user_json(u), 'session_id', session,
                            'refresh_token', auth.issue_refresh_token(session, null));
end $$;

-- grant_type=refresh_token: rotate; the immediate parent may be replayed for 10 s (a lost
-- response); any other reuse revokes the whole session. The lifetimes of the gateway's settings
-- apply here: a refresh token older than ROWGATE_REFRESH_TOKEN_LIFETIME is unknown; a session past
-- ROWGATE_SESSIONS_TIMEBOX since sign-in, or unused for ROWGATE_SESSIONS_INACTIVITY_TIMEOUT, ends
-- (revoked, so its access tokens stop working too).
create or replace function auth.refresh(token text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  t auth.refresh_tokens;
  s auth.sessions;
  u auth.users;
  h text := auth.hash_token(token);
  timebox bigint := auth.setting('sessions_timebox', 0);
  inactivity bigint := auth.setting('sessions_inactivity_timeout', 0);
begin
  select * into t from auth.refresh_tokens where token_hash = h for update;
  if t.token_hash is null or t.expires_at < now()
     or t.created_at + make_interval(secs => auth.setting('refresh_token_lifetime', 604800)) < now() then
    return auth.error(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
  end if;
  select * into s from auth.sessions where id = t.session_id for update;
  select * into u from auth.users where id = s.user_id;
  if s.revoked_at is not null or u.disabled_at is not null then
    return auth.error(400, 'session_not_found', 'Invalid Refresh Token: Session Revoked');
  end if;
  if (timebox > 0 and s.created_at + make_interval(secs => timebox) < now())
     or (inactivity > 0 and coalesce(s.refreshed_at, s.created_at) + make_interval(secs => inactivity) < now()) then
    update auth.sessions set revoked_at = now() where id = s.id;
    return auth.error(400, 'session_expired', 'Invalid Refresh Token: Session Expired');
  end if;
  if t.revoked_at is not null then
    if t.revoked_at > now() - interval '10 seconds'
       and not exists (select 1 from auth.refresh_tokens c
                       where c.parent_hash = t.token_hash and c.revoked_at is not null) then
      -- Replay of the token whose answer was lost: retire its child, issue a new one.
      update auth.refresh_tokens set revoked_at = now() where parent_hash = t.token_hash and revoked_at is null;
    else
      update auth.sessions set revoked_at = now() where id = s.id;
      update auth.refresh_tokens set revoked_at = coalesce(revoked_at, now()) where session_id = s.id;
      return auth.error(400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used');
    end if;
  else
    update auth.refresh_tokens set revoked_at = now() where token_hash = h;
  end if;
  update auth.sessions set refreshed_at = now() where id = s.id;
  return jsonb_build_object('user', auth.user_json(u), 'session_id', s.id,
                            'refresh_token', auth.issue_refresh_token(s.id, h));
end $$;

-- The first super admin, only while there are no users. The advisory lock makes the
-- "no users yet" check and the insert one step: two concurrent calls cannot both succeed.
create or replace function auth.bootstrap(email text, password text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  u auth.users;
  invalid jsonb := auth.validate_credentials(email, password);
begin
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('rowgate.bootstrap'));
  if exists (select 1 from auth.users) then
    return auth.error(403, 'bootstrap_complete', 'bootstrap already complete');
  end if;
  if invalid is not null then
    return invalid;
  end if;
  insert into auth.users (email, encrypted_password, is_super_admin)
  values (lower(email), public.crypt(password, public.gen_salt('bf', internal.password_cost())), true)
  returning * into u;
  return auth.new_session(u);
end $$;

-- Whether the first super admin is still to be created (the start-up banner asks).
create or replace function auth.bootstrap_needed() returns boolean
language sql stable security definer set search_path = '' as $$
  select not exists (select 1 from auth.users)
$$;

-- Who may call them (as the migrations left it; re-applied so PUBLIC never may and a lost grant returns).
revoke all on function auth.audit_sign_in(text, uuid, uuid, text, text) from public;
revoke all on function auth.login(text,text,text) from public;
grant execute on function auth.login(text,text,text) to authenticator;
revoke all on function auth.refresh(text) from public;
grant execute on function auth.refresh(text) to authenticator;
revoke all on function auth.bootstrap(text,text) from public;
grant execute on function auth.bootstrap(text,text) to authenticator;
revoke all on function auth.bootstrap_needed() from public;
grant execute on function auth.bootstrap_needed() to authenticator;
