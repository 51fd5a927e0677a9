-- A policy calling a claim helper (a non-immutable function whose arguments are all constants,
-- such as internal.user_id(), auth.uid() or current_setting('request.jwt.claims', true)) outside
-- a scalar subquery: PostgreSQL then evaluates it once per row instead of once per statement.
-- `(select helper())` becomes an InitPlan, computed once.
--
-- The test runs on the deparsed expression (pg_get_expr, with search_path = '' so every name
-- outside pg_catalog is schema-qualified): string literals are blanked, each call whose arguments
-- are only constants is found, and the text before it is reduced by removing every closed
-- parenthesised group; the call is wrapped when an enclosing `( SELECT ` remains whose select
-- list holds it (no FROM/WHERE between them). Built-ins other than current_setting are cheap and
-- not reported.
with recursive
pattern (call) as (
  values ('(?:(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")\.)?(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")'
          || '\((?:(?:''''|true|false|NULL|-?[0-9]+(?:\.[0-9]+)?)(?:::(?:[a-z_][a-z0-9_ ]*|"(?:[^"]|"")+")(?:\[\])?)*'
          || '(?:, (?:''''|true|false|NULL|-?[0-9]+(?:\.[0-9]+)?)(?:::(?:[a-z_][a-z0-9_ ]*|"(?:[^"]|"")+")(?:\[\])?)*)*)?\)')
),
roles as (
  select r.oid from pg_roles r where r.rolname = any ($2::text[])
),
expressions as (
  select p.oid as polid, p.polname, n.nspname, c.relname, e.clause,
         regexp_replace(e.expr, '''(?:[^'']|'''')*''', '''''', 'g') as expr
    from pg_policy p
    join pg_class c on c.oid = p.polrelid
    join pg_namespace n on n.oid = c.relnamespace
   cross join lateral (values ('USING', pg_get_expr(p.polqual, p.polrelid)),
                              ('WITH CHECK', pg_get_expr(p.polwithcheck, p.polrelid))) e (clause, expr)
   where e.expr is not null
     and (n.nspname = any ($1::text[])
          or has_schema_privilege('public', n.oid, 'USAGE')
          or exists (select 1 from roles r where has_schema_privilege(r.oid, n.oid, 'USAGE')))
),
calls as (
  select x.polid, x.polname, x.nspname, x.relname, x.clause, k.n,
         regexp_instr(x.expr, pt.call, 1, k.n) as pos,
         regexp_substr(x.expr, pt.call, 1, k.n) as call,
         x.expr
    from expressions x
   cross join pattern pt
   cross join lateral generate_series(1, regexp_count(x.expr, pt.call)) k (n)
),
named as (
  select c.*, m[1] as qualifier, m[2] as name
    from calls c
   cross join lateral regexp_match(c.call, '^(?:([a-z_][a-z0-9_$]*|"(?:[^"]|"")+")\.)?([a-z_][a-z0-9_$]*|"(?:[^"]|"")+")\(') m
),
helpers as (
  select d.*
    from named d
   where exists (
     select 1
       from pg_proc f
       join pg_namespace fn on fn.oid = f.pronamespace
      where f.proname = case when d.name like '"%' then replace(btrim(d.name, '"'), '""', '"') else d.name end
        and fn.nspname = coalesce(case when d.qualifier like '"%' then replace(btrim(d.qualifier, '"'), '""', '"')
                                       else d.qualifier end, 'pg_catalog')
        and f.provolatile <> 'i'
        and (fn.nspname <> 'pg_catalog' or f.proname = 'current_setting'))
),
-- The text before each call, with quoted identifiers blanked, reduced until no closed group is left.
reduced (polid, clause, n, s, done) as (
  select h.polid, h.clause, h.n, regexp_replace(left(h.expr, h.pos - 1), '"(?:[^"]|"")*"', 'x', 'g'), false
    from helpers h
  union all
  select r.polid, r.clause, r.n, regexp_replace(r.s, '\([^()]*\)', '', 'g'), r.s !~ '\([^()]*\)'
    from reduced r
   where not r.done
),
unwrapped as (
  select h.*
    from helpers h
    join reduced r on r.polid = h.polid and r.clause = h.clause and r.n = h.n and r.done
   where coalesce(substring(r.s from '.*\( SELECT (.*)$') !~ '\m(FROM|WHERE)\M', false) is false
)
select format('policy %I on %I.%I', u.polname, u.nspname, u.relname) as object,
       format('%s calls %s once per row', string_agg(distinct u.clause, ' and '),
              string_agg(distinct regexp_replace(u.call, '\(.+\)$', '(…)'), ', ')) as message,
       format(E'alter policy %I on %I.%I%s%s;\n-- the same expression, each call wrapped in a scalar subquery (evaluated once per statement): %s',
              u.polname, u.nspname, u.relname,
              case when bool_or(u.clause = 'USING') then ' using (<expression>)' else '' end,
              case when bool_or(u.clause = 'WITH CHECK') then ' with check (<expression>)' else '' end,
              string_agg(distinct format('(select %s)', regexp_replace(u.call, '\(.+\)$', '(…)')), ', ')) as fix
  from unwrapped u
 group by u.polid, u.polname, u.nspname, u.relname
