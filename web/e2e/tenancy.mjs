// The tenancy kit in the console (docs/spa.md, steps 16 to 20): plans and the quota sentence, a
// member's denied case, the owner's export and deletion, ownership moves, the access report's
// neighbours and a person's own export and erasure. Run by console.mjs after the platform steps,
// with its people and orgs.

import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { REALTIME, addTask, axe, heading, liveState, look, people, person, section, shot, signUp, step } from './lib.mjs';

const LIVE = REALTIME === 'expected' ? 'live' : 'off';

export async function tenancySteps({ alice, bob, admin, A, B, acme, labs }) {
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
    assert.equal(live, LIVE, 'the screen says whether it is live');
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
    assert.equal(live, LIVE, 'the screen says whether it is live');
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
}
