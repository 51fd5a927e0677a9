-- Every policy filters on org_id; without an index led by it each request scans the whole table.
select format('%I.%I', n.nspname, c.relname) as object,
       'the table has an org_id column but no index whose first column is org_id' as message,
       format('create index %I on %I.%I (org_id);', left(c.relname, 50) || '_org_id_idx', n.nspname, c.relname) as fix
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  join pg_attribute a on a.attrelid = c.oid and a.attname = 'org_id' and a.attnum > 0 and not a.attisdropped
 where c.relkind in ('r', 'p')
   and n.nspname = any ($1::text[])
   and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indkey[0] = a.attnum)
   and not exists (select 1 from pg_depend d
                    where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
