-- Realtime (issue 16, docs/realtime.md): what the database needs for `/realtime/v1`. The
-- functions that decide what a subscriber may see live in functions/realtime.sql.
--
-- * Schema `realtime`: holds those functions; never exposed over REST.
-- * Publication `rowgate_realtime`: the opt-in. Only changes of its tables are decoded and sent;
--   an admin adds a table with `alter publication rowgate_realtime add table …` (and
--   `alter table … replica identity full`). TRUNCATE is not published.
-- * REPLICA IDENTITY FULL on the published tables: UPDATE and DELETE then carry the whole old
--   row, which is what the RLS check of a DELETE is evaluated on (the row is gone from the table).
-- * Role `rowgate_replication` (LOGIN REPLICATION, nothing else): the gateway's replication
--   connection (ROWGATE_REALTIME_DB_URL). A separate role keeps REPLICATION — which can read every
--   change of every table — away from `authenticator`, whose sessions run request SQL. Creating a
--   REPLICATION role needs a superuser; when `rowgate migrate` runs as one without that right,
--   the role is left for the administrator to create (docs/realtime.md).

create schema if not exists realtime authorization rowgate_owner;
grant usage on schema realtime to anon, authenticated, service_role, authenticator;

alter table api.projects replica identity full;
alter table api.tasks replica identity full;
alter table api.memberships replica identity full;

do $$
begin
  if not exists (select from pg_catalog.pg_publication where pubname = 'rowgate_realtime') then
    create publication rowgate_realtime for table api.projects, api.tasks, api.memberships
      with (publish = 'insert, update, delete');
  end if;
end
$$;

do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'rowgate_replication') then
    create role rowgate_replication login replication;
  end if;
exception when insufficient_privilege then
  raise notice 'rowgate_replication not created (needs a superuser): create it with LOGIN REPLICATION for realtime';
end
$$;
