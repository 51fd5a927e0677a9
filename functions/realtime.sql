-- Realtime (docs/realtime.md): who may see a change is decided here, by PostgreSQL, from the
-- table's own policies and column grants. Re-runnable: `rowgate migrate` applies this file after
-- the migrations (sql/V30 creates the schema and the publication).
--
-- A change is a row image (the new row of an INSERT or UPDATE, the old row of a DELETE, taken
-- from the WAL with REPLICA IDENTITY FULL). The row may already be gone from the table, so the
-- check cannot be a SELECT of it: instead the table's SELECT policy predicate is rebuilt from
-- pg_policy, as the planner would add it, and evaluated over the image turned into a row of the
-- table's type, under the subscriber's role and claims (set by the gateway exactly as for a REST
-- request, with the same pre-request check). Every function here is SECURITY INVOKER: policies
-- that read `current_user`, the claims or other tables (memberships) must see the subscriber,
-- not a definer. None of them puts a value into SQL text: images and filter values are
-- parameters; the only text spliced in is the catalog's own policy expressions and identifiers
-- through format('%I') / regclass.

-- The SELECT predicate PostgreSQL applies to `tbl` for role `r`, as SQL text over a relation
-- aliased with the table's own name: 'true' when RLS does not apply to r (RLS off, superuser,
-- BYPASSRLS, owner of a table without FORCE), 'false' when no permissive policy applies (default
-- deny). Mirrors rowsecurity.c: SELECT ('r') and ALL ('*') policies whose roles include PUBLIC or
-- a role r has the privileges of; permissive quals ORed, restrictive ones ANDed; a policy without
-- a USING clause contributes nothing. pg_get_expr under search_path '' qualifies every name.
create or replace function realtime.policy_predicate(tbl regclass, r regrole) returns text
language plpgsql stable security invoker set search_path = ''
as $$
declare
  c record;
  perm text;
  restr text;
begin
  select cl.relrowsecurity, cl.relforcerowsecurity, cl.relowner, ro.rolsuper, ro.rolbypassrls
    into strict c
    from pg_catalog.pg_class cl, pg_catalog.pg_roles ro
   where cl.oid = tbl and ro.oid = r;
  if not c.relrowsecurity or c.rolsuper or c.rolbypassrls
     or (pg_catalog.pg_has_role(r, c.relowner, 'USAGE') and not c.relforcerowsecurity) then
    return 'true';
  end if;
  select pg_catalog.string_agg('(' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')', ' OR '
                               order by p.polname) filter (where p.polpermissive),
         pg_catalog.string_agg('(' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')', ' AND '
                               order by p.polname) filter (where not p.polpermissive)
    into perm, restr
    from pg_catalog.pg_policy p
   where p.polrelid = tbl
     and p.polcmd in ('r', '*')
     and p.polqual is not null
     and (0::oid = any (p.polroles)
          or exists (select from pg_catalog.unnest(p.polroles) x where pg_catalog.pg_has_role(r, x, 'USAGE')));
  if perm is null then
    return 'false';
  end if;
  return '(' || perm || ')' || coalesce(' AND ' || restr, '');
end
$$;

-- The statement the gateway prepares to check a batch for one subscriber of role `r`: $1 is a
-- jsonb array of row images, the result the 1-based positions visible, as an int[]. Each image
-- becomes a row of the table's type under the table's own name, so the policy text's column
-- references (qualified or not, whole-row ones too) bind to it; the image list's own columns
-- have names no table uses (`rowgate_rt_*`). The predicate sits in the statement's own WHERE, so
-- its `(select helper())` init plans run once per statement, not once per image.
create or replace function realtime.visibility_sql(tbl regclass, r regrole) returns text
language plpgsql stable security invoker set search_path = ''
as $$
declare
  nsp name;
  rel name;
begin
  select n.nspname, c.relname into strict nsp, rel
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.oid = tbl;
  return pg_catalog.format(
    'select coalesce(pg_catalog.array_agg(rowgate_rt_o.rowgate_rt_n order by rowgate_rt_o.rowgate_rt_n), ''{}'')::text '
    'from pg_catalog.jsonb_array_elements($1::jsonb) with ordinality as rowgate_rt_o(rowgate_rt_img, rowgate_rt_n) '
    'cross join lateral pg_catalog.jsonb_populate_record(null::%I.%I, rowgate_rt_o.rowgate_rt_img) as %I '
    'where %s',
    nsp, rel, rel, realtime.policy_predicate(tbl, r));
end
$$;

-- Columns of `tbl` role `r` may SELECT, in attnum order, with the type names realtime-js expects
-- (pg_type.typname: int4, timestamptz, _text): the only columns a subscriber of r receives.
create or replace function realtime.selectable_columns(tbl regclass, r regrole) returns jsonb
language sql stable security invoker set search_path = ''
as $$
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('name', a.attname, 'type', t.typname)
                                       order by a.attnum), '[]')
    from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid
   where a.attrelid = tbl and a.attnum > 0 and not a.attisdropped
     and pg_catalog.has_column_privilege(r, tbl, a.attnum, 'SELECT')
$$;

-- One batch of one table, as the gateway's own role (no subscriber involved): the images as
-- JSON values of the table's types (`to_jsonb` of the row: numbers, booleans, arrays, json), and
-- for each subscriber role its selectable columns and the current visibility statement (built
-- from the policies as they are now, so a policy change applies from the next batch on).
-- `images` holds the column values as the WAL's text (json/jsonb columns as JSON).
create or replace function realtime.batch(tbl regclass, images jsonb, roles text[]) returns jsonb
language plpgsql stable security invoker set search_path = ''
as $$
declare
  encoded jsonb;
  per_role jsonb;
begin
  execute pg_catalog.format(
    'select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r) order by o.n), ''[]'') '
    'from pg_catalog.jsonb_array_elements($1) with ordinality as o(img, n), '
    'pg_catalog.jsonb_populate_record(null::%s, o.img) as r', tbl)
    using images into encoded;
  select coalesce(pg_catalog.jsonb_object_agg(x.role, pg_catalog.jsonb_build_object(
           'columns', realtime.selectable_columns(tbl, x.role::regrole),
           'sql', realtime.visibility_sql(tbl, x.role::regrole))), '{}')
    into per_role
    from pg_catalog.unnest(roles) as x(role)
   where exists (select from pg_catalog.pg_roles ro where ro.rolname = x.role);
  return pg_catalog.jsonb_build_object('rows', encoded, 'roles', per_role);
end
$$;

-- The operators of subscription filters (realtime-js's classic seven; `in` is one `=` per value).
create or replace function realtime.filter_operator(op text) returns text
language sql immutable security invoker set search_path = ''
as $$
  select case op when 'eq' then '=' when 'neq' then '<>' when 'lt' then '<' when 'lte' then '<='
                 when 'gt' then '>' when 'gte' then '>=' when 'in' then '=' end
$$;

-- Which images match which filter values, for one column and operator of `tbl`: `vals[i]` is
-- compared with the image's column as values of the column's own type (each value is turned into
-- that type through a row of the table, so typmods and domains apply as on INSERT); the result is
-- [[image position, ids[i]], …]. A NULL column matches nothing.
create or replace function realtime.filter_matches(tbl regclass, col text, op text, images jsonb, vals text[],
                                                   ids int[]) returns jsonb
language plpgsql stable security invoker set search_path = ''
as $$
declare
  operator text := realtime.filter_operator(op);
  result jsonb;
begin
  if operator is null then
    raise exception 'unknown filter operator %', op using errcode = '22023';
  end if;
  execute pg_catalog.format(
    'with f as materialized ('
    '  select u.id, (pg_catalog.jsonb_populate_record(null::%1$s, pg_catalog.jsonb_build_object(%2$L, u.v))).%2$I as v'
    '    from rows from (pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::int[])) as u(v, id)) '
    'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(o.n, f.id)), ''[]'') '
    'from pg_catalog.jsonb_array_elements($1) with ordinality as o(img, n) '
    'cross join lateral pg_catalog.jsonb_populate_record(null::%1$s, o.img) as r '
    'join f on r.%2$I %3$s f.v', tbl, col, operator)
    using images, vals, ids into result;
  return result;
end
$$;

-- A subscription's binding, checked as the subscriber (under its role and claims, after the
-- pre-request check): the published tables it names (`*` for any schema or table), and, with a
-- filter, that the column exists, is readable by the subscriber and every value is of its type.
-- Raises with a client-safe message otherwise. Returns [{"oid", "schema", "table"}, …].
create or replace function realtime.subscribe(sch text, tbl text, col text, op text, vals text[]) returns jsonb
language plpgsql stable security invoker set search_path = ''
as $$
declare
  found jsonb;
  rel regclass;
  v text;
begin
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'oid', c.oid::bigint, 'schema', p.schemaname, 'table', p.tablename) order by p.schemaname, p.tablename), '[]')
    into found
    from pg_catalog.pg_publication_tables p
    join pg_catalog.pg_namespace n on n.nspname = p.schemaname
    join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relname = p.tablename
   where p.pubname = 'rowgate_realtime'
     and (sch = '*' or p.schemaname = sch)
     and (tbl = '*' or p.tablename = tbl);
  if pg_catalog.jsonb_array_length(found) = 0 then
    raise exception 'no published table matches schema %, table % (tables opt in through the publication rowgate_realtime)',
      pg_catalog.quote_literal(sch), pg_catalog.quote_literal(tbl) using errcode = '42P01';
  end if;
  if col is null then
    return found;
  end if;
  if tbl = '*' or sch = '*' then
    raise exception 'a filter needs one table, not a wildcard' using errcode = '22023';
  end if;
  if realtime.filter_operator(op) is null then
    raise exception 'unknown filter operator %', pg_catalog.quote_literal(op) using errcode = '22023';
  end if;
  rel := (found -> 0 ->> 'oid')::oid::regclass;
  if not exists (select from pg_catalog.pg_attribute a
                  where a.attrelid = rel and a.attname = col and a.attnum > 0 and not a.attisdropped) then
    raise exception 'column % does not exist in %', pg_catalog.quote_ident(col), rel using errcode = '42703';
  end if;
  if not pg_catalog.has_column_privilege(rel, col, 'SELECT') then
    raise exception 'permission denied for column % of %', pg_catalog.quote_ident(col), rel using errcode = '42501';
  end if;
  foreach v in array vals loop
    execute pg_catalog.format('select (pg_catalog.jsonb_populate_record(null::%s, pg_catalog.jsonb_build_object(%L, $1))).%I',
                              rel, col, col)
      using v;
  end loop;
  return found;
end
$$;

-- Who may call them: the gateway (batches, as itself) and the request roles (joins and checks
-- run under them). PUBLIC never may.
revoke all on function realtime.policy_predicate(regclass, regrole), realtime.visibility_sql(regclass, regrole),
  realtime.selectable_columns(regclass, regrole), realtime.batch(regclass, jsonb, text[]),
  realtime.filter_operator(text), realtime.filter_matches(regclass, text, text, jsonb, text[], int[]),
  realtime.subscribe(text, text, text, text, text[]) from public;
grant execute on function realtime.policy_predicate(regclass, regrole), realtime.visibility_sql(regclass, regrole),
  realtime.selectable_columns(regclass, regrole), realtime.batch(regclass, jsonb, text[]),
  realtime.filter_operator(text), realtime.filter_matches(regclass, text, text, jsonb, text[], int[])
  to authenticator;
grant execute on function realtime.filter_operator(text), realtime.subscribe(text, text, text, text, text[])
  to anon, authenticated, service_role;
