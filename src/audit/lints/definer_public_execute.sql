-- SECURITY DEFINER functions anyone may call: PostgreSQL grants EXECUTE to PUBLIC by default, so
-- every role (anon included, wherever the schema becomes reachable) runs them with the owner's rights.
-- Every schema is looked at, exposed or not.
select format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as object,
       format('SECURITY DEFINER %s owned by %I is executable by PUBLIC',
              case p.prokind when 'p' then 'procedure' else 'function' end, pg_get_userbyid(p.proowner)) as message,
       format(E'revoke execute on %1$s %2$I.%3$I(%4$s) from public;\n-- then grant it to the roles that need it, e.g.: grant execute on %1$s %2$I.%3$I(%4$s) to authenticated;',
              case p.prokind when 'p' then 'procedure' else 'function' end,
              n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as fix
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
 where p.prosecdef
   and has_function_privilege('public', p.oid, 'EXECUTE')
   and n.nspname not in ('pg_catalog', 'information_schema')
   and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
   and not exists (select 1 from pg_depend d
                    where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
