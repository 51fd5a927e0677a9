-- A request role that is a superuser or has BYPASSRLS: no policy applies to its requests.
select format('%I', r.rolname) as object,
       format('the request role is %s: row-level security does not apply to it',
              case when r.rolsuper then 'a superuser' else 'BYPASSRLS' end) as message,
       format('alter role %I nosuperuser nobypassrls;', r.rolname) as fix
  from pg_roles r
 where r.rolname = any ($2::text[])
   and (r.rolsuper or r.rolbypassrls)
