-- Bootstrap, sign-up, profile changes and user administration (SPEC §7). Like the rest of
-- schema auth, only the gateway's own role calls these; every rule is here.

-- Email and password rules shared by sign-up, bootstrap and admin creation.
create function auth.validate_credentials(email text, password text) returns jsonb
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

create function auth.new_session(u auth.users) returns jsonb
language plpgsql volatile set search_path = '' as $$
declare
  session uuid;
begin
  insert into auth.sessions (user_id) values (u.id) returning id into session;
  return jsonb_build_object('user', auth.user_json(u), 'session_id', session,
                            'refresh_token', auth.issue_refresh_token(session, null));
end $$;

-- The first super admin, only while there are no users. The advisory lock makes the
-- "no users yet" check and the insert one step: two concurrent calls cannot both succeed.
create function auth.bootstrap(email text, password text) returns jsonb
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
  values (lower(email), public.crypt(password, public.gen_salt('bf', 10)), true)
  returning * into u;
  return auth.new_session(u);
end $$;

create function auth.signup(email text, password text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  u auth.users;
  invalid jsonb := auth.validate_credentials(email, password);
begin
  if invalid is not null then
    return invalid;
  end if;
  if exists (select 1 from auth.users where lower(users.email) = lower(signup.email)) then
    return auth.error(422, 'user_already_exists', 'User already registered');
  end if;
  insert into auth.users (email, encrypted_password)
  values (lower(email), public.crypt(password, public.gen_salt('bf', 10)))
  returning * into u;
  return auth.new_session(u);
end $$;

-- PUT /user: the signed-in user changes their email or password.
create function auth.update_user(changes jsonb) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  me uuid := nullif(auth.claims() ->> 'sub', '')::uuid;
  u auth.users;
  new_email text := changes ->> 'email';
  new_password text := changes ->> 'password';
  invalid jsonb;
begin
  select * into u from auth.users where id = me and disabled_at is null;
  if u.id is null then
    return auth.error(401, 'no_authorization', 'This endpoint requires a valid Bearer token');
  end if;
  invalid := auth.validate_credentials(coalesce(new_email, u.email), coalesce(new_password, 'unchanged-ok'));
  if invalid is not null then
    return invalid;
  end if;
  if new_email is not null and exists (select 1 from auth.users where lower(email) = lower(new_email) and id <> me) then
    return auth.error(422, 'email_exists', 'A user with this email address has already been registered');
  end if;
  update auth.users set
    email = coalesce(lower(new_email), email),
    encrypted_password = case when new_password is null then encrypted_password
                              else public.crypt(new_password, public.gen_salt('bf', 10)) end
  where id = me returning * into u;
  return auth.user_json(u);
end $$;

-- The super admin (from auth.users, never from a claim) or the service_role may administer.
create function auth.may_administer() returns boolean
language sql stable security definer set search_path = '' as $$
  select coalesce(auth.claims() ->> 'role' = 'service_role', false)
      or exists (select 1 from auth.users
                 where id = nullif(auth.claims() ->> 'sub', '')::uuid and is_super_admin and disabled_at is null)
$$;

create function auth.admin_list_users() returns jsonb
language plpgsql stable security definer set search_path = '' as $$
begin
  if not auth.may_administer() then
    return auth.error(403, 'not_admin', 'User not allowed');
  end if;
  return jsonb_build_object('users', coalesce((
    select jsonb_agg(auth.user_json(u) || jsonb_build_object('is_super_admin', u.is_super_admin,
                                                             'banned_until', u.disabled_at) order by u.created_at)
    from auth.users u), '[]'::jsonb));
end $$;

create function auth.admin_create_user(email text, password text, super_admin boolean) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  u auth.users;
  invalid jsonb := auth.validate_credentials(email, password);
begin
  if not auth.may_administer() then
    return auth.error(403, 'not_admin', 'User not allowed');
  end if;
  if invalid is not null then
    return invalid;
  end if;
  if exists (select 1 from auth.users where lower(users.email) = lower(admin_create_user.email)) then
    return auth.error(422, 'email_exists', 'A user with this email address has already been registered');
  end if;
  insert into auth.users (email, encrypted_password, is_super_admin)
  values (lower(email), public.crypt(password, public.gen_salt('bf', 10)), coalesce(super_admin, false))
  returning * into u;
  return auth.user_json(u);
end $$;

-- Disabling takes effect at once: internal.check_request rejects the user's tokens.
create function auth.admin_set_disabled(target uuid, disabled boolean) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  u auth.users;
begin
  if not auth.may_administer() then
    return auth.error(403, 'not_admin', 'User not allowed');
  end if;
  update auth.users set disabled_at = case when disabled then now() end where id = target returning * into u;
  if u.id is null then
    return auth.error(404, 'user_not_found', 'User not found');
  end if;
  return auth.user_json(u) || jsonb_build_object('banned_until', u.disabled_at);
end $$;

revoke execute on all functions in schema auth from public;
grant execute on function auth.bootstrap(text, text), auth.signup(text, text), auth.update_user(jsonb),
  auth.admin_list_users(), auth.admin_create_user(text, text, boolean), auth.admin_set_disabled(uuid, boolean)
  to authenticator;
