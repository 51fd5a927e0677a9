// The console end to end in a real browser: Debian's chromium driven by playwright-core, against
// rowgate + Caddy + PostgreSQL that tests/it/web_console.rs started. Five people in five browser
// contexts (separate storage, as separate browsers): alice and bob each sign up (confirmed by the
// email read from the SMTP server: lib.mjs confirmSignUp) and create an
// org, alice invites bob by link and carol by email, both accept, bob's task edits reach alice's
// tab (live over realtime when the server has it, else on reload), a tab renews an expired
// session, alice never receives a byte of bob's other org, a platform admin approves, suspends
// and configures, an optimistic edit is rolled back with the server's sentence, an API token
// works until it is revoked, sign-out revokes the session; then the tenancy kit (tenancy.mjs):
// plans and quotas, a member's denied case, exports, deletion and restore, ownership moves, the
// access report, a person's erasure; then the account lifecycle (account.mjs): password recovery
// through a real SMTP server, a confirmation link, TOTP enrolment and the code at sign-in; then the
// emails the console starts (email.mjs): an invitation by email, a password and an email change,
// a sign-in link. axe-core checks every main screen; the CSP must never fire.
// The harness (browser, people, steps, axe) is lib.mjs.
//
//   E2E_ORIGIN=https://localhost:port   the site (Caddy)
//   E2E_CA=<intermediate.crt>           Caddy's intermediate CA: chromium trusts exactly its key
//   E2E_ARTIFACTS=<dir>                 screenshots and the axe report go here
//   E2E_REALTIME=expected|absent        whether the server has /realtime/v1 (the test probes it)
//   E2E_ADMIN_EMAIL / E2E_ADMIN_PASSWORD   the bootstrapped super admin
//   CHROMIUM=/usr/bin/chromium
// Node's own fetch (token and session checks) trusts Caddy's root through NODE_EXTRA_CA_CERTS.
// Prints one line per step and a closing "N passed, N failed"; exits 1 on the first failure.

import assert from 'node:assert/strict';
import {
  ADMIN,
  ORIGIN,
  REALTIME,
  addProject,
  addTask,
  apiFetch,
  axe,
  createOrg,
  finish,
  heading,
  liveState,
  look,
  orgIdOf,
  people,
  person,
  problems,
  section,
  shot,
  confirmSignUp,
  signUp,
  step,
} from './lib.mjs';
import { tenancySteps } from './tenancy.mjs';
import { accountSteps } from './account.mjs';
import { emailSteps } from './email.mjs';
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
  // The server confirms by email: the page says so, and the link in the email signs her in.
  await alice.page.getByText('Check your email for a link to confirm your address, then sign in.').waitFor();
  await axe(alice, 'check your email');
  await confirmSignUp(alice, A.email);
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
  // Her confirmation email's link signs her in; "Continue" goes back to the pending invitation.
  await confirmSignUp(carol, 'carol@acme.test');
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
  // Two changes (the title, then done) arrive one after the other: wait for both.
  await alice.page.waitForFunction(
    () => document.querySelector('.task.done .task-title')?.textContent === 'Write the docs',
    null,
    { timeout: live === 'live' ? 5_000 : 10_000 },
  );
  assert.ok(await alice.page.getByRole('checkbox', { name: 'Done: Write the docs' }).isChecked());
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
  // has_model_access answers for her, and the grant has no end.
  await alice.page.waitForFunction(() => document.querySelector('td[data-access]')?.textContent === 'Yes', null, { timeout: 5_000 });
  await alice.page.getByRole('cell', { name: 'No end' }).waitFor();
  await axe(alice, 'models');
  await shot(alice, '07-models.png');
  await alice.page.getByRole('button', { name: 'Disable' }).click();
  await alice.page.getByRole('button', { name: 'Disable local-llm' }).click();
  await alice.page.getByText('No model is enabled for this organization.').waitFor();
});

await tenancySteps({ alice, bob, admin, A, B, acme, labs });
await accountSteps({ admin });
await emailSteps({ alice, acme });

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


await finish();
