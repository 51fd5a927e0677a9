-- Every relation of the exposed schemas ($1) with an org_id column, and which writes it takes
-- (pg_relation_is_updatable bits: 4 UPDATE, 8 INSERT, 16 DELETE; INSTEAD OF triggers count).
select c.oid, n.nspname::text, c.relname::text, pg_catalog.pg_relation_is_updatable(c.oid, true)
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attname = 'org_id' and a.attnum > 0 and not a.attisdropped
 where c.relkind in ('r', 'p', 'v', 'm', 'f')
   and n.nspname = any ($1::text[])
 order by n.nspname, c.relname
