-- API tokens for automation (SPEC §7, docs/tenancy.md "API tokens").
--
-- A token is `rg_` + 64 hex characters (32 random bytes), returned once by api.create_api_token;
-- only its SHA-256 (hex) is stored. It belongs to one org, carries a role ceiling not above its
-- creator's role, may expire, and is sent as `Authorization: Bearer rg_…`. The gateway does not
-- verify it: it forwards it as the claim `api_token` (role `authenticated`), and the pre-request
-- check internal.check_request() looks it up and replaces the claims with the token's context
-- (`sub` = the creator, `api_token_id`, `api_token_org`, `api_token_role`). The helpers then act
-- as the token: only its org is visible, and the role there is the lower of the ceiling and the
-- creator's current role (read live, so demoting or removing the creator takes effect at once).
--
-- Requires ROWGATE_DB_PRE_REQUEST=internal.check_request: without it an `rg_` bearer carries no
-- `sub` and sees nothing.

create table auth.api_tokens (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references api.organizations (id) on delete cascade,
  created_by uuid not null references auth.users (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 200),
  role text not null check (role in ('owner', 'admin', 'member', 'viewer')),
  token_hash text not null unique,
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index api_tokens_org_id_idx on auth.api_tokens (org_id, created_at);
create index api_tokens_created_by_idx on auth.api_tokens (created_by);
alter table auth.api_tokens owner to rowgate_owner;
revoke all on auth.api_tokens from public;

-- ---------------------------------------------------------------------------------------------
-- The API-token context of the current request

-- The claims as jsonb ('{}' when absent or not JSON); never raises.
create function internal.request_claims() returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
begin
  return coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb);
exception when others then
  return '{}'::jsonb;
end
$$;

-- Whether the request is made with an API token (checked or not): the helpers then never fall
-- back to the creator's own memberships.
create function internal.is_api_token_request() returns boolean
language sql stable security definer set search_path = ''
as $$
  select case when pg_catalog.jsonb_typeof(c) = 'object' then c ? 'api_token' or c ? 'api_token_id' else false end
    from (select internal.request_claims() as c) s
$$;

-- The org and effective role of the current API-token request: the token's org, and the lower of
-- its ceiling and the creator's current role. No row when the request is not made with a token,
-- the token is revoked or expired, the creator is disabled or no longer a member of the org.
create function internal.api_token_grant(out org_id uuid, out role text) returns setof record
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

revoke execute on function internal.request_claims(), internal.is_api_token_request(), internal.api_token_grant()
  from public;
grant execute on function internal.request_claims(), internal.is_api_token_request(), internal.api_token_grant()
  to authenticated;

-- ---------------------------------------------------------------------------------------------
-- The helpers, acting as the token on API-token requests (same signatures, owners and grants).

-- An API token never carries the platform role: it is scoped to one org.
create or replace function internal.is_super_admin() returns boolean
language sql stable security definer set search_path = ''
as $$
  select not internal.is_api_token_request() and coalesce(
    (select u.is_super_admin from auth.users u
      where u.id = internal.user_id() and u.disabled_at is null),
    false)
$$;

create or replace function internal.org_role(org uuid) returns text
language sql stable security definer set search_path = ''
as $$
  select case
    when internal.is_api_token_request() then
      (select g.role from internal.api_token_grant() g where g.org_id = org)
    else
      (select m.role
         from api.memberships m
         join auth.users u on u.id = m.user_id and u.disabled_at is null
        where m.org_id = org and m.user_id = internal.user_id())
  end
$$;

create or replace function internal.user_org_ids() returns uuid[]
language sql stable security definer set search_path = ''
as $$
  select case
    when internal.is_api_token_request() then
      (select coalesce(array_agg(g.org_id), '{}') from internal.api_token_grant() g)
    else
      (select coalesce(array_agg(m.org_id), '{}')
         from api.memberships m
         join auth.users u on u.id = m.user_id and u.disabled_at is null
        where m.user_id = internal.user_id())
  end
$$;

create or replace function internal.user_org_ids_at(at_least text) returns uuid[]
language sql stable security definer set search_path = ''
as $$
  select case
    when internal.role_rank(at_least) = 0 then '{}'::uuid[]
    when internal.is_api_token_request() then
      (select coalesce(array_agg(g.org_id), '{}') from internal.api_token_grant() g
        where internal.role_rank(g.role) >= internal.role_rank(at_least))
    else
      (select coalesce(array_agg(m.org_id), '{}')
         from api.memberships m
         join auth.users u on u.id = m.user_id and u.disabled_at is null
        where m.user_id = internal.user_id()
          and internal.role_rank(m.role) >= internal.role_rank(at_least))
  end
$$;

-- ---------------------------------------------------------------------------------------------
-- The pre-request check, now also for API tokens.
--
-- `last_used_at` is best effort: it is written only when the request's transaction is read-write
-- (GET and HEAD run READ ONLY and must not fail), and at most once a minute per token, so
-- concurrent writes with one token rarely wait on its row.
create or replace function internal.check_request() returns void
language plpgsql volatile security definer set search_path = ''
as $$
declare
  c jsonb := internal.request_claims();
  sid uuid;
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
  begin
    sid := nullif(c ->> 'session_id', '')::uuid;
  exception when others then
    sid := null;
  end;
  if sid is not null and not exists (
    select 1 from auth.sessions s join auth.users u on u.id = s.user_id
    where s.id = sid and s.revoked_at is null and u.disabled_at is null) then
    raise sqlstate 'PGRST' using
      message = '{"code":"PGRST301","message":"JWT session revoked","details":null,"hint":null}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\", error_description=\"JWT session revoked\""}}';
  end if;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- RPCs (owners and admins of the org; an API token cannot mint tokens)

-- Returns {id, token, org_id, name, role, expires_at, created_at}; the token is shown only here.
create function api.create_api_token(org uuid, name text, role text, expires_at timestamptz default null)
returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_token text := 'rg_' || encode(public.gen_random_bytes(32), 'hex');
  v_row auth.api_tokens;
begin
  if internal.is_api_token_request() then
    raise exception 'API tokens cannot create API tokens' using errcode = 'PT403';
  end if;
  if not internal.has_org_role(create_api_token.org, 'admin') then
    raise exception 'only owners and admins create API tokens' using errcode = 'PT403';
  end if;
  if internal.role_rank(create_api_token.role) = 0 then
    raise exception 'invalid role' using errcode = 'PT400';
  end if;
  if internal.role_rank(create_api_token.role) > internal.role_rank(internal.org_role(create_api_token.org)) then
    raise exception 'cannot create a token with a role above your own' using errcode = 'PT403';
  end if;
  if create_api_token.name is null or length(btrim(create_api_token.name)) not between 1 and 200 then
    raise exception 'invalid name' using errcode = 'PT400';
  end if;
  if create_api_token.expires_at is not null and create_api_token.expires_at <= pg_catalog.now() then
    raise exception 'expires_at must be in the future' using errcode = 'PT400';
  end if;
  insert into auth.api_tokens (org_id, created_by, name, role, token_hash, expires_at)
  values (create_api_token.org, internal.user_id(), btrim(create_api_token.name), create_api_token.role,
          auth.hash_token(v_token), create_api_token.expires_at)
  returning * into v_row;
  return json_build_object('id', v_row.id, 'token', v_token, 'org_id', v_row.org_id, 'name', v_row.name,
                           'role', v_row.role, 'expires_at', v_row.expires_at, 'created_at', v_row.created_at);
end
$$;

-- The org's tokens, newest first, without secrets or hashes.
create function api.list_api_tokens(org uuid) returns json
language plpgsql stable security definer set search_path = ''
as $$
begin
  if not internal.has_org_role(list_api_tokens.org, 'admin') then
    raise exception 'only owners and admins list API tokens' using errcode = 'PT403';
  end if;
  return (
    select coalesce(json_agg(json_build_object(
             'id', t.id, 'org_id', t.org_id, 'name', t.name, 'role', t.role, 'created_by', t.created_by,
             'created_at', t.created_at, 'expires_at', t.expires_at, 'last_used_at', t.last_used_at,
             'revoked_at', t.revoked_at) order by t.created_at desc, t.id), '[]'::json)
      from auth.api_tokens t
     where t.org_id = list_api_tokens.org);
end
$$;

-- Revokes one of the org's tokens (any owner or admin may revoke any of them); effective on the
-- token's next request. Unknown or already revoked: PT404.
create function api.revoke_api_token(org uuid, id uuid) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_at timestamptz;
begin
  if not internal.has_org_role(revoke_api_token.org, 'admin') then
    raise exception 'only owners and admins revoke API tokens' using errcode = 'PT403';
  end if;
  update auth.api_tokens t set revoked_at = pg_catalog.now()
   where t.org_id = revoke_api_token.org and t.id = revoke_api_token.id and t.revoked_at is null
  returning t.revoked_at into v_at;
  if not found then
    raise exception 'API token not found' using errcode = 'PT404';
  end if;
  return json_build_object('id', revoke_api_token.id, 'revoked_at', v_at);
end
$$;

-- As in V3, but an API token cannot accept invitations for its creator (it acts in one org only).
create or replace function api.accept_invitation(token text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_user uuid := internal.user_id();
  v_org uuid;
  v_inv api.invitations;
begin
  if internal.is_api_token_request() then
    raise exception 'API tokens cannot accept invitations' using errcode = 'PT403';
  end if;
  if v_user is null or not exists (select 1 from auth.users u where u.id = v_user and u.disabled_at is null) then
    raise exception 'not signed in' using errcode = 'PT401';
  end if;
  if accept_invitation.token !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[0-9a-f]{48}$' then
    raise exception 'invitation invalid, expired or already used' using errcode = 'PT400';
  end if;
  v_org := split_part(accept_invitation.token, '.', 1)::uuid;
  select * into v_inv from api.invitations i
   where i.org_id = v_org and i.token_hash = encode(public.digest(accept_invitation.token, 'sha256'), 'hex')
   for update;
  if not found or v_inv.accepted_at is not null or v_inv.expires_at <= now() then
    raise exception 'invitation invalid, expired or already used' using errcode = 'PT400';
  end if;
  if exists (select 1 from api.memberships m where m.org_id = v_org and m.user_id = v_user) then
    raise exception 'already a member of this organization' using errcode = 'PT409';
  end if;
  insert into api.memberships (org_id, user_id, role) values (v_org, v_user, v_inv.role);
  update api.invitations i set accepted_at = now(), accepted_by = v_user
   where i.org_id = v_inv.org_id and i.id = v_inv.id;
  return json_build_object('org_id', v_org, 'role', v_inv.role);
end
$$;

revoke execute on function api.create_api_token(uuid, text, text, timestamptz), api.list_api_tokens(uuid),
  api.revoke_api_token(uuid, uuid) from public;
grant execute on function api.create_api_token(uuid, text, text, timestamptz), api.list_api_tokens(uuid),
  api.revoke_api_token(uuid, uuid) to authenticated;
