-- The org_writable and pending_limits triggers become AFTER ROW triggers. As BEFORE triggers they
-- ran ahead of the RLS WITH CHECK, so a write naming an org the caller does not belong to was
-- answered with that org's status ("organization is suspended", "pending approval: at most N") —
-- an oracle on other orgs, and a way to lock their rows. AFTER ROW triggers fire at the end of the
-- statement, after RLS has refused such a row (42501, as for any other org), and still before
-- anything is committed; SECURITY DEFINER paths that bypass RLS (api.accept_invitation) still meet
-- them. The functions keep their names; only the row they see is after the write.

drop trigger org_writable on api.memberships;
drop trigger org_writable on api.invitations;
drop trigger org_writable on api.projects;
drop trigger org_writable on api.tasks;
drop trigger org_writable on api.org_models;
drop trigger pending_limits on api.memberships;
drop trigger pending_limits on api.projects;

-- Writes to a suspended org's rows are refused (for everyone but the super admin); keys never
-- change. tg_argv: the key columns besides org_id.
create or replace function internal.tg_org_writable() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  org uuid := case when tg_op = 'DELETE' then old.org_id else new.org_id end;
  st text;
  i integer;
begin
  select o.status into st from api.organizations o where o.id = org;
  -- No org: the org itself is being deleted (cascade).
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
  return null;
end
$$;

-- A pending org works within the platform limits (members, projects). Runs after the row is in,
-- so the count includes it; the org row is locked first, so concurrent inserts are counted one
-- after the other (each statement of this function takes a fresh snapshot).
create or replace function internal.tg_pending_limits() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  st text;
  n integer;
  max_n integer;
begin
  select o.status into st from api.organizations o where o.id = new.org_id for no key update;
  if st is distinct from 'pending_approval' then
    return null;
  end if;
  if tg_table_name = 'memberships' then
    select s.pending_org_max_users into max_n from api.platform_settings s;
    select count(*) into n from api.memberships m where m.org_id = new.org_id;
  else
    select s.pending_org_max_projects into max_n from api.platform_settings s;
    select count(*) into n from api.projects p where p.org_id = new.org_id;
  end if;
  if n > max_n then
    raise exception 'organization pending approval: at most % %', max_n, tg_table_name
      using errcode = 'PT403', hint = 'An administrator must approve the organization first.';
  end if;
  return null;
end
$$;

create trigger org_writable after insert or update or delete on api.memberships
  for each row execute function internal.tg_org_writable('user_id');
create trigger org_writable after insert or update or delete on api.invitations
  for each row execute function internal.tg_org_writable('id');
create trigger org_writable after insert or update or delete on api.projects
  for each row execute function internal.tg_org_writable('id');
create trigger org_writable after insert or update or delete on api.tasks
  for each row execute function internal.tg_org_writable('id');
create trigger org_writable after insert or update or delete on api.org_models
  for each row execute function internal.tg_org_writable('model_id');

create trigger pending_limits after insert on api.memberships
  for each row execute function internal.tg_pending_limits();
create trigger pending_limits after insert on api.projects
  for each row execute function internal.tg_pending_limits();
