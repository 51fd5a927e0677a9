-- The pre-request check (ROWGATE_DB_PRE_REQUEST=internal.check_request).
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- A token whose session was revoked, or whose user is disabled, stops working at once (401
-- PGRST301). An API token (`rg_…`) is looked up by its hash (not revoked, not expired, creator
-- enabled) and the claims become the token's context for the rest of the transaction: `sub` the
-- creator, `api_token_id`, `api_token_org`, `api_token_role`. The session id is checked with a
-- regular expression rather than a guarded cast, which would cost a subtransaction.
create or replace function internal.check_request() returns void
language plpgsql volatile security definer set search_path = ''
as $$
declare
  c jsonb := internal.request_claims();
  sid text;
  t auth.api_tokens;
begin
  if pg_catalog.jsonb_typeof(c) = 'object' and c ? 'api_token' then
    select k.* into t
      from auth.api_tokens k
      join auth.users u on u.id = k.created_by and u.disabled_at is null
     where k.token_hash = auth.hash_token(coalesce(c ->> 'api_token', ''))
       and k.revoked_at is null
       and (k.expires_at is null or k.expires_at > pg_catalog.now());
    if not found then
      raise sqlstate 'PGRST' using
        message = '{"code":"PGRST301","message":"Invalid API token","details":null,"hint":null}',
        detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\", error_description=\"Invalid API token\""}}';
    end if;
    if pg_catalog.current_setting('transaction_read_only') = 'off'
       and (t.last_used_at is null or t.last_used_at < pg_catalog.now() - interval '1 minute') then
      update auth.api_tokens k set last_used_at = pg_catalog.now()
       where k.id = t.id and (k.last_used_at is null or k.last_used_at < pg_catalog.now() - interval '1 minute');
    end if;
    -- The raw token leaves the claims; the rest of the transaction acts as the token.
    perform pg_catalog.set_config('request.jwt.claims',
      ((c - 'api_token' - 'session_id') || pg_catalog.jsonb_build_object(
        'role', 'authenticated', 'sub', t.created_by, 'api_token_id', t.id,
        'api_token_org', t.org_id, 'api_token_role', t.role))::text,
      true);
    return;
  end if;
  sid := c ->> 'session_id';
  -- Every spelling the uuid type accepts (optional braces, a hyphen after any group of four).
  if sid ~* '^([0-9a-f]{4}(-?[0-9a-f]{4}){7}|\{[0-9a-f]{4}(-?[0-9a-f]{4}){7}\})$' and not exists (
    select 1 from auth.sessions s join auth.users u on u.id = s.user_id
    where s.id = sid::uuid and s.revoked_at is null and u.disabled_at is null) then
    raise sqlstate 'PGRST' using
      message = '{"code":"PGRST301","message":"JWT session revoked","details":null,"hint":null}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\", error_description=\"JWT session revoked\""}}';
  end if;
end
$$;

-- Who may call them (as the migrations left it; re-applied so PUBLIC never may and a lost grant returns).
revoke all on function internal.check_request() from public;
grant execute on function internal.check_request() to anon, authenticated, service_role;
