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
