-- Statements without a WHERE clause: PostgreSQL applies only the command's own policy to them (a
-- filter that reads columns would add the SELECT policies), so an unfiltered DELETE is the
-- sharpest test of each DELETE policy. For every table and actor: which orgs' data did
-- `delete from <table>` change? ('.' none, 'A', 'B', 'AB'; rolled back each time.)
begin;
\ir lib/fixture.sql
select plan(12 * 13);

-- The orgs whose data `stmt`, run as `actor`, changed (or the error when it failed otherwise than
-- by being refused).
create function pg_temp.changed_orgs(actor text, stmt text) returns text
language plpgsql as $$
declare
  a0 text := isolation_test.org_digest('a');
  b0 text := isolation_test.org_digest('b');
  outcome text;
begin
  begin
    perform isolation_test.act_as(actor);
    execute stmt;
    perform isolation_test.act_as_admin();
    outcome := case when isolation_test.org_digest('a') <> a0 then 'A' else '' end
            || case when isolation_test.org_digest('b') <> b0 then 'B' else '' end;
    raise exception using errcode = 'RGT01', message = coalesce(nullif(outcome, ''), '.');
  exception
    when sqlstate 'RGT01' then
      outcome := sqlerrm;
    when insufficient_privilege or foreign_key_violation then
      -- Refused: by a privilege or policy, or (deleting every plan) by the orgs still on one.
      outcome := '.';
    when others then
      outcome := case when sqlstate like 'PT4%' then '.' else 'error ' || sqlstate || ': ' || sqlerrm end;
  end;
  return outcome;
end
$$;

create temporary table unfiltered (line serial, tbl text, cells text);
-- Memberships: the owners cannot empty them (they would remove themselves, the last owner: refused,
-- so nothing changes), the admins remove everyone up to admin, members and viewers remove themselves
-- (leaving is allowed); an API token cannot make its creator (the last owner) leave. Deleting models
-- cascades to both orgs' entitlements. Deleting every plan is refused (orgs are on `standard`;
-- `pending` cannot be deleted); usage counters and entitlements have no delete grant.
--                                   anon owner_a admin_a member_a viewer_a owner_b admin_b member_b viewer_b loner super service token_a
insert into unfiltered (tbl, cells) values
  ('platform_settings', '.    .       .       .        .        .       .       .        .        .     .     .       .'),
  ('organizations',     '.    .       .       .        .        .       .       .        .        .     .     .       .'),
  ('memberships',       '.    .       A       A        A        .       B       B        B        .     .     .       .'),
  ('invitations',       '.    A       A       .        .        B       B       .        .        .     .     .       .'),
  ('projects',          '.    A       A       A        .        B       B       B        .        .     .     .       A'),
  ('tasks',             '.    A       A       A        .        B       B       B        .        .     .     .       A'),
  ('models',            '.    .       .       .        .        .       .       .        .        .     AB    .       .'),
  ('org_models',        '.    A       A       .        .        B       B       .        .        .     AB    .       .'),
  ('plans',             '.    .       .       .        .        .       .       .        .        .     .     .       .'),
  ('usage_counters',    '.    .       .       .        .        .       .       .        .        .     .     .       .'),
  ('org_entitlements',  '.    .       .       .        .        .       .       .        .        .     .     .       .'),
  ('audit_log',         '.    .       .       .        .        .       .       .        .        .     .     .       .');

select is(pg_temp.changed_orgs(a.name, format('delete from api.%I', u.tbl)),
          (regexp_split_to_array(btrim(u.cells), '\s+'))[a.ord],
          format('delete from api.%s by %s changes exactly these orgs', u.tbl, a.name))
  from unfiltered u cross join isolation_test.actors a
 where a.ord < 100
 order by u.line, a.ord;

select * from finish();
rollback;
