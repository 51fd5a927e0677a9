// OAuth / OIDC sign-in with PKCE through @supabase/supabase-js unchanged (signInWithOAuth with
// flowType 'pkce', then exchangeCodeForSession) against a running rowgate and a REAL OpenID
// Connect provider started here (oidc_provider.mjs, the npm package oidc-provider). The
// "browser" follows redirects with a cookie jar: rowgate /authorize → the provider (login by
// login_hint, consent) → rowgate /callback → the site URL with ?code=. tests/it/auth_oauth.rs
// sets up rowgate (provider "corp", ROWGATE_SITE_URL) and the users:
//   linked@example.com (password 'correct horse'), unverified@example.com (password too).
// Checks: a new user created with its identity; an existing account linked when the provider
// asserts email_verified, refused when it does not; bad state, a replayed callback, a reused
// code, a wrong verifier, a plain challenge, an unknown provider, a redirect_to outside the
// site, the provider refusing the login. Exits 1 if any check failed.
//
//   node tests/clients/supabase_oauth.mjs <origin> <anon-key> <provider-port> <site-url>

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createClient } from '@supabase/supabase-js';
import { startProvider } from './oidc_provider.mjs';

const [origin, anonKey, providerPort, site] = process.argv.slice(2);
if (!site) {
  console.error('usage: node supabase_oauth.mjs <origin> <anon-key> <provider-port> <site-url>');
  process.exit(2);
}

const provider = await startProvider({
  port: Number(providerPort),
  clientId: 'rowgate-test',
  clientSecret: 'rowgate-test-secret-0123456789',
  redirectUri: `${origin}/auth/v1/callback`,
  accounts: {
    newbie: { email: 'Newbie@Example.com', email_verified: false, name: 'New Bie' },
    linker: { email: 'linked@example.com', email_verified: true, name: 'Lin Ked' },
    sneaky: { email: 'unverified@example.com', email_verified: false },
  },
});

class NoWebSocket {
  constructor() {
    throw new Error('realtime is not part of this test');
  }
}
const client = () =>
  createClient(origin, anonKey, {
    auth: { flowType: 'pkce', persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    db: { schema: 'api' },
    realtime: { transport: NoWebSocket },
  });

// Follows redirects as a browser would (cookies kept) until the site URL; every URL visited.
async function browse(url) {
  const jar = new Map();
  const visited = [];
  for (let i = 0; i < 20; i += 1) {
    visited.push(url);
    if (url.startsWith(site)) return { final: new URL(url), visited };
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`no redirect from ${url}: ${res.status} ${await res.text()}`);
    url = new URL(location, url).toString();
  }
  throw new Error(`too many redirects: ${visited.join(' → ')}`);
}

async function signIn(loginHint, redirectTo = `${site}/welcome`) {
  const supabase = client();
  const { data, error } = await supabase.auth.signInWithOAuth({
    provider: 'corp',
    options: { redirectTo, skipBrowserRedirect: true, queryParams: { login_hint: loginHint } },
  });
  assert.equal(error, null);
  const { final, visited } = await browse(data.url);
  return { supabase, final, visited };
}

const verifier = () => randomBytes(32).toString('base64url');
const challenge = (v) => createHash('sha256').update(v).digest('base64url');
async function pkceGrant(authCode, codeVerifier) {
  const res = await fetch(`${origin}/auth/v1/token?grant_type=pkce`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', apikey: anonKey },
    body: JSON.stringify({ auth_code: authCode, code_verifier: codeVerifier }),
  });
  return { status: res.status, body: await res.json() };
}
// The raw flow with our own verifier: the auth code and the callback URL visited.
async function rawFlow(loginHint, v) {
  const url = `${origin}/auth/v1/authorize?provider=corp&redirect_to=${encodeURIComponent(`${site}/raw`)}`
    + `&code_challenge=${challenge(v)}&code_challenge_method=s256&login_hint=${loginHint}`;
  const { final, visited } = await browse(url);
  return { code: final.searchParams.get('code'), callback: visited.find((u) => u.includes('/auth/v1/callback')) };
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

try {
  await check('signInWithOAuth (pkce) + exchangeCodeForSession creates a new user with its identity', async () => {
    const { supabase, final, visited } = await signIn('newbie');
    assert.ok(visited.some((u) => u.startsWith(provider.issuer)), 'went through the provider');
    assert.equal(final.pathname, '/welcome');
    const code = final.searchParams.get('code');
    assert.ok(code, `a code in ${final}`);
    const { data, error } = await supabase.auth.exchangeCodeForSession(code);
    assert.equal(error, null);
    assert.equal(data.user.email, 'newbie@example.com');
    const payload = JSON.parse(Buffer.from(data.session.access_token.split('.')[1], 'base64url'));
    assert.equal(payload.aal, 'aal1');
    assert.deepEqual(payload.amr.map((m) => m.method), ['oauth']);
    const { data: u, error: e2 } = await supabase.auth.getUser();
    assert.equal(e2, null);
    assert.equal(u.user.identities.length, 1);
    const [identity] = u.user.identities;
    assert.equal(identity.provider, 'corp');
    assert.equal(identity.id, 'newbie');
    assert.equal(identity.identity_data.email, 'Newbie@Example.com');
    assert.deepEqual(u.user.app_metadata.providers, ['corp']);
    const { data: ids } = await supabase.auth.getUserIdentities();
    assert.equal(ids.identities[0].provider, 'corp');
  });

  await check('signing in again with the same identity is the same user', async () => {
    const { supabase, final } = await signIn('newbie');
    const { data, error } = await supabase.auth.exchangeCodeForSession(final.searchParams.get('code'));
    assert.equal(error, null);
    assert.equal(data.user.email, 'newbie@example.com');
    assert.equal(data.user.identities.length, 1);
  });

  await check('a verified email links to the existing account', async () => {
    const password = client();
    const { data: before } = await password.auth.signInWithPassword({ email: 'linked@example.com', password: 'correct horse' });
    const { supabase, final } = await signIn('linker');
    const { data, error } = await supabase.auth.exchangeCodeForSession(final.searchParams.get('code'));
    assert.equal(error, null);
    assert.equal(data.user.id, before.user.id, 'the same account');
    assert.deepEqual(data.user.identities.map((i) => i.provider), ['corp']);
    assert.deepEqual(data.user.app_metadata.providers, ['corp', 'email']);
  });

  await check('an unverified email does not take over the existing account', async () => {
    const { final } = await signIn('sneaky');
    assert.equal(final.searchParams.get('code'), null);
    assert.equal(final.searchParams.get('error'), 'access_denied');
    assert.equal(final.searchParams.get('error_code'), 'provider_email_needs_verification');
    assert.match(new URLSearchParams(final.hash.slice(1)).get('error_code'), /provider_email_needs_verification/);
  });

  await check('the provider refusing the login comes back as its error', async () => {
    const { final } = await signIn('nobody');
    assert.equal(final.searchParams.get('error'), 'access_denied');
    assert.equal(final.searchParams.get('code'), null);
  });

  await check('a redirect_to outside the site URL returns to the site URL', async () => {
    const { final } = await signIn('newbie', 'https://evil.example.net/steal');
    assert.equal(final.origin + final.pathname, new URL(site).origin + new URL(site).pathname);
    assert.ok(final.searchParams.get('code'));
  });

  await check('wrong verifier refused, right one accepted once, the code and callback not reusable', async () => {
    const v = verifier();
    const { code, callback } = await rawFlow('newbie', v);
    assert.ok(code);
    let r = await pkceGrant(code, verifier());
    assert.deepEqual([r.status, r.body.error_code], [400, 'bad_code_verifier']);
    r = await pkceGrant(code, '');
    assert.deepEqual([r.status, r.body.error_code], [400, 'validation_failed']);
    r = await pkceGrant(code, v);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.user.email, 'newbie@example.com');
    r = await pkceGrant(code, v);
    assert.deepEqual([r.status, r.body.error_code], [404, 'flow_state_not_found']);
    // The provider's callback replayed: the state is spent.
    const { final } = await browse(callback);
    assert.equal(final.searchParams.get('code'), null);
    assert.match(final.searchParams.get('error_code'), /^(bad_oauth_state|flow_state_already_used)$/);
  });

  await check('a forged or missing state is refused', async () => {
    for (const [query, code] of [
      [`state=${crypto.randomUUID()}&code=x`, 'bad_oauth_state'],
      ['state=not-a-state&code=x', 'bad_oauth_state'],
      ['code=x', 'bad_oauth_callback'],
    ]) {
      const { final } = await browse(`${origin}/auth/v1/callback?${query}`);
      assert.equal(final.searchParams.get('error_code'), code, query);
      assert.equal(final.searchParams.get('error'), 'invalid_request');
      assert.equal(final.searchParams.get('code'), null);
    }
  });

  await check('/authorize refuses an unknown provider, a missing or plain PKCE challenge', async () => {
    const cases = [
      ['provider=nope&code_challenge=' + challenge(verifier()) + '&code_challenge_method=s256', 'validation_failed'],
      ['provider=corp', 'validation_failed'],
      ['provider=corp&code_challenge=' + challenge(verifier()) + '&code_challenge_method=plain', 'validation_failed'],
    ];
    for (const [query, code] of cases) {
      const res = await fetch(`${origin}/auth/v1/authorize?${query}`, { redirect: 'manual' });
      assert.equal(res.status, 400, query);
      assert.equal((await res.json()).error_code, code, query);
    }
  });
} finally {
  await provider.close();
}

if (failures.length) {
  console.log(`${failures.length} failed: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('all supabase-js OAuth checks passed');
