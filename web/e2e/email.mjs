// The emailed flows that start from the console itself (console.mjs runs these steps), each email
// read from the test's SMTP server and its link opened in the invitee's own browser context: an
// invitation sent by email from the members page (the link signs gina up and joins Acme in one
// step), changing one's password and email address from the account page (the new address
// confirms by its link, which lands on /auth/confirm), "Email me a sign-in link" (a magic link),
// and "Continue with corp": OAuth through a real OIDC provider (tests/clients/oidc_provider.mjs).

import assert from 'node:assert/strict';
import { startProvider } from '../../tests/clients/oidc_provider.mjs';
import { ORIGIN, axe, heading, linkOf, mailsTo, people, person, waitForMail, step } from './lib.mjs';

export async function emailSteps({ alice, acme }) {
  const G = { email: 'gina@acme.test', password: 'gina-passphrase', next: 'gina@elsewhere.test' };
  let gina;

  await step('members: alice sends gina an invitation by email; its link signs gina up and joins Acme', async () => {
    await alice.page.goto(`/o/${acme}/members`);
    await heading(alice, 'Members');
    await alice.page.getByRole('textbox', { name: 'Email address' }).fill(G.email);
    await alice.page.getByRole('button', { name: 'Send by email' }).click();
    await alice.page.getByText(`An invitation email is on its way to ${G.email}.`).waitFor();
    await alice.page.getByRole('row').filter({ hasText: G.email }).filter({ hasText: 'Not yet' }).waitFor();
    await axe(alice, 'members: invitation emailed');
    const link = linkOf(await waitForMail(G.email));
    assert.ok(link.startsWith(`${ORIGIN}/auth/v1/verify?`) && new URL(link).searchParams.get('type') === 'invite', link);
    gina = await person('gina');
    await gina.page.goto(link);
    await gina.page.waitForURL(new RegExp(`/o/${acme}/projects$`));
    await gina.page.getByText('Your role: member').waitFor();
    await alice.page.reload();
    await alice.page.getByRole('row').filter({ hasText: G.email }).filter({ hasText: /Accepted / }).waitFor();
    // The link works once (tried in another browser).
    const again = await person('gina-again');
    await again.page.goto(link);
    await heading(again, 'Email confirmation');
    assert.equal(await again.page.getByRole('alert').innerText(), 'This link or code has expired or was already used: ask for a new one.');
    await again.context.close();
    people.splice(people.indexOf(again), 1);
  });

  await step('account: gina (invited, no password yet) sets a password; it signs her in', async () => {
    await gina.page.getByRole('link', { name: G.email }).click();
    await heading(gina, 'Your account');
    await gina.page.getByLabel('New password').fill(G.password);
    await gina.page.getByRole('button', { name: 'Change password' }).click();
    await gina.page.getByText('Your password is changed. Your other sessions are signed out.').waitFor();
    await axe(gina, 'account: password changed');
    await gina.page.getByRole('button', { name: 'Sign out' }).click();
    await heading(gina, 'Sign in');
    await gina.page.getByLabel('Email address').fill(G.email);
    await gina.page.getByLabel('Password').fill(G.password);
    await gina.page.getByRole('button', { name: 'Sign in' }).click();
    await gina.page.waitForURL(new RegExp(`/o/${acme}/projects$`));
  });

  await step('account: gina changes her email address; the link sent to the new one changes it, and /auth/confirm says so', async () => {
    await gina.page.getByRole('link', { name: G.email }).click();
    await heading(gina, 'Your account');
    await gina.page.getByLabel('New email address').fill(G.next);
    await gina.page.getByRole('button', { name: 'Change email address' }).click();
    await gina.page.getByText(`Check ${G.next}: the link we sent there changes your address. Until then you sign in as ${G.email}.`).waitFor();
    const link = linkOf(await waitForMail(G.next));
    assert.equal(new URL(link).searchParams.get('type'), 'email_change', link);
    assert.equal(new URL(link).searchParams.get('redirect_to'), `${ORIGIN}/auth/confirm`);
    await gina.page.goto(link);
    await gina.page.waitForURL(/\/auth\/confirm#?$/);
    await gina.page.getByText(`Your email address is changed: you now sign in as ${G.next}.`).waitFor();
    await axe(gina, 'email change confirmed');
    await gina.page.getByRole('link', { name: 'Continue to the console' }).click();
    await gina.page.getByRole('link', { name: G.next }).waitFor();
  });

  await step('sign-in link: gina asks for one from the sign-in page; the email signs her in', async () => {
    await gina.page.getByRole('button', { name: 'Sign out' }).click();
    await heading(gina, 'Sign in');
    const before = mailsTo(G.next).length;
    await gina.page.getByLabel('Email address').fill(G.next);
    await gina.page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await gina.page.getByText(`If ${G.next} has an account here, an email with a sign-in link is on its way.`).waitFor();
    await axe(gina, 'sign-in link sent');
    const link = linkOf(await waitForMail(G.next, before));
    assert.equal(new URL(link).searchParams.get('type'), 'magiclink', link);
    await gina.page.goto(link);
    await gina.page.waitForURL(new RegExp(`/o/${acme}/projects$`));
    await gina.page.getByRole('link', { name: G.next }).waitFor();
    await gina.context.close();
    people.splice(people.indexOf(gina), 1);
  });

  await step('OAuth: "Continue with corp" (listed by /auth/v1/settings) signs ivy up through a real OIDC provider; a refusal is a sentence', async () => {
    // The provider has no login page: it signs in the account its login_hint names, which the
    // test adds to the console's /authorize request (a person would type it at the provider).
    const provider = await startProvider({
      port: Number(process.env.E2E_OIDC_PORT),
      clientId: 'rowgate-console',
      clientSecret: 'rowgate-console-secret-0123456789',
      redirectUri: `${ORIGIN}/auth/v1/callback`,
      accounts: { ivy: { email: 'ivy@acme.test', email_verified: true, name: 'Ivy' } },
    });
    try {
      const ivy = await person('ivy');
      await ivy.page.route('**/auth/v1/authorize?*', (route) => route.continue({ url: `${route.request().url()}&login_hint=ivy` }));
      await ivy.page.goto('/signin');
      await heading(ivy, 'Sign in');
      await axe(ivy, 'sign in with a provider');
      await ivy.page.getByRole('button', { name: 'Continue with corp' }).click();
      await ivy.page.waitForURL(/\/orgs\/new$/, { timeout: 15_000 });
      await ivy.page.getByRole('link', { name: 'ivy@acme.test' }).waitFor();
      await ivy.context.close();
      people.splice(people.indexOf(ivy), 1);
      // Someone the provider does not know (another browser: no session at the provider).
      const hank = await person('hank');
      await hank.page.route('**/auth/v1/authorize?*', (route) => route.continue({ url: `${route.request().url()}&login_hint=nobody` }));
      await hank.page.goto('/signin');
      await hank.page.getByRole('button', { name: 'Continue with corp' }).click();
      await heading(hank, 'Signing in');
      assert.match(await hank.page.getByRole('alert').innerText(), /^The sign-in did not complete: /);
      await axe(hank, 'OAuth callback refused');
      await hank.context.close();
      people.splice(people.indexOf(hank), 1);
    } finally {
      await provider.close();
    }
  });
}
