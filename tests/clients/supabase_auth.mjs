// Runs @supabase/supabase-js (its auth client, GoTrue's API, plus a table read through its
// PostgREST client) against a running rowgate with a signing key and
// ROWGATE_DB_PRE_REQUEST=internal.check_request.
//
//   node tests/clients/supabase_auth.mjs <origin> <anon-key>
//
// <origin> is rowgate itself, or a reverse proxy in front of it (the Caddyfile; tests/it/caddy.rs
// sets NODE_EXTRA_CA_CERTS to Caddy's root).
// Needs what tests/it/supabase_js.rs sets up: user ann@example.com with password
// 'correct horse', and table api.private_notes readable by the signed-in user for rows whose owner is
// their `sub` (RLS), holding one row of ann's and one of someone else's. Every check runs; each
// failure is printed with the HTTP exchanges made for it, and the exit status is 1 if any failed.
// ROWGATE_CLIENT_TRACE=1 prints every exchange.

import assert from 'node:assert/strict';
import { createClient } from '@supabase/supabase-js';

const origin = process.argv[2];
const anonKey = process.argv[3];
if (!origin || !anonKey) {
  console.error('usage: node supabase_auth.mjs <origin> <anon-key>');
  process.exit(2);
}
const trace = process.env.ROWGATE_CLIENT_TRACE === '1';
const EMAIL = 'ann@example.com';
const PASSWORD = 'correct horse';

// supabase-js calls <origin>/auth/v1/... and <origin>/rest/v1/...; rowgate serves both itself
// (and a reverse proxy such as the Caddyfile maps the same paths), so requests go out exactly as
// supabase-js makes them. The fetch wrapper only records the exchanges for failure reports.
let exchanges = [];
async function gatewayFetch(input, init = {}) {
  if (typeof input !== 'string' && !(input instanceof URL)) {
    throw new Error(`unexpected fetch input ${Object.prototype.toString.call(input)}`);
  }
  const url = new URL(String(input));
  const res = await fetch(url, init);
  exchanges.push({
    request: `${init.method ?? 'GET'} ${url.pathname}${url.search}`,
    headers: Object.fromEntries(new Headers(init.headers ?? {})),
    body: init.body ?? null,
    status: res.status,
    responseBody: init.method === 'HEAD' ? '' : await res.clone().text(),
  });
  return res;
}

// supabase-js builds its realtime client up front, which on Node 20 (no global WebSocket)
// throws unless given a transport. Realtime is not exercised here: this one refuses to be used.
class NoWebSocket {
  constructor() {
    throw new Error('realtime is not part of this test');
  }
}

function client(extra = {}) {
  return createClient(origin, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    // rowgate's default schema is `api`; supabase-js would otherwise send Accept-Profile: public.
    db: { schema: 'api' },
    global: { fetch: gatewayFetch, ...extra },
    realtime: { transport: NoWebSocket },
  });
}

const failures = [];
let passed = 0;
async function check(name, body) {
  exchanges = [];
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}\n  ${String(e?.stack ?? e).split('\n').join('\n  ')}`);
    console.log(`  exchanges:\n${JSON.stringify(exchanges, null, 2).replace(/^/gm, '    ')}`);
  }
  if (trace) console.log(JSON.stringify(exchanges, null, 2));
}

const supabase = client();
let first = null; // the session from sign-in

await check('signed out, the anon key reads no rows', async () => {
  const { data, error } = await supabase.from('private_notes').select();
  assert.equal(error, null);
  assert.deepEqual(data, []);
});

await check("supabase-js's default schema (public) is refused clearly: 406 PGRST106", async () => {
  const defaults = createClient(origin, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { fetch: gatewayFetch },
    realtime: { transport: NoWebSocket },
  });
  const { error, status } = await defaults.from('private_notes').select();
  assert.equal(exchanges.at(-1).headers['accept-profile'], 'public');
  assert.equal(status, 406);
  assert.equal(error.code, 'PGRST106');
});

await check('signInWithPassword returns a session', async () => {
  const { data, error } = await supabase.auth.signInWithPassword({ email: EMAIL, password: PASSWORD });
  assert.equal(error, null);
  assert.ok(data.session, 'a session');
  assert.match(data.session.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.ok(data.session.refresh_token.length >= 32, 'a refresh token');
  assert.equal(data.session.token_type, 'bearer');
  assert.ok(data.session.expires_at > Date.now() / 1000, 'expires in the future');
  assert.equal(data.user.email, EMAIL);
  assert.equal(data.session.user.email, EMAIL);
  first = data.session;
});

await check("from('private_notes').select() returns only the user's rows", async () => {
  const { data, error } = await supabase.from('private_notes').select('body, owner').order('body');
  assert.equal(error, null);
  assert.deepEqual(data, [{ body: 'ann note', owner: first.user.id }]);
  const auth = exchanges.at(-1).headers.authorization;
  assert.equal(auth, `Bearer ${first.access_token}`, 'the read carried the access token');
});

await check('getUser returns the user', async () => {
  const { data, error } = await supabase.auth.getUser();
  assert.equal(error, null);
  assert.equal(data.user.email, EMAIL);
  assert.equal(data.user.id, first.user.id);
});

await check('refreshSession rotates the refresh token', async () => {
  const { data, error } = await supabase.auth.refreshSession();
  assert.equal(error, null);
  assert.ok(data.session, 'a new session');
  assert.notEqual(data.session.refresh_token, first.refresh_token);
  assert.equal(data.user.email, EMAIL);
  const { data: rows, error: e2 } = await supabase.from('private_notes').select('body');
  assert.equal(e2, null);
  assert.deepEqual(rows, [{ body: 'ann note' }]);
});

await check('a wrong password is "Invalid login credentials" (400)', async () => {
  const other = client();
  const { data, error } = await other.auth.signInWithPassword({ email: EMAIL, password: 'wrong' });
  assert.ok(error, 'an error');
  assert.equal(error.status, 400);
  assert.equal(error.message, 'Invalid login credentials');
  assert.equal(error.code, 'invalid_credentials');
  assert.equal(data.session, null);
});

await check('after signOut the old access token no longer reads (401)', async () => {
  const { data: current } = await supabase.auth.getSession();
  const old = current.session.access_token;
  const { error } = await supabase.auth.signOut();
  assert.equal(error, null);
  assert.ok(exchanges.some((x) => x.request.startsWith('POST /auth/v1/logout') && x.status === 204));
  const { data: after } = await supabase.auth.getSession();
  assert.equal(after.session, null, 'the client dropped its session');
  const stale = client({ headers: { Authorization: `Bearer ${old}` } });
  const { data, error: e2, status } = await stale.from('private_notes').select();
  assert.equal(status, 401);
  assert.ok(e2, 'an error');
  assert.equal(e2.code, 'PGRST301');
  assert.equal(data, null);
  // /auth/v1 refuses it as well (GoTrue's 403 session_not_found), without the pre-request check.
  // supabase-js turns that code into its AuthSessionMissingError.
  const { data: who, error: e4 } = await supabase.auth.getUser(old);
  assert.equal(who.user, null);
  assert.equal(exchanges.at(-1).status, 403);
  assert.equal(JSON.parse(exchanges.at(-1).responseBody).error_code, 'session_not_found');
  assert.equal(e4?.name, 'AuthSessionMissingError');
  // The first session's (rotated) refresh token is dead too.
  const { error: e3 } = await stale.auth.refreshSession({ refresh_token: first.refresh_token });
  assert.ok(e3, 'refresh after logout fails');
  assert.equal(e3.status, 400);
});

console.log(`${passed} passed, ${failures.length} failed`);
if (failures.length) {
  console.log(`failed: ${failures.join('; ')}`);
  process.exit(1);
}
