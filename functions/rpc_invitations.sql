-- RPCs of invitations: by email and by link, and accepting one.
-- Re-runnable: `rowgate migrate` applies this file after the migrations and before policies/;
-- these are the live definitions (the migrations in sql/ hold their history).

-- An admin/owner invites someone with a role not above their own; the raw token is returned once
-- and only its SHA-256 is stored. The token starts with the org id, so the lookup stays per org.
create or replace function api.create_invitation(org uuid, email text, role text) returns text
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_token text;
begin
  if not internal.has_org_role(create_invitation.org, 'admin') then
    raise exception 'only owners and admins invite' using errcode = 'PT403';
  end if;
  if internal.role_rank(create_invitation.role) = 0 then
    raise exception 'invalid role' using errcode = 'PT400';
  end if;
  if internal.role_rank(create_invitation.role) > internal.role_rank(internal.org_role(create_invitation.org)) then
    raise exception 'cannot invite with a role above your own' using errcode = 'PT403';
  end if;
  if create_invitation.email is null or create_invitation.email !~ '^[^@\s]+@[^@\s]+\.[^@\s.]+$' then
    raise exception 'invalid email' using errcode = 'PT400';
  end if;
  v_token := create_invitation.org::text || '.' || encode(public.gen_random_bytes(24), 'hex');
  insert into api.invitations (org_id, email, role, token_hash, invited_by)
  values (create_invitation.org, btrim(create_invitation.email), create_invitation.role,
          encode(public.digest(v_token, 'sha256'), 'hex'), internal.user_id());
  return v_token;
end
$$;

-- "Anyone with the link": an owner/admin creates an invitation any signed-in user may accept, with
-- a role not above their own, at most `max_uses` times (1..1000), for `expires_in` (more than zero,
-- at most 30 days; default 7 days, as email invitations). Returns
-- {id, token, org_id, role, max_uses, expires_at}; the token is shown only here.
create or replace function api.create_invite_link(org uuid, role text, max_uses integer,
                                       expires_in interval default interval '7 days')
returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_token text;
  v_expires timestamptz;
  v_row api.invitations;
begin
  if not internal.has_org_role(create_invite_link.org, 'admin') then
    raise exception 'only owners and admins invite' using errcode = 'PT403';
  end if;
  if internal.role_rank(create_invite_link.role) = 0 then
    raise exception 'invalid role' using errcode = 'PT400';
  end if;
  if internal.role_rank(create_invite_link.role) > internal.role_rank(internal.org_role(create_invite_link.org)) then
    raise exception 'cannot invite with a role above your own' using errcode = 'PT403';
  end if;
  if create_invite_link.max_uses is null or create_invite_link.max_uses not between 1 and 1000 then
    raise exception 'max_uses must be between 1 and 1000' using errcode = 'PT400';
  end if;
  v_expires := pg_catalog.now() + create_invite_link.expires_in;
  if v_expires is null or v_expires <= pg_catalog.now() or v_expires > pg_catalog.now() + interval '30 days' then
    raise exception 'expires_in must be more than zero and at most 30 days' using errcode = 'PT400';
  end if;
  v_token := create_invite_link.org::text || '.' || encode(public.gen_random_bytes(24), 'hex');
  insert into api.invitations (org_id, kind, email, role, token_hash, max_uses, expires_at, invited_by)
  values (create_invite_link.org, 'link', null, create_invite_link.role,
          encode(public.digest(v_token, 'sha256'), 'hex'), create_invite_link.max_uses, v_expires,
          internal.user_id())
  returning * into v_row;
  return json_build_object('id', v_row.id, 'token', v_token, 'org_id', v_row.org_id, 'role', v_row.role,
                           'max_uses', v_row.max_uses, 'expires_at', v_row.expires_at);
end
$$;

-- Accept an invitation (either kind) as the signed-in user, who becomes a member with its role.
-- Refused (and nothing changes): API tokens (PT403); no signed-in, enabled user (PT401); a token
-- that is malformed, unknown, expired, already used (email) or used up (link) (PT400); an email
-- invitation whose address is not the caller's confirmed email, compared case-insensitively
-- (PT403); a caller who is already a member (PT409, no use consumed). The org triggers still
-- apply: a suspended org (PT403), a pending org at its member limit (PT403).
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
  if accept_invitation.token is null
     or accept_invitation.token !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[0-9a-f]{48}$' then
    raise exception 'invitation invalid, expired or already used' using errcode = 'PT400';
  end if;
  v_org := split_part(accept_invitation.token, '.', 1)::uuid;
  -- The row lock serialises concurrent uses of one invitation (a link's count, an email's one use).
  select * into v_inv from api.invitations i
   where i.org_id = v_org and i.token_hash = encode(public.digest(accept_invitation.token, 'sha256'), 'hex')
   for update;
  if not found or v_inv.expires_at <= pg_catalog.now()
     or (v_inv.kind = 'email' and v_inv.accepted_at is not null)
     or (v_inv.kind = 'link' and v_inv.use_count >= v_inv.max_uses)
     or v_inv.kind not in ('email', 'link') then
    raise exception 'invitation invalid, expired or already used' using errcode = 'PT400';
  end if;
  if v_inv.kind = 'email'
     and pg_catalog.lower(btrim(v_inv.email)) is distinct from internal.confirmed_email(v_user) then
    raise exception 'this invitation is for another email address' using errcode = 'PT403',
      hint = 'Sign in with the email address the invitation was sent to.';
  end if;
  if exists (select 1 from api.memberships m where m.org_id = v_org and m.user_id = v_user) then
    raise exception 'already a member of this organization' using errcode = 'PT409';
  end if;
  insert into api.memberships (org_id, user_id, role) values (v_org, v_user, v_inv.role);
  if v_inv.kind = 'email' then
    update api.invitations i set accepted_at = pg_catalog.now(), accepted_by = v_user
     where i.org_id = v_inv.org_id and i.id = v_inv.id;
  else
    update api.invitations i set use_count = i.use_count + 1, last_used_at = pg_catalog.now()
     where i.org_id = v_inv.org_id and i.id = v_inv.id;
  end if;
  return json_build_object('org_id', v_org, 'role', v_inv.role);
end
$$;

-- Who may call them (as the migrations left it; re-applied so PUBLIC never may and a lost grant returns).
revoke all on function api.create_invitation(uuid,text,text) from public;
grant execute on function api.create_invitation(uuid,text,text) to authenticated;
revoke all on function api.create_invite_link(uuid,text,integer,interval) from public;
grant execute on function api.create_invite_link(uuid,text,integer,interval) to authenticated;
revoke all on function api.accept_invitation(text) from public;
grant execute on function api.accept_invitation(text) to authenticated;
