// The account lifecycle's screens end to end (console.mjs runs these steps): password recovery by
// email — the recovery email read from the test's SMTP server (E2E_MAILDIR: one JSON file per
// message, tests/clients/smtp_sink.py), its link opened in the browser — and two-factor
// authentication with a TOTP app, whose codes are computed here (RFC 6238: HMAC-SHA-1, 30-second
// steps, 6 digits) from the key the enrolment page shows. axe-core on each new screen.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ORIGIN, axe, heading, linkOf, mailsTo, people, person, shot, signUp, sleep, step, waitForMail } from './lib.mjs';

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const out = [];
  let bits = 0;
  let value = 0;
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    assert.ok(v >= 0, `not base32: ${text}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
      value &= (1 << bits) - 1;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 with SHA-1: the 6-digit code of 30-second step `s`. */
function totp(secret, s) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(s));
  const h = createHmac('sha1', base32(secret)).update(msg).digest();
  const o = h[19] & 0xf;
  const n = (((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]) % 1_000_000;
  return String(n).padStart(6, '0');
}

// A step is accepted once (replays are refused) and one step of skew either way: each code comes
// from a step after the last one used, the next one at most.
let lastStep = -1;
async function nextCode(secret) {
  for (;;) {
    const now = Math.floor(Date.now() / 30_000);
    const s = Math.max(now, lastStep + 1);
    if (s <= now + 1) {
      lastStep = s;
      return totp(secret, s);
    }
    await sleep(1000);
  }
}

async function signIn(p, email, password) {
  await p.page.getByLabel('Email address').fill(email);
  await p.page.getByLabel('Password').fill(password);
  await p.page.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut(p) {
  await p.page.getByRole('button', { name: 'Sign out' }).click();
  await p.page.waitForURL(/\/signin$/);
  await heading(p, 'Sign in');
}

export async function accountSteps({ admin }) {
  const erin = await person('erin');
  const E = { email: 'erin@example.test', password: 'erin-passphrase', next: 'erin-new-passphrase' };
  let link;
  let secret;

  await step('recovery: erin asks for a link from the sign-in page; the answer never tells whether an address has an account', async () => {
    await signUp(erin, E.email, E.password);
    await erin.page.waitForURL(/\/orgs\/new$/);
    await signOut(erin);
    await erin.page.getByRole('link', { name: 'Forgot your password?' }).click();
    await heading(erin, 'Reset your password');
    await axe(erin, 'reset your password');
    const ask = async (email) => {
      await erin.page.getByLabel('Email address').fill(email);
      await erin.page.getByRole('button', { name: 'Send me a link' }).click();
      const status = erin.page.getByRole('status').filter({ hasText: email });
      await status.waitFor();
      return (await status.innerText()).replace(email, '<address>');
    };
    const unknown = await ask('nobody@example.test');
    const known = await ask(E.email);
    assert.equal(known, unknown);
    assert.equal(known, 'If <address> has an account here, an email with a link to choose a new password is on its way.');
    const mail = await waitForMail(E.email, 1); // after the sign-up's confirmation
    link = linkOf(mail);
    assert.ok(link.startsWith(`${ORIGIN}/auth/v1/verify?`), link);
    assert.equal(new URL(link).searchParams.get('redirect_to'), `${ORIGIN}/auth/recover`);
    assert.deepEqual(mailsTo('nobody@example.test'), []);
  });

  await step('recovery: the link signs erin in on the console, she chooses a new password; the used link and the old password are refused in sentences', async () => {
    await erin.page.goto(link);
    await erin.page.waitForURL(/\/auth\/recover#?$/);
    await heading(erin, 'Choose a new password');
    await erin.page.getByText(`Signed in as ${E.email} by the link in your email.`).waitFor();
    await axe(erin, 'choose a new password');
    await erin.page.getByLabel('New password', { exact: true }).fill(E.next);
    await erin.page.getByRole('button', { name: 'Save the new password' }).click();
    await erin.page.getByText('Your password is changed.').waitFor();
    await erin.page.getByRole('link', { name: 'Continue to the console' }).click();
    await erin.page.waitForURL(/\/orgs\/new$/);
    await signOut(erin);
    await erin.page.goto(link);
    await heading(erin, 'Choose a new password');
    assert.equal(await erin.page.getByRole('alert').innerText(), 'This link or code has expired or was already used: ask for a new one.');
    await axe(erin, 'recovery link used');
    await erin.page.goto('/signin');
    await heading(erin, 'Sign in');
    await signIn(erin, E.email, E.password);
    assert.equal(await erin.page.getByRole('alert').innerText(), 'The email address or the password is wrong.');
    await signIn(erin, E.email, E.next);
    await erin.page.waitForURL(/\/orgs\/new$/);
  });

  await step('MFA: erin enrols an authenticator app from the QR code page (its key read from the screen, the code computed here)', async () => {
    await erin.page.getByRole('link', { name: E.email }).click();
    await heading(erin, 'Your account');
    await erin.page.getByRole('link', { name: 'Two-factor authentication' }).click();
    await heading(erin, 'Two-factor authentication');
    await erin.page.getByText('Sign-in asks for your password only.').waitFor();
    await axe(erin, 'two-factor authentication');
    await erin.page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const qr = erin.page.getByRole('img', { name: 'QR code to scan with your authenticator app' });
    await qr.locator('svg path').first().waitFor();
    secret = (await erin.page.locator('[data-secret]').innerText()).trim();
    assert.match(secret, /^[A-Z2-7]{16,}=*$/);
    await axe(erin, 'two-factor enrolment');
    await shot(erin, '10-mfa.png');
    await erin.page.getByLabel('Code from your authenticator app').fill(await nextCode(secret));
    await erin.page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await erin.page.getByText('Two-factor authentication is on: the next sign-in asks for a code.').waitFor();
    await erin.page.getByRole('cell', { name: 'in use' }).waitFor();
  });

  await step('MFA: signing in again asks for a code; a wrong one is a sentence, the right one opens the console at aal2', async () => {
    await signOut(erin);
    await signIn(erin, E.email, E.next);
    await heading(erin, 'Enter your authentication code');
    await axe(erin, 'authentication code');
    const now = Math.floor(Date.now() / 30_000);
    const near = [now - 1, now, now + 1, now + 2].map((s) => totp(secret, s));
    const wrong = ['000000', '111111', '222222'].find((c) => !near.includes(c));
    await erin.page.getByLabel('Code from your authenticator app').fill(wrong);
    await erin.page.getByRole('button', { name: 'Verify' }).click();
    assert.equal(
      await erin.page.getByRole('alert').innerText(),
      'That code is not right: check your authenticator app and enter the current code.',
    );
    await erin.page.getByLabel('Code from your authenticator app').fill(await nextCode(secret));
    await erin.page.getByRole('button', { name: 'Verify' }).click();
    await erin.page.waitForURL(/\/orgs\/new$/);
    await heading(erin, 'New organization');
    const stored = JSON.parse(await erin.page.evaluate(() => localStorage.getItem('rowgate-console-auth')));
    const claims = JSON.parse(Buffer.from(stored.access_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.aal, 'aal2');
  });

  await step('MFA: erin removes the authenticator; the next sign-in asks for the password only', async () => {
    await erin.page.goto('/account/mfa');
    await heading(erin, 'Two-factor authentication');
    await erin.page.getByRole('button', { name: 'Remove' }).click();
    await erin.page.getByRole('button', { name: 'Confirm: remove' }).click();
    await erin.page.getByText('The authenticator is removed: sign-in asks for your password only.').waitFor();
    await erin.page.getByText('Sign-in asks for your password only.', { exact: true }).waitFor();
    await signOut(erin);
    await signIn(erin, E.email, E.next);
    await erin.page.waitForURL(/\/orgs\/new$/);
    await erin.context.close();
    people.splice(people.indexOf(erin), 1);
  });

  await step('confirmation: a sign-up link landing on the site root is forwarded to /auth/confirm, which says so; used again, it is refused in a sentence', async () => {
    // A confirmation link without sending it (every other sign-up reads its email): the
    // platform admin's generate_link, with the admin's own token from the console's storage.
    const stored = JSON.parse(await admin.page.evaluate(() => localStorage.getItem('rowgate-console-auth')));
    const res = await fetch(`${ORIGIN}/auth/v1/admin/generate_link`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stored.access_token}`, 'content-type': 'application/json' },
      // No redirect_to: the link lands on ROWGATE_SITE_URL (the site's root), as a sign-up's does
      // (the console does not send emailRedirectTo), and the console forwards it to /auth/confirm.
      body: JSON.stringify({ type: 'signup', email: 'frank@example.test', password: 'frank-passphrase' }),
    });
    const generated = await res.json();
    assert.equal(res.status, 200, JSON.stringify(generated));
    assert.equal(new URL(generated.action_link).searchParams.get('redirect_to'), ORIGIN);
    const frank = await person('frank');
    await frank.page.goto(generated.action_link);
    await frank.page.waitForURL(/\/auth\/confirm#?$/);
    await heading(frank, 'Email confirmation');
    await frank.page.getByText('Your email address frank@example.test is confirmed.').waitFor();
    await axe(frank, 'email confirmation');
    await frank.page.getByRole('link', { name: 'Continue to the console' }).click();
    await frank.page.waitForURL(/\/orgs\/new$/);
    await frank.page.goto(generated.action_link);
    await heading(frank, 'Email confirmation');
    assert.equal(await frank.page.getByRole('alert').innerText(), 'This link or code has expired or was already used: ask for a new one.');
    await frank.context.close();
    people.splice(people.indexOf(frank), 1);
  });
}
