-- MFA with TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of skew either way), the
-- assurance level of a session and the policy helpers that read it. GoTrue's /factors endpoints
-- and error codes; the gateway builds the otpauth URI and QR code and signs the tokens, every rule
-- and all state is here. Secrets are encrypted with pgp_sym_encrypt under a key the gateway
-- passes as a parameter (ROWGATE_MFA_ENCRYPTION_KEY, docs/auth.md): a dump alone does not reveal them.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- RFC 4648 base32 without padding (authenticator apps read the secret in it).
create or replace function auth.base32(data bytea) returns text
language plpgsql immutable set search_path = '' as $$
declare
  alphabet constant text := 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  result text := '';
  buffer bigint := 0;
  bits int := 0;
  i int;
begin
  for i in 0 .. pg_catalog.length(data) - 1 loop
    buffer := ((buffer << 8) | pg_catalog.get_byte(data, i)) & 65535;
    bits := bits + 8;
    while bits >= 5 loop
      result := result || pg_catalog.substr(alphabet, ((buffer >> (bits - 5)) & 31)::int + 1, 1);
      bits := bits - 5;
    end loop;
  end loop;
  if bits > 0 then
    result := result || pg_catalog.substr(alphabet, ((buffer << (5 - bits)) & 31)::int + 1, 1);
  end if;
  return result;
end $$;

-- The 6-digit code of a 30-second step (RFC 4226's dynamic truncation of HMAC-SHA-1).
create or replace function auth.totp(secret bytea, step bigint) returns text
language plpgsql immutable set search_path = '' as $$
declare
  h bytea := public.hmac(pg_catalog.int8send(step), secret, 'sha1');
  o int := pg_catalog.get_byte(h, 19) & 15;
  bin bigint;
begin
  bin := ((pg_catalog.get_byte(h, o) & 127)::bigint << 24) | (pg_catalog.get_byte(h, o + 1)::bigint << 16)
       | (pg_catalog.get_byte(h, o + 2)::bigint << 8) | pg_catalog.get_byte(h, o + 3)::bigint;
  return pg_catalog.lpad((bin % 1000000)::text, 6, '0');
end $$;

-- A factor as GoTrue shows it in the user object.
create or replace function auth.mfa_factor_json(f auth.mfa_factors) returns jsonb
language sql stable set search_path = '' as $$
  select pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
    'id', f.id, 'friendly_name', f.friendly_name, 'factor_type', f.factor_type, 'status', f.status,
    'created_at', f.created_at, 'updated_at', f.updated_at)) || pg_catalog.jsonb_build_object(
    'last_challenged_at', f.last_challenged_at)
$$;

-- The user object with its MFA factors (GoTrue omits the key when there are none) and its
-- OAuth identities (auth.user_identities, functions/auth_oauth.sql), whose providers join
-- app_metadata.providers.
create or replace function auth.user_extras(u jsonb) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  uid uuid;
  factors jsonb;
  identities jsonb;
  providers jsonb;
begin
  if u is null or u ? 'error' or u ->> 'id' is null then
    return u;
  end if;
  uid := (u ->> 'id')::uuid;
  select pg_catalog.jsonb_agg(auth.mfa_factor_json(f) order by f.created_at) into factors
    from auth.mfa_factors f where f.user_id = uid;
  if factors is not null then
    u := u || pg_catalog.jsonb_build_object('factors', factors);
  end if;
  identities := coalesce(auth.user_identities(uid), '[]'::jsonb);
  select pg_catalog.jsonb_agg(distinct p) into providers from (
    select 'email' as p from auth.users x where x.id = uid and x.encrypted_password is not null
    union all select e ->> 'provider' from pg_catalog.jsonb_array_elements(identities) e) q;
  u := u || pg_catalog.jsonb_build_object('identities', identities);
  if providers is not null then
    u := pg_catalog.jsonb_set(u, '{app_metadata}', coalesce(u -> 'app_metadata', '{}'::jsonb)
           || pg_catalog.jsonb_build_object('provider', providers -> 0, 'providers', providers));
  end if;
  return u;
end $$;

-- A session answer ({user, session_id, refresh_token} or an error) with what the access token
-- claims: `aal` and `amr` of the session, recorded here; `method` names how a new session
-- signed in (password, oauth…), NULL when an existing session continues (refresh, MFA verify).
create or replace function auth.session_answer(result jsonb, method text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  s auth.sessions;
begin
  if result ? 'error' or result ->> 'session_id' is null then
    return result;
  end if;
  if method is not null then
    update auth.sessions
       set amr = pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                   'method', method, 'timestamp', pg_catalog.floor(extract(epoch from now()))::bigint))
     where id = (result ->> 'session_id')::uuid and amr = '[]';
  end if;
  select * into s from auth.sessions where id = (result ->> 'session_id')::uuid;
  return result || pg_catalog.jsonb_build_object('aal', s.aal, 'amr', s.amr,
                                                 'user', auth.user_extras(result -> 'user'));
end $$;

-- POST /factors: a new unverified TOTP factor; the plain secret is answered once.
create or replace function auth.mfa_enroll(mfa_key text, factor_type text, friendly_name text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb := auth.session_problem(true);
  c jsonb := auth.claims();
  me uuid := internal.claims_sub(c);
  u auth.users;
  secret bytea := public.gen_random_bytes(20);
  f auth.mfa_factors;
  total int;
  verified int;
begin
  if problem is not null then
    return problem;
  end if;
  if factor_type = 'phone' then
    return auth.error(422, 'mfa_phone_enroll_not_enabled', 'MFA enroll is disabled for Phone');
  elsif factor_type = 'webauthn' then
    return auth.error(422, 'mfa_webauthn_enroll_not_enabled', 'MFA enroll is disabled for WebAuthn');
  elsif factor_type is distinct from 'totp' then
    return auth.error(400, 'validation_failed', 'factor_type needs to be totp, phone, or webauthn');
  end if;
  select * into u from auth.users where id = me;
  if u.id is null then
    return auth.error(404, 'user_not_found', 'User not found');
  end if;
  -- Unverified factors expire after five minutes (GoTrue's factor expiry).
  delete from auth.mfa_factors m where m.user_id = me and m.status = 'unverified'
     and m.created_at < now() - interval '5 minutes';
  if exists (select 1 from auth.mfa_factors m where m.user_id = me and m.friendly_name = mfa_enroll.friendly_name) then
    return auth.error(422, 'mfa_factor_name_conflict',
                      pg_catalog.format('A factor with the friendly name %I for this user already exists', friendly_name));
  end if;
  select count(*), count(*) filter (where m.status = 'verified') into total, verified
    from auth.mfa_factors m where m.user_id = me;
  if total >= 10 then
    return auth.error(422, 'too_many_enrolled_mfa_factors', 'Maximum number of verified factors reached, unenroll to continue');
  end if;
  if verified > 0 and (select aal from auth.sessions where id = (c ->> 'session_id')::uuid) <> 'aal2' then
    return auth.error(403, 'insufficient_aal', 'AAL2 required to enroll a new factor');
  end if;
  insert into auth.mfa_factors (user_id, friendly_name, secret)
  values (me, nullif(mfa_enroll.friendly_name, ''),
          public.pgp_sym_encrypt_bytea(secret, mfa_key, 'cipher-algo=aes256'))
  returning * into f;
  return pg_catalog.jsonb_build_object('id', f.id, 'type', 'totp', 'friendly_name', coalesce(f.friendly_name, ''),
                                       'email', u.email, 'totp', pg_catalog.jsonb_build_object('secret', auth.base32(secret)));
end $$;

-- The error to answer when `factor` is not the caller's (NULL when it is; then the factor's row
-- is locked with `for_update`). A plain jsonb answer: Citus refuses to re-create a function with
-- OUT parameters of a table's row type.
create or replace function auth.mfa_factor_problem(factor uuid, for_update boolean) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb := auth.session_problem(true);
  found_id uuid;
begin
  if problem is not null then
    return problem;
  end if;
  if for_update then
    select m.id into found_id from auth.mfa_factors m
     where m.id = factor and m.user_id = internal.claims_sub(auth.claims()) for update;
  else
    select m.id into found_id from auth.mfa_factors m
     where m.id = factor and m.user_id = internal.claims_sub(auth.claims());
  end if;
  if found_id is null then
    return auth.error(404, 'mfa_factor_not_found', 'Factor not found');
  end if;
  return null;
end $$;

-- POST /factors/{id}/challenge
create or replace function auth.mfa_challenge(factor uuid, ip text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb;
  f auth.mfa_factors;
  ch auth.mfa_challenges;
begin
  problem := auth.mfa_factor_problem(factor, true);
  if problem is not null then
    return problem;
  end if;
  select * into f from auth.mfa_factors m where m.id = factor;
  -- A factor's old challenges and failures do not pile up.
  delete from auth.mfa_challenges m where m.factor_id = factor and m.created_at < now() - interval '1 hour';
  delete from auth.mfa_failures m where m.factor_id = factor and m.at < now() - interval '1 hour';
  insert into auth.mfa_challenges (factor_id, ip) values (factor, coalesce(ip, '')) returning * into ch;
  update auth.mfa_factors set last_challenged_at = now() where id = factor;
  return pg_catalog.jsonb_build_object('id', ch.id, 'type', 'totp',
    'expires_at', pg_catalog.floor(extract(epoch from ch.created_at + interval '5 minutes'))::bigint);
end $$;

-- POST /factors/{id}/verify: a code of the current step, or one step either side, newer than the
-- last accepted one. Success verifies the factor, raises the session to aal2 (other aal1 sessions
-- of the user end, as in GoTrue) and answers a new session response; five failures per factor in
-- five minutes answer 429 until they age out.
create or replace function auth.mfa_verify(mfa_key text, factor uuid, challenge uuid, code text, ip text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb;
  f auth.mfa_factors;
  ch auth.mfa_challenges;
  secret bytea;
  now_step bigint := pg_catalog.floor(extract(epoch from pg_catalog.clock_timestamp()) / 30)::bigint;
  matched bigint;
  s bigint;
  sid uuid;
  u auth.users;
begin
  problem := auth.mfa_factor_problem(factor, true);
  if problem is not null then
    return problem;
  end if;
  select * into f from auth.mfa_factors m where m.id = factor;
  select * into ch from auth.mfa_challenges m where m.id = challenge and m.factor_id = factor for update;
  if ch.id is null then
    return auth.error(422, 'mfa_factor_not_found', 'MFA factor with the provided challenge ID not found');
  end if;
  if ch.verified_at is not null or ch.ip <> coalesce(ip, '') then
    return auth.error(422, 'mfa_ip_address_mismatch', 'Challenge and verify IP addresses mismatch.');
  end if;
  if ch.created_at < now() - interval '5 minutes' then
    delete from auth.mfa_challenges where id = ch.id;
    return auth.error(422, 'mfa_challenge_expired', pg_catalog.format(
      'MFA challenge %s has expired, verify against another challenge or create a new challenge.', ch.id));
  end if;
  if (select count(*) from auth.mfa_failures m where m.factor_id = factor and m.at > now() - interval '5 minutes') >= 5 then
    return auth.error(429, 'over_request_rate_limit', 'Too many MFA verification attempts; try again later');
  end if;
  begin
    secret := public.pgp_sym_decrypt_bytea(f.secret, mfa_key);
  exception when others then
    return auth.error(500, 'unexpected_failure', 'The MFA secret cannot be decrypted (was ROWGATE_MFA_ENCRYPTION_KEY changed?)');
  end;
  for s in now_step - 1 .. now_step + 1 loop
    if s > coalesce(f.last_step, -1) and auth.totp(secret, s) = code then
      matched := s;
    end if;
  end loop;
  if matched is null then
    insert into auth.mfa_failures (factor_id) values (factor);
    return auth.error(422, 'mfa_verification_failed', 'Invalid TOTP code entered');
  end if;
  sid := (auth.claims() ->> 'session_id')::uuid;
  update auth.mfa_factors set last_step = matched, status = 'verified', updated_at = now() where id = factor;
  update auth.mfa_challenges set verified_at = now() where id = ch.id;
  delete from auth.mfa_failures m where m.factor_id = factor;
  update auth.sessions
     set aal = 'aal2', factor_id = factor,
         amr = coalesce((select pg_catalog.jsonb_agg(e) from pg_catalog.jsonb_array_elements(amr) e
                          where e ->> 'method' <> 'totp'), '[]'::jsonb)
               || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                    'method', 'totp', 'timestamp', pg_catalog.floor(extract(epoch from now()))::bigint))
   where id = sid;
  update auth.sessions set revoked_at = now()
   where user_id = f.user_id and id <> sid and aal = 'aal1' and revoked_at is null;
  delete from auth.mfa_factors m where m.user_id = f.user_id and m.status = 'unverified';
  select * into u from auth.users where id = f.user_id;
  return auth.session_answer(pg_catalog.jsonb_build_object(
    'user', auth.user_json(u), 'session_id', sid, 'refresh_token', auth.issue_refresh_token(sid, null)), null);
end $$;

-- DELETE /factors/{id}: a verified factor only from an aal2 session; the sessions it raised
-- return to aal1.
create or replace function auth.mfa_unenroll(factor uuid) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  problem jsonb;
  f auth.mfa_factors;
begin
  problem := auth.mfa_factor_problem(factor, true);
  if problem is not null then
    return problem;
  end if;
  select * into f from auth.mfa_factors m where m.id = factor;
  if f.status = 'verified'
     and (select aal from auth.sessions where id = (auth.claims() ->> 'session_id')::uuid) <> 'aal2' then
    return auth.error(422, 'insufficient_aal', 'AAL2 required to unenroll verified factor');
  end if;
  update auth.sessions
     set aal = 'aal1',
         amr = coalesce((select pg_catalog.jsonb_agg(e) from pg_catalog.jsonb_array_elements(amr) e
                          where e ->> 'method' <> 'totp'), '[]'::jsonb)
   where factor_id = factor;
  delete from auth.mfa_factors where id = factor;
  return pg_catalog.jsonb_build_object('id', factor);
end $$;

-- Policy helpers. `internal.aal()`: the request's assurance level ('aal1', 'aal2'; NULL without
-- a token), from the signed access token. `internal.mfa_satisfied()`: aal2, or the caller has no
-- verified factor (GoTrue's recommended "aal2 once enrolled" rule). A table requires aal2 with
-- `using (internal.aal() = 'aal2')` in a policy `to authenticated` (only that role may call them).
create or replace function internal.aal() returns text
language plpgsql stable security definer set search_path = '' as $$
begin
  return internal.request_claims() ->> 'aal';
end $$;

create or replace function internal.mfa_satisfied() returns boolean
language plpgsql stable security definer set search_path = '' as $$
begin
  return internal.aal() = 'aal2' or not exists (
    select 1 from auth.mfa_factors f where f.user_id = internal.user_id() and f.status = 'verified');
end $$;

revoke all on function auth.base32(bytea) from public;
revoke all on function auth.totp(bytea, bigint) from public;
revoke all on function auth.mfa_factor_json(auth.mfa_factors) from public;
revoke all on function auth.user_extras(jsonb) from public;
grant execute on function auth.user_extras(jsonb) to authenticator;
revoke all on function auth.session_answer(jsonb, text) from public;
grant execute on function auth.session_answer(jsonb, text) to authenticator;
revoke all on function auth.mfa_enroll(text, text, text) from public;
grant execute on function auth.mfa_enroll(text, text, text) to authenticator;
revoke all on function auth.mfa_factor_problem(uuid, boolean) from public;
revoke all on function auth.mfa_challenge(uuid, text) from public;
grant execute on function auth.mfa_challenge(uuid, text) to authenticator;
revoke all on function auth.mfa_verify(text, uuid, uuid, text, text) from public;
grant execute on function auth.mfa_verify(text, uuid, uuid, text, text) to authenticator;
revoke all on function auth.mfa_unenroll(uuid) from public;
grant execute on function auth.mfa_unenroll(uuid) to authenticator;
-- For policies of signed-in requests only (anonymous ones have no level to require).
revoke all on function internal.aal() from public, anon;
grant execute on function internal.aal() to authenticated;
revoke all on function internal.mfa_satisfied() from public, anon;
grant execute on function internal.mfa_satisfied() to authenticated;
