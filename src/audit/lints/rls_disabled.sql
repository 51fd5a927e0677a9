-- Tables in an exposed schema without row-level security: every granted row is reachable.
select format('%I.%I', n.nspname, c.relname) as object,
       case when exists (select 1 from pg_policy p where p.polrelid = c.oid)
            then 'row-level security is disabled, so the policies on it are ignored'
            else 'row-level security is disabled'
       end as message,
       format(E'alter table %1$I.%2$I enable row level security;\nalter table %1$I.%2$I force row level security;',
              n.nspname, c.relname) as fix
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'p')
   and n.nspname = any ($1::text[])
   and not c.relrowsecurity
   -- Objects of an extension are the extension's business (and cannot be altered durably).
   and not exists (select 1 from pg_depend d
                    where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
