// The harness of the console's end-to-end scenario (console.mjs): the browser (Debian's chromium
// through playwright-core, trusting exactly Caddy's intermediate CA), people as browser contexts
// whose every page text and API answer is recorded, steps that stop at the first failure with a
// screenshot per person, axe-core, and the helpers the steps share. Settings: see console.mjs.

import { chromium } from 'playwright-core';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
export const ORIGIN = env('E2E_ORIGIN');
export const ARTIFACTS = env('E2E_ARTIFACTS');
export const REALTIME = env('E2E_REALTIME', 'absent');
export const ADMIN = { email: env('E2E_ADMIN_EMAIL'), password: env('E2E_ADMIN_PASSWORD') };
const MAILDIR = env('E2E_MAILDIR');
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
export const problems = []; // CSP violations and script errors, from every page

export async function step(name, body) {
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
export const people = [];
export async function person(name) {
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
    if (/^Failed to load resource: the server responded with a status of (40[0139]|409|422)/.test(text)) return;
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
export async function look(p) {
  const text = await p.page.locator('body').innerText();
  p.texts.push(text);
  return text;
}

export async function heading(p, name) {
  await p.page.getByRole('heading', { level: 1, name }).waitFor({ timeout: 10_000 });
  await look(p);
}

export async function shot(p, file) {
  await p.page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
}

/** axe-core on the current page: no serious or critical violation. */
export async function axe(p, screen) {
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

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The messages to `to` so far, oldest first (the SMTP sink writes one JSON file per message). */
export function mailsTo(to) {
  return readdirSync(MAILDIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(MAILDIR, f), 'utf8')))
    .filter((m) => m.rcpt_tos.includes(to));
}

/** The message number `n` (0: the first) to `to`, once it has arrived. */
export async function waitForMail(to, n = 0) {
  for (let i = 0; i < 150; i++) {
    const m = mailsTo(to)[n];
    if (m) return m;
    await sleep(100);
  }
  throw new Error(`no email number ${n + 1} to ${to}`);
}

/** The link of an email (its href, HTML entities undone). */
export const linkOf = (mail) => /href="([^"]+)"/.exec(mail.body)[1].replaceAll('&amp;', '&');

/**
 * After "Create account": the page says to check the inbox (the server confirms by email); the
 * confirmation email's link, opened in the same tab, goes through Caddy to /auth/v1/verify and lands
 * on /auth/confirm signed in; "Continue" goes on (to a pending invitation, else home).
 */
export async function confirmSignUp(p, email) {
  await p.page.getByText('Check your email for a link to confirm your address, then sign in.').waitFor();
  const link = linkOf(await waitForMail(email));
  assert.ok(link.startsWith(`${ORIGIN}/auth/v1/verify?`) && new URL(link).searchParams.get('type') === 'signup', link);
  await p.page.goto(link);
  await p.page.waitForURL(/\/auth\/confirm#?$/);
  await p.page.getByText(`Your email address ${email} is confirmed.`).waitFor();
  await p.page.getByRole('link', { name: 'Continue to the console' }).click();
}

export async function signUp(p, email, password) {
  await p.page.goto('/');
  await p.page.waitForURL(/\/signin$/);
  await p.page.getByRole('link', { name: 'Create an account' }).click();
  await heading(p, 'Create your account');
  await p.page.getByLabel('Email address').fill(email);
  await p.page.getByLabel('Password').fill(password);
  await p.page.getByRole('button', { name: 'Create account' }).click();
  await confirmSignUp(p, email);
}

export async function createOrg(p, name) {
  await heading(p, 'New organization');
  await p.page.getByLabel('Organization name').fill(name);
  await p.page.getByRole('button', { name: 'Create organization' }).click();
}

export async function addProject(p, name) {
  await p.page.getByLabel('New project').fill(name);
  await p.page.getByRole('button', { name: 'Add project' }).click();
  await p.page.getByRole('heading', { level: 2, name }).waitFor();
}

export async function addTask(p, title) {
  await p.page.getByLabel('New task').fill(title);
  await p.page.getByRole('button', { name: 'Add task' }).click();
  await p.page.getByRole('checkbox', { name: `Done: ${title}` }).waitFor();
}

export async function section(p, label, title = label) {
  await p.page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: label, exact: true }).click();
  await heading(p, title);
}

export function orgIdOf(url) {
  const m = /\/o\/([0-9a-f-]{36})\//.exec(url);
  assert.ok(m, `no org in ${url}`);
  return m[1];
}

export async function liveState(p) {
  const el = p.page.locator('[data-live]');
  await p.page.waitForFunction(() => document.querySelector('[data-live]')?.getAttribute('data-live') !== 'connecting', null, {
    timeout: 15_000,
  });
  return el.getAttribute('data-live');
}

export async function apiFetch(path, token) {
  return fetch(`${ORIGIN}${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
}
/** The axe report to the artefacts, the closing line; closes the browser. */
export async function finish() {
  writeFileSync(join(ARTIFACTS, 'axe.json'), JSON.stringify(axeReport, null, 2));
  const minor = axeReport.flatMap((r) => r.violations.map((v) => `${r.screen}: ${v.impact} ${v.id}`));
  console.log(`axe: ${axeReport.length} screens, 0 serious or critical violations${minor.length ? `; others: ${minor.join(', ')}` : ''}`);
  await browser.close();
  console.log(`${passed} passed, 0 failed`);
}
