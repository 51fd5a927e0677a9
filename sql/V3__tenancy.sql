-- The multi-tenant reference schema (SPEC §6). Policies live in policies/<table>.sql; this file
-- holds tables, grants, the membership helpers, triggers and RPCs. See docs/tenancy.md.
--
-- Every table is owned by rowgate_owner with RLS enabled and forced here already (deny by
-- default), so a failing policy file never leaves a granted table open.
-- Functions are owned by the migrating superuser (see V2) and are SECURITY DEFINER with
-- search_path = '' and schema-qualified names.

-- ---------------------------------------------------------------------------------------------
-- Tables

create table api.platform_settings (
  id boolean primary key default true check (id),
  auto_activate_new_orgs boolean not null default true,
  pending_org_max_users integer not null default 3 check (pending_org_max_users >= 1),
  pending_org_max_projects integer not null default 1 check (pending_org_max_projects >= 0)
);
insert into api.platform_settings default values;

create table api.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(btrim(name)) between 1 and 200),
  status text not null default 'pending_approval'
    check (status in ('pending_approval', 'active', 'suspended')),
  created_at timestamptz not null default now()
);

create table api.memberships (
  org_id uuid not null references api.organizations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'member', 'viewer')),
  created_at timestamptz not null default now(),
  primary key (org_id, user_id)
);
-- The helpers look memberships up by user.
create index memberships_user_id_idx on api.memberships (user_id, org_id);

create table api.invitations (
  org_id uuid not null references api.organizations (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  email text not null,
  role text not null check (role in ('owner', 'admin', 'member', 'viewer')),
  token_hash text not null,
  expires_at timestamptz not null default now() + interval '7 days',
  accepted_at timestamptz,
  accepted_by uuid references auth.users (id) on delete set null,
  invited_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  primary key (org_id, id),
  unique (org_id, token_hash)
);

create table api.projects (
  org_id uuid not null references api.organizations (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  name text not null check (length(btrim(name)) between 1 and 200),
  created_at timestamptz not null default now(),
  primary key (org_id, id)
);

create table api.tasks (
  org_id uuid not null,
  id uuid not null default gen_random_uuid(),
  project_id uuid not null,
  title text not null check (length(btrim(title)) between 1 and 500),
  done boolean not null default false,
  created_at timestamptz not null default now(),
  primary key (org_id, id),
  foreign key (org_id, project_id) references api.projects (org_id, id) on delete cascade
);
create index tasks_org_id_project_id_idx on api.tasks (org_id, project_id);

create table api.models (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (length(btrim(name)) between 1 and 200),
  created_at timestamptz not null default now()
);

create table api.org_models (
  org_id uuid not null references api.organizations (id) on delete cascade,
  model_id uuid not null references api.models (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (org_id, model_id)
);
create index org_models_model_id_idx on api.org_models (model_id);

-- No foreign key to organizations: the history outlives the org (and a cascade would be a delete).
create table api.audit_log (
  org_id uuid not null,
  id uuid not null default gen_random_uuid(),
  at timestamptz not null default clock_timestamp(),
  actor_user_id uuid,
  action text not null check (action in ('INSERT', 'UPDATE', 'DELETE')),
  table_name text not null,
  row_key jsonb not null,
  diff jsonb,
  request_id text,
  primary key (org_id, id)
);
create index audit_log_org_id_at_idx on api.audit_log (org_id, at);

do $$
declare
  t text;
begin
  foreach t in array array['platform_settings', 'organizations', 'memberships', 'invitations', 'projects',
                           'tasks', 'models', 'org_models', 'audit_log'] loop
    execute format('alter table api.%I owner to rowgate_owner', t);
    execute format('revoke all on api.%I from public, anon, authenticated, service_role', t);
    execute format('alter table api.%I enable row level security', t);
    execute format('alter table api.%I force row level security', t);
  end loop;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Membership helpers (SECURITY DEFINER: they read memberships regardless of RLS).
-- A disabled user has no memberships.

create function internal.org_role(org uuid) returns text
language sql stable security definer set search_path = ''
as $$
  select m.role
    from api.memberships m
    join auth.users u on u.id = m.user_id and u.disabled_at is null
   where m.org_id = org and m.user_id = internal.user_id()
$$;

create function internal.has_org_role(org uuid, at_least text) returns boolean
language sql stable security definer set search_path = ''
as $$
  select internal.role_rank(at_least) > 0
     and internal.role_rank(internal.org_role(org)) >= internal.role_rank(at_least)
$$;

create function internal.user_org_ids() returns uuid[]
language sql stable security definer set search_path = ''
as $$
  select coalesce(array_agg(m.org_id), '{}')
    from api.memberships m
    join auth.users u on u.id = m.user_id and u.disabled_at is null
   where m.user_id = internal.user_id()
$$;

-- The caller's orgs where their role is at least `at_least`.
create function internal.user_org_ids_at(at_least text) returns uuid[]
language sql stable security definer set search_path = ''
as $$
  select coalesce(array_agg(m.org_id), '{}')
    from api.memberships m
    join auth.users u on u.id = m.user_id and u.disabled_at is null
   where m.user_id = internal.user_id()
     and internal.role_rank(at_least) > 0
     and internal.role_rank(m.role) >= internal.role_rank(at_least)
$$;

-- Active, or pending approval (within the limits the triggers enforce); suspended is read-only.
create function internal.org_writable(org uuid) returns boolean
language sql stable security definer set search_path = ''
as $$
  select coalesce(
    (select o.status in ('active', 'pending_approval') from api.organizations o where o.id = org),
    false)
$$;

-- Models enabled for one of the caller's orgs.
create function internal.user_model_ids() returns uuid[]
language sql stable security definer set search_path = ''
as $$
  select coalesce(array_agg(distinct om.model_id), '{}')
    from api.org_models om
   where om.org_id = any (internal.user_org_ids())
$$;

revoke execute on function internal.org_role(uuid), internal.has_org_role(uuid, text), internal.user_org_ids(),
  internal.user_org_ids_at(text), internal.org_writable(uuid), internal.user_model_ids() from public;
grant execute on function internal.org_role(uuid), internal.has_org_role(uuid, text), internal.user_org_ids(),
  internal.user_org_ids_at(text), internal.org_writable(uuid), internal.user_model_ids() to authenticated;

-- ---------------------------------------------------------------------------------------------
-- Triggers

-- Writes to a suspended org's rows are refused (for everyone but the super admin), whatever path
-- they take (HTTP or a SECURITY DEFINER function). tg_argv: the key columns besides org_id.
create function internal.tg_org_writable() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  org uuid := case when tg_op = 'DELETE' then old.org_id else new.org_id end;
  st text;
  i integer;
begin
  select o.status into st from api.organizations o where o.id = org;
  -- No org: the foreign key reports it, or the org itself is being deleted (cascade).
  if found and not internal.org_writable(org) and not internal.is_super_admin() then
    raise exception 'organization is %: read-only', st using errcode = 'PT403';
  end if;
  -- Keys never change (the UPDATE grants include them only so that upserts can name them).
  if tg_op = 'UPDATE' then
    if new.org_id is distinct from old.org_id then
      raise exception 'org_id cannot change' using errcode = 'PT400';
    end if;
    for i in 0 .. tg_nargs - 1 loop
      if to_jsonb(new) -> tg_argv[i] is distinct from to_jsonb(old) -> tg_argv[i] then
        raise exception '% cannot change', tg_argv[i] using errcode = 'PT400';
      end if;
    end loop;
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end
$$;

-- A pending org works within the platform limits (members, projects). The org row is locked so
-- concurrent inserts cannot both pass the count.
create function internal.tg_pending_limits() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  st text;
  n integer;
  max_n integer;
begin
  select o.status into st from api.organizations o where o.id = new.org_id for no key update;
  if st is distinct from 'pending_approval' then
    return new;
  end if;
  if tg_table_name = 'memberships' then
    select s.pending_org_max_users into max_n from api.platform_settings s;
    select count(*) into n from api.memberships m where m.org_id = new.org_id;
  else
    select s.pending_org_max_projects into max_n from api.platform_settings s;
    select count(*) into n from api.projects p where p.org_id = new.org_id;
  end if;
  if n >= max_n then
    raise exception 'organization pending approval: at most % %', max_n, tg_table_name
      using errcode = 'PT403', hint = 'An administrator must approve the organization first.';
  end if;
  return new;
end
$$;

-- The last owner can neither leave, be removed nor be demoted.
create function internal.tg_keep_an_owner() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if old.role <> 'owner' or (tg_op = 'UPDATE' and new.role = 'owner' and new.org_id = old.org_id) then
    return case when tg_op = 'DELETE' then old else new end;
  end if;
  -- Serialise owner changes per org; a missing org means it is being deleted (cascade).
  perform 1 from api.organizations o where o.id = old.org_id for no key update;
  if not found then
    return old;
  end if;
  if not exists (select 1 from api.memberships m
                  where m.org_id = old.org_id and m.role = 'owner' and m.user_id <> old.user_id) then
    raise exception 'an organization must keep at least one owner'
      using errcode = 'PT409', hint = 'Make another member owner first.';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end
$$;

-- Only the super admin changes an org's status when the change comes from a request (a
-- superuser session without claims, e.g. maintenance, may too). Column privileges already keep
-- `status` out of reach of request roles; this covers every other path.
create function internal.tg_org_status() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.status is distinct from old.status
     and nullif(pg_catalog.current_setting('request.jwt.claims', true), '') is not null
     and not internal.is_super_admin() then
    raise exception 'only the super admin changes an organization''s status' using errcode = 'PT403';
  end if;
  if new.id is distinct from old.id then
    raise exception 'id cannot change' using errcode = 'PT400';
  end if;
  return new;
end
$$;

-- One generic audit trigger: tg_argv[0] names the org column, the rest the key columns.
create function internal.tg_audit() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  o jsonb := case when tg_op <> 'INSERT' then to_jsonb(old) end;
  n jsonb := case when tg_op <> 'DELETE' then to_jsonb(new) end;
  r jsonb := coalesce(n, o);
  key jsonb := '{}';
  diff jsonb;
  i integer;
begin
  for i in 1 .. tg_nargs - 1 loop
    key := key || jsonb_build_object(tg_argv[i], r -> tg_argv[i]);
  end loop;
  if tg_op = 'INSERT' then
    diff := n - 'token_hash';
  elsif tg_op = 'DELETE' then
    diff := o - 'token_hash';
  else
    select jsonb_object_agg(e.key, jsonb_build_object('old', o -> e.key, 'new', e.value))
      into diff
      from jsonb_each(n) e
     where e.value is distinct from o -> e.key and e.key <> 'token_hash';
    if diff is null then
      return null; -- nothing changed
    end if;
  end if;
  insert into api.audit_log (org_id, actor_user_id, action, table_name, row_key, diff, request_id)
  values ((r ->> tg_argv[0])::uuid, internal.user_id(), tg_op, tg_table_name, key, diff,
          nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb ->> 'x-request-id');
  return null;
end
$$;

create function internal.tg_append_only() returns trigger
language plpgsql set search_path = ''
as $$
begin
  raise exception 'audit_log is append-only' using errcode = '42501';
end
$$;

revoke execute on function internal.tg_org_writable(), internal.tg_pending_limits(), internal.tg_keep_an_owner(),
  internal.tg_org_status(), internal.tg_audit(), internal.tg_append_only() from public;

create trigger org_status before update on api.organizations
  for each row execute function internal.tg_org_status();

create trigger org_writable before insert or update or delete on api.memberships
  for each row execute function internal.tg_org_writable('user_id');
create trigger org_writable before insert or update or delete on api.invitations
  for each row execute function internal.tg_org_writable('id');
create trigger org_writable before insert or update or delete on api.projects
  for each row execute function internal.tg_org_writable('id');
create trigger org_writable before insert or update or delete on api.tasks
  for each row execute function internal.tg_org_writable('id');
create trigger org_writable before insert or update or delete on api.org_models
  for each row execute function internal.tg_org_writable('model_id');

create trigger pending_limits before insert on api.memberships
  for each row execute function internal.tg_pending_limits();
create trigger pending_limits before insert on api.projects
  for each row execute function internal.tg_pending_limits();

create trigger keep_an_owner before update or delete on api.memberships
  for each row execute function internal.tg_keep_an_owner();

create trigger audit after insert or update or delete on api.organizations
  for each row execute function internal.tg_audit('id', 'id');
create trigger audit after insert or update or delete on api.memberships
  for each row execute function internal.tg_audit('org_id', 'org_id', 'user_id');
create trigger audit after insert or update or delete on api.invitations
  for each row execute function internal.tg_audit('org_id', 'org_id', 'id');
create trigger audit after insert or update or delete on api.projects
  for each row execute function internal.tg_audit('org_id', 'org_id', 'id');
create trigger audit after insert or update or delete on api.tasks
  for each row execute function internal.tg_audit('org_id', 'org_id', 'id');
create trigger audit after insert or update or delete on api.org_models
  for each row execute function internal.tg_audit('org_id', 'org_id', 'model_id');

create trigger append_only before update or delete on api.audit_log
  for each row execute function internal.tg_append_only();
create trigger append_only_truncate before truncate on api.audit_log
  for each statement execute function internal.tg_append_only();

-- ---------------------------------------------------------------------------------------------
-- Grants: only the commands the policies allow. Key columns are in the UPDATE grants only so that
-- upserts (ON CONFLICT DO UPDATE SET key = excluded.key) work; the org_writable trigger refuses
-- any change of a key.

grant select, update (auto_activate_new_orgs, pending_org_max_users, pending_org_max_projects)
  on api.platform_settings to authenticated;
grant select, update (name) on api.organizations to authenticated;
grant select, insert, update (org_id, user_id, role), delete on api.memberships to authenticated;
grant select, delete on api.invitations to authenticated;
grant select, insert, update (org_id, id, name), delete on api.projects to authenticated;
grant select, insert, update (org_id, id, project_id, title, done), delete on api.tasks to authenticated;
grant select, insert, update (name), delete on api.models to authenticated;
grant select, insert, delete on api.org_models to authenticated;
grant select on api.audit_log to authenticated;

-- ---------------------------------------------------------------------------------------------
-- RPCs

-- Anyone may register: a user, an org (active or pending per the settings) and its owner.
create function api.register_organization(email text, password text, org_name text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_email text := btrim(register_organization.email);
  v_name text := btrim(register_organization.org_name);
  v_user uuid;
  v_org uuid;
  v_status text;
begin
  if v_email is null or length(v_email) > 254 or v_email !~ '^[^@\s]+@[^@\s]+\.[^@\s.]+$' then
    raise exception 'invalid email' using errcode = 'PT400';
  end if;
  if register_organization.password is null or length(register_organization.password) < 8 then
    raise exception 'password too weak' using errcode = 'PT400', hint = 'At least 8 characters.';
  end if;
  if octet_length(register_organization.password) > 72 then
    raise exception 'password too long' using errcode = 'PT400', hint = 'At most 72 bytes.';
  end if;
  if v_name is null or length(v_name) not between 1 and 200 then
    raise exception 'invalid organization name' using errcode = 'PT400';
  end if;
  select case when s.auto_activate_new_orgs then 'active' else 'pending_approval' end
    into v_status from api.platform_settings s;
  begin
    insert into auth.users (email, encrypted_password)
    values (v_email, public.crypt(register_organization.password, public.gen_salt('bf', 10)))
    returning id into v_user;
  exception when unique_violation then
    raise exception 'registration failed' using errcode = 'PT409';
  end;
  insert into api.organizations (name, status) values (v_name, coalesce(v_status, 'pending_approval'))
  returning id into v_org;
  insert into api.memberships (org_id, user_id, role) values (v_org, v_user, 'owner');
  return json_build_object('user_id', v_user, 'org_id', v_org, 'status', v_status);
end
$$;

-- An admin/owner invites someone with a role not above their own; the raw token is returned once
-- and only its SHA-256 is stored. The token starts with the org id, so the lookup stays per org.
create function api.create_invitation(org uuid, email text, role text) returns text
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

-- Accept once, before expiry: the caller becomes a member with the invited role.
create function api.accept_invitation(token text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_user uuid := internal.user_id();
  v_org uuid;
  v_inv api.invitations;
begin
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

-- Super admin only: activate, suspend or set an org back to pending.
create function api.set_org_status(org uuid, status text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
begin
  if not internal.is_super_admin() then
    raise exception 'only the super admin changes an organization''s status' using errcode = 'PT403';
  end if;
  if set_org_status.status is null or set_org_status.status not in ('pending_approval', 'active', 'suspended') then
    raise exception 'invalid status' using errcode = 'PT400';
  end if;
  update api.organizations o set status = set_org_status.status where o.id = set_org_status.org;
  if not found then
    raise exception 'organization not found' using errcode = 'PT404';
  end if;
  return json_build_object('id', set_org_status.org, 'status', set_org_status.status);
end
$$;

revoke execute on function api.register_organization(text, text, text), api.create_invitation(uuid, text, text),
  api.accept_invitation(text), api.set_org_status(uuid, text) from public;
grant execute on function api.register_organization(text, text, text) to anon, authenticated;
grant execute on function api.create_invitation(uuid, text, text), api.accept_invitation(text),
  api.set_org_status(uuid, text) to authenticated;
