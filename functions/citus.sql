-- Where a trigger runs on Citus (docs/scaling.md): on a shard of a distributed table, or on each
-- placement of a reference table (the coordinator's and every worker's). The trigger functions
-- use these to run once, with the logical table's name. On a single node (no Citus catalog) they
-- answer at once: not a placement. Re-runnable: `rowgate migrate` applies this file with the other
-- function files.

-- The Citus table that `rel` is a placement of (`api.tasks` for `api.tasks_102226`); NULL when
-- `rel` is not one (or there is no Citus).
create or replace function internal.citus_table(rel oid) returns regclass
language plpgsql stable security definer set search_path = ''
as $$
declare
  logical regclass;
  shard text;
begin
  if pg_catalog.to_regclass('pg_catalog.pg_dist_shard') is null then
    return null;
  end if;
  -- (regclass output, not pg_class: Citus hides shards from catalog queries)
  shard := substring(rel::regclass::text from '_([0-9]+)$');
  if shard is null then
    return null;
  end if;
  execute 'select s.logicalrelid from pg_catalog.pg_dist_shard s where s.shardid = $1 and s.logicalrelid <> $2'
    into logical using shard::bigint, rel;
  return logical;
end
$$;

-- The shard of distributed table `tbl` that holds `org`'s rows, when it is placed on this node
-- (schema-qualified, quoted); NULL when it is elsewhere. A trigger writes the audit log or a
-- counter there, and only there: the shard next to a co-located shard's row, one placement of a
-- reference table's row (the others skip).
create or replace function internal.citus_local_shard(tbl regclass, org uuid) returns text
language plpgsql stable security definer set search_path = ''
as $$
declare
  shard bigint;
  here boolean;
begin
  execute 'select pg_catalog.get_shard_id_for_distribution_column($1, $2)' into shard using tbl, org;
  execute 'select exists (select 1 from pg_catalog.pg_dist_placement p join pg_catalog.pg_dist_local_group g
                           on g.groupid = p.groupid where p.shardid = $1)'
    into here using shard;
  if not here then
    return null;
  end if;
  return (select pg_catalog.format('%I.%I', n.nspname, c.relname || '_' || shard)
            from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
           where c.oid = tbl);
end
$$;

-- `rel` is the coordinator's placement of a reference table: its triggers leave the checks and
-- writes to the workers' placements (the coordinator's copy runs while the workers' are under way,
-- and a subtransaction there cannot reach them).
create or replace function internal.citus_coordinator_copy(rel oid) returns boolean
language plpgsql stable security definer set search_path = ''
as $$
declare
  coordinator boolean;
begin
  if internal.citus_table(rel) is null then
    return false;
  end if;
  execute 'select groupid = 0 from pg_catalog.pg_dist_local_group' into coordinator;
  return coalesce(coordinator, false);
end
$$;

-- The gateway's context statement in Citus mode (ROWGATE_DB_CITUS, src/sql/context.rs) ends with
-- this call: it re-issues the claims and request headers the statement just set as SET LOCAL
-- commands with citus.propagate_set_commands = 'local', which Citus sends to every shard
-- connection of the transaction (set_config never reaches the workers). No SET clause (a SET
-- LOCAL inside a function with one is undone when it returns), so every name is qualified.
create or replace function internal.citus_propagate_context() returns void
language plpgsql volatile
as $$
begin
  set local citus.propagate_set_commands = 'local';
  execute pg_catalog.format('set local "request.jwt.claims" = %L',
                            coalesce(pg_catalog.current_setting('request.jwt.claims', true), ''));
  execute pg_catalog.format('set local "request.headers" = %L',
                            coalesce(pg_catalog.current_setting('request.headers', true), ''));
end
$$;

revoke all on function internal.citus_propagate_context() from public;
-- (checked when the statement starts, before it switches role: only the login role calls it)
grant execute on function internal.citus_propagate_context() to authenticator;
revoke all on function internal.citus_table(oid) from public;
revoke all on function internal.citus_local_shard(regclass, uuid) from public;
revoke all on function internal.citus_coordinator_copy(oid) from public;

-- SET LOCAL of one of rowgate's own transaction settings, the way the triggers on Citus shards
-- see it: set_config(…, true) stays on the connection it runs on, while SET LOCAL with
-- citus.propagate_set_commands = 'local' goes to every shard connection of the transaction (the
-- ones already open and the ones opened later). On a single node it is a plain SET LOCAL. Only
-- the names below (an error otherwise); the value is quoted with %L. No SET clause and not
-- SECURITY DEFINER (either would confine the SET LOCAL to this call), so every name is qualified;
-- the callers are SECURITY DEFINER functions, and PUBLIC may not call it.
create or replace function internal.set_local(name text, value text) returns void
language plpgsql volatile
as $$
begin
  if name is null or name <> all (array['rowgate.purging_org', 'rowgate.erasing_user', 'rowgate.erasure_reason',
                                        'rowgate.audit_redaction', 'rowgate.redacted_entries']) then
    raise exception 'internal.set_local: % is not one of rowgate''s transaction settings', name
      using errcode = '22023';
  end if;
  if pg_catalog.current_setting('citus.version', true) is not null then
    set local citus.propagate_set_commands = 'local';
  end if;
  execute pg_catalog.format('set local %I = %L', name, coalesce(value, ''));
end
$$;

revoke all on function internal.set_local(text, text) from public;
