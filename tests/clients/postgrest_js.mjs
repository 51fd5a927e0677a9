// Runs @supabase/postgrest-js (the PostgREST client inside supabase-js) against a running rowgate
// and asserts what PostgREST itself would answer.
//
//   node tests/clients/postgrest_js.mjs <base-url> <jwt>      (or ROWGATE_URL / ROWGATE_TOKEN)
//
// Needs the tables and functions of tests/fixtures/clients.sql (plus api.films/api.directors from
// tests/fixtures/reads.sql) in a fresh database: the reads see the fixture rows as loaded, the
// writes at the end change them in a fixed order. Every check runs; each failure is printed with
// the HTTP exchanges the client made for it, and the exit status is 1 if any check failed.
// ROWGATE_CLIENT_TRACE=1 prints every exchange.

import assert from 'node:assert/strict';
import { PostgrestClient } from '@supabase/postgrest-js';

const url = process.argv[2] ?? process.env.ROWGATE_URL;
const jwt = process.argv[3] ?? process.env.ROWGATE_TOKEN;
if (!url || !jwt) {
  console.error('usage: node postgrest_js.mjs <base-url> <jwt>   (or ROWGATE_URL and ROWGATE_TOKEN)');
  process.exit(2);
}
const trace = process.env.ROWGATE_CLIENT_TRACE === '1';

// Every request the client sends, with the answer, for the check that is running.
let exchanges = [];
async function recordingFetch(input, init = {}) {
  const res = await fetch(input, init);
  const headers = Object.fromEntries(new Headers(init.headers ?? {}));
  if (headers.authorization) headers.authorization = 'Bearer <jwt>';
  exchanges.push({
    request: `${init.method ?? 'GET'} ${String(input)}`,
    headers,
    body: init.body ?? null,
    status: res.status,
    responseHeaders: Object.fromEntries(res.headers),
    responseBody: init.method === 'HEAD' ? '' : await res.clone().text(),
  });
  return res;
}

const db = new PostgrestClient(url, {
  headers: { Authorization: 'Bearer ' + jwt },
  fetch: recordingFetch,
});

const failures = [];
let passed = 0;

async function check(name, body) {
  exchanges = [];
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name}`);
    if (trace) printExchanges();
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}`);
    console.log(indent(e instanceof assert.AssertionError ? e.message : (e?.stack ?? String(e))));
    printExchanges();
  }
}

function printExchanges() {
  for (const x of exchanges) console.log(indent(JSON.stringify(x, null, 2)));
}

function indent(text) {
  return String(text).replace(/^/gm, '     ');
}

/// A successful response: no error, the expected status, and its data.
function ok(res, status = 200) {
  assert.equal(res.error, null, `unexpected error: ${JSON.stringify(res.error)}`);
  assert.equal(res.status, status, `status ${res.status} ${res.statusText}`);
  return res.data;
}

const todos = () => db.from('client_todos');

// ------------------------------------------------------------------ reads (fixture rows as loaded)

await check('select with .eq', async () => {
  const data = ok(await todos().select('id, slug').eq('done', false).order('id'));
  assert.deepEqual(data, [
    { id: 1, slug: 'buy-milk' },
    { id: 3, slug: 'call-bob' },
    { id: 4, slug: 'water-plants' },
  ]);
});

await check('select with .gt', async () => {
  const data = ok(await todos().select('slug, priority').gt('priority', 3).order('priority'));
  assert.deepEqual(data, [
    { slug: 'read-book', priority: 4 },
    { slug: 'write-report', priority: 5 },
  ]);
});

await check('select with .in', async () => {
  const data = ok(await todos().select('id').in('slug', ['call-bob', 'read-book', 'no-such']).order('id'));
  assert.deepEqual(data, [{ id: 3 }, { id: 5 }]);
});

await check('select with .like and .ilike', async () => {
  assert.deepEqual(ok(await todos().select('title').like('title', '%milk%')), [{ title: 'Buy milk' }]);
  assert.deepEqual(ok(await todos().select('id').ilike('title', 'WRITE%')), [{ id: 2 }]);
});

await check('select with .or', async () => {
  const data = ok(await todos().select('slug').or('priority.gt.4,slug.eq.call-bob').order('id'));
  assert.deepEqual(data, [{ slug: 'write-report' }, { slug: 'call-bob' }]);
});

await check('select with .is, .neq and .not', async () => {
  assert.deepEqual(ok(await todos().select('id').is('tag_id', null)), [{ id: 5 }]);
  const data = ok(await todos().select('id').neq('tag_id', 2).not('done', 'is', true).order('id'));
  assert.deepEqual(data, [{ id: 1 }, { id: 4 }]);
});

await check("embedding: select('title, directors(last_name)')", async () => {
  const data = ok(await db.from('films').select('title, directors(last_name)').in('id', [1, 4]).order('id'));
  assert.deepEqual(data, [
    { title: 'Lost in Translation', directors: { last_name: 'Coppola' } },
    { title: 'Orphan Film', directors: null },
  ]);
});

await check('embedding: one-to-many with an order on the embed', async () => {
  const data = ok(
    await db
      .from('client_tags')
      .select('name, client_todos(slug)')
      .in('id', [1, 3])
      .order('id')
      .order('priority', { referencedTable: 'client_todos', ascending: false }),
  );
  assert.deepEqual(data, [
    { name: 'home', client_todos: [{ slug: 'buy-milk' }, { slug: 'water-plants' }] },
    { name: 'unused', client_todos: [] },
  ]);
});

await check('embedding: !inner with a filter on the embed', async () => {
  const films = ok(
    await db
      .from('films')
      .select('title, directors!inner(last_name)')
      .eq('directors.last_name', 'Coppola')
      .order('year'),
  );
  assert.deepEqual(films, [
    { title: 'The Virgin Suicides', directors: { last_name: 'Coppola' } },
    { title: 'Lost in Translation', directors: { last_name: 'Coppola' } },
  ]);
  const data = ok(await todos().select('slug, client_tags!inner(name)').eq('client_tags.name', 'work').order('id'));
  assert.deepEqual(data, [
    { slug: 'write-report', client_tags: { name: 'work' } },
    { slug: 'call-bob', client_tags: { name: 'work' } },
  ]);
});

await check('.single() with one row is an object', async () => {
  const data = ok(await todos().select('slug, title').eq('slug', 'call-bob').single());
  assert.deepEqual(data, { slug: 'call-bob', title: 'Call Bob' });
});

await check('.single() with zero rows is error PGRST116', async () => {
  const res = await todos().select('slug').eq('slug', 'no-such').single();
  assert.equal(res.data, null);
  assert.equal(res.error?.code, 'PGRST116', `error: ${JSON.stringify(res.error)}`);
  assert.equal(res.status, 406);
});

await check('.single() with two rows is error PGRST116', async () => {
  const res = await todos().select('slug').eq('done', true).single();
  assert.equal(res.data, null);
  assert.equal(res.error?.code, 'PGRST116', `error: ${JSON.stringify(res.error)}`);
  assert.equal(res.status, 406);
});

await check('.maybeSingle() with zero rows is null data and no error', async () => {
  const res = await todos().select('slug').eq('slug', 'no-such').maybeSingle();
  assert.equal(ok(res), null);
});

await check('.maybeSingle() with one row is an object', async () => {
  const data = ok(await todos().select('id').eq('slug', 'read-book').maybeSingle());
  assert.deepEqual(data, { id: 5 });
});

await check(".range(0, 1) with { count: 'exact' }", async () => {
  const res = await todos().select('id', { count: 'exact' }).order('id').range(0, 1);
  assert.deepEqual(ok(res, 206), [{ id: 1 }, { id: 2 }]);
  assert.equal(res.count, 5);
});

await check("{ count: 'exact', head: true }", async () => {
  const res = await todos().select('*', { count: 'exact', head: true }).eq('done', false);
  assert.equal(ok(res), null);
  assert.equal(res.count, 3);
});

await check('.csv()', async () => {
  const data = ok(await todos().select('id, slug, done, tag_id').gte('id', 4).order('id').csv());
  // PostgREST writes each row as Postgres' text form of the record: booleans are t/f, NULL is empty.
  assert.equal(data, 'id,slug,done,tag_id\n4,water-plants,f,1\n5,read-book,t,');
});

await check('.order() and .limit()', async () => {
  const data = ok(await todos().select('slug').order('priority', { ascending: false }).limit(2));
  assert.deepEqual(data, [{ slug: 'write-report' }, { slug: 'read-book' }]);
  const nulls = ok(await todos().select('id').order('tag_id', { nullsFirst: true }).order('id').limit(3));
  assert.deepEqual(nulls, [{ id: 5 }, { id: 1 }, { id: 4 }]);
});

await check('rpc GET returning a scalar', async () => {
  assert.equal(ok(await db.rpc('client_add', { a: 2, b: 3 }, { get: true })), 5);
});

await check('rpc POST returning a scalar', async () => {
  assert.equal(ok(await db.rpc('client_add', { a: 40, b: 2 })), 42);
});

await check('rpc GET returning a table, with .eq on the result', async () => {
  const data = ok(await db.rpc('client_todos_tagged', { tag: 'work' }, { get: true }).select('slug').eq('done', false));
  assert.deepEqual(data, [{ slug: 'call-bob' }]);
});

await check('rpc POST returning a table, with .eq, .order and count', async () => {
  const res = await db
    .rpc('client_todos_tagged', { tag: 'home' }, { count: 'exact' })
    .select('slug, done')
    .eq('done', false)
    .order('priority');
  assert.deepEqual(ok(res), [
    { slug: 'water-plants', done: false },
    { slug: 'buy-milk', done: false },
  ]);
  assert.equal(res.count, 2);
});

await check('rpc POST returning a table, .single()', async () => {
  const data = ok(await db.rpc('client_todos_tagged', { tag: 'work' }).select('id').eq('slug', 'write-report').single());
  assert.deepEqual(data, { id: 2 });
});

// ------------------------------------------------------------------ parity round 2 (issue 15): reads

await check('a computed field: selected, filtered and ordered', async () => {
  const data = ok(await todos().select('slug, label:client_label').ilike('client_label', '%#5').order('client_label'));
  assert.deepEqual(data, [{ slug: 'write-report', label: 'write-report#5' }]);
  const ordered = ok(await todos().select('id').gte('priority', 4).order('client_label', { ascending: false }));
  assert.deepEqual(ordered, [{ id: 2 }, { id: 5 }]);
});

await check('embedding by foreign-key constraint name and by column', async () => {
  const byName = ok(await todos().select('slug, tag:client_todos_tag_id_fkey(name)').in('id', [1, 5]).order('id'));
  assert.deepEqual(byName, [
    { slug: 'buy-milk', tag: { name: 'home' } },
    { slug: 'read-book', tag: null },
  ]);
  const byColumn = ok(await todos().select('slug, tag_id(name)').eq('id', 2));
  assert.deepEqual(byColumn, [{ slug: 'write-report', tag_id: { name: 'work' } }]);
});

await check("rel(count) counts the embedded rows", async () => {
  const data = ok(await db.from('client_tags').select('name, client_todos(count)').order('id'));
  assert.deepEqual(data, [
    { name: 'home', client_todos: [{ count: 2 }] },
    { name: 'work', client_todos: [{ count: 2 }] },
    { name: 'unused', client_todos: [{ count: 0 }] },
  ]);
});

// ------------------------------------------------------------------ writes, in this order
// Each check leans on earlier writes only through single-row operations, so one broken feature
// fails its own checks and not everything after it.

const openCount = async () => (await todos().select('*', { count: 'exact', head: true }).eq('done', false)).count;

await check('insert with .select() returns the inserted row', async () => {
  const data = ok(await todos().insert({ slug: 'new-task', title: 'New task', priority: 7 }).select(), 201);
  assert.deepEqual(data, [{ id: 6, slug: 'new-task', title: 'New task', done: false, priority: 7, tag_id: null }]);
});

await check('bulk insert with defaultToNull: false (columns + missing=default)', async () => {
  const res = await todos()
    .insert(
      [
        { slug: 'bulk-a', title: 'A', priority: 1 },
        { slug: 'bulk-b', title: 'B', priority: 2, tag_id: 2 },
      ],
      { defaultToNull: false },
    )
    .select('slug, done, tag_id');
  assert.deepEqual(ok(res, 201), [
    { slug: 'bulk-a', done: false, tag_id: null },
    { slug: 'bulk-b', done: false, tag_id: 2 },
  ]);
});

await check('insert without .select() is 201 with no data', async () => {
  const res = await todos().insert({ slug: 'quiet', title: 'Quiet', priority: 0 });
  assert.equal(ok(res, 201), null);
  const del = await todos().delete().eq('slug', 'quiet');
  assert.equal(ok(del, 204), null);
});

await check('insert violating the unique slug is error 23505 (409)', async () => {
  const res = await todos().insert({ slug: 'buy-milk', title: 'dup', priority: 1 }).select();
  assert.equal(res.data, null);
  assert.equal(res.error?.code, '23505', `error: ${JSON.stringify(res.error)}`);
  assert.equal(res.status, 409);
});

await check("upsert with onConflict: 'slug' merges into the existing row", async () => {
  const before = (await todos().select('*', { count: 'exact', head: true })).count;
  // 200, not 201: PostgREST answers 200 when a merge-duplicates upsert inserted nothing (PostgREST#2926).
  const res = await todos().upsert({ slug: 'buy-milk', title: 'Buy oat milk', priority: 9 }, { onConflict: 'slug' }).select();
  assert.deepEqual(ok(res, 200), [{ id: 1, slug: 'buy-milk', title: 'Buy oat milk', done: false, priority: 9, tag_id: 1 }]);
  const after = (await todos().select('*', { count: 'exact', head: true })).count;
  assert.equal(after, before, 'the upsert must not add a row');
});

await check('bulk upsert with onConflict merges one row and inserts another', async () => {
  const res = await todos()
    .upsert(
      [
        { slug: 'call-bob', title: 'Call Bob today', priority: 3 },
        { slug: 'fresh', title: 'Fresh', priority: 6 },
      ],
      { onConflict: 'slug', defaultToNull: false },
    )
    .select('slug, title, done, tag_id');
  const data = ok(res, 201);
  assert.deepEqual(
    [...data].sort((x, y) => x.slug.localeCompare(y.slug)),
    [
      { slug: 'call-bob', title: 'Call Bob today', done: false, tag_id: 2 },
      { slug: 'fresh', title: 'Fresh', done: false, tag_id: null },
    ],
  );
  assert.equal(ok(await todos().select('id').eq('slug', 'call-bob').single()).id, 3, 'merged, not re-inserted');
});

await check('upsert with ignoreDuplicates leaves the row alone', async () => {
  const before = ok(await todos().select().eq('slug', 'buy-milk').single());
  const res = await todos()
    .upsert({ slug: 'buy-milk', title: 'ignored', priority: 0 }, { onConflict: 'slug', ignoreDuplicates: true })
    .select();
  assert.deepEqual(ok(res, 201), []);
  assert.deepEqual(ok(await todos().select().eq('slug', 'buy-milk').single()), before);
});

await check('update with a filter and .select()', async () => {
  const res = await todos().update({ done: true, priority: 10 }).eq('slug', 'water-plants').select('slug, done, priority');
  assert.deepEqual(ok(res), [{ slug: 'water-plants', done: true, priority: 10 }]);
});

await check('update without .select() is 204', async () => {
  const res = await todos().update({ title: 'New task!' }).eq('slug', 'new-task');
  assert.equal(ok(res, 204), null);
  assert.deepEqual(ok(await todos().select('title').eq('slug', 'new-task').single()), { title: 'New task!' });
});

await check('delete with a filter', async () => {
  const res = await todos().delete().eq('slug', 'read-book');
  assert.equal(ok(res, 204), null);
  assert.equal(ok(await todos().select('id').eq('slug', 'read-book').maybeSingle()), null);
});

await check('delete with a filter and .select() returns the deleted rows', async () => {
  ok(await todos().insert({ slug: 'tmp-1', title: 'T1', priority: 0 }), 201);
  ok(await todos().insert({ slug: 'tmp-2', title: 'T2', priority: 0 }), 201);
  const data = ok(await todos().delete().in('slug', ['tmp-1', 'tmp-2']).select('slug').order('slug'));
  assert.deepEqual(data, [{ slug: 'tmp-1' }, { slug: 'tmp-2' }]);
  assert.equal(ok(await todos().select('id').like('slug', 'tmp-%')).length, 0);
});

await check('rpc POST of a volatile function writes', async () => {
  const before = await openCount();
  assert.equal(ok(await db.rpc('client_finish', { todo_slug: 'call-bob' })), before - 1);
  assert.equal(ok(await todos().select('done').eq('slug', 'call-bob').single()).done, true);
});

// ------------------------------------------------------------------ parity round 2 (issue 15): writes
// On rows of their own (slugs `count-…`, `purge-…`), removed again: the final state is unchanged.

await check("counts on writes: insert, update and delete with { count: 'exact' }", async () => {
  const rows = [
    { slug: 'count-a', title: 'A', priority: 0 },
    { slug: 'count-b', title: 'B', priority: 0 },
  ];
  const ins = await todos().insert(rows, { count: 'exact' });
  assert.equal(ok(ins, 201), null);
  assert.equal(ins.count, 2);
  const upd = await todos().update({ done: true }, { count: 'exact' }).like('slug', 'count-%');
  assert.equal(ok(upd, 204), null);
  assert.equal(upd.count, 2);
  const del = await todos().delete({ count: 'exact' }).like('slug', 'count-%');
  assert.equal(ok(del, 204), null);
  assert.equal(del.count, 2);
});

await check('max-affected on an RPC: exceeding it fails with PGRST124 and rolls back', async () => {
  const rows = ['purge-1', 'purge-2', 'purge-3'].map((slug) => ({ slug, title: slug, priority: 0 }));
  assert.equal((await todos().insert(rows, { count: 'exact' })).count, 3);
  const res = await db.rpc('client_purge', { prefix: 'purge-' }).maxAffected(2);
  assert.equal(res.data, null);
  assert.equal(res.error?.code, 'PGRST124', `error: ${JSON.stringify(res.error)}`);
  assert.equal(res.error?.details, 'The query affects 3 rows');
  assert.equal(res.status, 400);
  assert.equal(ok(await todos().select('id').like('slug', 'purge-%')).length, 3, 'rolled back');
  const done = await db.rpc('client_purge', { prefix: 'purge-' }).select('slug').order('slug').maxAffected(3);
  assert.deepEqual(ok(done), [{ slug: 'purge-1' }, { slug: 'purge-2' }, { slug: 'purge-3' }]);
  assert.equal(ok(await todos().select('id').like('slug', 'purge-%')).length, 0);
});

await check('final state', async () => {
  const slugs = ['buy-milk', 'write-report', 'call-bob', 'water-plants', 'read-book', 'new-task'];
  const data = ok(await todos().select('slug, done, priority').in('slug', slugs).order('slug'));
  assert.deepEqual(data, [
    { slug: 'buy-milk', done: false, priority: 9 },
    { slug: 'call-bob', done: true, priority: 3 },
    { slug: 'new-task', done: false, priority: 7 },
    { slug: 'water-plants', done: true, priority: 10 },
    { slug: 'write-report', done: true, priority: 5 },
  ]);
});

console.log(`postgrest-js: ${passed} passed, ${failures.length} failed`);
if (failures.length > 0) {
  console.log(`failed: ${failures.join('; ')}`);
  process.exit(1);
}
