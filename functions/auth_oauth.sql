-- OAuth / OpenID Connect sign-in with PKCE (GoTrue's /authorize, /callback and grant_type=pkce):
-- the flow state between the steps and the identities linked to users. The gateway talks to the
-- provider (discovery, code exchange, ID token signature, issuer, audience, expiry); it hands
-- the verified claims here, where the nonce is compared and every account decision is made.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- base64url without padding of SHA-256 (PKCE's S256).
create or replace function auth.s256(verifier text) returns text
language sql immutable set search_path = '' as $$
  select pg_catalog.translate(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(verifier, 'UTF8')), 'base64'),
                              '+/=', '-_')
$$;

-- GET /authorize: a new flow state; its id is the `state`, with the nonce and our verifier
-- towards the provider. PKCE (S256) is required: rowgate has no implicit flow.
create or replace function auth.oauth_begin(provider text, redirect_to text, code_challenge text,
                                            code_challenge_method text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  f auth.flow_states;
begin
  if coalesce(code_challenge, '') = '' then
    return auth.error(400, 'validation_failed', 'PKCE is required: send code_challenge with code_challenge_method=s256');
  end if;
  if pg_catalog.lower(coalesce(code_challenge_method, '')) <> 's256' then
    return auth.error(400, 'validation_failed', 'Invalid code_challenge_method');
  end if;
  if code_challenge !~ '^[A-Za-z0-9_-]{43,128}$' then
    return auth.error(400, 'validation_failed', 'code challenge has to be between 43 and 128 characters');
  end if;
  -- Abandoned sign-ins do not pile up.
  delete from auth.flow_states s where s.created_at < now() - interval '1 hour';
  insert into auth.flow_states (provider, code_challenge, code_challenge_method, redirect_to, nonce, provider_verifier)
  values (provider, code_challenge, 's256', redirect_to,
          pg_catalog.encode(public.gen_random_bytes(24), 'hex'),
          pg_catalog.translate(pg_catalog.encode(public.gen_random_bytes(32), 'base64'), '+/=', '-_'))
  returning * into f;
  return pg_catalog.jsonb_build_object('state', f.id, 'nonce', f.nonce, 'provider_verifier', f.provider_verifier);
end $$;

-- GET /callback, before the code exchange: the flow state the `state` names, unused and fresh
-- (five minutes, GoTrue's flow state expiry).
create or replace function auth.oauth_state(state uuid) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  f auth.flow_states;
begin
  select * into f from auth.flow_states s where s.id = state;
  if f.id is null then
    return auth.error(400, 'bad_oauth_state', 'OAuth state not found or expired');
  end if;
  if f.created_at < now() - interval '5 minutes' then
    return auth.error(400, 'bad_oauth_state', 'OAuth state has expired') || pg_catalog.jsonb_build_object('redirect_to', f.redirect_to);
  end if;
  if f.user_id is not null then
    return auth.error(400, 'flow_state_already_used', 'State has already been used') || pg_catalog.jsonb_build_object('redirect_to', f.redirect_to);
  end if;
  return pg_catalog.jsonb_build_object('provider', f.provider, 'nonce', f.nonce,
                                       'provider_verifier', f.provider_verifier, 'redirect_to', f.redirect_to);
end $$;

-- GET /callback, after the gateway verified the ID token: `claims` are its claims. The nonce
-- must be the flow's. The identity (provider, sub) signs its user in; otherwise an account with
-- the same email is linked only when the provider asserts email_verified; otherwise a new user
-- is created (when sign-ups are enabled). Answers the one-time auth code for grant_type=pkce.
create or replace function auth.oauth_complete(state uuid, claims jsonb, signup_enabled boolean) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  f auth.flow_states;
  u auth.users;
  i auth.identities;
  sub text := claims ->> 'sub';
  mail text := pg_catalog.lower(nullif(claims ->> 'email', ''));
  verified boolean := coalesce(claims -> 'email_verified' = 'true'::jsonb or claims ->> 'email_verified' = 'true', false);
  code text := pg_catalog.encode(public.gen_random_bytes(32), 'hex');
  data jsonb := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
    'sub', claims -> 'sub', 'iss', claims -> 'iss', 'email', claims -> 'email',
    'email_verified', claims -> 'email_verified', 'name', claims -> 'name',
    'full_name', claims -> 'name', 'picture', claims -> 'picture',
    'preferred_username', claims -> 'preferred_username', 'provider_id', claims -> 'sub'));
begin
  select * into f from auth.flow_states s where s.id = state for update;
  if f.id is null or f.created_at < now() - interval '5 minutes' then
    return auth.error(400, 'bad_oauth_state', 'OAuth state not found or expired');
  end if;
  if f.user_id is not null then
    return auth.error(400, 'flow_state_already_used', 'State has already been used');
  end if;
  if claims ->> 'nonce' is distinct from f.nonce then
    return auth.error(400, 'bad_oauth_callback', 'The ID token''s nonce does not match this sign-in');
  end if;
  if coalesce(sub, '') = '' then
    return auth.error(400, 'bad_oauth_callback', 'The ID token has no subject');
  end if;
  select * into i from auth.identities d where d.provider = f.provider and d.provider_id = sub for update;
  if i.id is not null then
    update auth.identities set identity_data = data, email = mail, last_sign_in_at = now(),
           updated_at = now() where id = i.id;
    select * into u from auth.users where id = i.user_id;
  else
    if mail is null then
      return auth.error(400, 'validation_failed', 'Error getting user email from external provider');
    end if;
    select * into u from auth.users where pg_catalog.lower(users.email) = mail;
    if u.id is not null and not verified then
      return auth.error(422, 'provider_email_needs_verification', pg_catalog.format(
        'Unverified email with %s. Verify the email with %s in order to sign in', f.provider, f.provider));
    end if;
    if u.id is null then
      if not signup_enabled then
        return auth.error(422, 'signup_disabled', 'Signups not allowed for this instance');
      end if;
      insert into auth.users (email) values (mail) returning * into u;
    end if;
    insert into auth.identities (user_id, provider, provider_id, identity_data, email, last_sign_in_at)
    values (u.id, f.provider, sub, data, mail, now());
  end if;
  if u.disabled_at is not null then
    return auth.error(403, 'user_banned', 'User is banned');
  end if;
  update auth.flow_states set user_id = u.id, auth_code_hash = auth.hash_token(code), auth_code_issued_at = now()
   where id = f.id;
  return pg_catalog.jsonb_build_object('auth_code', code, 'redirect_to', f.redirect_to);
end $$;

-- POST /token?grant_type=pkce {auth_code, code_verifier}: one exchange per code, within five
-- minutes of /authorize, with the verifier whose S256 is the challenge; a new session.
create or replace function auth.oauth_pkce(auth_code text, code_verifier text) returns jsonb
language plpgsql volatile security definer set search_path = '' as $$
declare
  f auth.flow_states;
  u auth.users;
  answer jsonb;
begin
  if coalesce(auth_code, '') = '' or coalesce(code_verifier, '') = '' then
    return auth.error(400, 'validation_failed', 'invalid request: both auth code and code verifier should be non-empty');
  end if;
  select * into f from auth.flow_states s where s.auth_code_hash = auth.hash_token(auth_code) for update;
  if f.id is null or f.user_id is null then
    return auth.error(404, 'flow_state_not_found', 'invalid flow state, no valid flow state found');
  end if;
  if f.created_at < now() - interval '5 minutes' then
    return auth.error(422, 'flow_state_expired', 'invalid flow state, flow state has expired');
  end if;
  if auth.s256(code_verifier) <> f.code_challenge then
    return auth.error(400, 'bad_code_verifier', 'code challenge does not match previously saved code verifier');
  end if;
  select * into u from auth.users where id = f.user_id;
  if u.disabled_at is not null then
    return auth.error(403, 'user_banned', 'User is banned');
  end if;
  delete from auth.flow_states where id = f.id;
  answer := auth.new_session(u);
  perform auth.audit_sign_in('SIGN_IN', u.id, (answer ->> 'session_id')::uuid, '', null);
  return answer;
end $$;

-- The user's identities as GoTrue shows them.
create or replace function auth.user_identities(uid uuid) returns jsonb
language sql stable set search_path = '' as $$
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'identity_id', i.id, 'id', i.provider_id, 'user_id', i.user_id, 'identity_data', i.identity_data,
           'provider', i.provider, 'email', i.email, 'last_sign_in_at', i.last_sign_in_at,
           'created_at', i.created_at, 'updated_at', i.updated_at) order by i.created_at)
    from auth.identities i where i.user_id = uid
$$;

revoke all on function auth.s256(text) from public;
revoke all on function auth.oauth_begin(text, text, text, text) from public;
grant execute on function auth.oauth_begin(text, text, text, text) to authenticator;
revoke all on function auth.oauth_state(uuid) from public;
grant execute on function auth.oauth_state(uuid) to authenticator;
revoke all on function auth.oauth_complete(uuid, jsonb, boolean) from public;
grant execute on function auth.oauth_complete(uuid, jsonb, boolean) to authenticator;
revoke all on function auth.oauth_pkce(text, text) from public;
grant execute on function auth.oauth_pkce(text, text) to authenticator;
revoke all on function auth.user_identities(uuid) from public;
