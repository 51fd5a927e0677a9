-- A request role owns (or may become the owner of) something in an exposed schema: owners skip
-- unforced RLS, may alter or drop the object, change its policies and grants.
with roles as (
  select r.oid, r.rolname from pg_roles r where r.rolname = any ($2::text[]) and not r.rolsuper
),
owned (kind, keyword, object, owner, definer) as (
  select case c.relkind when 'v' then 'view' when 'm' then 'materialized view' when 'S' then 'sequence'
                        when 'f' then 'foreign table' else 'table' end,
         case c.relkind when 'v' then 'view' when 'm' then 'materialized view' when 'S' then 'sequence'
                        when 'f' then 'foreign table' else 'table' end,
         format('%I.%I', n.nspname, c.relname), c.relowner, false
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
     and n.nspname = any ($1::text[])
     and not exists (select 1 from pg_depend d
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
  union all
  select case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end,
         case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end,
         format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), p.proowner, p.prosecdef
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = any ($1::text[])
     and not exists (select 1 from pg_depend d
                      where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
  union all
  select 'schema', 'schema', format('%I', n.nspname), n.nspowner, false
    from pg_namespace n
   where n.nspname = any ($1::text[])
)
select o.object as object,
       format('the %s is owned by %I%s', o.kind, pg_get_userbyid(o.owner),
              case when bool_and(r.oid = o.owner) then ''
                   else format(' (request role %s may act as that owner)', string_agg(r.rolname, ', ' order by r.rolname))
              end) as message,
       case when o.definer
            -- It must read past RLS, which rowgate_owner (subject to its forced policies) cannot.
            then format(E'alter %s %s owner to <the role that runs the migrations>;\n-- a SECURITY DEFINER function runs as its owner: never a request role, nor rowgate_owner',
                        o.keyword, o.object)
            else format('alter %s %s owner to %s;', o.keyword, o.object,
                        coalesce((select 'rowgate_owner'::text from pg_roles where rolname = 'rowgate_owner'),
                                 '<a role no request runs as>'))
       end as fix
  from owned o
  join roles r on r.oid = o.owner or pg_has_role(r.oid, o.owner, 'MEMBER')
 group by o.kind, o.keyword, o.object, o.owner, o.definer
