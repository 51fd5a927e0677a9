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
           -- What `missing=default` evaluates for an absent key: the column DEFAULT, a domain's
           -- DEFAULT, the next value of an identity column's sequence; none for generated columns.
           'default', case
             when a.attgenerated <> '' then null
             when a.attidentity = 'd' then format('nextval(%L::regclass)', pg_get_serial_sequence(a.attrelid::regclass::text, a.attname))
             when d.adbin is null and t.typbasetype <> 0 then pg_get_expr(t.typdefaultbin, 0)
             else pg_get_expr(d.adbin, d.adrelid)
           end,
           'identity', a.attidentity::text,
           'generated', a.attgenerated <> '',
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
),
-- Functions of one argument of a relation's row type: computed fields (`full_name(people)`)
-- and, when they return rows of a relation, computed relationships (`rows 1`: to-one).
computed as (
  select n.nspname as schema, p.proname as name, ar.schema as rel_schema, ar.name as rel_name,
         format_type(p.prorettype, null) as type,
         format_type(coalesce(nullif(rt.typbasetype, 0), rt.oid), null) as base_type,
         coalesce(brt.typcategory, rt.typcategory)::text as category,
         p.proretset as returns_set,
         tr.schema as target_schema, tr.name as target_name,
         not p.proretset or p.prorows = 1 as single_row,
         obj_description(p.oid, 'pg_proc') as comment
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
  join pg_class ac on ac.reltype = p.proargtypes[0]
  join rels ar on ar.oid = ac.oid
  join pg_type rt on rt.oid = p.prorettype
  left join pg_type brt on brt.oid = nullif(rt.typbasetype, 0)
  left join pg_class tc on tc.reltype = p.prorettype
  left join rels tr on tr.oid = tc.oid
  where n.nspname = any($1::text[]) and p.prokind = 'f' and p.pronargs = 1
    and p.prorettype <> 'pg_catalog.void'::regtype
),
-- Domains named after a media type (`create domain "application/vnd.twkb" as bytea`).
media_types as (
  select t.oid, lower(t.typname) as media_type, format_type(t.typbasetype, null) as base_type,
         n.nspname as schema, t.typname as name
  from pg_type t join pg_namespace n on n.oid = t.typnamespace
  where t.typtype = 'd' and (t.typname ~ '^[A-Za-z0-9.-]+/[A-Za-z0-9.+-]+$' or t.typname = '*/*')
),
-- Media type handlers: aggregates over a relation's rows (or anyelement) returning a media type,
-- and functions returning one (their value is the body).
handlers as (
  select m.media_type, m.base_type, n.nspname as schema, p.proname as name,
         case when p.proargtypes[0] = 'pg_catalog.anyelement'::regtype then 'any' else 'relation' end as kind,
         r.schema as target_schema, r.name as target_name
  from pg_proc p
  join pg_aggregate g on g.aggfnoid = p.oid
  join media_types m on m.oid = p.prorettype
  join pg_namespace n on n.oid = p.pronamespace
  left join pg_class c on c.reltype = p.proargtypes[0]
  left join rels r on r.oid = c.oid
  where n.nspname = any($1::text[]) and p.pronargs = 1
    and (r.oid is not null or p.proargtypes[0] = 'pg_catalog.anyelement'::regtype)
  union all
  select m.media_type, m.base_type, m.schema, m.name, 'function', n.nspname, p.proname
  from pg_proc p
  join media_types m on m.oid = p.prorettype
  join pg_namespace n on n.oid = p.pronamespace
  where n.nspname = any($1::text[]) and p.prokind = 'f' and not p.proretset
),
-- `alter role … [in database …] set k = v` for the roles requests may switch to, applied per
-- transaction in the context statement. Only settings the gateway's role may set: user-level
-- parameters, placeholders (`plan_filter.…`), anything when it is a superuser.
role_kv as (
  select distinct on (s.setrole, kv.key) s.setrole, kv.key, kv.value
  from pg_db_role_setting s
  cross join lateral unnest(s.setconfig) cfg
  cross join lateral (select split_part(cfg, '=', 1) as key, substr(cfg, strpos(cfg, '=') + 1) as value) kv
  where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
    and pg_has_role(current_user, s.setrole, 'MEMBER')
  order by s.setrole, kv.key, s.setdatabase desc
),
role_settings as (
  select r.rolname as role,
         (array_agg(kv.value) filter (where kv.key = 'default_transaction_isolation'))[1] as isolation,
         coalesce(json_agg(json_build_array(kv.key, kv.value) order by kv.key)
                    filter (where kv.key <> 'default_transaction_isolation'), '[]') as settings
  from role_kv kv
  join pg_roles r on r.oid = kv.setrole
  left join pg_settings ps on ps.name = kv.key
  where case when ps.name is null then kv.key like '%.%'
             else ps.context = 'user' or (select rolsuper from pg_roles where rolname = current_user) end
  group by r.rolname
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
  'computed', coalesce((select json_agg(row_to_json(c)) from computed c), '[]'),
  'media_handlers', coalesce((select json_agg(row_to_json(h)) from handlers h), '[]'),
  'role_settings', coalesce((select json_agg(row_to_json(rs)) from role_settings rs), '[]'),
  -- `info.title`/`info.description` of the OpenAPI document.
  'schema_comments', coalesce((
    select json_object_agg(n.nspname, d) from pg_namespace n
    cross join lateral obj_description(n.oid, 'pg_namespace') d
    where n.nspname = any($1::text[]) and d is not null), '{}'),
  -- `application/geo+json` calls PostGIS's ST_AsGeoJSON, qualified with this schema.
  'postgis_schema', (select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace
                     where e.extname = 'postgis')
)::text
