-- The membership table: $1 schema and $2 name when given, else the first table with org_id and
-- user_id columns in the exposed schemas ($3) or public, one named memberships first.
-- Returns its schema, name and whether it has a `role` column.
select n.nspname::text, c.relname::text,
       exists (select 1 from pg_catalog.pg_attribute a
                where a.attrelid = c.oid and a.attname = 'role' and a.attnum > 0 and not a.attisdropped)
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'p')
   and case when $1::text is null then n.nspname = any ($3::text[]) or n.nspname = 'public'
            else n.nspname = $1::text end
   and ($2::text is null or c.relname = $2::text)
   and exists (select 1 from pg_catalog.pg_attribute a
                where a.attrelid = c.oid and a.attname = 'org_id' and a.attnum > 0 and not a.attisdropped)
   and exists (select 1 from pg_catalog.pg_attribute a
                where a.attrelid = c.oid and a.attname = 'user_id' and a.attnum > 0 and not a.attisdropped)
 order by c.relname = 'memberships' desc, n.nspname = any ($3::text[]) desc, n.nspname, c.relname
 limit 1
