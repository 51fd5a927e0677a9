// The emailed account flows and the admin API of rowgate's /auth/v1, driven by the real
// @supabase/supabase-js, with emails read from the SMTP sink's folder (tests/clients/smtp_sink.py).
//
//   node tests/clients/supabase_email_flows.mjs <origin> <anon-key> <service-role-key> <mail-dir>
//
// Needs what tests/it/auth_flows/supabase.rs sets up: ROWGATE_MAILER_AUTOCONFIRM=false, site URL
// http://app.test:8080 with the allow-list http://app.test:8080/**, and the confirmed user
// plain@example.com / 'correct horse'. Every check runs; failures are printed and the exit status
// is 1 if any failed.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@supabase/supabase-js';

const [origin, anonKey, serviceKey, mailDir] = process.argv.slice(2);
if (!mailDir) {
  console.error('usage: node supabase_email_flows.mjs <origin> <anon-key> <service-role-key> <mail-dir>');
  process.exit(2);
}
const SITE = 'http://app.test:8080';

class NoWebSocket {
  constructor() {
    throw new Error('realtime is not part of this test');
  }
}

function client(key = anonKey, headers = {}) {
  return createClient(origin, key, {
    auth: { persistSession: false, autoRefreshToken: false, flowType: 'implicit' },
    db: { schema: 'api' },
    global: { headers },
    realtime: { transport: NoWebSocket },
  });
}

function mails(to) {
  return readdirSync(mailDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(mailDir, f), 'utf8')))
    .filter((m) => m.rcpt_tos.includes(to));
}

/** The n-th email to `to` (1-based), waiting up to 15 s. */
async function mail(to, n = 1) {
  for (let i = 0; i < 300; i++) {
    const found = mails(to);
    if (found.length >= n) return found[n - 1];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no email #${n} to ${to}`);
}
const codeOf = (m) => /code: (\d{6})/.exec(m.body)[1];
const linkOf = (m) => /href="([^"]+)"/.exec(m.body)[1].replaceAll('&amp;', '&');

function fragment(location) {
  return Object.fromEntries(new URLSearchParams(location.split('#')[1]));
}

const failures = [];
async function check(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}\n  ${String(e?.stack ?? e).split('\n').join('\n  ')}`);
  }
}

const supabase = client();
const admin = client(serviceKey).auth.admin;

await check('settings tell that confirmation is required', async () => {
  const settings = await (await fetch(`${origin}/auth/v1/settings`, { headers: { apikey: anonKey } })).json();
  assert.equal(settings.mailer_autoconfirm, false);
  assert.equal(settings.external.email, true);
});

await check('signUp → email → confirm link → signInWithPassword', async () => {
  const email = 'new@example.com';
  const { data, error } = await supabase.auth.signUp({
    email,
    password: 'first password',
    options: { emailRedirectTo: `${SITE}/welcome`, data: { name: 'Ann' } },
  });
  assert.equal(error, null);
  assert.equal(data.session, null, 'no session before confirmation');
  assert.equal(data.user.email, email);
  assert.equal(data.user.user_metadata.name, 'Ann');
  const early = await supabase.auth.signInWithPassword({ email, password: 'first password' });
  assert.equal(early.error.code, 'email_not_confirmed');
  const m = await mail(email);
  const link = linkOf(m);
  assert.ok(link.startsWith(`${origin}/auth/v1/verify?token=`), link);
  const res = await fetch(link, { redirect: 'manual' });
  assert.equal(res.status, 303);
  const location = res.headers.get('location');
  assert.ok(location.startsWith(`${SITE}/welcome#`), location);
  const f = fragment(location);
  assert.equal(f.type, 'signup');
  assert.equal(f.token_type, 'bearer');
  const { data: me } = await client().auth.getUser(f.access_token);
  assert.equal(me.user.email, email);
  assert.ok(me.user.email_confirmed_at);
  // The link works once.
  const again = await fetch(link, { redirect: 'manual' });
  assert.equal(fragment(again.headers.get('location')).error_code, 'otp_expired');
  const { data: s, error: e2 } = await supabase.auth.signInWithPassword({ email, password: 'first password' });
  assert.equal(e2, null);
  assert.equal(s.user.email, email);
});

await check('signUp with a confirmed address answers alike and sends nothing', async () => {
  const { data, error } = await supabase.auth.signUp({ email: 'plain@example.com', password: 'whatever 123' });
  assert.equal(error, null);
  assert.equal(data.session, null);
  assert.equal(data.user.email, 'plain@example.com');
  const { data: real } = await admin.listUsers();
  assert.ok(!real.users.some((u) => u.id === data.user.id), 'the id is no real user');
  assert.equal(mails('plain@example.com').length, 0);
});

await check('resetPasswordForEmail → email → verifyOtp → updateUser(password)', async () => {
  const email = 'plain@example.com';
  const { error } = await supabase.auth.resetPasswordForEmail(email, { redirectTo: `${SITE}/reset` });
  assert.equal(error, null);
  const m = await mail(email);
  assert.ok(linkOf(m).includes('type=recovery'));
  const c = client();
  const { data, error: e2 } = await c.auth.verifyOtp({ email, token: codeOf(m), type: 'recovery' });
  assert.equal(e2, null);
  assert.ok(data.session);
  const { error: e3 } = await c.auth.updateUser({ password: 'second password' });
  assert.equal(e3, null);
  const old = await supabase.auth.signInWithPassword({ email, password: 'correct horse' });
  assert.equal(old.error.code, 'invalid_credentials');
  const fresh = await supabase.auth.signInWithPassword({ email, password: 'second password' });
  assert.equal(fresh.error, null);
  // The code was single use.
  const reused = await client().auth.verifyOtp({ email, token: codeOf(m), type: 'recovery' });
  assert.equal(reused.error.status, 403);
  assert.equal(reused.error.code, 'otp_expired');
});

await check('resetPasswordForEmail for an unknown address succeeds the same way', async () => {
  const { data, error } = await supabase.auth.resetPasswordForEmail('nobody@example.com');
  assert.equal(error, null);
  assert.deepEqual(data, {});
});

await check('signInWithOtp → 6-digit code → verifyOtp; wrong and reused codes are refused', async () => {
  const email = 'otp@example.com';
  const { error } = await supabase.auth.signInWithOtp({ email, options: { data: { plan: 'free' } } });
  assert.equal(error, null);
  const m = await mail(email);
  const code = codeOf(m);
  const wrong = await client().auth.verifyOtp({ email, token: code === '000000' ? '111111' : '000000', type: 'email' });
  assert.equal(wrong.error.code, 'otp_expired');
  assert.equal(wrong.error.status, 403);
  const c = client();
  const { data, error: e2 } = await c.auth.verifyOtp({ email, token: code, type: 'email' });
  assert.equal(e2, null);
  assert.equal(data.user.email, email);
  assert.equal(data.user.user_metadata.plan, 'free');
  const reused = await client().auth.verifyOtp({ email, token: code, type: 'email' });
  assert.equal(reused.error.code, 'otp_expired');
  // Now a confirmed user: a magic link, whose link signs in too.
  await supabase.auth.signInWithOtp({ email, options: { shouldCreateUser: false } });
  const m2 = await mail(email, 2);
  assert.ok(linkOf(m2).includes('type=magiclink'), linkOf(m2));
  const res = await fetch(linkOf(m2), { redirect: 'manual' });
  assert.ok(fragment(res.headers.get('location')).access_token);
});

await check('a redirect outside the allow-list is refused; forged tokens are otp_expired', async () => {
  const { error } = await supabase.auth.signInWithOtp({
    email: 'otp@example.com',
    options: { emailRedirectTo: 'https://evil.example/steal' },
  });
  assert.equal(error.status, 400);
  assert.equal(error.code, 'validation_failed');
  const forged = await client().auth.verifyOtp({ token_hash: 'a'.repeat(64), type: 'signup' });
  assert.equal(forged.error.status, 403);
  assert.equal(forged.error.code, 'otp_expired');
});

await check('updateUser({email}) → email to the new address → verifyOtp(email_change)', async () => {
  const c = client();
  await c.auth.signInWithPassword({ email: 'new@example.com', password: 'first password' });
  const { data, error } = await c.auth.updateUser({ email: 'renamed@example.com' });
  assert.equal(error, null);
  assert.equal(data.user.email, 'new@example.com', 'unchanged until confirmed');
  assert.equal(data.user.new_email, 'renamed@example.com');
  const m = await mail('renamed@example.com');
  const { data: v, error: e2 } = await client().auth.verifyOtp({
    email: 'renamed@example.com',
    token: codeOf(m),
    type: 'email_change',
  });
  assert.equal(e2, null);
  assert.equal(v.user.email, 'renamed@example.com');
});

await check('auth.admin.* with a service_role key', async () => {
  const { data: created, error } = await admin.createUser({
    email: 'made@example.com',
    password: 'made password',
    email_confirm: true,
    user_metadata: { team: 'blue' },
  });
  assert.equal(error, null);
  assert.equal(created.user.user_metadata.team, 'blue');
  assert.ok(created.user.email_confirmed_at);
  const id = created.user.id;
  const signIn = await supabase.auth.signInWithPassword({ email: 'made@example.com', password: 'made password' });
  assert.equal(signIn.error, null);

  const { data: page, error: e1 } = await admin.listUsers({ page: 1, perPage: 2 });
  assert.equal(e1, null);
  assert.equal(page.users.length, 2);
  assert.ok(page.total >= 4, `total ${page.total}`);
  assert.equal(page.nextPage, 2);
  const { data: got } = await admin.getUserById(id);
  assert.equal(got.user.email, 'made@example.com');

  const { data: banned, error: e2 } = await admin.updateUserById(id, { ban_duration: '24h' });
  assert.equal(e2, null);
  assert.ok(banned.user.banned_until);
  const refused = await supabase.auth.signInWithPassword({ email: 'made@example.com', password: 'made password' });
  assert.equal(refused.error.code, 'invalid_credentials');
  const { error: e3 } = await admin.updateUserById(id, {
    ban_duration: 'none',
    password: 'other password',
    user_metadata: { team: 'red' },
  });
  assert.equal(e3, null);
  const back = await supabase.auth.signInWithPassword({ email: 'made@example.com', password: 'other password' });
  assert.equal(back.error, null);
  assert.equal(back.data.user.user_metadata.team, 'red');

  const { data: link, error: e4 } = await admin.generateLink({ type: 'magiclink', email: 'made@example.com' });
  assert.equal(e4, null);
  assert.equal(link.properties.verification_type, 'magiclink');
  assert.ok(link.properties.action_link.startsWith(`${origin}/auth/v1/verify?token=`));
  assert.equal(link.user.email, 'made@example.com');
  const viaLink = await client().auth.verifyOtp({ token_hash: link.properties.hashed_token, type: 'magiclink' });
  assert.equal(viaLink.error, null);
  assert.equal(mails('made@example.com').length, 0, 'generateLink sends nothing');

  const { error: e5 } = await admin.inviteUserByEmail('guest@example.com', { redirectTo: `${SITE}/hello` });
  assert.equal(e5, null);
  const invite = await mail('guest@example.com');
  const res = await fetch(linkOf(invite), { redirect: 'manual' });
  assert.ok(res.headers.get('location').startsWith(`${SITE}/hello#access_token=`));

  const { error: e6 } = await admin.deleteUser(id);
  assert.equal(e6, null);
  const gone = await admin.getUserById(id);
  assert.equal(gone.error.code, 'user_not_found');
});

await check('the admin API refuses the anon key and signed-in users', async () => {
  const anon = await client().auth.admin.listUsers();
  assert.equal(anon.error.status, 403);
  assert.equal(anon.error.code, 'not_admin');
  const { data: session } = await supabase.auth.signInWithPassword({ email: 'plain@example.com', password: 'second password' });
  const user = client(anonKey, { Authorization: `Bearer ${session.session.access_token}` }).auth.admin;
  for (const call of [() => user.listUsers(), () => user.createUser({ email: 'x@example.com' }), () => user.generateLink({ type: 'magiclink', email: 'plain@example.com' })]) {
    const { error } = await call();
    assert.equal(error.status, 403);
    assert.equal(error.code, 'not_admin');
  }
});

await check('figures: the email leaves the request path', async () => {
  // Ten recovery requests: how long the request takes, and how long until the email is received.
  const request = [];
  const delivered = [];
  for (let i = 0; i < 10; i++) {
    const before = mails('plain@example.com').length;
    const t0 = performance.now();
    const { error } = await supabase.auth.resetPasswordForEmail('plain@example.com');
    const t1 = performance.now();
    assert.equal(error, null);
    await mail('plain@example.com', before + 1);
    request.push(t1 - t0);
    delivered.push(performance.now() - t0);
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(1);
  console.log(`     figure: POST /recover median ${median(request)} ms; email received after median ${median(delivered)} ms (polled every 50 ms)`);
});

console.log(`${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
