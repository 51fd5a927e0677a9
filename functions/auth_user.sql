-- The signed-in user: the session check of every /auth/v1 endpoint, the profile, logout.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- Every /auth/v1 endpoint that acts for a signed-in user applies the session check the REST path
-- applies through internal.check_request(): a revoked session, a disabled user or an API token
-- is refused inside the same transaction, whether or not ROWGATE_DB_PRE_REQUEST is set.
-- NULL when the caller's token may act; otherwise the GoTrue error to answer with.
-- `need_session`: the action needs a live sign-in session (changing a password or an email),
-- so tokens minted without a session_id are refused too.
create or replace function auth.session_problem(need_session boolean) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  c jsonb := auth.claims();
  me uuid := internal.claims_sub(c);
  sid text := c ->> 'session_id';
  u auth.users;
begin
  if internal.claims_api_token(c) then
    return auth.error(401, 'bad_jwt', 'API tokens cannot be used with /auth/v1');
  end if;
  if me is not null then
    select * into u from auth.users where id = me;
    if u.id is not null and u.disabled_at is not null then
      return auth.error(403, 'user_banned', 'User is banned');
    end if;
  end if;
  if sid is null then
    if need_session then
      return auth.error(403, 'session_not_found', 'This action needs a signed-in session');
    end if;
    return null;
  end if;
  -- Every spelling the uuid type accepts, as in internal.check_request.
  if sid !~* '^([0-9a-f]{4}(-?[0-9a-f]{4}){7}|\{[0-9a-f]{4}(-?[0-9a-f]{4}){7}\})$' or not exists (
    select 1 from auth.sessions s
     where s.id = sid::uuid and s.user_id is not distinct from me and s.revoked_at is null) then
    return auth.error(403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
  end if;
  return null;
end $$;

-- GET /user
create or replace function auth.get_user() returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  problem jsonb := auth.session_problem(false);
  u auth.users;
begin
  if problem is not null then
    return problem;
  end if;
  select * into u from auth.users where id = internal.claims_sub(auth.claims());
  if u.id is null then
    return auth.error(404, 'user_not_found', 'User not found');
  end if;
  return auth.user_json(u);
end $$;

-- PUT /user: the signed-in user changes their email, password or metadata (`data`); all need a
-- live session, and a new password signs out every other session (as GoTrue does). Unless
-- ROWGATE_MAILER_AUTOCONFIRM, a new email waits (`new_email`) until the link or code emailed to it
-- is used (`mail`: the gateway sends it).
create or replace function auth.update_user(changes jsonb) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb := auth.session_problem(true);
  me uuid := internal.claims_sub(auth.claims());
  current_session uuid;
  u auth.users;
  new_email text := changes ->> 'email';
  new_password text := changes ->> 'password';
  invalid jsonb;
  mail jsonb;
begin
  if problem is not null then
    return problem;
  end if;
  current_session := (auth.claims() ->> 'session_id')::uuid;
  select * into u from auth.users where id = me;
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
  if jsonb_typeof(changes -> 'data') is not null and jsonb_typeof(changes -> 'data') <> 'object' then
    return auth.error(400, 'validation_failed', 'data must be an object');
  end if;
  -- GoTrue's rule: a session signed in more than 24 hours ago needs the emailed nonce.
  if new_password is not null and coalesce((auth.settings() ->> 'reauth_required')::boolean, false)
     and (select s.created_at from auth.sessions s where s.id = current_session) < now() - interval '24 hours' then
    problem := auth.reauthentication_problem(u, changes ->> 'nonce');
    if problem is not null then
      return problem;
    end if;
  end if;
  if new_email is not null and lower(new_email) = lower(u.email) then
    new_email := null;
  end if;
  if new_email is not null and not auth.autoconfirm() then
    problem := auth.mail_limit(new_email);
    if problem is not null then
      return problem;
    end if;
    update auth.users set email_change = lower(new_email), email_change_sent_at = now() where id = me returning * into u;
    mail := auth.issue_token(u, 'email_change', new_email, null);
    new_email := null;
  end if;
  update auth.users set
    raw_user_meta_data = raw_user_meta_data || coalesce(changes -> 'data', '{}'::jsonb),
    updated_at = now(),
    email = coalesce(lower(new_email), email),
    encrypted_password = case when new_password is null then encrypted_password
                              else public.crypt(new_password, public.gen_salt('bf', internal.password_cost())) end
  where id = me returning * into u;
  if new_password is not null then
    update auth.sessions set revoked_at = now()
     where user_id = me and revoked_at is null and id <> current_session;
  end if;
  if mail is not null then
    return jsonb_build_object('user', auth.user_json(u), 'mail', mail);
  end if;
  return auth.user_json(u);
end $$;

-- POST /logout?scope=global|local|others
create or replace function auth.logout(scope text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb := auth.session_problem(false);
  me uuid := internal.claims_sub(auth.claims());
  current_session uuid := nullif(auth.claims() ->> 'session_id', '')::uuid;
  revoked integer;
begin
  if problem is not null then
    return problem;
  end if;
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
  get diagnostics revoked = row_count;
  insert into api.audit_log (org_id, actor_user_id, action, table_name, row_key, diff, request_id)
  values (internal.platform_org_id(), me, 'SIGN_OUT', 'sessions',
          jsonb_strip_nulls(jsonb_build_object('user_id', me, 'session_id', current_session)),
          jsonb_build_object('scope', coalesce(scope, 'global'), 'sessions_revoked', revoked),
          nullif(current_setting('request.headers', true), '')::jsonb ->> 'x-request-id');
  return '{}'::jsonb;
end $$;

-- Who may call them (as the migrations left it; re-applied so PUBLIC never may and a lost grant returns).
revoke all on function auth.session_problem(boolean) from public;
revoke all on function auth.get_user() from public;
grant execute on function auth.get_user() to authenticator;
revoke all on function auth.update_user(jsonb) from public;
grant execute on function auth.update_user(jsonb) to authenticator;
revoke all on function auth.logout(text) from public;
grant execute on function auth.logout(text) to authenticator;
