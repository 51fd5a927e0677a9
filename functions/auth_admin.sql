-- User administration for super admins and service_role.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- The super admin (from auth.users, never from a claim) or the service_role may administer.
create or replace function auth.may_administer() returns boolean
language sql stable security definer set search_path = '' as $$
  select coalesce(auth.claims() ->> 'role' = 'service_role', false)
      or exists (select 1 from auth.users
                 where id = nullif(auth.claims() ->> 'sub', '')::uuid and is_super_admin and disabled_at is null)
$$;

-- The admin endpoints: a live session first, then the super admin or service_role rule.
create or replace function auth.admin_problem() returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  problem jsonb := auth.session_problem(false);
begin
  if problem is not null then
    return problem;
  end if;
  if not auth.may_administer() then
    return auth.error(403, 'not_admin', 'User not allowed');
  end if;
  return null;
end $$;

create or replace function auth.admin_list_users() returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  problem jsonb := auth.admin_problem();
begin
  if problem is not null then
    return problem;
  end if;
  return jsonb_build_object('users', coalesce((
    select jsonb_agg(auth.user_json(u) || jsonb_build_object('is_super_admin', u.is_super_admin,
                                                             'banned_until', u.disabled_at) order by u.created_at)
    from auth.users u), '[]'::jsonb));
end $$;

create or replace function auth.admin_create_user(email text, password text, super_admin boolean) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb := auth.admin_problem();
  u auth.users;
  invalid jsonb := auth.validate_credentials(email, password);
begin
  if problem is not null then
    return problem;
  end if;
  if invalid is not null then
    return invalid;
  end if;
  if exists (select 1 from auth.users where lower(users.email) = lower(admin_create_user.email)) then
    return auth.error(422, 'email_exists', 'A user with this email address has already been registered');
  end if;
  insert into auth.users (email, encrypted_password, is_super_admin)
  values (lower(email), public.crypt(password, public.gen_salt('bf', internal.password_cost())), coalesce(super_admin, false))
  returning * into u;
  return auth.user_json(u);
end $$;

-- Disabling takes effect at once: internal.check_request and auth.session_problem refuse the
-- user's tokens.
create or replace function auth.admin_set_disabled(target uuid, disabled boolean) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb := auth.admin_problem();
  u auth.users;
begin
  if problem is not null then
    return problem;
  end if;
  update auth.users set disabled_at = case when disabled then now() end where id = target returning * into u;
  if u.id is null then
    return auth.error(404, 'user_not_found', 'User not found');
  end if;
  return auth.user_json(u) || jsonb_build_object('banned_until', u.disabled_at);
end $$;

-- DELETE /admin/users/{id}: erases the user (internal.erase_user: sessions, refresh and API tokens
-- gone at once, memberships removed, personal data deleted, the audit log pseudonymised). Refused
-- with 409 while the user is the last owner of an org or the last super admin. Answers the
-- deleted user, as GoTrue does.
create or replace function auth.admin_delete_user(target uuid) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb := auth.admin_problem();
  u auth.users;
  msg text;
  det text;
begin
  if problem is not null then
    return problem;
  end if;
  select * into u from auth.users where id = target;
  if u.id is null then
    return auth.error(404, 'user_not_found', 'User not found');
  end if;
  begin
    perform internal.erase_user(target, 'deleted by an administrator');
  exception when sqlstate 'PT409' then
    get stacked diagnostics msg = message_text, det = pg_exception_detail;
    return auth.error(409, 'conflict', msg || coalesce(' (' || nullif(det, '') || ')', ''));
  end;
  return auth.user_json(u);
end $$;

-- GET /admin/users?page=&per_page= (supabase-js auth.admin.listUsers): one page, oldest first,
-- with the total (the gateway sends it as X-Total-Count, and the Link header).
create or replace function auth.admin_users_page(page integer, per_page integer) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  problem jsonb := auth.admin_problem();
  n bigint;
begin
  if problem is not null then
    return problem;
  end if;
  if page < 1 or per_page < 1 or per_page > 1000 then
    return auth.error(400, 'validation_failed', 'page must be at least 1 and per_page between 1 and 1000');
  end if;
  select count(*) into n from auth.users;
  return jsonb_build_object('aud', 'authenticated', 'total', n, 'users', coalesce((
    select jsonb_agg(auth.user_json(p.x) || jsonb_build_object('is_super_admin', (p.x).is_super_admin)
                     order by (p.x).created_at, (p.x).id)
    from (select x from auth.users x order by x.created_at, x.id
          offset (page - 1)::bigint * per_page limit per_page) p), '[]'::jsonb));
end $$;

-- GET /admin/users/{id}
create or replace function auth.admin_get_user(target uuid) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  problem jsonb := auth.admin_problem();
  u auth.users;
begin
  if problem is not null then
    return problem;
  end if;
  select * into u from auth.users x where x.id = target;
  if u.id is null then
    return auth.error(404, 'user_not_found', 'User not found');
  end if;
  return auth.user_json(u) || jsonb_build_object('is_super_admin', u.is_super_admin);
end $$;

-- GoTrue's ban_duration: "none", or hours/minutes/seconds such as "24h", "1h30m", "90s".
create or replace function auth.ban_interval(duration text) returns interval
language plpgsql immutable set search_path = '' as $$
declare
  m text[] := regexp_match(duration, '^(?:([0-9]{1,7})h)?(?:([0-9]{1,9})m)?(?:([0-9]{1,9})s)?$');
begin
  if duration is null or duration = '' or m is null then
    return null;
  end if;
  return make_interval(hours => coalesce(m[1], '0')::int, mins => coalesce(m[2], '0')::int,
                       secs => coalesce(m[3], '0')::int);
end $$;

-- Applies the attributes of POST and PUT /admin/users to `u`: email, password, email_confirm,
-- user_metadata, app_metadata, ban_duration (or `disabled`); NULL when done, else the error.
create or replace function auth.admin_apply(inout u auth.users, attrs jsonb, out problem jsonb)
language plpgsql volatile set search_path = '' as $$
declare
  ban interval;
  invalid jsonb;
begin
  if attrs ? 'email' then
    invalid := auth.validate_credentials(attrs ->> 'email', 'unchanged-ok');
    if invalid is not null then
      problem := invalid;
      return;
    end if;
    if exists (select 1 from auth.users x where lower(x.email) = lower(attrs ->> 'email') and x.id <> u.id) then
      problem := auth.error(422, 'email_exists', 'A user with this email address has already been registered');
      return;
    end if;
    u.email := lower(attrs ->> 'email');
  end if;
  if attrs ? 'password' then
    invalid := auth.validate_credentials(u.email, attrs ->> 'password');
    if invalid is not null then
      problem := invalid;
      return;
    end if;
    u.encrypted_password := public.crypt(attrs ->> 'password', public.gen_salt('bf', internal.password_cost()));
  end if;
  if attrs -> 'email_confirm' = 'true'::jsonb then
    u.email_confirmed_at := coalesce(u.email_confirmed_at, now());
  end if;
  if jsonb_typeof(attrs -> 'user_metadata') = 'object' then
    u.raw_user_meta_data := coalesce(u.raw_user_meta_data, '{}') || (attrs -> 'user_metadata');
  end if;
  if jsonb_typeof(attrs -> 'app_metadata') = 'object' then
    u.raw_app_meta_data := coalesce(u.raw_app_meta_data, '{}') || (attrs -> 'app_metadata');
  end if;
  if attrs ->> 'ban_duration' = 'none' or attrs -> 'disabled' = 'false'::jsonb then
    u.disabled_at := null;
    u.banned_until := null;
  elsif attrs -> 'disabled' = 'true'::jsonb then
    u.disabled_at := now();
    u.banned_until := null;
  elsif attrs ? 'ban_duration' then
    ban := auth.ban_interval(attrs ->> 'ban_duration');
    if ban is null then
      problem := auth.error(400, 'validation_failed', 'ban_duration: expected "none" or a duration such as 24h or 90m');
      return;
    end if;
    u.disabled_at := now();
    u.banned_until := now() + ban;
  end if;
  u.updated_at := now();
end $$;

-- POST /admin/users (auth.admin.createUser): no email is sent; without email_confirm the user
-- must confirm (or an admin generate a link) before signing in with a password.
create or replace function auth.admin_create(attrs jsonb) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb := auth.admin_problem();
  u auth.users;
  r record;
begin
  if problem is not null then
    return problem;
  end if;
  if attrs ->> 'email' is null then
    return auth.error(400, 'validation_failed', 'Unable to validate email address: invalid format');
  end if;
  if exists (select 1 from auth.users x where lower(x.email) = lower(attrs ->> 'email')) then
    return auth.error(422, 'email_exists', 'A user with this email address has already been registered');
  end if;
  u.id := gen_random_uuid();
  u.created_at := now();
  u.raw_user_meta_data := '{}';
  u.raw_app_meta_data := '{}';
  u.is_super_admin := coalesce(attrs -> 'is_super_admin' = 'true'::jsonb, false);
  r := auth.admin_apply(u, attrs);
  if r.problem is not null then
    return r.problem;
  end if;
  u := r.u;
  insert into auth.users select (u).*;
  return auth.user_json(u);
end $$;

-- PUT /admin/users/{id} (auth.admin.updateUserById).
create or replace function auth.admin_update(target uuid, attrs jsonb) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb := auth.admin_problem();
  u auth.users;
  r record;
begin
  if problem is not null then
    return problem;
  end if;
  select * into u from auth.users x where x.id = target for update;
  if u.id is null then
    return auth.error(404, 'user_not_found', 'User not found');
  end if;
  r := auth.admin_apply(u, attrs);
  if r.problem is not null then
    return r.problem;
  end if;
  u := r.u;
  update auth.users x set email = u.email, encrypted_password = u.encrypted_password,
    email_confirmed_at = u.email_confirmed_at, raw_user_meta_data = u.raw_user_meta_data,
    raw_app_meta_data = u.raw_app_meta_data, disabled_at = u.disabled_at, banned_until = u.banned_until,
    updated_at = u.updated_at
  where x.id = target;
  return auth.user_json(u);
end $$;

-- POST /admin/generate_link (auth.admin.generateLink): the link's token and code without an email
-- (the gateway builds action_link). Types: signup (creates the unconfirmed user with `password`),
-- invite (creates a passwordless user), magiclink, recovery (the user must exist),
-- email_change_current / email_change_new (to `new_email`).
create or replace function auth.admin_generate_link(attrs jsonb) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb := auth.admin_problem();
  kind text := attrs ->> 'type';
  v_email text := lower(attrs ->> 'email');
  u auth.users;
  invalid jsonb;
begin
  if problem is not null then
    return problem;
  end if;
  if kind is null or kind not in ('signup', 'invite', 'magiclink', 'recovery', 'email_change_current', 'email_change_new') then
    return auth.error(400, 'validation_failed', 'Invalid email action link type requested: ' || coalesce(kind, ''));
  end if;
  invalid := auth.validate_credentials(v_email, 'unchanged-ok');
  if invalid is not null then
    return invalid;
  end if;
  select * into u from auth.users x where lower(x.email) = v_email;
  if kind = 'signup' and u.id is null then
    invalid := auth.validate_credentials(v_email, attrs ->> 'password');
    if invalid is not null then
      return invalid;
    end if;
    insert into auth.users (email, encrypted_password, raw_user_meta_data, email_confirmed_at, confirmation_sent_at)
    values (v_email, public.crypt(attrs ->> 'password', public.gen_salt('bf', internal.password_cost())),
            coalesce(attrs -> 'data', '{}'), null, now())
    returning * into u;
  elsif kind = 'signup' or kind = 'invite' then
    if u.email_confirmed_at is not null then
      return auth.error(422, 'email_exists', 'A user with this email address has already been registered');
    end if;
    if u.id is null then
      insert into auth.users (email, raw_user_meta_data, email_confirmed_at, invited_at)
      values (v_email, coalesce(attrs -> 'data', '{}'), null, now())
      returning * into u;
    end if;
  elsif u.id is null then
    return auth.error(404, 'user_not_found', 'User with this email not found');
  end if;
  if kind like 'email_change%' then
    invalid := auth.validate_credentials(attrs ->> 'new_email', 'unchanged-ok');
    if invalid is not null then
      return invalid;
    end if;
    update auth.users x set email_change = lower(attrs ->> 'new_email'), email_change_sent_at = now()
     where x.id = u.id returning * into u;
    return jsonb_build_object('user', auth.user_json(u),
      'link', auth.issue_token(u, 'email_change', u.email_change, null));
  end if;
  return jsonb_build_object('user', auth.user_json(u), 'link', auth.issue_token(u, kind, u.email, null));
end $$;

-- Who may call them (as the migrations left it; re-applied so PUBLIC never may and a lost grant returns).
revoke all on function auth.may_administer() from public;
revoke all on function auth.admin_problem() from public;
revoke all on function auth.admin_list_users() from public;
grant execute on function auth.admin_list_users() to authenticator;
revoke all on function auth.admin_create_user(text,text,boolean) from public;
grant execute on function auth.admin_create_user(text,text,boolean) to authenticator;
revoke all on function auth.admin_set_disabled(uuid,boolean) from public;
grant execute on function auth.admin_set_disabled(uuid,boolean) to authenticator;
revoke all on function auth.admin_delete_user(uuid) from public;
grant execute on function auth.admin_delete_user(uuid) to authenticator;
revoke all on function auth.admin_users_page(integer,integer) from public;
grant execute on function auth.admin_users_page(integer,integer) to authenticator;
revoke all on function auth.admin_get_user(uuid) from public;
grant execute on function auth.admin_get_user(uuid) to authenticator;
revoke all on function auth.ban_interval(text) from public;
revoke all on function auth.admin_apply(auth.users,jsonb) from public;
revoke all on function auth.admin_create(jsonb) from public;
grant execute on function auth.admin_create(jsonb) to authenticator;
revoke all on function auth.admin_update(uuid,jsonb) from public;
grant execute on function auth.admin_update(uuid,jsonb) to authenticator;
revoke all on function auth.admin_generate_link(jsonb) from public;
grant execute on function auth.admin_generate_link(jsonb) to authenticator;
