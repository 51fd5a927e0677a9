-- The policy helpers in PL/pgSQL. Same names, signatures, owners, grants and answers as before
-- (V2, V3, V6); only the language changes, for speed: a SECURITY DEFINER SQL function is never
-- inlined, so PostgreSQL parsed and planned its body again on every call — about 130 µs for
-- user_org_ids(), which every tenant-table statement calls twice (its policy and the org fence).
-- PL/pgSQL keeps each statement's plan for the life of the connection, and a pooled connection
-- lives long. Measured with bench/ (docs: bench/README.md).

-- Reading the claims costs a subtransaction (request_claims() never raises), so each helper reads
-- them once and decides from that value with these two (plain SQL without a SET clause, so they
-- are inlined where they are used; their callers pin search_path).
create function internal.claims_sub(c jsonb) returns uuid
language sql immutable
as $$
  select case when c ->> 'sub' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              then (c ->> 'sub')::uuid end
$$;

create function internal.claims_api_token(c jsonb) returns boolean
language sql immutable
as $$
  select coalesce(pg_catalog.jsonb_typeof(c) = 'object' and (c ? 'api_token' or c ? 'api_token_id'), false)
$$;

revoke execute on function internal.claims_sub(jsonb), internal.claims_api_token(jsonb) from public;

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

-- An API token never carries the platform role: it is scoped to one org.
create or replace function internal.is_super_admin() returns boolean
language plpgsql stable security definer set search_path = ''
as $$
declare
  c jsonb := internal.request_claims();
  flag boolean;
begin
  if internal.claims_api_token(c) then
    return false;
  end if;
  select u.is_super_admin into flag
    from auth.users u
   where u.id = internal.claims_sub(c) and u.disabled_at is null;
  return coalesce(flag, false);
end
$$;

create or replace function internal.org_role(org uuid) returns text
language plpgsql stable security definer set search_path = ''
as $$
declare
  c jsonb := internal.request_claims();
  r text;
begin
  if internal.claims_api_token(c) then
    select g.role into r from internal.api_token_grant() g where g.org_id = org;
  else
    select m.role into r
      from api.memberships m
      join auth.users u on u.id = m.user_id and u.disabled_at is null
     where m.org_id = org and m.user_id = internal.claims_sub(c);
  end if;
  return r;
end
$$;

create or replace function internal.has_org_role(org uuid, at_least text) returns boolean
language plpgsql stable security definer set search_path = ''
as $$
begin
  return internal.role_rank(at_least) > 0
     and internal.role_rank(internal.org_role(org)) >= internal.role_rank(at_least);
end
$$;

create or replace function internal.user_org_ids() returns uuid[]
language plpgsql stable security definer set search_path = ''
as $$
declare
  c jsonb := internal.request_claims();
  ids uuid[];
begin
  if internal.claims_api_token(c) then
    select coalesce(pg_catalog.array_agg(g.org_id), '{}') into ids from internal.api_token_grant() g;
  else
    select coalesce(pg_catalog.array_agg(m.org_id), '{}') into ids
      from api.memberships m
      join auth.users u on u.id = m.user_id and u.disabled_at is null
     where m.user_id = internal.claims_sub(c);
  end if;
  return ids;
end
$$;

create or replace function internal.user_org_ids_at(at_least text) returns uuid[]
language plpgsql stable security definer set search_path = ''
as $$
declare
  rank integer := internal.role_rank(at_least);
  c jsonb;
  ids uuid[];
begin
  if rank = 0 then
    return '{}';
  end if;
  c := internal.request_claims();
  if internal.claims_api_token(c) then
    select coalesce(pg_catalog.array_agg(g.org_id), '{}') into ids
      from internal.api_token_grant() g
     where internal.role_rank(g.role) >= rank;
  else
    select coalesce(pg_catalog.array_agg(m.org_id), '{}') into ids
      from api.memberships m
      join auth.users u on u.id = m.user_id and u.disabled_at is null
     where m.user_id = internal.claims_sub(c)
       and internal.role_rank(m.role) >= rank;
  end if;
  return ids;
end
$$;

-- Active, or pending approval (within the limits the triggers enforce); suspended is read-only.
create or replace function internal.org_writable(org uuid) returns boolean
language plpgsql stable security definer set search_path = ''
as $$
declare
  ok boolean;
begin
  select o.status in ('active', 'pending_approval') into ok from api.organizations o where o.id = org;
  return coalesce(ok, false);
end
$$;

-- Models enabled for one of the caller's orgs.
create or replace function internal.user_model_ids() returns uuid[]
language plpgsql stable security definer set search_path = ''
as $$
declare
  orgs uuid[] := internal.user_org_ids();
  ids uuid[];
begin
  select coalesce(pg_catalog.array_agg(distinct om.model_id), '{}') into ids
    from api.org_models om
   where om.org_id = any (orgs);
  return ids;
end
$$;

-- The pre-request check without a subtransaction for the session id (a regular expression
-- instead of a guarded cast); otherwise as in V6.
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
