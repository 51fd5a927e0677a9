-- The mutants of the mutation check (tests/it/isolation_sql.rs): small breakages of the reference
-- schema's policies and tables, one per row (name, sql). Run against a migrated database; the suite
-- must fail on every one of them. The expressions are edited in their deparsed form.
with pol as (
  select p.tablename as tbl, p.policyname as pol, p.permissive, p.roles, p.cmd, p.qual, p.with_check
    from pg_policies p
   where p.schemaname = 'api' and p.tablename <> 'todos'
),
edit (kind, re, replacement) as (values
  -- `org_id = ANY (<helper>)`: the org filter, gone.
  ('drop the org filter', '\((org_)?id = ANY \(\( SELECT internal\.\w+\([^)]*\) AS \w+\)::uuid\[\]\)\)', 'true'),
  -- The super-admin exception, granted to everyone.
  ('drop the super-admin check', '\( SELECT internal\.is_super_admin\(\) AS is_super_admin\)', 'true'),
  -- `user_org_ids_at('admin')` → every org of the user, whatever the role there.
  ('drop the role rank', 'internal\.user_org_ids_at\(''\w+''::text\) AS user_org_ids_at', 'internal.user_org_ids() AS user_org_ids')
),
tbl as (
  select c.relname::text as tbl from pg_class c
   where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'p') and c.relname <> 'todos'
)
select e.kind || ': ' || p.pol as name,
       format('alter policy %I on api.%I', p.pol, p.tbl)
         || case when p.qual is not null then format(' using (%s)', regexp_replace(p.qual, e.re, e.replacement, 'g')) else '' end
         || case when p.with_check is not null
                 then format(' with check (%s)', regexp_replace(p.with_check, e.re, e.replacement, 'g')) else '' end as sql
  from pol p cross join edit e
 where coalesce(p.qual, '') ~ e.re or coalesce(p.with_check, '') ~ e.re
union all
select 'TO public: ' || p.pol, format('alter policy %I on api.%I to public', p.pol, p.tbl)
  from pol p
union all
select 'restrictive made permissive: ' || p.pol,
       format('drop policy %I on api.%I; create policy %I on api.%I as permissive for %s to %s%s%s',
              p.pol, p.tbl, p.pol, p.tbl, p.cmd, array_to_string(p.roles, ', '),
              case when p.qual is not null then format(' using (%s)', p.qual) else '' end,
              case when p.with_check is not null then format(' with check (%s)', p.with_check) else '' end)
  from pol p where p.permissive = 'RESTRICTIVE'
union all
select 'no FORCE: ' || t.tbl, format('alter table api.%I no force row level security', t.tbl) from tbl t
union all
select 'RLS disabled: ' || t.tbl, format('alter table api.%I disable row level security', t.tbl) from tbl t
order by 1;
