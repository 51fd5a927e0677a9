-- The account lifecycle of /auth/v1: the gateway's settings, the per-endpoint-class limits,
-- emailed one-time tokens, sign-up with confirmation, /verify, the endpoints that email a link or
-- a code (/otp, /recover, /resend, /invite), and accepting an org invitation from its email.
-- A function that wants an email sent returns it as `mail` ({type, to, token, code, email}); the
-- gateway renders and queues it and never shows it to the caller. Only hashes of the link token
-- and of the code are stored.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/.

-- The gateway's settings for these rules (ROWGATE_MAILER_AUTOCONFIRM, ROWGATE_MAILER_OTP_EXP, the
-- limits, the session lifetimes), bound as `rowgate.auth` in every /auth/v1 transaction.
create or replace function auth.settings() returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(nullif(current_setting('rowgate.auth', true), '')::jsonb, '{}'::jsonb)
$$;

create or replace function auth.setting(name text, fallback bigint) returns bigint
language sql stable set search_path = '' as $$
  select coalesce((auth.settings() ->> name)::bigint, fallback)
$$;

create or replace function auth.autoconfirm() returns boolean
language sql stable set search_path = '' as $$
  select coalesce((auth.settings() ->> 'autoconfirm')::boolean, true)
$$;

-- One more event under `key`; true (and nothing recorded) when `max` already happened within `win`.
create or replace function auth.rate_exceeded(key text, win interval, max bigint) returns boolean
language plpgsql volatile set search_path = '' as $$
declare
  n bigint;
begin
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('rowgate.rate:' || key));
  delete from auth.rate_events e where e.key = rate_exceeded.key and e.at < now() - win;
  select count(*) into n from auth.rate_events e where e.key = rate_exceeded.key;
  if n >= max then
    return true;
  end if;
  insert into auth.rate_events (key) values (rate_exceeded.key);
  return false;
end $$;

-- Before any email: one per address per ROWGATE_SMTP_MAX_FREQUENCY seconds, and at most
-- ROWGATE_RATE_LIMIT_EMAIL_SENT per hour in all. Counted by address whether or not it is a
-- user's, so the answer never tells whether an account exists.
create or replace function auth.mail_limit(email text) returns jsonb
language plpgsql volatile set search_path = '' as $$
declare
  addr text := 'mail:' || lower(email);
  freq bigint := auth.setting('max_frequency', 60);
  last timestamptz;
begin
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('rowgate.rate:' || addr));
  select max(e.at) into last from auth.rate_events e where e.key = addr;
  if last is not null and last > now() - make_interval(secs => freq) then
    return auth.error(429, 'over_email_send_rate_limit',
      format('For security purposes, you can only request this after %s seconds.',
             greatest(1, ceil(extract(epoch from last + make_interval(secs => freq) - now())))::int));
  end if;
  if auth.rate_exceeded('mail', interval '1 hour', auth.setting('rate_email_sent', 30)) then
    return auth.error(429, 'over_email_send_rate_limit', 'email rate limit exceeded');
  end if;
  delete from auth.rate_events e where e.key = addr;
  insert into auth.rate_events (key) values (addr);
  return null;
end $$;

-- A new one-time token of `kind` for `u`, sent to `email`; earlier unused ones of the kind stop working.
create or replace function auth.issue_token(u auth.users, kind text, email text, data jsonb) returns jsonb
language plpgsql volatile set search_path = '' as $$
declare
  link text := encode(public.gen_random_bytes(32), 'hex');
  code text := lpad(((('x' || encode(public.gen_random_bytes(4), 'hex'))::bit(32)::bigint) % 1000000)::text, 6, '0');
begin
  update auth.one_time_tokens t set used_at = now()
   where t.user_id = u.id and t.kind = issue_token.kind and t.used_at is null;
  insert into auth.one_time_tokens (user_id, kind, link_hash, code_hash, email, data, expires_at)
  values (u.id, kind, auth.hash_token(link), auth.hash_token(lower(email) || ':' || code), lower(email),
          coalesce(data, '{}'), now() + make_interval(secs => auth.setting('otp_exp', 3600)));
  return jsonb_build_object('type', kind, 'to', lower(email), 'token', link, 'code', code, 'email', u.email);
end $$;

-- POST /signup. With ROWGATE_MAILER_AUTOCONFIRM (the default) a confirmed user and a session, as
-- before. Otherwise an unconfirmed user and a confirmation email; an address that is already a
-- confirmed user's gets the same answer (an id that is no user's) and no email.
create or replace function auth.sign_up(email text, password text, data jsonb) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  u auth.users;
  fake auth.users;
  invalid jsonb := auth.validate_credentials(email, password);
  problem jsonb;
begin
  if invalid is not null then
    return invalid;
  end if;
  select * into u from auth.users x where lower(x.email) = lower(sign_up.email);
  if auth.autoconfirm() then
    if u.id is not null then
      return auth.error(422, 'user_already_exists', 'User already registered');
    end if;
    insert into auth.users (email, encrypted_password, raw_user_meta_data, last_sign_in_at)
    values (lower(email), public.crypt(password, public.gen_salt('bf', internal.password_cost())),
            coalesce(data, '{}'), now())
    returning * into u;
    return auth.new_session(u);
  end if;
  problem := auth.mail_limit(email);
  if problem is not null then
    return problem;
  end if;
  if u.id is not null and u.email_confirmed_at is not null then
    fake.id := gen_random_uuid();
    fake.email := lower(email);
    fake.created_at := now();
    fake.confirmation_sent_at := now();
    fake.raw_user_meta_data := coalesce(data, '{}');
    fake.raw_app_meta_data := '{}';
    return jsonb_build_object('user', auth.user_json(fake));
  end if;
  if u.id is null then
    insert into auth.users (email, encrypted_password, raw_user_meta_data, email_confirmed_at)
    values (lower(email), public.crypt(password, public.gen_salt('bf', internal.password_cost())),
            coalesce(data, '{}'), null)
    returning * into u;
  end if;
  update auth.users x set confirmation_sent_at = now() where x.id = u.id returning * into u;
  return jsonb_build_object('user', auth.user_json(u), 'mail', auth.issue_token(u, 'signup', u.email, null));
end $$;

-- The previous entry point: a sign-up without metadata.
create or replace function auth.signup(email text, password text) returns jsonb
language sql volatile security definer set search_path = '' as $$
  select auth.sign_up(email, password, '{}'::jsonb)
$$;

-- An email invitation to an org, accepted by the user its email link signed in (`data` of an
-- invite token). Nothing happens for a member; a used, expired or withdrawn invitation refuses.
create or replace function auth.join_invited_org(uid uuid, data jsonb) returns jsonb
language plpgsql volatile set search_path = '' as $$
declare
  inv api.invitations;
  u auth.users;
begin
  select * into u from auth.users x where x.id = uid;
  select * into inv from api.invitations i
   where i.org_id = (data ->> 'org_id')::uuid and i.id = (data ->> 'invitation_id')::uuid for update;
  if inv.id is null or inv.kind <> 'email' or inv.accepted_at is not null or inv.expires_at <= now()
     or lower(btrim(inv.email)) <> lower(u.email) then
    return auth.error(403, 'otp_expired', 'The invitation is invalid, expired or already used');
  end if;
  -- The membership's audit entry names the joining user.
  perform set_config('request.jwt.claims', jsonb_build_object('sub', uid, 'role', 'authenticated')::text, true);
  if not exists (select 1 from api.memberships m where m.org_id = inv.org_id and m.user_id = uid) then
    insert into api.memberships (org_id, user_id, role) values (inv.org_id, uid, inv.role);
  end if;
  update api.invitations i set accepted_at = now(), accepted_by = uid where i.org_id = inv.org_id and i.id = inv.id;
  return null;
end $$;

-- POST /verify and GET /verify: a link token (`token_hash`, or GET's `token`) or an email and its
-- 6-digit code. One use; expired, used, superseded or unknown tokens all get 403 otp_expired.
-- Limits: ROWGATE_RATE_LIMIT_VERIFY per client IP per 5 minutes, ten wrong codes per address per hour.
create or replace function auth.verify(kind text, link text, email text, code text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  ip text := coalesce(current_setting('request.client_ip', true), '');
  kinds text[];
  t auth.one_time_tokens;
  u auth.users;
  problem jsonb;
  result jsonb;
begin
  if auth.rate_exceeded('verify:ip:' || ip, interval '5 minutes', auth.setting('rate_verify', 30)) then
    return auth.error(429, 'over_request_rate_limit', 'Request rate limit reached');
  end if;
  kinds := case kind
             when 'email' then array['signup', 'magiclink', 'invite']
             when 'magiclink' then array['magiclink', 'signup']
             when 'signup' then array['signup']
             when 'invite' then array['invite']
             when 'recovery' then array['recovery']
             when 'email_change' then array['email_change']
           end;
  if kinds is null then
    return auth.error(400, 'validation_failed', 'Unsupported verification type');
  end if;
  if link is not null then
    select * into t from auth.one_time_tokens x where x.link_hash = auth.hash_token(link) for update;
    if t.id is null or t.used_at is not null or t.expires_at <= now() or not (t.kind = any (kinds)) then
      return auth.error(403, 'otp_expired', 'Email link is invalid or has expired');
    end if;
  else
    if auth.rate_exceeded('code:' || lower(email), interval '1 hour', 10) then
      return auth.error(429, 'over_request_rate_limit', 'Too many wrong codes for this address; request a new one later');
    end if;
    select * into t from auth.one_time_tokens x
     where lower(x.email) = lower(verify.email) and x.code_hash = auth.hash_token(lower(verify.email) || ':' || code)
       and x.kind = any (kinds) and x.used_at is null and x.expires_at > now()
     order by x.created_at desc limit 1 for update;
    if t.id is null then
      return auth.error(403, 'otp_expired', 'Token has expired or is invalid');
    end if;
    -- A right code does not count against the address.
    delete from auth.rate_events e
     where e.key = 'code:' || lower(email)
       and e.at = (select max(f.at) from auth.rate_events f where f.key = 'code:' || lower(email));
  end if;
  select * into u from auth.users x where x.id = t.user_id for update;
  if u.disabled_at is not null then
    return auth.error(403, 'user_banned', 'User is banned');
  end if;
  if t.kind = 'email_change' then
    if exists (select 1 from auth.users x where lower(x.email) = t.email and x.id <> u.id) then
      return auth.error(422, 'email_exists', 'A user with this email address has already been registered');
    end if;
    update auth.users x set email = t.email, email_change = null, email_change_sent_at = null,
                            email_confirmed_at = coalesce(x.email_confirmed_at, now()), updated_at = now()
     where x.id = u.id;
  elsif t.kind = 'invite' and t.data ? 'invitation_id' then
    problem := auth.join_invited_org(u.id, t.data);
    if problem is not null then
      return problem;
    end if;
  end if;
  update auth.one_time_tokens x set used_at = now() where x.id = t.id;
  update auth.users x set email_confirmed_at = coalesce(x.email_confirmed_at, now()), last_sign_in_at = now()
   where x.id = u.id returning * into u;
  result := auth.new_session(u);
  perform auth.audit_sign_in('SIGN_IN', u.id, (result ->> 'session_id')::uuid, ip, 'verify:' || t.kind);
  return result || jsonb_build_object('type', t.kind);
end $$;

-- POST /otp ('otp'), /recover ('recovery'), /resend ('signup' or 'email_change'): the same answer
-- ({}) whether or not the address is a user's; `mail` only when there is something to send.
-- /otp creates an unconfirmed user when `create_user` (and sign-ups are open), as GoTrue does.
create or replace function auth.send_link(kind text, email text, data jsonb, create_user boolean) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  ip text := coalesce(current_setting('request.client_ip', true), '');
  u auth.users;
  problem jsonb;
begin
  if email is null or email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' or length(email) > 254 then
    return auth.error(400, 'validation_failed', 'Unable to validate email address: invalid format');
  end if;
  if kind = 'otp' and auth.rate_exceeded('otp:ip:' || ip, interval '5 minutes', auth.setting('rate_otp', 30)) then
    return auth.error(429, 'over_request_rate_limit', 'Request rate limit reached');
  end if;
  problem := auth.mail_limit(email);
  if problem is not null then
    return problem;
  end if;
  select * into u from auth.users x where lower(x.email) = lower(send_link.email);
  if u.disabled_at is not null then
    return '{}'::jsonb;
  end if;
  if kind = 'recovery' and u.id is not null then
    update auth.users x set recovery_sent_at = now() where x.id = u.id;
    return jsonb_build_object('mail', auth.issue_token(u, 'recovery', u.email, null));
  elsif kind = 'otp' then
    if u.id is null and coalesce(create_user, true) then
      insert into auth.users (email, raw_user_meta_data, email_confirmed_at, confirmation_sent_at)
      values (lower(email), coalesce(data, '{}'), null, now())
      returning * into u;
    end if;
    if u.id is not null then
      return jsonb_build_object('mail', auth.issue_token(
        u, case when u.email_confirmed_at is null then 'signup' else 'magiclink' end, u.email, null));
    end if;
  elsif kind = 'signup' and u.id is not null and u.email_confirmed_at is null then
    update auth.users x set confirmation_sent_at = now() where x.id = u.id;
    return jsonb_build_object('mail', auth.issue_token(u, 'signup', u.email, null));
  elsif kind = 'email_change' and u.email_change is not null then
    update auth.users x set email_change_sent_at = now() where x.id = u.id;
    return jsonb_build_object('mail', auth.issue_token(u, 'email_change', u.email_change, null));
  end if;
  return '{}'::jsonb;
end $$;

-- POST /invite {email, data}. A super admin or the service_role invites anyone; an owner or admin
-- of an org invites to it with `data: {org_id, role}` (api.create_invitation's rules). The invitee
-- gets an email whose link signs them up (a new, passwordless user) or in, and accepts.
create or replace function auth.invite(email text, data jsonb) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb := auth.session_problem(false);
  org uuid;
  raw text;
  inv_id uuid;
  u auth.users;
begin
  if problem is not null then
    return problem;
  end if;
  if email is null or email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' or length(email) > 254 then
    return auth.error(400, 'validation_failed', 'Unable to validate email address: invalid format');
  end if;
  if coalesce(data, '{}') ? 'org_id' then
    begin
      org := (data ->> 'org_id')::uuid;
    exception when invalid_text_representation then
      return auth.error(400, 'validation_failed', 'data.org_id must be an organization id');
    end;
    if not internal.has_org_role(org, 'admin') then
      return auth.error(403, 'not_admin', 'Only owners and admins of the organization invite');
    end if;
  elsif not auth.may_administer() then
    return auth.error(403, 'not_admin', 'User not allowed');
  end if;
  select * into u from auth.users x where lower(x.email) = lower(invite.email);
  if org is null and u.email_confirmed_at is not null then
    return auth.error(422, 'email_exists', 'A user with this email address has already been registered');
  end if;
  -- The invitation (api.create_invitation's rules) and the email limit stand or fall together.
  begin
    if org is not null then
      raw := api.create_invitation(org, lower(btrim(email)), coalesce(data ->> 'role', 'member'));
      select i.id into inv_id from api.invitations i
       where i.org_id = org and i.token_hash = encode(public.digest(raw, 'sha256'), 'hex');
    end if;
    problem := auth.mail_limit(email);
    if problem is not null then
      raise exception 'over the email limit' using errcode = 'PT429';
    end if;
  exception
    when sqlstate 'PT429' then
      return problem;
    when sqlstate 'PT400' or sqlstate 'PT403' then
      return auth.error(case when sqlstate = 'PT400' then 400 else 403 end,
                        case when sqlstate = 'PT400' then 'validation_failed' else 'not_admin' end, sqlerrm);
  end;
  if u.id is null then
    insert into auth.users (email, raw_user_meta_data, email_confirmed_at, invited_at)
    values (lower(email), coalesce(data, '{}') - 'org_id' - 'role', null, now())
    returning * into u;
  else
    update auth.users x set invited_at = now() where x.id = u.id returning * into u;
  end if;
  return jsonb_build_object('user', auth.user_json(u), 'mail', auth.issue_token(u, 'invite', u.email,
    case when org is null then null else jsonb_build_object('org_id', org, 'invitation_id', inv_id) end));
end $$;

-- GET /reauthenticate (live session): a code to the user's address, the `nonce` that PUT /user
-- needs for a new password under ROWGATE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION once
-- the session is older than 24 hours (GoTrue's rule).
create or replace function auth.reauthenticate() returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb := auth.session_problem(true);
  u auth.users;
begin
  if problem is not null then
    return problem;
  end if;
  select * into u from auth.users x where x.id = internal.claims_sub(auth.claims());
  if u.email_confirmed_at is null then
    return auth.error(422, 'email_not_confirmed', 'Please verify your email first.');
  end if;
  problem := auth.mail_limit(u.email);
  if problem is not null then
    return problem;
  end if;
  return jsonb_build_object('mail', auth.issue_token(u, 'reauthentication', u.email, null));
end $$;

-- The nonce of PUT /user: NULL when `nonce` is the user's live reauthentication code (now used).
create or replace function auth.reauthentication_problem(u auth.users, nonce text) returns jsonb
language plpgsql volatile set search_path = '' as $$
declare
  t auth.one_time_tokens;
begin
  if nonce is null or nonce = '' then
    return auth.error(400, 'reauthentication_needed', 'Password update requires reauthentication');
  end if;
  select * into t from auth.one_time_tokens x
   where x.user_id = u.id and x.kind = 'reauthentication' and x.used_at is null and x.expires_at > now()
     and x.code_hash = auth.hash_token(lower(u.email) || ':' || nonce)
   for update;
  if t.id is null then
    return auth.error(422, 'reauthentication_not_valid', 'Nonce has expired or is invalid');
  end if;
  update auth.one_time_tokens x set used_at = now() where x.id = t.id;
  return null;
end $$;

-- Who may call them (PUBLIC never; the gateway's own role calls the entry points).
revoke all on function auth.settings() from public;
revoke all on function auth.setting(text,bigint) from public;
revoke all on function auth.autoconfirm() from public;
revoke all on function auth.rate_exceeded(text,interval,bigint) from public;
revoke all on function auth.mail_limit(text) from public;
revoke all on function auth.issue_token(auth.users,text,text,jsonb) from public;
revoke all on function auth.sign_up(text,text,jsonb) from public;
grant execute on function auth.sign_up(text,text,jsonb) to authenticator;
revoke all on function auth.signup(text,text) from public;
grant execute on function auth.signup(text,text) to authenticator;
revoke all on function auth.join_invited_org(uuid,jsonb) from public;
revoke all on function auth.verify(text,text,text,text) from public;
grant execute on function auth.verify(text,text,text,text) to authenticator;
revoke all on function auth.send_link(text,text,jsonb,boolean) from public;
grant execute on function auth.send_link(text,text,jsonb,boolean) to authenticator;
revoke all on function auth.invite(text,jsonb) from public;
grant execute on function auth.invite(text,jsonb) to authenticator;
revoke all on function auth.reauthenticate() from public;
grant execute on function auth.reauthenticate() to authenticator;
revoke all on function auth.reauthentication_problem(auth.users,text) from public;
