-- A permissive policy TO PUBLIC applies to every role, anon included; naming the roles keeps a
-- policy meant for signed-in users from opening up to anonymous requests.
with roles as (
  select r.oid from pg_roles r where r.rolname = any ($2::text[])
)
select format('policy %I on %I.%I', p.polname, n.nspname, c.relname) as object,
       'the policy applies to PUBLIC (every role, anon included)' as message,
       format('alter policy %I on %I.%I to authenticated;', p.polname, n.nspname, c.relname) as fix
  from pg_policy p
  join pg_class c on c.oid = p.polrelid
  join pg_namespace n on n.oid = c.relnamespace
 where p.polpermissive
   and 0 = any (p.polroles)
   and (n.nspname = any ($1::text[])
        or has_schema_privilege('public', n.oid, 'USAGE')
        or exists (select 1 from roles r where has_schema_privilege(r.oid, n.oid, 'USAGE')))
