-- A restrictive policy on a Citus table (distributed or reference): Citus creates the shards'
-- policies without AS RESTRICTIVE (13.2), so the fence meant to narrow the permissive policies
-- becomes one more permissive policy on every shard and widens access there. Without the citus
-- extension the query reads nothing (pg_dist_partition is read through query_to_xml only then).
with citus as (
  select (pg_catalog.xpath('/row/r/text()', x))[1]::text::oid as relid
    from pg_catalog.unnest(pg_catalog.xpath('/table/row', pg_catalog.query_to_xml(
           case when exists (select 1 from pg_catalog.pg_extension e where e.extname = 'citus')
                then 'select logicalrelid::oid as r from pg_catalog.pg_dist_partition'
                else 'select null::oid as r where false' end,
           false, false, ''))) x
)
select format('policy %I on %I.%I', p.polname, n.nspname, c.relname) as object,
       'restrictive policy on a Citus table: permissive on its shards, so it widens access instead of narrowing it' as message,
       format('fold its condition into every permissive policy of %I.%I (AND it in), then: drop policy %I on %I.%I; '
              '`rowgate migrate` does this for the reference schema (sql/citus/distribute.sql)',
              n.nspname, c.relname, p.polname, n.nspname, c.relname) as fix
  from pg_catalog.pg_policy p
  join citus t on t.relid = p.polrelid
  join pg_catalog.pg_class c on c.oid = p.polrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where not p.polpermissive
