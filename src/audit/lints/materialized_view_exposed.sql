-- Materialized views cannot have row-level security: whoever may select one reads every row.
with roles as (
  select r.oid, r.rolname from pg_roles r where r.rolname = any ($2::text[]) and not r.rolsuper
)
select format('%I.%I', n.nspname, c.relname) as object,
       format('the materialized view is selectable by %s and has no row-level security',
              string_agg(r.rolname, ', ' order by r.rolname)) as message,
       format(E'revoke select on %I.%I from %s;\n-- expose it through a function that filters by tenant, or move it to a schema that is not exposed',
              n.nspname, c.relname,
              case when has_table_privilege('public', c.oid, 'SELECT') then 'public, ' else '' end
                || string_agg(format('%I', r.rolname), ', ' order by r.rolname)) as fix
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  join roles r on has_table_privilege(r.oid, c.oid, 'SELECT') or has_any_column_privilege(r.oid, c.oid, 'SELECT')
 where c.relkind = 'm'
   and n.nspname = any ($1::text[])
   and not exists (select 1 from pg_depend d
                    where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
 group by c.oid, n.nspname, c.relname
