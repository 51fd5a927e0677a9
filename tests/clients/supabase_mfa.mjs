// Runs @supabase/supabase-js `auth.mfa.*` unchanged against a running rowgate (tests/it/auth_mfa.rs
// sets it up: ann@example.com / 'correct horse', and api.vault readable only at aal2):
// enroll → challenge → verify with a TOTP computed here (RFC 6238 with node's crypto), the
// assurance level before and after, the vault before and after, a wrong and a replayed code,
// listFactors, unenroll refused at aal1 and done at aal2. Exits 1 if any check failed.
//
//   node tests/clients/supabase_mfa.mjs <origin> <anon-key>

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createClient } from '@supabase/supabase-js';

const [origin, anonKey] = process.argv.slice(2);
if (!origin || !anonKey) {
  console.error('usage: node supabase_mfa.mjs <origin> <anon-key>');
  process.exit(2);
}

class NoWebSocket {
  constructor() {
    throw new Error('realtime is not part of this test');
  }
}

const client = () =>
  createClient(origin, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    db: { schema: 'api' },
    realtime: { transport: NoWebSocket },
  });

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of s) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 255);
    }
  }
  return Buffer.from(out);
}

function totp(secret, offset = 0) {
  const step = Math.floor(Date.now() / 1000 / 30) + offset;
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', base32Decode(secret)).update(msg).digest();
  const o = h[19] & 15;
  const bin = ((h[o] & 127) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(bin % 1000000).padStart(6, '0');
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

const ann = client();
let factorId;
let secret;
let usedCode;

await check('sign in: aal1, nextLevel aal1, password in amr', async () => {
  const { error } = await ann.auth.signInWithPassword({ email: 'ann@example.com', password: 'correct horse' });
  assert.equal(error, null);
  const { data, error: e } = await ann.auth.mfa.getAuthenticatorAssuranceLevel();
  assert.equal(e, null);
  assert.equal(data.currentLevel, 'aal1');
  assert.equal(data.nextLevel, 'aal1');
  assert.deepEqual(data.currentAuthenticationMethods.map((m) => m.method), ['password']);
});

await check('at aal1 the vault shows nothing', async () => {
  const { data, error } = await ann.from('vault').select();
  assert.equal(error, null);
  assert.deepEqual(data, []);
});

await check('mfa.enroll answers the secret, the otpauth URI and an SVG data URI', async () => {
  const { data, error } = await ann.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'laptop' });
  assert.equal(error, null);
  assert.equal(data.type, 'totp');
  assert.equal(data.friendly_name, 'laptop');
  assert.match(data.totp.secret, /^[A-Z2-7]{32}$/);
  assert.match(data.totp.uri, /^otpauth:\/\/totp\/.*secret=[A-Z2-7]{32}$/);
  assert.ok(data.totp.qr_code.startsWith('data:image/svg+xml;utf-8,<?xml') || data.totp.qr_code.startsWith('data:image/svg+xml;utf-8,<svg'), data.totp.qr_code.slice(0, 60));
  factorId = data.id;
  secret = data.totp.secret;
});

await check('listFactors: enrolled but not yet verified', async () => {
  const { data, error } = await ann.auth.mfa.listFactors();
  assert.equal(error, null);
  assert.equal(data.all.length, 1);
  assert.equal(data.all[0].status, 'unverified');
  assert.equal(data.totp.length, 0);
});

await check('a wrong code: mfa_verification_failed', async () => {
  const { data: ch, error: e1 } = await ann.auth.mfa.challenge({ factorId });
  assert.equal(e1, null);
  assert.ok(ch.expires_at > Date.now() / 1000);
  const window = [totp(secret, -1), totp(secret), totp(secret, 1)];
  const wrong = ['000000', '000001', '000002', '000003'].find((c) => !window.includes(c));
  const { error } = await ann.auth.mfa.verify({ factorId, challengeId: ch.id, code: wrong });
  assert.equal(error?.code, 'mfa_verification_failed');
  assert.equal(error?.status, 422);
});

await check('challenge + verify with the TOTP: aal2', async () => {
  const { data: ch, error: e1 } = await ann.auth.mfa.challenge({ factorId });
  assert.equal(e1, null);
  usedCode = totp(secret);
  const { data, error } = await ann.auth.mfa.verify({ factorId, challengeId: ch.id, code: usedCode });
  assert.equal(error, null);
  assert.ok(data.access_token);
  const { data: aal } = await ann.auth.mfa.getAuthenticatorAssuranceLevel();
  assert.equal(aal.currentLevel, 'aal2');
  assert.equal(aal.nextLevel, 'aal2');
  assert.deepEqual(aal.currentAuthenticationMethods.map((m) => m.method).sort(), ['password', 'totp']);
});

await check('at aal2 the vault shows its row', async () => {
  const { data, error } = await ann.from('vault').select();
  assert.equal(error, null);
  assert.deepEqual(data, [{ id: 1, secret: 'launch codes' }]);
});

await check('listFactors: verified', async () => {
  const { data, error } = await ann.auth.mfa.listFactors();
  assert.equal(error, null);
  assert.deepEqual(data.totp.map((f) => [f.id, f.status]), [[factorId, 'verified']]);
});

const other = client();
await check('a second sign-in: aal1 with nextLevel aal2; the vault stays shut', async () => {
  const { error } = await other.auth.signInWithPassword({ email: 'ann@example.com', password: 'correct horse' });
  assert.equal(error, null);
  const { data } = await other.auth.mfa.getAuthenticatorAssuranceLevel();
  assert.deepEqual([data.currentLevel, data.nextLevel], ['aal1', 'aal2']);
  const { data: rows } = await other.from('vault').select();
  assert.deepEqual(rows, []);
});

await check('the used code replayed in a new challenge is refused', async () => {
  const { data: ch } = await other.auth.mfa.challenge({ factorId });
  const { error } = await other.auth.mfa.verify({ factorId, challengeId: ch.id, code: usedCode });
  assert.equal(error?.code, 'mfa_verification_failed');
});

await check('unenroll at aal1: insufficient_aal', async () => {
  const { error } = await other.auth.mfa.unenroll({ factorId });
  assert.equal(error?.code, 'insufficient_aal');
});

await check('unenroll at aal2 removes the factor', async () => {
  const { data, error } = await ann.auth.mfa.unenroll({ factorId });
  assert.equal(error, null);
  assert.equal(data.id, factorId);
  const { data: list } = await ann.auth.mfa.listFactors();
  assert.equal(list.all.length, 0);
});

if (failures.length) {
  console.log(`${failures.length} failed: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('all supabase-js MFA checks passed');
