-- RLS enabled but not forced: the owner, and whatever runs as the owner, skips the policies.
select format('%I.%I', n.nspname, c.relname) as object,
       format('row-level security is enabled but not forced: its owner %I (and views or SECURITY DEFINER functions it owns) bypasses the policies',
              pg_get_userbyid(c.relowner)) as message,
       format('alter table %I.%I force row level security;', n.nspname, c.relname) as fix
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'p')
   and n.nspname = any ($1::text[])
   and c.relrowsecurity
   and not c.relforcerowsecurity
   and not exists (select 1 from pg_depend d
                    where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
