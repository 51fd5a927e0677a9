-- One round trip: everything the planner needs about the exposed schemas, as one JSON document.
-- $1: the exposed schema names (text[]).
with rels as (
  select c.oid, n.nspname as schema, c.relname as name, c.relkind::text as kind,
         obj_description(c.oid, 'pg_class') as comment,
         pg_relation_is_updatable(c.oid::regclass, true) as updatable_mask
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = any($1::text[]) and c.relkind in ('r', 'v', 'm', 'f', 'p')
),
cols as (
  select a.attrelid,
         json_agg(json_build_object(
           'name', a.attname,
           'type', format_type(a.atttypid, a.atttypmod),
           'base_type', format_type(coalesce(nullif(t.typbasetype, 0), t.oid), null),
           'category', coalesce(bt.typcategory, t.typcategory)::text,
           'nullable', not a.attnotnull,
           'default', pg_get_expr(d.adbin, d.adrelid),
           'comment', col_description(a.attrelid, a.attnum)
         ) order by a.attnum) as columns
  from pg_attribute a
  join rels r on r.oid = a.attrelid
  join pg_type t on t.oid = a.atttypid
  left join pg_type bt on bt.oid = nullif(t.typbasetype, 0)
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  where a.attnum > 0 and not a.attisdropped
  group by a.attrelid
),
-- For simple views: which base column each view column reads (from the view's query tree),
-- so views embed through their base tables' keys.
view_cols as (
  select r.ev_class as view_oid,
         regexp_replace(m[1], '\\(.)', '\1', 'g') as view_column,
         m[2]::oid as base_oid,
         m[3]::int as base_attnum
  from pg_rewrite r
  join rels v on v.oid = r.ev_class and v.kind = 'v'
  cross join lateral regexp_matches(r.ev_action::text,
    ':resname (\S+) :ressortgroupref \d+ :resorigtbl (\d+) :resorigcol (\d+)', 'g') m
  where r.rulename = '_RETURN' and m[2] <> '0'
),
relevant as (
  select oid from rels union select base_oid from view_cols
),
keyed as (
  select con.conrelid, con.confrelid, con.conname, con.contype,
         (select array_agg(a.attname order by k.ord)
            from unnest(con.conkey) with ordinality k(num, ord)
            join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num) as columns,
         (select array_agg(a.attname order by k.ord)
            from unnest(con.confkey) with ordinality k(num, ord)
            join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.num) as ref_columns
  from pg_constraint con
  where con.contype in ('p', 'u', 'f')
    and (con.conrelid in (select oid from relevant) or con.confrelid in (select oid from relevant))
),
-- Keys per relation, grouped once: looking them up per relation in `keyed` took seconds at a few
-- thousand tables (every lookup scanned every key).
rel_keys as (
  select k.conrelid,
         (json_agg(k.columns) filter (where k.contype = 'p')) -> 0 as primary_key,
         json_agg(k.columns) filter (where k.contype = 'u') as uniques
  from keyed k
  where k.contype in ('p', 'u')
  group by k.conrelid
),
fns as (
  select n.nspname as schema, p.proname as name, p.provolatile::text as volatility,
         p.proretset as returns_set, p.provariadic <> 0 as variadic,
         format_type(p.prorettype, null) as return_type,
         rt.typtype::text as return_typtype,
         rn.nspname as return_rel_schema, rc.relname as return_rel_name,
         p.pronargs as nargs, p.pronargdefaults as nargdefaults,
         -- rowgate's own function options (`create function … set rowgate.stream = 'json'`).
         (select substr(c, length('rowgate.stream=') + 1) from unnest(p.proconfig) c
           where c like 'rowgate.stream=%' limit 1) as stream,
         (select substr(c, length('rowgate.rate_limit=') + 1) from unnest(p.proconfig) c
           where c like 'rowgate.rate_limit=%' limit 1) as rate_limit,
         obj_description(p.oid, 'pg_proc') as comment,
         coalesce((
           select json_agg(json_build_object(
                    'name', coalesce(p.proargnames[a.i], ''),
                    'type', format_type(a.t, null),
                    'mode', coalesce(p.proargmodes[a.i], 'i')) order by a.i)
           from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality a(t, i)
         ), '[]') as args
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
  join pg_type rt on rt.oid = p.prorettype
  left join pg_class rc on rc.oid = rt.typrelid
  left join pg_namespace rn on rn.oid = rc.relnamespace
  where n.nspname = any($1::text[]) and p.prokind = 'f'
)
select json_build_object(
  'relations', coalesce((
    select json_agg(json_build_object(
      'schema', r.schema, 'name', r.name, 'kind', r.kind, 'comment', r.comment,
      'updatable_mask', r.updatable_mask,
      'columns', coalesce(c.columns, '[]'),
      'primary_key', coalesce(rk.primary_key, '[]'),
      'unique', coalesce(rk.uniques, '[]')
    ))
    from rels r left join cols c on c.attrelid = r.oid left join rel_keys rk on rk.conrelid = r.oid), '[]'),
  'view_columns', coalesce((
    select json_agg(json_build_object(
      'view_schema', v.schema, 'view', v.name, 'column', vc.view_column,
      'schema', bn.nspname, 'table', bc.relname, 'base_column', a.attname))
    from view_cols vc
    join rels v on v.oid = vc.view_oid
    join pg_class bc on bc.oid = vc.base_oid join pg_namespace bn on bn.oid = bc.relnamespace
    join pg_attribute a on a.attrelid = vc.base_oid and a.attnum = vc.base_attnum), '[]'),
  'keys', coalesce((
    select json_agg(json_build_object('schema', n.nspname, 'table', c.relname, 'kind', k.contype::text, 'columns', k.columns))
    from keyed k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
    where k.contype in ('p', 'u')), '[]'),
  'foreign_keys', coalesce((
    select json_agg(json_build_object(
      'name', k.conname,
      'schema', sn.nspname, 'table', s.relname, 'columns', k.columns,
      'ref_schema', tn.nspname, 'ref_table', t.relname, 'ref_columns', k.ref_columns))
    from keyed k
    join pg_class s on s.oid = k.conrelid join pg_namespace sn on sn.oid = s.relnamespace
    join pg_class t on t.oid = k.confrelid join pg_namespace tn on tn.oid = t.relnamespace
    where k.contype = 'f'), '[]'),
  'functions', coalesce((select json_agg(row_to_json(f)) from fns f), '[]'),
  -- For validating `Prefer: timezone=` without a query per request.
  'timezones', (select json_agg(name) from pg_catalog.pg_timezone_names)
)::text
