-- The roles the gateway may switch to: every role `authenticator` is a member of, directly or
-- through other roles (membership, not inheritance, is what `set role` needs).
with recursive granted (oid) as (
  select m.roleid
    from pg_catalog.pg_auth_members m
    join pg_catalog.pg_roles a on a.oid = m.member
   where a.rolname = 'authenticator'
  union
  select m.roleid
    from pg_catalog.pg_auth_members m
    join granted g on g.oid = m.member
)
select coalesce(array_agg(r.rolname::text order by r.rolname), '{}')
  from granted g
  join pg_catalog.pg_roles r on r.oid = g.oid
