-- A command granted to a request role (or PUBLIC) with no permissive policy for it that applies
-- to that role: the grant and the policies disagree, so one of them is wrong.
with roles as (
  -- Superusers and BYPASSRLS roles skip policies altogether (request_role_bypasses_rls).
  select r.oid, r.rolname from pg_roles r
   where r.rolname = any ($2::text[]) and not r.rolsuper and not r.rolbypassrls
),
commands (cmd, polcmd) as (
  values ('SELECT', 'r'), ('INSERT', 'a'), ('UPDATE', 'w'), ('DELETE', 'd')
),
tables as (
  select c.oid, n.nspname, c.relname
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p')
     and n.nspname = any ($1::text[])
     and not exists (select 1 from pg_depend d
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
),
uncovered as (
  select t.oid, t.nspname, t.relname, k.cmd, r.rolname,
         has_table_privilege('public', t.oid, k.cmd)
           or (k.cmd <> 'DELETE' and has_any_column_privilege('public', t.oid, k.cmd)) as to_public
    from tables t
   cross join commands k
   cross join roles r
   where (has_table_privilege(r.oid, t.oid, k.cmd)
          -- DELETE has no column privileges.
          or (k.cmd <> 'DELETE' and has_any_column_privilege(r.oid, t.oid, k.cmd)))
     and not exists (
       select 1 from pg_policy p
        where p.polrelid = t.oid
          and p.polpermissive
          and p.polcmd in (k.polcmd, '*')
          and (0 = any (p.polroles)
               or exists (select 1 from unnest(p.polroles) pr where pg_has_role(r.oid, pr, 'USAGE'))))
)
select format('%I.%I', u.nspname, u.relname) as object,
       format('%s is granted to %s, but no permissive %s policy applies to %s',
              u.cmd,
              case when bool_or(u.to_public) then 'PUBLIC' else string_agg(u.rolname, ', ' order by u.rolname) end,
              u.cmd, string_agg(u.rolname, ', ' order by u.rolname)) as message,
       format(E'create policy %I on %I.%I for %s to %s %s;\n-- or, if they should not %s at all:\nrevoke %s on %I.%I from %s;',
              u.relname || '_' || lower(u.cmd), u.nspname, u.relname, lower(u.cmd),
              string_agg(format('%I', u.rolname), ', ' order by u.rolname),
              case u.cmd when 'INSERT' then 'with check (<condition>)'
                         when 'UPDATE' then 'using (<condition>) with check (<condition>)'
                         else 'using (<condition>)' end,
              lower(u.cmd), lower(u.cmd), u.nspname, u.relname,
              case when bool_or(u.to_public) then 'public, ' else '' end
                || string_agg(format('%I', u.rolname), ', ' order by u.rolname)) as fix
  from uncovered u
 group by u.oid, u.nspname, u.relname, u.cmd
