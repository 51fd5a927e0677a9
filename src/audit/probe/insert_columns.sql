-- The columns of relation $1 that role $2 may INSERT, in table order; generated and
-- identity-always columns take their own values.
select a.attname::text
  from pg_catalog.pg_attribute a
 where a.attrelid = $1
   and a.attnum > 0 and not a.attisdropped
   and a.attgenerated = '' and a.attidentity <> 'a'
   and pg_catalog.has_column_privilege($2::text, a.attrelid, a.attnum, 'INSERT')
 order by a.attnum
