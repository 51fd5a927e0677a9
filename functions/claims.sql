-- The caller, read from the request claims: who the token names and whether it is an API token.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- Why PL/pgSQL: a SECURITY DEFINER SQL function is never inlined, so PostgreSQL would parse and
-- plan its body on every call (about 130 µs for user_org_ids(), which every tenant-table statement
-- calls twice); PL/pgSQL keeps each statement's plan for the life of the pooled connection.

-- The claims as jsonb ('{}' when absent or not JSON); never raises.
create or replace function internal.request_claims() returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
begin
  return coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb);
exception when others then
  return '{}'::jsonb;
end
$$;

-- Reading the claims costs a subtransaction (request_claims() never raises), so each helper reads
-- them once and decides from that value with these two (plain SQL without a SET clause, so they
-- are inlined where they are used; their callers pin search_path).
create or replace function internal.claims_sub(c jsonb) returns uuid
language sql immutable
as $$
  select case when c ->> 'sub' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              then (c ->> 'sub')::uuid end
$$;

create or replace function internal.claims_api_token(c jsonb) returns boolean
language sql immutable
as $$
  select coalesce(pg_catalog.jsonb_typeof(c) = 'object' and (c ? 'api_token' or c ? 'api_token_id'), false)
$$;

-- The caller: the `sub` claim as a uuid; NULL when absent, not a uuid, or the claims are not JSON
-- (request_claims() is '{}' then).
create or replace function internal.user_id() returns uuid
language plpgsql stable security definer set search_path = ''
as $$
begin
  return internal.claims_sub(internal.request_claims());
end
$$;

create or replace function internal.is_api_token_request() returns boolean
language plpgsql stable security definer set search_path = ''
as $$
begin
  return internal.claims_api_token(internal.request_claims());
end
$$;

-- The org and effective role of the current API-token request: the token's org, and the lower of
-- its ceiling and the creator's current role. No row when the request is not made with a token,
-- the token is revoked or expired, the creator is disabled or no longer a member of the org.
create or replace function internal.api_token_grant(out org_id uuid, out role text) returns setof record
language plpgsql stable security definer set search_path = ''
as $$
declare
  c jsonb := internal.request_claims();
  tid uuid;
begin
  begin
    tid := (c ->> 'api_token_id')::uuid;
  exception when others then
    return;
  end;
  if tid is null then
    return;
  end if;
  return query
    select t.org_id,
           case when internal.role_rank(m.role) < internal.role_rank(t.role) then m.role else t.role end
      from auth.api_tokens t
      join auth.users u on u.id = t.created_by and u.disabled_at is null
      join api.memberships m on m.org_id = t.org_id and m.user_id = t.created_by
     where t.id = tid
       and t.created_by = internal.user_id()
       and t.revoked_at is null
       and (t.expires_at is null or t.expires_at > pg_catalog.now());
end
$$;

-- Who may call them (as the migrations left it; re-applied so PUBLIC never may and a lost grant returns).
revoke all on function internal.request_claims() from public;
grant execute on function internal.request_claims() to authenticated;
revoke all on function internal.claims_sub(jsonb) from public;
revoke all on function internal.claims_api_token(jsonb) from public;
revoke all on function internal.user_id() from public;
grant execute on function internal.user_id() to anon, authenticated, service_role;
revoke all on function internal.is_api_token_request() from public;
grant execute on function internal.is_api_token_request() to authenticated;
revoke all on function internal.api_token_grant() from public;
grant execute on function internal.api_token_grant() to authenticated;
