// Runs @supabase/supabase-js's realtime client, unchanged, against rowgate's /realtime/v1:
// `channel().on('postgres_changes', …).subscribe()` as users of two orgs, with writes made through
// supabase-js's REST client as those users.
//
//   node tests/clients/supabase_realtime.mjs <origin> <anon-key>
//
// Needs what tests/it/realtime/supabase_js.rs sets up: the tenant world (tests/it/tenants.rs)
// with the password 'realtime-pw' for everyone, realtime on with ROWGATE_REALTIME_RECHECK=1s and
// the pre-request check. Steps that need the test to act (restart PostgreSQL, restart rowgate)
// print `STEP <name>` on stdout and wait for a line on stdin. Every check that fails is printed;
// the exit status is 1 if any did. Node 20 has no global WebSocket: the `ws` package is the
// transport (realtime-js's documented option), which is the only thing configured.

import assert from 'node:assert/strict';
import readline from 'node:readline';
import WebSocket from 'ws';
import { createClient } from '@supabase/supabase-js';

const origin = process.argv[2];
const anonKey = process.argv[3];
if (!origin || !anonKey) {
  console.error('usage: node supabase_realtime.mjs <origin> <anon-key>');
  process.exit(2);
}
const ORG_A = '0a000000-0000-0000-0000-000000000000';
const ORG_B = '0b000000-0000-0000-0000-000000000000';
const PROJ_A = '1a000000-0000-0000-0000-000000000001';
const PROJ_B = '1b000000-0000-0000-0000-000000000001';
const PASSWORD = 'realtime-pw';
const TASKS = { event: '*', schema: 'api', table: 'tasks' };

const failures = [];
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}

const lines = readline.createInterface({ input: process.stdin });
const pendingLines = [];
const waiters = [];
lines.on('line', (l) => (waiters.length ? waiters.shift()(l) : pendingLines.push(l)));
/** Asks the test to act and waits until it has. */
async function step(name) {
  console.log(`STEP ${name}`);
  const answer = pendingLines.length ? pendingLines.shift() : await new Promise((r) => waiters.push(r));
  assert.equal(answer, 'ok', `the test could not ${name}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, pred, ms = 8000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (pred()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function client(vsn, options = {}) {
  return createClient(origin, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    db: { schema: 'api' },
    realtime: { transport: WebSocket, vsn, heartbeatIntervalMs: 5000 },
    ...options,
  });
}

async function signedIn(email, vsn) {
  const c = client(vsn);
  const { error } = await c.auth.signInWithPassword({ email, password: PASSWORD });
  if (error) throw new Error(`sign-in of ${email}: ${error.message}`);
  return c;
}

/** Subscribes a channel; resolves once SUBSCRIBED. Records events, system messages and statuses. */
async function subscribe(c, name, binding = TASKS) {
  const rec = { events: [], system: [], statuses: [], errors: [] };
  rec.channel = c
    .channel(name)
    .on('postgres_changes', binding, (p) => rec.events.push(p))
    .on('system', {}, (p) => rec.system.push(p))
    .subscribe((status, err) => {
      rec.statuses.push(status);
      if (err) rec.errors.push(String(err.message ?? err));
    });
  await until(`${name} SUBSCRIBED`, () => rec.statuses.includes('SUBSCRIBED') || rec.statuses.includes('CHANNEL_ERROR'));
  assert.deepEqual(rec.errors, [], `${name}: ${rec.errors}`);
  await until(`${name}'s "Subscribed to PostgreSQL"`, () => rec.system.some((s) => s.message === 'Subscribed to PostgreSQL'));
  return rec;
}

async function insertTask(c, org, project, title) {
  const { data, error } = await c.from('tasks').insert({ org_id: org, project_id: project, title }).select().single();
  if (error) throw new Error(`insert ${title}: ${error.message}`);
  return data;
}

/** Retries a write while rowgate or PostgreSQL come back. */
async function eventually(fn, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(250);
    }
  }
}

const kinds = (rec) => rec.events.map((e) => `${e.eventType} ${e.new.title ?? e.old.title}`);

const a1 = await signedIn('member@a.test', '2.0.0');
const a2 = await signedIn('viewer@a.test', '1.0.0');
const b = await signedIn('owner@b.test', '2.0.0');
const ownerA = await signedIn('owner@a.test', '2.0.0');

let recA1, recA2, recB, recFiltered;
await check('three users subscribe (vsn 2.0.0 and 1.0.0) and reach SUBSCRIBED once live', async () => {
  recA1 = await subscribe(a1, 'tasks-a1');
  recA2 = await subscribe(a2, 'tasks-a2');
  recB = await subscribe(b, 'tasks-b');
  recFiltered = await subscribe(a1, 'tasks-filtered', { event: 'INSERT', schema: 'api', table: 'tasks', filter: 'title=eq.filtered' });
});

await check("A's INSERT, UPDATE and DELETE reach both A subscribers with their payload, never B", async () => {
  const t = await insertTask(a1, ORG_A, PROJ_A, 'hello');
  const { error: ue } = await a1.from('tasks').update({ title: 'hello2', done: true }).eq('id', t.id);
  if (ue) throw new Error(ue.message);
  const { error: de } = await a1.from('tasks').delete().eq('id', t.id);
  if (de) throw new Error(de.message);
  for (const rec of [recA1, recA2]) {
    await until('three events', () => rec.events.length >= 3);
    assert.deepEqual(kinds(rec), ['INSERT hello', 'UPDATE hello2', 'DELETE hello2']);
    const [ins, upd, del] = rec.events;
    assert.equal(ins.schema, 'api');
    assert.equal(ins.table, 'tasks');
    assert.match(ins.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(ins.errors, null);
    assert.deepEqual(ins.old, {});
    assert.equal(ins.new.id, t.id);
    assert.equal(ins.new.org_id, ORG_A);
    assert.equal(ins.new.done, false);
    assert.equal(upd.new.done, true);
    assert.equal(upd.old.title, 'hello');
    assert.deepEqual(del.new, {});
    assert.equal(del.old.id, t.id);
  }
  await sleep(1500);
  assert.deepEqual(kinds(recB), [], 'org B heard of org A');
});

await check("B's own change reaches B only; the filter passes only matching rows", async () => {
  await insertTask(b, ORG_B, PROJ_B, 'b-only');
  await insertTask(a1, ORG_A, PROJ_A, 'filtered');
  await until("B's insert", () => recB.events.length >= 1);
  await until('the filtered insert', () => recFiltered.events.length >= 1);
  await until("A's insert", () => recA1.events.length >= 4);
  await sleep(1000);
  assert.deepEqual(kinds(recB), ['INSERT b-only']);
  assert.deepEqual(kinds(recFiltered), ['INSERT filtered'], 'the filter');
  assert.ok(!kinds(recA1).includes('INSERT b-only') && !kinds(recA2).includes('INSERT b-only'), "A heard of B's row");
});

await check('a refreshed token keeps the channel; a token of another org switches what it receives', async () => {
  const { error } = await a1.auth.refreshSession();
  if (error) throw new Error(error.message);
  await sleep(300);
  const before = recA1.events.length;
  await insertTask(a1, ORG_A, PROJ_A, 'after-refresh');
  await until('the insert after the refresh', () => recA1.events.length > before);
  assert.equal(recA1.channel.state, 'joined');
  // A2's client now speaks with B's token: B's rows arrive there, A's do not.
  const { data } = await b.auth.getSession();
  a2.realtime.setAuth(data.session.access_token);
  await sleep(500);
  const n = recA2.events.length;
  await insertTask(a1, ORG_A, PROJ_A, 'a-after-switch');
  await insertTask(b, ORG_B, PROJ_B, 'b-after-switch');
  await until("B's row on A2's channel", () => recA2.events.length > n);
  await sleep(1000);
  assert.deepEqual(kinds(recA2).slice(n), ['INSERT b-after-switch']);
});

await check("logout elsewhere (scope 'others') closes the channel of the revoked session", async () => {
  const a1b = await signedIn('member@a.test', '2.0.0');
  const rec = await subscribe(a1b, 'tasks-a1b');
  const { error } = await a1.auth.signOut({ scope: 'others' });
  if (error) throw new Error(error.message);
  await until('CLOSED', () => rec.statuses.includes('CLOSED'), 8000);
  assert.ok(rec.system.some((s) => s.status === 'error' && /revoked/i.test(s.message)), JSON.stringify(rec.system));
  const n = rec.events.length;
  await insertTask(a1, ORG_A, PROJ_A, 'after-logout');
  await until("A1's own copy", () => recA1.events.some((e) => e.new.title === 'after-logout'));
  await sleep(1000);
  assert.equal(rec.events.length, n, 'an event reached a revoked session');
});

await check('a revoked API token stops its subscription', async () => {
  const { data: created, error } = await ownerA.rpc('create_api_token', { org: ORG_A, name: 'realtime', role: 'member' });
  if (error) throw new Error(error.message);
  const tok = client('2.0.0', { accessToken: async () => created.token });
  // With an accessToken callback, realtime-js fetches the token on connect; setAuth() fetches it
  // now, so the join carries it (otherwise the first heartbeat sends it with access_token).
  await tok.realtime.setAuth();
  const rec = await subscribe(tok, 'tasks-token');
  await insertTask(a1, ORG_A, PROJ_A, 'seen-by-token');
  await until('the token sees A', () => rec.events.length >= 1);
  const { error: re } = await ownerA.rpc('revoke_api_token', { org: ORG_A, id: created.id });
  if (re) throw new Error(re.message);
  await until('CLOSED', () => rec.statuses.includes('CLOSED'), 8000);
  await insertTask(a1, ORG_A, PROJ_A, 'after-revoke');
  await until("A1's copy", () => recA1.events.some((e) => e.new.title === 'after-revoke'));
  await sleep(1000);
  assert.deepEqual(kinds(rec), ['INSERT seen-by-token']);
  tok.removeAllChannels();
});

await check('removeChannel leaves: nothing arrives afterwards', async () => {
  const extra = await subscribe(a1, 'tasks-leave');
  assert.equal(await a1.removeChannel(extra.channel), 'ok');
  await insertTask(a1, ORG_A, PROJ_A, 'after-leave');
  await until("A1's copy", () => recA1.events.some((e) => e.new.title === 'after-leave'));
  await sleep(800);
  assert.deepEqual(extra.events, []);
});

await check('a restart of PostgreSQL is survived', async () => {
  await step('restart-postgres');
  await eventually(() => insertTask(a1, ORG_A, PROJ_A, 'after-pg-restart'));
  await until('delivery after the PostgreSQL restart', () => recA1.events.some((e) => e.new.title === 'after-pg-restart'), 20000);
});

await check('a restart of rowgate is survived (clients reconnect and rejoin)', async () => {
  const subscribedBefore = recA1.statuses.filter((s) => s === 'SUBSCRIBED').length;
  await step('restart-rowgate');
  await until('A1 rejoined', () => recA1.statuses.filter((s) => s === 'SUBSCRIBED').length > subscribedBefore, 30000);
  await eventually(() => insertTask(a1, ORG_A, PROJ_A, 'after-rowgate-restart'));
  await until('delivery after the rowgate restart', () => recA1.events.some((e) => e.new.title === 'after-rowgate-restart'), 20000);
});

for (const c of [a1, a2, b, ownerA]) c.removeAllChannels();
console.log(failures.length ? `DONE with ${failures.length} failure(s)` : 'DONE');
process.exit(failures.length ? 1 : 0);
