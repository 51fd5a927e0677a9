-- A column of relation $1 that role $2 may UPDATE: org_id and primary-key columns last (so the
-- no-op `set c = c` fires the fewest key-guarding triggers); generated and identity-always
-- columns cannot be set at all.
select a.attname::text
  from pg_catalog.pg_attribute a
 where a.attrelid = $1
   and a.attnum > 0 and not a.attisdropped
   and a.attgenerated = '' and a.attidentity <> 'a'
   and pg_catalog.has_column_privilege($2::text, a.attrelid, a.attnum, 'UPDATE')
 order by a.attname = 'org_id',
          a.attnum = any (coalesce((select i.indkey::int2[] from pg_catalog.pg_index i
                                     where i.indrelid = a.attrelid and i.indisprimary), '{}')),
          a.attnum
 limit 1
