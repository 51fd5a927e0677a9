-- TRUNCATE (not subject to RLS: empties every tenant's rows), REFERENCES (probe other tenants'
-- keys through a foreign key) and TRIGGER (run code on other tenants' writes) to a request role.
with roles as (
  select r.oid, r.rolname from pg_roles r where r.rolname = any ($2::text[]) and not r.rolsuper
),
privileges (privilege) as (values ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')),
relations as (
  select c.oid, n.nspname, c.relname
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p', 'v', 'm', 'f')
     and n.nspname = any ($1::text[])
     and not exists (select 1 from pg_depend d
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
),
grants as (
  -- PUBLIC stands for every role, so a PUBLIC grant is named alone.
  select t.oid, t.nspname, t.relname, k.privilege, g.grantee
    from relations t
   cross join privileges k
   cross join lateral (
     select 'PUBLIC'::text as grantee
      where has_table_privilege('public', t.oid, k.privilege)
         or (k.privilege = 'REFERENCES' and has_any_column_privilege('public', t.oid, 'REFERENCES'))
     union all
     select r.rolname::text
       from roles r
      where (has_table_privilege(r.oid, t.oid, k.privilege)
             or (k.privilege = 'REFERENCES' and has_any_column_privilege(r.oid, t.oid, 'REFERENCES')))
        and not has_table_privilege('public', t.oid, k.privilege)
        and not (k.privilege = 'REFERENCES' and has_any_column_privilege('public', t.oid, 'REFERENCES'))
   ) g
),
per_privilege as (
  select g.oid, g.nspname, g.relname, g.privilege, string_agg(g.grantee, ', ' order by g.grantee) as grantees
    from grants g
   group by g.oid, g.nspname, g.relname, g.privilege
)
select format('%I.%I', p.nspname, p.relname) as object,
       string_agg(format('%s granted to %s', p.privilege, p.grantees), '; ' order by p.privilege) as message,
       format('revoke truncate, references, trigger on %I.%I from %s;', p.nspname, p.relname,
              (select string_agg(distinct case g.grantee when 'PUBLIC' then 'public' else format('%I', g.grantee) end, ', ')
                 from grants g where g.oid = p.oid)) as fix
  from per_privilege p
 group by p.oid, p.nspname, p.relname
