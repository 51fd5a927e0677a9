//! Screens whose backend is not in rowgate yet — one list, so that a fork or the issue that adds
//! the endpoint knows what to build here. Each route answers a page saying what it waits for;
//! none of them pretends to work. (Live updates are wired: api/live.ts.)

import { Page } from '../../ui/kit';

export interface PendingScreen {
  /** Route pattern (router.match). */
  path: string;
  title: string;
  issue: number;
  /** What the screen will call once the backend exists. */
  uses: string;
}

export const PENDING: PendingScreen[] = [
  // TODO(issue 18): the landing page of the confirmation link; set detectSessionInUrl (api/client.ts).
  { path: '/auth/confirm', title: 'Confirm your email address', issue: 18, uses: 'the /auth/v1/verify redirect, supabase.auth.verifyOtp' },
  // TODO(issue 18): "Forgot your password?" on the sign-in page, then this landing page.
  { path: '/auth/recover', title: 'Choose a new password', issue: 18, uses: 'supabase.auth.resetPasswordForEmail, then auth.updateUser({ password })' },
  // TODO(issue 18): TOTP enrolment (QR code), challenge at sign-in when aal2 is required.
  { path: '/account/mfa', title: 'Two-factor authentication', issue: 18, uses: 'supabase.auth.mfa.enroll / challenge / verify / getAuthenticatorAssuranceLevel' },
];

export function PendingPage({ screen }: { screen: PendingScreen }) {
  return (
    <Page title={screen.title}>
      <p>This screen is not available yet: this rowgate server does not offer it.</p>
      <p class="hint">
        It waits for rowgate issue {screen.issue} and will use {screen.uses}.
      </p>
    </Page>
  );
}
