-- user_metadata (claims, or auth.users.raw_user_meta_data) is editable by the user it describes:
-- a policy deciding on it lets users grant themselves access.
with roles as (
  select r.oid from pg_roles r where r.rolname = any ($2::text[])
)
select format('policy %I on %I.%I', p.polname, n.nspname, c.relname) as object,
       'the policy reads user_metadata, which the user can edit' as message,
       format(E'alter policy %I on %I.%I %s;\n-- decide on data only the server writes: app_metadata, or a table such as memberships',
              p.polname, n.nspname, c.relname,
              case p.polcmd when 'a' then 'with check (<condition>)'
                            when 'w' then 'using (<condition>) with check (<condition>)'
                            when '*' then 'using (<condition>) with check (<condition>)'
                            else 'using (<condition>)' end) as fix
  from pg_policy p
  join pg_class c on c.oid = p.polrelid
  join pg_namespace n on n.oid = c.relnamespace
 where (coalesce(pg_get_expr(p.polqual, p.polrelid), '') ~* 'user_meta_?data'
        or coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') ~* 'user_meta_?data')
   and (n.nspname = any ($1::text[])
        or has_schema_privilege('public', n.oid, 'USAGE')
        or exists (select 1 from roles r where has_schema_privilege(r.oid, n.oid, 'USAGE')))
