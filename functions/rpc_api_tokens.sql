-- RPCs of API tokens: create (the raw token shown once), list, revoke.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- Owners and admins of the org create tokens (an API token cannot mint tokens). Returns
-- {id, token, org_id, name, role, expires_at, created_at}; the token is shown only here.
create or replace function api.create_api_token(org uuid, name text, role text, expires_at timestamptz default null)
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
create or replace function api.list_api_tokens(org uuid) returns json
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
create or replace function api.revoke_api_token(org uuid, id uuid) returns json
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

-- Who may call them (as the migrations left it; re-applied so PUBLIC never may and a lost grant returns).
revoke all on function api.create_api_token(uuid,text,text,timestamp with time zone) from public;
grant execute on function api.create_api_token(uuid,text,text,timestamp with time zone) to authenticated;
revoke all on function api.list_api_tokens(uuid) from public;
grant execute on function api.list_api_tokens(uuid) to authenticated;
revoke all on function api.revoke_api_token(uuid,uuid) from public;
grant execute on function api.revoke_api_token(uuid,uuid) to authenticated;
