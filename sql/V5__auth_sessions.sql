-- The auth service's state and logic (SPEC §7). The gateway only signs tokens: every rule about
-- passwords, sessions, refresh-token rotation and rate limits lives here.

create schema if not exists auth;
create extension if not exists pgcrypto;

-- Normally created by the tenancy migration; kept so this file stands on its own.
create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  encrypted_password text,
  is_super_admin boolean not null default false,
  disabled_at timestamptz,
  created_at timestamptz not null default now()
);

create table auth.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  refreshed_at timestamptz,
  revoked_at timestamptz
);
create index on auth.sessions (user_id);

-- Opaque refresh tokens, stored as SHA-256 hashes; each use revokes it and issues a child.
create table auth.refresh_tokens (
  token_hash text primary key,
  session_id uuid not null references auth.sessions (id) on delete cascade,
  parent_hash text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '7 days',
  revoked_at timestamptz
);
create index on auth.refresh_tokens (session_id);

-- Failed sign-ins, for limits per IP and per account.
create table auth.login_failures (
  key text not null,
  at timestamptz not null default now()
);
create index on auth.login_failures (key, at);

create function auth.hash_token(token text) returns text
language sql immutable set search_path = '' as $$
  select encode(pg_catalog.sha256(convert_to(token, 'UTF8')), 'hex')
$$;

create function auth.user_json(u auth.users) returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'id', u.id, 'aud', 'authenticated', 'role', 'authenticated', 'email', u.email,
    'created_at', u.created_at, 'app_metadata', jsonb_build_object('provider', 'email'),
    'user_metadata', '{}'::jsonb)
$$;

-- A new refresh token for a session (raw value returned once, hash stored).
create function auth.issue_refresh_token(session uuid, parent text) returns text
language plpgsql volatile set search_path = '' as $$
declare
  raw text := encode(public.gen_random_bytes(32), 'hex');
begin
  insert into auth.refresh_tokens (token_hash, session_id, parent_hash)
  values (auth.hash_token(raw), session, parent);
  return raw;
end $$;

-- An error the gateway answers with (GoTrue's shape), committed so limits keep counting.
create function auth.error(status int, code text, message text) returns jsonb
language sql immutable set search_path = '' as $$
  select jsonb_build_object('error', jsonb_build_object('status', status, 'code', code, 'message', message))
$$;

-- grant_type=password: one answer for unknown users and wrong passwords.
create function auth.login(email text, password text, ip text) returns jsonb
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
  if per_ip >= 30 or per_account >= 10 then
    return auth.error(429, 'over_request_rate_limit', 'Too many sign-in attempts; try again later');
  end if;
  select * into u from auth.users where lower(users.email) = lower(login.email);
  if u.id is null or u.encrypted_password is null or u.disabled_at is not null
     or public.crypt(password, u.encrypted_password) <> u.encrypted_password then
    insert into auth.login_failures (key) values ('ip:' || coalesce(ip, '')), ('account:' || lower(email));
    return auth.error(400, 'invalid_credentials', 'Invalid login credentials');
  end if;
  insert into auth.sessions (user_id) values (u.id) returning id into session;
  return jsonb_build_object('user', auth.user_json(u), 'session_id', session,
                            'refresh_token', auth.issue_refresh_token(session, null));
end $$;

-- grant_type=refresh_token: rotate; the immediate parent may be replayed for 10 s (a lost
-- response); any other reuse revokes the whole session.
create function auth.refresh(token text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  t auth.refresh_tokens;
  s auth.sessions;
  u auth.users;
  h text := auth.hash_token(token);
begin
  select * into t from auth.refresh_tokens where token_hash = h for update;
  if t.token_hash is null or t.expires_at < now() then
    return auth.error(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
  end if;
  select * into s from auth.sessions where id = t.session_id for update;
  select * into u from auth.users where id = s.user_id;
  if s.revoked_at is not null or u.disabled_at is not null then
    return auth.error(400, 'session_not_found', 'Invalid Refresh Token: Session Revoked');
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

create function auth.claims() returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;

-- POST /logout?scope=global|local|others
create function auth.logout(scope text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  me uuid := nullif(auth.claims() ->> 'sub', '')::uuid;
  current_session uuid := nullif(auth.claims() ->> 'session_id', '')::uuid;
begin
  if me is null then
    return auth.error(401, 'no_authorization', 'This endpoint requires a valid Bearer token');
  end if;
  update auth.sessions set revoked_at = now()
  where user_id = me and revoked_at is null
    and case scope
          when 'local' then id = current_session
          when 'others' then id is distinct from current_session
          else true
        end;
  return '{}'::jsonb;
end $$;

-- GET /user
create function auth.get_user() returns jsonb
language sql stable security definer set search_path = '' as $$
  select coalesce(
    (select auth.user_json(u) from auth.users u where u.id = nullif(auth.claims() ->> 'sub', '')::uuid),
    auth.error(404, 'user_not_found', 'User not found'))
$$;

-- Pre-request check: a token whose session was revoked, or whose user is disabled, stops
-- working at once. Set ROWGATE_DB_PRE_REQUEST=internal.check_request (or call it from your own).
create schema if not exists internal;
create function internal.check_request() returns void
language plpgsql stable security definer set search_path = '' as $$
declare
  sid uuid := nullif(auth.claims() ->> 'session_id', '')::uuid;
begin
  if sid is not null and not exists (
    select 1 from auth.sessions s join auth.users u on u.id = s.user_id
    where s.id = sid and s.revoked_at is null and u.disabled_at is null) then
    raise sqlstate 'PGRST' using
      message = '{"code":"PGRST301","message":"JWT session revoked","details":null,"hint":null}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\", error_description=\"JWT session revoked\""}}';
  end if;
end $$;

-- Request roles never reach schema auth: /auth/v1 runs these as the gateway's own role.
revoke all on all tables in schema auth from public;
revoke execute on all functions in schema auth from public;
grant usage on schema auth to authenticator;
grant execute on function auth.login(text, text, text), auth.refresh(text), auth.logout(text), auth.get_user()
  to authenticator;
revoke execute on function internal.check_request() from public;
-- The pre-request call is prepared as authenticator, before the role switch.
grant usage on schema internal to authenticator;
grant execute on function internal.check_request() to anon, authenticated;
