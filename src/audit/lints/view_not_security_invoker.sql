-- Views in an exposed schema run with their owner's privileges unless security_invoker is set,
-- so the owner's rights (and RLS exemption) replace the caller's.
select format('%I.%I', n.nspname, c.relname) as object,
       format('the view runs as its owner %I, not as the caller (security_invoker is not set)',
              pg_get_userbyid(c.relowner)) as message,
       format('alter view %I.%I set (security_invoker = true);', n.nspname, c.relname) as fix
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'v'
   and n.nspname = any ($1::text[])
   and not exists (select 1 from unnest(c.reloptions) o
                    where lower(o) in ('security_invoker=true', 'security_invoker=on', 'security_invoker=1',
                                       'security_invoker=yes'))
   and not exists (select 1 from pg_depend d
                    where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
