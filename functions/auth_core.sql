-- Building blocks of the auth service: hashing, the user object, refresh tokens, errors, claims, credential rules.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

create or replace function auth.hash_token(token text) returns text
language sql immutable set search_path = '' as $$
  select encode(pg_catalog.sha256(convert_to(token, 'UTF8')), 'hex')
$$;

create or replace function auth.user_json(u auth.users) returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_strip_nulls(jsonb_build_object(
    'id', u.id, 'aud', 'authenticated', 'role', 'authenticated', 'email', u.email,
    'email_confirmed_at', u.email_confirmed_at, 'confirmed_at', u.email_confirmed_at,
    'confirmation_sent_at', u.confirmation_sent_at, 'recovery_sent_at', u.recovery_sent_at,
    'invited_at', u.invited_at, 'new_email', u.email_change, 'email_change_sent_at', u.email_change_sent_at,
    'last_sign_in_at', u.last_sign_in_at,
    -- Set while the user is banned: the end of a timed ban, else (disabled without an end) when
    -- it began, as before timed bans existed.
    'banned_until', case when u.disabled_at is not null then coalesce(u.banned_until, u.disabled_at) end,
    'updated_at', coalesce(u.updated_at, u.created_at)))
  || jsonb_build_object(
    'created_at', u.created_at, 'phone', '', 'is_anonymous', false,
    'app_metadata', coalesce(u.raw_app_meta_data, '{}'::jsonb)
                    || jsonb_build_object('provider', 'email', 'providers', jsonb_build_array('email')),
    'user_metadata', coalesce(u.raw_user_meta_data, '{}'::jsonb))
$$;

-- A new refresh token for a session (raw value returned once, hash stored).
create or replace function auth.issue_refresh_token(session uuid, parent text) returns text
language plpgsql volatile set search_path = '' as $$
declare
  raw text := encode(public.gen_random_bytes(32), 'hex');
begin
  insert into auth.refresh_tokens (token_hash, session_id, parent_hash)
  values (auth.hash_token(raw), session, parent);
  return raw;
end $$;

-- An error the gateway answers with (GoTrue's shape), committed so limits keep counting.
create or replace function auth.error(status int, code text, message text) returns jsonb
language sql immutable set search_path = '' as $$
  select jsonb_build_object('error', jsonb_build_object('status', status, 'code', code, 'message', message))
$$;

create or replace function auth.claims() returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;

-- Bootstrap, sign-up, profile changes and user administration (SPEC §7). Like the rest of
-- schema auth, only the gateway's own role calls these; every rule is here.
-- Email and password rules shared by sign-up, bootstrap and admin creation.
create or replace function auth.validate_credentials(email text, password text) returns jsonb
language plpgsql immutable set search_path = '' as $$
begin
  if email is null or email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' or length(email) > 254 then
    return auth.error(400, 'validation_failed', 'Unable to validate email address: invalid format');
  end if;
  if password is null or length(password) < 8 then
    return auth.error(422, 'weak_password', 'Password should be at least 8 characters');
  end if;
  return null;
end $$;

create or replace function auth.new_session(u auth.users) returns jsonb
language plpgsql volatile set search_path = '' as $$
declare
  session uuid;
begin
  insert into auth.sessions (user_id) values (u.id) returning id into session;
  return jsonb_build_object('user', auth.user_json(u), 'session_id', session,
                            'refresh_token', auth.issue_refresh_token(session, null));
end $$;

-- Who may call them (as the migrations left it; re-applied so PUBLIC never may and a lost grant returns).
revoke all on function auth.hash_token(text) from public;
revoke all on function auth.user_json(auth.users) from public;
revoke all on function auth.issue_refresh_token(uuid,text) from public;
revoke all on function auth.error(integer,text,text) from public;
revoke all on function auth.claims() from public;
revoke all on function auth.validate_credentials(text,text) from public;
revoke all on function auth.new_session(auth.users) from public;
