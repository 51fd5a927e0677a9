-- CREATE on an exposed schema lets a request role add tables, views or functions there (owned by
-- itself, outside any review) or shadow names that unpinned functions resolve.
with roles as (
  select r.oid, r.rolname from pg_roles r where r.rolname = any ($2::text[]) and not r.rolsuper
),
grants as (
  select n.oid, n.nspname, 'PUBLIC'::text as grantee
    from pg_namespace n
   where n.nspname = any ($1::text[]) and has_schema_privilege('public', n.oid, 'CREATE')
  union all
  select n.oid, n.nspname, r.rolname::text
    from pg_namespace n
    cross join roles r
   where n.nspname = any ($1::text[])
     and has_schema_privilege(r.oid, n.oid, 'CREATE')
     and not has_schema_privilege('public', n.oid, 'CREATE')
)
select format('%I', g.nspname) as object,
       format('CREATE on the schema is granted to %s', string_agg(g.grantee, ', ' order by g.grantee)) as message,
       format('revoke create on schema %I from %s;', g.nspname,
              string_agg(case g.grantee when 'PUBLIC' then 'public' else format('%I', g.grantee) end, ', '
                         order by g.grantee)) as fix
  from grants g
 group by g.oid, g.nspname
