-- SECURITY DEFINER functions, in a schema a request role can use, that do not pin search_path:
-- a caller who can create objects earlier on the path makes the function run the caller's code
-- with the owner's rights.
with roles as (
  select r.oid from pg_roles r where r.rolname = any ($2::text[])
)
select format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as object,
       format('SECURITY DEFINER %s owned by %I without a pinned search_path',
              case p.prokind when 'p' then 'procedure' else 'function' end, pg_get_userbyid(p.proowner)) as message,
       format(E'alter %s %I.%I(%s) set search_path = '''';\n-- then schema-qualify every name in its body (pg_catalog.now(), api.tasks, ...)',
              case p.prokind when 'p' then 'procedure' else 'function' end,
              n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as fix
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
 where p.prosecdef
   and n.nspname not in ('pg_catalog', 'information_schema')
   and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
   and (n.nspname = any ($1::text[])
        or has_schema_privilege('public', n.oid, 'USAGE')
        or exists (select 1 from roles r where has_schema_privilege(r.oid, n.oid, 'USAGE')))
   and not exists (select 1 from unnest(p.proconfig) s where s like 'search\_path=%')
   and not exists (select 1 from pg_depend d
                    where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
