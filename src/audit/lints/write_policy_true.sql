-- A permissive write policy whose USING or WITH CHECK is literally `true`: any row of any tenant
-- may be written (and, for FOR ALL, read) by the roles it applies to.
with roles as (
  select r.oid from pg_roles r where r.rolname = any ($2::text[])
),
policies as (
  select p.polname, p.polcmd, n.nspname, c.relname,
         pg_get_expr(p.polqual, p.polrelid) as qual, pg_get_expr(p.polwithcheck, p.polrelid) as with_check
    from pg_policy p
    join pg_class c on c.oid = p.polrelid
    join pg_namespace n on n.oid = c.relnamespace
   where p.polpermissive
     and p.polcmd in ('a', 'w', 'd', '*')
     and (0 = any (p.polroles)
          or exists (select 1 from roles r, unnest(p.polroles) pr where pg_has_role(r.oid, pr, 'USAGE')))
     and (n.nspname = any ($1::text[])
          or has_schema_privilege('public', n.oid, 'USAGE')
          or exists (select 1 from roles r where has_schema_privilege(r.oid, n.oid, 'USAGE')))
)
select format('policy %I on %I.%I', p.polname, p.nspname, p.relname) as object,
       format('the %s policy has %s',
              case p.polcmd when 'a' then 'INSERT' when 'w' then 'UPDATE' when 'd' then 'DELETE' else 'ALL' end,
              case when p.qual = 'true' and p.with_check = 'true' then 'USING (true) and WITH CHECK (true)'
                   when p.qual = 'true' then 'USING (true)'
                   else 'WITH CHECK (true)' end) as message,
       format('alter policy %I on %I.%I %s;', p.polname, p.nspname, p.relname,
              case p.polcmd when 'a' then 'with check (<condition>)'
                            when 'd' then 'using (<condition>)'
                            else 'using (<condition>) with check (<condition>)' end) as fix
  from policies p
 where p.qual = 'true' or p.with_check = 'true'
