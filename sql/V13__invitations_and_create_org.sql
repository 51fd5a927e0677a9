-- Invitations bound to their email, "anyone with the link" invitations, and organizations created
-- by signed-in users (issue 13, points 2 and 3). See docs/tenancy.md "Joining an organization".
--
-- Two kinds of invitation share api.invitations and the token format (`<org id>.<48 hex>`, only
-- its SHA-256 stored), so api.accept_invitation takes either:
--   email  api.create_invitation(org, email, role): one use, only by the user whose email matches
--          the invitation's, case-insensitively (internal.confirmed_email below);
--   link   api.create_invite_link(org, role, max_uses, expires_in): any signed-in user (not an API
--          token) until `max_uses` users have joined through it or it expires.
-- Both: created by owners/admins with a role not above their own; a user who is already a member
-- is refused and consumes nothing.

-- ---------------------------------------------------------------------------------------------
-- api.invitations: the kind, and a link's use count. An email invitation is used when
-- accepted_at is set (as before); a link counts its uses (accepted_at/accepted_by stay NULL: who
-- joined through it is in the memberships and in the audit log, one UPDATE of the invitation per
-- use with the joining user as actor). Existing rows are email invitations and satisfy the check
-- as they are (nothing is rewritten, so no trigger fires).

alter table api.invitations alter column email drop not null;
alter table api.invitations
  add column kind text not null default 'email',
  add column max_uses integer,
  add column use_count integer not null default 0,
  add column last_used_at timestamptz;
alter table api.invitations add constraint invitations_kind_check check (
  case kind
    when 'email' then email is not null and max_uses is null and use_count = 0 and last_used_at is null
    when 'link' then email is null and max_uses between 1 and 1000 and use_count between 0 and max_uses
                     and accepted_at is null and accepted_by is null
    else false
  end);

-- ---------------------------------------------------------------------------------------------
-- The email address an invitation may be matched against: the user's address, lower-cased, when
-- it counts as confirmed; NULL otherwise (and for unknown or disabled users). auth.users has no
-- confirmation column yet, so today every address counts as confirmed. When one is added (e.g.
-- `email_confirmed_at`), add `and u.email_confirmed_at is not null` here: invitations addressed
-- to an email then stop matching unconfirmed users, and nothing else changes.
-- Not SECURITY DEFINER and executable by nobody but its owner: only the RPCs below call it.
create function internal.confirmed_email(uid uuid) returns text
language sql stable set search_path = ''
as $$
  select pg_catalog.lower(u.email)
    from auth.users u
   where u.id = uid and u.disabled_at is null
$$;
revoke execute on function internal.confirmed_email(uuid) from public;

-- ---------------------------------------------------------------------------------------------
-- RPCs

-- "Anyone with the link": an owner/admin creates an invitation any signed-in user may accept, with
-- a role not above their own, at most `max_uses` times (1..1000), for `expires_in` (more than zero,
-- at most 30 days; default 7 days, as email invitations). Returns
-- {id, token, org_id, role, max_uses, expires_at}; the token is shown only here.
create function api.create_invite_link(org uuid, role text, max_uses integer,
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

-- A signed-in user (not an API token) creates an organization and becomes its owner. Its status
-- follows api.platform_settings.auto_activate_new_orgs as for api.register_organization: active,
-- or pending approval (then the pending limits apply: the pending_limits trigger). Returns
-- {org_id, status}.
create function api.create_organization(name text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_user uuid := internal.user_id();
  v_name text := btrim(create_organization.name);
  v_org uuid;
  v_status text;
begin
  if internal.is_api_token_request() then
    raise exception 'API tokens cannot create organizations' using errcode = 'PT403';
  end if;
  if v_user is null or not exists (select 1 from auth.users u where u.id = v_user and u.disabled_at is null) then
    raise exception 'not signed in' using errcode = 'PT401';
  end if;
  if v_name is null or length(v_name) not between 1 and 200 then
    raise exception 'invalid organization name' using errcode = 'PT400';
  end if;
  select case when s.auto_activate_new_orgs then 'active' else 'pending_approval' end
    into v_status from api.platform_settings s;
  v_status := coalesce(v_status, 'pending_approval');
  insert into api.organizations (name, status) values (v_name, v_status) returning id into v_org;
  insert into api.memberships (org_id, user_id, role) values (v_org, v_user, 'owner');
  return json_build_object('org_id', v_org, 'status', v_status);
end
$$;

revoke execute on function api.create_invite_link(uuid, text, integer, interval), api.create_organization(text)
  from public;
grant execute on function api.create_invite_link(uuid, text, integer, interval), api.create_organization(text)
  to authenticated;
