// The console end to end in a real browser: Debian's chromium driven by playwright-core, against
// rowgate + Caddy + PostgreSQL that tests/it/web_console.rs started. Four people in four browser
// contexts (separate storage, as separate browsers): alice and bob each sign up and create an
// org, alice invites bob by link and carol by email, both accept, bob's task edits reach alice's
// tab (live over realtime when the server has it, else on reload), a tab renews an expired
// session, alice never receives a byte of bob's other org, a platform admin approves, suspends
// and configures, an optimistic edit is rolled back with the server's sentence, an API token
// works until it is revoked, sign-out revokes the session. axe-core checks every main screen;
// the CSP must never fire.
//
//   E2E_ORIGIN=https://localhost:port   the site (Caddy)
//   E2E_CA=<intermediate.crt>           Caddy's intermediate CA: chromium trusts exactly its key
//   E2E_ARTIFACTS=<dir>                 screenshots and the axe report go here
//   E2E_REALTIME=expected|absent        whether the server has /realtime/v1 (the test probes it)
//   E2E_ADMIN_EMAIL / E2E_ADMIN_PASSWORD   the bootstrapped super admin
//   CHROMIUM=/usr/bin/chromium
// Node's own fetch (token and session checks) trusts Caddy's root through NODE_EXTRA_CA_CERTS.
// Prints one line per step and a closing "N passed, N failed"; exits 1 on the first failure.

import { chromium } from 'playwright-core';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const ORIGIN = env('E2E_ORIGIN');
const ARTIFACTS = env('E2E_ARTIFACTS');
const REALTIME = env('E2E_REALTIME', 'absent');
const ADMIN = { email: env('E2E_ADMIN_EMAIL'), password: env('E2E_ADMIN_PASSWORD') };
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
mkdirSync(ARTIFACTS, { recursive: true });

// Chromium trusts Caddy's internal CA by its intermediate's public key and nothing else.
const spki = createHash('sha256')
  .update(new X509Certificate(readFileSync(env('E2E_CA'))).publicKey.export({ type: 'spki', format: 'der' }))
  .digest('base64');

const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--ignore-certificate-errors-spki-list=${spki}`,
  ],
});

let passed = 0;
const axeReport = [];
const problems = []; // CSP violations and script errors, from every page

async function step(name, body) {
  const t0 = Date.now();
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    console.log(`FAIL ${name}\n  ${String(e?.stack ?? e).split('\n').join('\n  ')}`);
    for (const p of people) {
      await p.page.screenshot({ path: join(ARTIFACTS, `failure-${p.name}.png`), fullPage: true }).catch(() => {});
      console.log(`  ${p.name} was at ${p.page.url()}`);
    }
    console.log(`${passed} passed, 1 failed`);
    await browser.close();
    process.exit(1);
  }
}

/** A person: one browser context (own storage), one tab; everything they receive is recorded. */
const people = [];
async function person(name) {
  const context = await browser.newContext({ baseURL: ORIGIN, viewport: { width: 1280, height: 860 } });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  const me = { name, context, page, texts: [], bodies: [] };
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // Expected noise: answers the scenario provokes on purpose (403, 409) and, without realtime,
    // the refused WebSocket. Anything else (a CSP violation, an exception) fails the run.
    if (/^Failed to load resource: the server responded with a status of (40[0139]|409)/.test(text)) return;
    if (REALTIME === 'absent' && /WebSocket connection to .*\/realtime\/v1\/websocket/.test(text)) return;
    problems.push(`${name}: console error: ${text}`);
  });
  page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on('response', async (res) => {
    if (!new URL(res.url()).pathname.startsWith('/rest/v1/')) return;
    try {
      me.bodies.push(await res.text());
    } catch {
      /* a body that was not kept (HEAD, redirect) */
    }
  });
  people.push(me);
  return me;
}

/** What the person sees now (kept for the isolation check). */
async function look(p) {
  const text = await p.page.locator('body').innerText();
  p.texts.push(text);
  return text;
}

async function heading(p, name) {
  await p.page.getByRole('heading', { level: 1, name }).waitFor({ timeout: 10_000 });
  await look(p);
}

async function shot(p, file) {
  await p.page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
}

/** axe-core on the current page: no serious or critical violation. */
async function axe(p, screen) {
  await p.page.evaluate(axeSource);
  const result = await p.page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ['violations'] }),
  );
  const violations = result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
  }));
  axeReport.push({ screen, url: p.page.url(), violations });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe on ${screen}: ${JSON.stringify(bad, null, 2)}`);
}

async function signUp(p, email, password) {
  await p.page.goto('/');
  await p.page.waitForURL(/\/signin$/);
  await p.page.getByRole('link', { name: 'Create an account' }).click();
  await heading(p, 'Create your account');
  await p.page.getByLabel('Email address').fill(email);
  await p.page.getByLabel('Password').fill(password);
  await p.page.getByRole('button', { name: 'Create account' }).click();
}

async function createOrg(p, name) {
  await heading(p, 'New organization');
  await p.page.getByLabel('Organization name').fill(name);
  await p.page.getByRole('button', { name: 'Create organization' }).click();
}

async function addProject(p, name) {
  await p.page.getByLabel('New project').fill(name);
  await p.page.getByRole('button', { name: 'Add project' }).click();
  await p.page.getByRole('heading', { level: 2, name }).waitFor();
}

async function addTask(p, title) {
  await p.page.getByLabel('New task').fill(title);
  await p.page.getByRole('button', { name: 'Add task' }).click();
  await p.page.getByRole('checkbox', { name: `Done: ${title}` }).waitFor();
}

async function section(p, label, title = label) {
  await p.page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: label, exact: true }).click();
  await heading(p, title);
}

function orgIdOf(url) {
  const m = /\/o\/([0-9a-f-]{36})\//.exec(url);
  assert.ok(m, `no org in ${url}`);
  return m[1];
}

async function liveState(p) {
  const el = p.page.locator('[data-live]');
  await p.page.waitForFunction(() => document.querySelector('[data-live]')?.getAttribute('data-live') !== 'connecting', null, {
    timeout: 15_000,
  });
  return el.getAttribute('data-live');
}

async function apiFetch(path, token) {
  return fetch(`${ORIGIN}${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
}

// ---------------------------------------------------------------------------------------------

const alice = await person('alice');
const bob = await person('bob');
const admin = await person('admin');
const A = { email: 'alice@acme.test', password: 'alice-passphrase' };
const B = { email: 'bob@globex.test', password: 'bob-passphrase' };
let acme;
let globex;
let inviteLink;
let labs;
let emailLink;

await step('the sign-in page: signed out, every path leads here; axe clean', async () => {
  await alice.page.goto('/o/00000000-0000-0000-0000-000000000000/projects');
  await alice.page.waitForURL(/\/signin$/);
  await heading(alice, 'Sign in');
  await axe(alice, 'sign in');
  await shot(alice, '01-sign-in.png');
});

await step("the Caddyfile's CSP has teeth: no inline script, no other origin, but the realtime socket", async () => {
  const page = await alice.context.newPage();
  page.on('console', () => {}); // this page's violations are provoked on purpose
  await page.goto('/signin');
  const seen = await page.evaluate(async () => {
    const violations = [];
    document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
    const s = document.createElement('script');
    s.textContent = 'window.__inline = true';
    document.head.appendChild(s);
    try {
      new WebSocket('wss://elsewhere.invalid/socket');
    } catch {
      violations.push('connect-src');
    }
    new WebSocket(`wss://${location.host}/realtime/v1/websocket?vsn=2.0.0`).close();
    await new Promise((r) => setTimeout(r, 300));
    return { inline: window.__inline === true, violations };
  });
  await page.close();
  assert.equal(seen.inline, false, 'an inline script ran');
  // One connect-src violation: the foreign socket; the same-origin wss:// one is allowed by 'self'.
  assert.deepEqual(seen.violations.sort(), ['connect-src', 'script-src-elem'], JSON.stringify(seen));
});

await step('alice signs up with the keyboard only', async () => {
  await alice.page.getByRole('link', { name: 'Create an account' }).focus();
  await alice.page.keyboard.press('Enter');
  await heading(alice, 'Create your account');
  // The heading has focus (moved there on navigation): Tab reaches the email field, then the password.
  await alice.page.keyboard.press('Tab');
  assert.equal(await alice.page.evaluate(() => document.activeElement?.getAttribute('name')), 'email');
  await alice.page.keyboard.type(A.email);
  await alice.page.keyboard.press('Tab');
  assert.equal(await alice.page.evaluate(() => document.activeElement?.getAttribute('name')), 'password');
  await alice.page.keyboard.type(A.password);
  await alice.page.keyboard.press('Enter');
  await alice.page.waitForURL(/\/orgs\/new$/);
  await axe(alice, 'new organization');
});

await step('alice creates Acme with a project and two tasks', async () => {
  await createOrg(alice, 'Acme');
  await alice.page.waitForURL(/\/o\/[0-9a-f-]+\/projects$/);
  acme = orgIdOf(alice.page.url());
  await heading(alice, 'Projects');
  await addProject(alice, 'Launch');
  await addTask(alice, 'Write docs');
  await addTask(alice, 'Ship it');
});

await step('bob signs up and creates Globex with a secret project', async () => {
  await signUp(bob, B.email, B.password);
  await bob.page.waitForURL(/\/orgs\/new$/);
  await createOrg(bob, 'Globex');
  await bob.page.waitForURL(/\/o\/[0-9a-f-]+\/projects$/);
  globex = orgIdOf(bob.page.url());
  await addProject(bob, 'Secret plans');
  await addTask(bob, 'Globex secret task');
});

await step('alice invites: an email invitation and a one-use link, shown once; axe clean', async () => {
  await section(alice, 'Members');
  await alice.page.getByRole('textbox', { name: 'Email address' }).fill('carol@acme.test');
  await alice.page.getByRole('button', { name: 'Create invitation' }).click();
  emailLink = await alice.page.getByRole('textbox', { name: 'Invitation link' }).inputValue();
  assert.match(emailLink, new RegExp(`^${ORIGIN}/join#${acme}\\.[0-9a-f]{48}$`));
  await alice.page.getByRole('button', { name: 'Create link' }).click();
  await alice.page.waitForFunction((prev) => document.querySelector('.once input')?.value !== prev, emailLink);
  inviteLink = await alice.page.getByRole('textbox', { name: 'Invitation link' }).inputValue();
  assert.match(inviteLink, new RegExp(`^${ORIGIN}/join#${acme}\\.[0-9a-f]{48}$`));
  await alice.page.getByRole('cell', { name: 'carol@acme.test' }).waitFor();
  await alice.page.getByRole('cell', { name: 'Anyone with the link' }).waitFor();
  await alice.page.getByRole('cell', { name: '0 of 1' }).waitFor();
  await look(alice);
  await axe(alice, 'members');
  await shot(alice, '03-members.png');
});

await step('bob opens the link, accepts, and sees Acme; accepting again is refused in a sentence', async () => {
  await bob.page.goto(inviteLink);
  await heading(bob, 'Join an organization');
  await axe(bob, 'join');
  await bob.page.getByRole('button', { name: 'Accept invitation' }).click();
  await bob.page.waitForURL(new RegExp(`/o/${acme}/projects$`));
  await bob.page.getByRole('link', { name: 'Launch' }).click();
  await bob.page.getByRole('checkbox', { name: 'Done: Write docs' }).waitFor();
  const options = await bob.page.getByLabel('Organization').locator('option').allInnerTexts();
  assert.ok(options.includes('Acme') && options.includes('Globex'), `bob's orgs: ${options}`);
  const again = await bob.context.newPage();
  await again.goto(inviteLink);
  await again.getByRole('button', { name: 'Accept invitation' }).click();
  const alert = await again.getByRole('alert').innerText();
  assert.equal(alert, 'Invitation invalid, expired or already used.');
  await again.close();
});

await step('carol opens her email invitation signed out, signs up, lands back on it and joins; roles', async () => {
  const carol = await person('carol');
  await carol.page.goto(emailLink);
  await heading(carol, 'Join an organization');
  await carol.page.getByRole('link', { name: 'Create an account' }).click();
  await heading(carol, 'Create your account');
  await carol.page.getByLabel('Email address').fill('carol@acme.test');
  await carol.page.getByLabel('Password').fill('carol-passphrase');
  await carol.page.getByRole('button', { name: 'Create account' }).click();
  await carol.page.waitForURL(/\/join#/);
  // alice's members tab stays open: carol's arrival must reach it live, without a reload.
  const live = await liveState(alice);
  assert.equal(live, REALTIME === 'expected' ? 'live' : 'off', 'the members screen is live');
  await carol.page.getByRole('button', { name: 'Accept invitation' }).click();
  await carol.page.waitForURL(new RegExp(`/o/${acme}/projects$`));
  assert.equal(await carol.page.getByText('Your role: member').count(), 1);
  if (live !== 'live') await alice.page.reload();
  // Her row (by email: she accepted the email invitation) and the invitation as accepted.
  await alice.page.getByRole('combobox', { name: 'Role of carol@acme.test' }).waitFor({ timeout: 5_000 });
  await alice.page.getByText(/^Accepted /).waitFor({ timeout: 5_000 });
  // Roles: alice (owner) makes carol a viewer; bob (a member) may change nobody's role.
  await alice.page.getByRole('combobox', { name: 'Role of carol@acme.test' }).selectOption('viewer');
  await alice.page.waitForResponse((r) => r.url().includes('/rest/v1/memberships') && r.request().method() === 'PATCH');
  await alice.page.reload();
  assert.equal(await alice.page.getByRole('combobox', { name: 'Role of carol@acme.test' }).inputValue(), 'viewer');
  await bob.page.goto(`/o/${acme}/members`);
  await heading(bob, 'Members');
  await bob.page.locator('tbody tr').nth(2).waitFor();
  assert.equal(await bob.page.getByRole('combobox', { name: /^Role of/ }).count(), 0);
  assert.equal(await bob.page.getByRole('heading', { name: 'Invitations' }).count(), 0);
  await carol.context.close();
  people.splice(people.indexOf(carol), 1);
});

await step(`bob edits a task, alice's tab shows it (realtime ${REALTIME})`, async () => {
  await bob.page.goto(`/o/${acme}/projects`);
  await bob.page.getByRole('link', { name: 'Launch' }).click();
  await bob.page.getByRole('button', { name: 'Edit Write docs' }).waitFor();
  await alice.page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Projects' }).click();
  await alice.page.getByRole('link', { name: 'Launch' }).click();
  await alice.page.getByRole('checkbox', { name: 'Done: Write docs' }).waitFor();
  const live = await liveState(alice);
  assert.equal(live, REALTIME === 'expected' ? 'live' : 'off', 'the live indicator says what the server offers');
  await bob.page.getByRole('button', { name: 'Edit Write docs' }).click();
  await bob.page.getByLabel('Title').fill('Write the docs');
  await bob.page.keyboard.press('Enter');
  await bob.page.getByRole('checkbox', { name: 'Done: Write the docs' }).check();
  await bob.page.waitForFunction(() => document.querySelector('.task.done .task-title')?.textContent === 'Write the docs');
  // Optimistic, then confirmed: nothing left pending and no error on bob's side.
  assert.equal(await bob.page.getByRole('alert').count(), 0);
  if (live !== 'live') await alice.page.reload();
  await alice.page.getByRole('checkbox', { name: 'Done: Write the docs' }).waitFor({ timeout: live === 'live' ? 5_000 : 10_000 });
  // The rename and the tick are two changes: wait for the second too.
  await alice.page.waitForFunction(() => document.querySelector('[aria-label="Done: Write the docs"]')?.checked === true, null, {
    timeout: 5_000,
  });
  const assignee = alice.page.getByRole('combobox', { name: 'Assignee of Ship it' });
  const bobOption = (await assignee.locator('option').allInnerTexts()).find((t) => t.startsWith('User '));
  await assignee.selectOption({ label: bobOption });
  await alice.page.waitForResponse((r) => r.url().includes('/rest/v1/tasks') && r.request().method() === 'PATCH');
  assert.equal(await alice.page.getByRole('alert').count(), 0);
  await look(alice);
  await axe(alice, 'projects');
  await shot(alice, '02-projects.png');
});

await step("alice never sees Globex: not by its URL, not in her org list, not in any API answer", async () => {
  await alice.page.goto(`/o/${globex}/projects`);
  await heading(alice, 'Organization not found');
  const options = await alice.page.getByLabel('Organization').locator('option').allInnerTexts();
  assert.ok(!options.includes('Globex'), `alice's orgs: ${options}`);
  await alice.page.goto(`/o/${acme}/projects`);
  await heading(alice, 'Projects');
});

await step("bob's tab renews an expired session by itself (refresh-token rotation through Caddy)", async () => {
  const stored = () => bob.page.evaluate(() => JSON.parse(localStorage.getItem('rowgate-console-auth')));
  const before = await stored();
  await bob.page.evaluate(() => {
    const s = JSON.parse(localStorage.getItem('rowgate-console-auth'));
    s.expires_at = Math.floor(Date.now() / 1000) - 60;
    localStorage.setItem('rowgate-console-auth', JSON.stringify(s));
  });
  await bob.page.reload();
  await bob.page.getByRole('checkbox', { name: 'Done: Write the docs' }).waitFor();
  const after = await stored();
  assert.notEqual(after.refresh_token, before.refresh_token, 'the refresh token was rotated');
  assert.notEqual(after.access_token, before.access_token, 'a new access token');
  assert.ok(after.expires_at > Date.now() / 1000 + 600, 'valid for a while');
});

let apiToken;
await step('alice creates an API token (shown once) that reads Acme only', async () => {
  await section(alice, 'API tokens');
  await alice.page.getByLabel('Token name').fill('CI');
  await alice.page.getByRole('button', { name: 'Create token' }).click();
  apiToken = await alice.page.getByRole('textbox', { name: 'New token “CI”' }).inputValue();
  assert.match(apiToken, /^rg_[0-9a-f]{64}$/);
  const res = await apiFetch('/rest/v1/projects?select=name,org_id', apiToken);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), [{ name: 'Launch', org_id: acme }]);
  await alice.page.getByRole('cell', { name: 'CI', exact: true }).waitFor();
  await look(alice);
  await axe(alice, 'API tokens');
  await shot(alice, '04-tokens.png');
});

await step('alice revokes it: the token stops working, and is never shown again', async () => {
  await alice.page.getByRole('button', { name: 'Revoke' }).click();
  await alice.page.getByRole('button', { name: 'Revoke CI' }).click();
  await alice.page.getByRole('cell', { name: /^Revoked / }).waitFor();
  const res = await apiFetch('/rest/v1/projects', apiToken);
  assert.equal(res.status, 401, await res.text());
  await section(alice, 'Projects');
  await section(alice, 'API tokens');
  assert.equal(await alice.page.locator('.once').count(), 0);
  assert.ok(!(await look(alice)).includes(apiToken));
});

await step('alice pages through the audit log', async () => {
  await section(alice, 'Audit log');
  await alice.page.getByRole('cell', { name: 'title: Write docs → Write the docs' }).waitFor();
  const pager = alice.page.getByRole('navigation', { name: 'Audit log pages' });
  const status = await pager.locator('span').innerText();
  const m = /Page 1 of (\d+) \((\d+) entries\)/.exec(status);
  assert.ok(m && Number(m[1]) >= 2, status);
  assert.equal(await alice.page.locator('tbody tr').count(), 10);
  await look(alice);
  await axe(alice, 'audit log');
  await shot(alice, '05-audit.png');
  await pager.getByRole('button', { name: 'Next page' }).click();
  await alice.page.waitForURL(/\/audit\?page=2$/);
  await pager.getByText(/^Page 2 of/).waitFor();
  assert.ok((await alice.page.locator('tbody tr').count()) >= 1);
  await look(alice);
});

await step('the platform admin: a wrong password is a sentence, then the console', async () => {
  await admin.page.goto('/signin');
  await admin.page.getByLabel('Email address').fill(ADMIN.email);
  await admin.page.getByLabel('Password').fill('not the password');
  await admin.page.getByRole('button', { name: 'Sign in' }).click();
  assert.equal(await admin.page.getByRole('alert').innerText(), 'The email address or the password is wrong.');
  await admin.page.getByLabel('Password').fill(ADMIN.password);
  await admin.page.getByRole('button', { name: 'Sign in' }).click();
  await heading(admin, 'Welcome');
  await section(admin, 'Organizations');
  await admin.page.getByRole('cell', { name: 'Acme', exact: true }).waitFor();
  await admin.page.getByRole('cell', { name: 'Globex', exact: true }).waitFor();
  await axe(admin, 'platform: organizations');
});

await step('a suspension refuses bob’s optimistic edit and rolls it back, with the reason', async () => {
  await bob.page.getByLabel('Organization').selectOption({ label: 'Globex' });
  await bob.page.waitForURL(new RegExp(`/o/${globex}/projects$`));
  const box = bob.page.getByRole('checkbox', { name: 'Done: Globex secret task' });
  await box.waitFor();
  // Suspend asks for a reason (api.set_org_status records it): focus lands in the field, Enter confirms.
  await admin.page.locator(`tr[data-org-id="${globex}"]`).getByRole('button', { name: 'Suspend Globex' }).click();
  await admin.page.waitForFunction(() => document.activeElement?.closest('label')?.textContent === 'Reason for Globex', null, {
    timeout: 5_000,
  });
  await admin.page.keyboard.type('Unpaid invoice');
  await admin.page.keyboard.press('Enter');
  await admin.page.getByText('Globex is now suspended.').waitFor();
  await admin.page.locator(`tr[data-org-id="${globex}"]`).getByText('— Unpaid invoice').waitFor();
  await box.click();
  await bob.page.getByRole('alert').filter({ hasText: 'Organization is suspended: read-only.' }).waitFor();
  assert.equal(await box.isChecked(), false, 'rolled back');
  // The member sees why, from the org's row (status_reason).
  await bob.page.reload();
  await bob.page.getByText('Globex is suspended by the platform and read-only: Unpaid invoice.').waitFor();
  await admin.page.getByRole('button', { name: 'Reactivate Globex' }).click();
  await admin.page.getByLabel('Reason (optional) for Globex').fill('Invoice paid');
  await admin.page.getByRole('button', { name: 'Confirm: reactivate Globex' }).click();
  await admin.page.getByText('Globex is now active.').waitFor();
  await bob.page.reload();
  await box.waitFor();
  assert.equal(await bob.page.getByText(/is suspended by the platform/).count(), 0);
  await box.click();
  await bob.page.waitForFunction(() => document.querySelector('.task.done') !== null);
  assert.equal(await box.isChecked(), true);
});

await step('platform settings: new orgs wait for approval; the admin approves one', async () => {
  await section(admin, 'Settings', 'Platform settings');
  // The pending-org limits are the `pending` plan's (api.plans), shown and saved with the settings.
  const members = admin.page.getByLabel('Members of a pending organization, at most');
  await admin.page.waitForFunction(() => document.querySelector('input[type=number]')?.value === '3');
  assert.equal(await members.inputValue(), '3');
  await members.fill('4');
  await admin.page.getByLabel('Activate new organizations at once').uncheck();
  await admin.page.getByRole('button', { name: 'Save settings' }).click();
  await admin.page.getByText('Settings saved.').waitFor();
  assert.equal(await members.inputValue(), '4');
  await axe(admin, 'platform: settings');
  await alice.page.getByLabel('Organization').selectOption({ label: '+ New organization' });
  await createOrg(alice, 'Acme Labs');
  await alice.page.getByText('The organization is pending approval').waitFor();
  labs = await alice.page.getByRole('link', { name: 'Open the organization' }).getAttribute('href').then((h) => orgIdOf(`${h}/`));
  await section(admin, 'Organizations');
  await admin.page.getByRole('button', { name: 'Approve Acme Labs' }).waitFor();
  await shot(admin, '06-admin-orgs.png');
  await admin.page.getByLabel('Show').selectOption('pending_approval');
  await admin.page.getByRole('button', { name: 'Approve Acme Labs' }).click();
  await admin.page.getByRole('button', { name: 'Confirm: approve Acme Labs' }).click();
  await admin.page.getByText('Acme Labs is now active.').waitFor();
  await admin.page.getByLabel('Show').selectOption('');
});

await step('models: the admin adds one to the catalog and enables it for Acme; alice disables it', async () => {
  await section(admin, 'Model catalog');
  await admin.page.getByLabel('Model name').fill('local-llm');
  await admin.page.getByRole('button', { name: 'Add model' }).click();
  await admin.page.getByRole('listitem').filter({ hasText: 'local-llm' }).waitFor();
  await admin.page.getByLabel('For organization').selectOption({ label: 'Acme' });
  await admin.page.getByRole('combobox', { name: /^Model/ }).selectOption({ label: 'local-llm' });
  await admin.page.getByRole('button', { name: 'Enable for the organization' }).click();
  await admin.page.getByText('local-llm is enabled for Acme.').waitFor();
  await axe(admin, 'platform: model catalog');
  // The access report: who may use which model, across orgs (api.access_report).
  await section(admin, 'Access report');
  const rows = admin.page.locator('tbody tr');
  await rows.filter({ hasText: 'alice@acme.test' }).waitFor();
  const report = await rows.allInnerTexts();
  const cells = (r) => r.split('\t').map((c) => c.trim()).slice(0, 4).join(' | ');
  assert.deepEqual(report.map(cells).sort(), [
    'local-llm | Acme | alice@acme.test | owner',
    'local-llm | Acme | bob@globex.test | member',
    'local-llm | Acme | carol@acme.test | viewer',
  ]);
  await axe(admin, 'platform: access report');
  await alice.page.goto(`/o/${acme}/models`);
  await heading(alice, 'Models');
  await alice.page.getByRole('cell', { name: 'local-llm' }).waitFor();
  await axe(alice, 'models');
  await shot(alice, '07-models.png');
  await alice.page.getByRole('button', { name: 'Disable' }).click();
  await alice.page.getByRole('button', { name: 'Disable local-llm' }).click();
  await alice.page.getByText('No model is enabled for this organization.').waitFor();
});

await step('plans: the admin creates Starter (1 project) and moves Acme to it; alice sees her usage, live', async () => {
  await section(admin, 'Plans');
  await admin.page.getByLabel('Identifier').fill('starter');
  await admin.page.getByLabel('Name', { exact: true }).fill('Starter');
  await admin.page.getByLabel('Projects, at most').fill('1');
  await admin.page.getByRole('button', { name: 'Save plan' }).click();
  await admin.page.getByText('Plan “Starter” saved.').waitFor();
  assert.equal(await admin.page.locator('tr[data-plan="starter"] td').nth(1).innerText(), '1');
  await axe(admin, 'platform: plans');
  await section(admin, 'Organizations');
  const row = admin.page.locator(`tr[data-org-id="${acme}"]`);
  await row.getByRole('combobox', { name: 'Plan of Acme' }).selectOption({ label: 'Starter' });
  await row.getByRole('button', { name: 'Move Acme to this plan' }).click();
  await admin.page.getByText('Acme is now on Starter.').waitFor();
  await row.getByText(/Projects 1 of 1/).waitFor();
  await shot(admin, '06-admin-orgs.png');

  await alice.page.goto(`/o/${acme}/plan`);
  await heading(alice, 'Plan and usage');
  await alice.page.locator('[data-plan="starter"]').filter({ hasText: 'Starter' }).waitFor();
  const used = (counter) => alice.page.locator(`tr[data-counter="${counter}"] td`).first().innerText();
  assert.equal(await used('projects'), '1 of 1');
  assert.equal(await used('members'), '3 (no limit)');
  assert.equal(await used('tasks'), '2 (no limit)');
  const live = await liveState(alice);
  await axe(alice, 'plan and usage');
  await shot(alice, '08-plan.png');
  // bob adds a task in Acme: alice's usage follows without a reload.
  await bob.page.goto(`/o/${acme}/projects`);
  await bob.page.getByRole('link', { name: 'Launch' }).click();
  await addTask(bob, 'Count me');
  if (live !== 'live') await alice.page.reload();
  await alice.page.waitForFunction(() => document.querySelector('tr[data-counter="tasks"] td')?.textContent === '3 (no limit)', null, {
    timeout: 5_000,
  });
  // Beyond the limit: the quota error is a sentence.
  await section(alice, 'Projects');
  await alice.page.getByLabel('New project').fill('Second');
  await alice.page.getByRole('button', { name: 'Add project' }).click();
  const alert = await alice.page.getByRole('alert').innerText();
  assert.equal(
    alert,
    'This organization has reached its plan’s limit: plan starter allows at most 1 projects. A platform administrator can move it to another plan.',
  );
  await look(alice);
});

await step('denied: bob (a member) sees the plan but may not change it, nor open the organization or platform pages', async () => {
  await bob.page.goto(`/o/${acme}/plan`);
  await heading(bob, 'Plan and usage');
  await bob.page.locator('[data-plan="starter"]').waitFor();
  assert.equal(await bob.page.getByRole('combobox', { name: /^Plan of/ }).count(), 0);
  const nav = bob.page.getByRole('navigation', { name: 'Sections' });
  assert.equal(await nav.getByRole('link', { name: 'Organization', exact: true }).count(), 0);
  assert.equal(await nav.getByRole('link', { name: 'Organizations', exact: true }).count(), 0);
  await bob.page.goto(`/o/${acme}/settings`);
  await bob.page.getByText('Only the organization’s owners export it, move its ownership or delete it.').waitFor();
  assert.equal(await bob.page.getByRole('button', { name: /Delete|Download|Transfer/ }).count(), 0);
  await bob.page.goto('/admin/orgs');
  await bob.page.getByRole('alert').filter({ hasText: 'Only platform administrators may open this page.' }).waitFor();
  assert.equal(await bob.page.locator('tbody tr').count(), 0);
  // And the database refuses him anyway, whatever a page shows.
  const refused = await bob.page.evaluate(async ([org]) => {
    const token = JSON.parse(localStorage.getItem('rowgate-console-auth')).access_token;
    const anon = (await (await fetch('/config.json')).json()).anonKey;
    const call = async (fn, body) => {
      const r = await fetch(`/rest/v1/rpc/${fn}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, apikey: anon, 'content-type': 'application/json', 'content-profile': 'api' },
        body: JSON.stringify(body),
      });
      return `${r.status} ${(await r.json()).code}`;
    };
    return [await call('set_org_plan', { org, plan: 'standard' }), await call('admin_list_organizations', {}), await call('delete_organization', { org })];
  }, [acme]);
  assert.deepEqual(refused, ['403 PT403', '403 PT403', '403 PT403']);
});

await step('alice (owner) exports Acme; requests the deletion of Acme Labs; the admin sees it pending and restores it', async () => {
  await alice.page.goto(`/o/${acme}/settings`);
  await heading(alice, 'Organization');
  const [download] = await Promise.all([
    alice.page.waitForEvent('download'),
    alice.page.getByRole('button', { name: 'Download the organization’s data' }).click(),
  ]);
  const doc = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(doc.organization.name, 'Acme');
  assert.deepEqual(doc.projects.map((p) => p.name), ['Launch']);
  assert.ok(doc.members.some((m) => m.email === 'carol@acme.test' && m.role === 'viewer'), JSON.stringify(doc.members));
  assert.ok(doc.audit_log.length > 10);
  await axe(alice, 'organization');
  await alice.page.goto(`/o/${labs}/settings`);
  await heading(alice, 'Organization');
  await alice.page.getByText(/deleted for good after 30 days/).waitFor();
  await alice.page.getByRole('button', { name: 'Delete organization' }).click();
  await alice.page.getByRole('button', { name: 'Delete Acme Labs' }).click();
  await alice.page.getByText(/^Acme Labs will be deleted for good on /).waitFor();
  await alice.page.getByText(/^Acme Labs is pending deletion and read-only/).waitFor();
  await alice.page.getByRole('button', { name: 'Restore Acme Labs' }).waitFor();
  await section(admin, 'Organizations');
  await admin.page.getByLabel('Show').selectOption('pending_deletion');
  const row = admin.page.locator(`tr[data-org-id="${labs}"]`);
  await row.getByText(/Purged on /).waitFor();
  assert.equal(await admin.page.locator('tbody tr').count(), 1);
  await row.getByRole('button', { name: 'Restore Acme Labs' }).click();
  await admin.page.getByText('Acme Labs is restored.').waitFor();
  await admin.page.getByLabel('Show').selectOption('');
  await alice.page.reload();
  await alice.page.getByRole('button', { name: 'Delete organization' }).waitFor();
  assert.equal(await alice.page.getByText(/pending deletion/).count(), 0);
});

await step('ownership: the admin gives Acme Labs to bob by email (alice sees it live), bob gives it back; the admin exports it', async () => {
  await alice.page.goto(`/o/${labs}/members`);
  await heading(alice, 'Members');
  const live = await liveState(alice);
  await admin.page.getByRole('link', { name: 'Acme Labs', exact: true }).click();
  await heading(admin, 'Acme Labs');
  await admin.page.getByLabel('New owner’s email address').fill(B.email);
  await admin.page.getByRole('button', { name: 'Transfer ownership' }).click();
  await admin.page.getByText(`${B.email} now owns Acme Labs; its other owners are admins.`).waitFor();
  await axe(admin, 'platform: one organization');
  await shot(admin, '09-admin-org.png');
  const [download] = await Promise.all([admin.page.waitForEvent('download'), admin.page.getByRole('button', { name: 'Export data' }).click()]);
  const doc = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(doc.organization.name, 'Acme Labs');
  assert.deepEqual(doc.members.map((m) => `${m.email} ${m.role}`).sort(), [`${A.email} admin`, `${B.email} owner`]);
  // alice's open members tab: bob's row arrives, and her own role turns to admin.
  if (live !== 'live') await alice.page.reload();
  await alice.page.getByText('Your role: admin').waitFor({ timeout: 5_000 });
  await alice.page.locator('tbody tr').nth(1).waitFor();
  // bob, now the owner, moves it back to alice (a member: by user id, from his page).
  await bob.page.goto(`/o/${labs}/settings`);
  await heading(bob, 'Organization');
  const heir = bob.page.getByLabel('New owner');
  await heir.selectOption({ label: (await heir.locator('option').allInnerTexts()).find((t) => t.endsWith('(admin)')) });
  await bob.page.getByRole('button', { name: 'Transfer ownership' }).click();
  await bob.page.getByText(/is now the owner; you are an admin\.$/).waitFor();
  if (live !== 'live') await alice.page.reload();
  await alice.page.getByText('Your role: owner').waitFor({ timeout: 5_000 });
  await look(alice);
});

await step('accounts: dave exports his data and deletes his account; alice, a last owner, may not', async () => {
  const dave = await person('dave');
  const D = { email: 'dave@example.test', password: 'dave-passphrase' };
  await signUp(dave, D.email, D.password);
  await dave.page.waitForURL(/\/orgs\/new$/);
  await dave.page.getByRole('link', { name: D.email }).click();
  await heading(dave, 'Your account');
  await axe(dave, 'account');
  const [download] = await Promise.all([dave.page.waitForEvent('download'), dave.page.getByRole('button', { name: 'Download your data' }).click()]);
  const doc = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(doc.user.email, D.email);
  assert.deepEqual(doc.memberships, []);
  await dave.page.getByLabel('Current password').fill('not my password');
  await dave.page.getByRole('button', { name: 'Delete my account' }).click();
  assert.equal(await dave.page.getByRole('alert').innerText(), 'Password incorrect.');
  await dave.page.getByLabel('Current password').fill(D.password);
  await dave.page.getByRole('button', { name: 'Delete my account' }).click();
  await dave.page.waitForURL(/\/signin$/);
  await dave.page.getByText(`The account ${D.email} is deleted.`).waitFor();
  await dave.page.getByLabel('Email address').fill(D.email);
  await dave.page.getByLabel('Password').fill(D.password);
  await dave.page.getByRole('button', { name: 'Sign in' }).click();
  assert.equal(await dave.page.getByRole('alert').innerText(), 'The email address or the password is wrong.');
  await dave.context.close();
  people.splice(people.indexOf(dave), 1);

  await alice.page.goto('/account');
  await heading(alice, 'Your account');
  await alice.page.getByLabel('Current password').fill(A.password);
  await alice.page.getByRole('button', { name: 'Delete my account' }).click();
  assert.equal(await alice.page.getByRole('alert').innerText(), 'The last owner of an organization cannot be deleted.');
});

await step('keyboard: the skip link reaches the content, focus is always visible', async () => {
  await alice.page.goto(`/o/${acme}/projects`);
  await heading(alice, 'Projects');
  // The skip link comes first: one Shift+Tab back from the first link of the header.
  await alice.page.getByRole('link', { name: 'rowgate console' }).focus();
  await alice.page.keyboard.press('Shift+Tab');
  assert.equal(await alice.page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  const outline = await alice.page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'a visible focus ring');
  await alice.page.keyboard.press('Enter');
  assert.equal(await alice.page.evaluate(() => document.activeElement?.id), 'main');
  // From the content, Tab reaches the task controls in order.
  for (let i = 0; i < 30; i++) {
    await alice.page.keyboard.press('Tab');
    if ((await alice.page.evaluate(() => document.activeElement?.getAttribute('aria-label'))) === 'Done: Write the docs') break;
  }
  assert.equal(await alice.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Done: Write the docs');
  await alice.page.keyboard.press('Space');
  await alice.page.waitForFunction(() => !document.querySelector('[aria-label="Done: Write the docs"]')?.checked);
});

await step('alice signs out: back to sign-in, and her old access token is refused', async () => {
  const stored = await alice.page.evaluate(() => localStorage.getItem('rowgate-console-auth'));
  const accessToken = JSON.parse(stored).access_token;
  assert.equal((await apiFetch('/rest/v1/projects', accessToken)).status, 200);
  await alice.page.getByRole('button', { name: 'Sign out' }).click();
  await alice.page.waitForURL(/\/signin$/);
  assert.equal(await alice.page.evaluate(() => localStorage.getItem('rowgate-console-auth')), null);
  await alice.page.goto(`/o/${acme}/projects`);
  await alice.page.waitForURL(/\/signin$/);
  const res = await apiFetch('/rest/v1/projects', accessToken);
  assert.equal(res.status, 401, await res.text());
});

await step('isolation over the whole run: nothing of Globex ever reached alice', async () => {
  const seen = [...alice.texts, ...alice.bodies].join('\n');
  for (const secret of ['Globex', 'Secret plans', 'Globex secret task', globex]) {
    assert.ok(!seen.includes(secret), `alice received ${secret}`);
  }
  assert.ok(alice.bodies.length > 20, `alice's API answers were recorded (${alice.bodies.length})`);
});

await step('no CSP violation and no script error on any page', async () => {
  assert.deepEqual(problems, []);
});

writeFileSync(join(ARTIFACTS, 'axe.json'), JSON.stringify(axeReport, null, 2));
const minor = axeReport.flatMap((r) => r.violations.map((v) => `${r.screen}: ${v.impact} ${v.id}`));
console.log(`axe: ${axeReport.length} screens, 0 serious or critical violations${minor.length ? `; others: ${minor.join(', ')}` : ''}`);
await browser.close();
console.log(`${passed} passed, 0 failed`);
