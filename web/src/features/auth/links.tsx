//! The pages of the emailed links (docs/auth.md, "The emailed flows"): asking for a recovery link,
//! the recovery landing page (choose a new password) and the confirmation landing page (sign-up
//! and email change). rowgate's GET /auth/v1/verify redirects here with the session in the URL
//! fragment (`#access_token=…&type=recovery`), which supabase-js reads and removes at start-up
//! (`detectSessionInUrl`, api/client.ts), or with `#error=…&error_code=otp_expired&…` when the link
//! is expired, used or forged. The fragment never reaches a server.

import { useState } from 'preact/hooks';
import { supabase } from '../../api/client';
import { ApiError, redirectError } from '../../api/errors';
import { Link } from '../../router';
import { useApp } from '../../state';
import { afterSignIn } from '../members/join';
import { Notice, Page, useAction } from '../../ui/kit';

/** The fragment as the page opened (read before supabase-js removes a session from it). */
const landing = new URLSearchParams(location.hash.slice(1));

let forwarded = false;

/**
 * An emailed link that landed on the site's root (ROWGATE_SITE_URL, the default redirect): the
 * page that tells its outcome, once per page load; else null.
 */
export function linkLanding(path: string): string | null {
  if (path !== '/' || forwarded) return null;
  const type = landing.get('type');
  const to = type === 'recovery' ? '/auth/recover' : type === 'signup' || type === 'email_change' || landing.has('error_code') ? '/auth/confirm' : null;
  forwarded = to !== null;
  return to;
}

/** "Forgot your password?": a link by email, and the same sentence whether the address has an account. */
export function ForgotPage() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState<string | null>(null);
  const { busy, error, act } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    setSent(null);
    void act(async () => {
      const { error: err } = await supabase.auth.resetPasswordForEmail(email, {
        redirectTo: `${location.origin}/auth/recover`,
      });
      if (err) throw ApiError.from(err);
      setSent(`If ${email} has an account here, an email with a link to choose a new password is on its way.`);
    });
  };
  return (
    <div class="auth">
      <Page title="Reset your password">
        <form onSubmit={submit} class="stack">
          <label>
            Email address
            <input type="email" name="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </label>
          <Notice kind="error">{error}</Notice>
          <Notice kind="info">{sent}</Notice>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Please wait…' : 'Send me a link'}
          </button>
        </form>
        <p>
          <Link href="/signin">Back to sign in</Link>
        </p>
      </Page>
    </div>
  );
}

/** The recovery link's landing page: signed in by the link, the person chooses a new password. */
export function RecoverPage() {
  const { session } = useApp();
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const { busy, error, act } = useAction();
  const failed = redirectError(landing);
  const submit = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      const { error: err } = await supabase.auth.updateUser({ password });
      if (err) throw ApiError.from(err);
      setDone(true);
    });
  };
  let body;
  if (done) {
    body = (
      <>
        <Notice kind="success">Your password is changed.</Notice>
        <p>
          <Link href="/">Continue to the console</Link>
        </p>
      </>
    );
  } else if (session && !failed) {
    body = (
      <form onSubmit={submit} class="stack">
        <p>
          Signed in as <strong>{session.user.email}</strong> by the link in your email.
        </p>
        <label>
          New password
          <input
            type="password"
            name="new-password"
            autoComplete="new-password"
            required
            minLength={8}
            aria-describedby="new-password-hint"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <p class="hint" id="new-password-hint">
          At least 8 characters.
        </p>
        <Notice kind="error">{error}</Notice>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Please wait…' : 'Save the new password'}
        </button>
      </form>
    );
  } else {
    body = (
      <>
        <Notice kind="error">{failed ?? 'Open this page from the link in your email to choose a new password.'}</Notice>
        <p>
          <Link href="/auth/forgot">Ask for a new link</Link> · <Link href="/signin">Sign in</Link>
        </p>
      </>
    );
  }
  return (
    <div class="auth">
      <Page title="Choose a new password">{body}</Page>
    </div>
  );
}

/** The confirmation link's landing page (sign-up, email change): the outcome as a sentence. */
export function ConfirmPage() {
  const { session } = useApp();
  const failed = redirectError(landing);
  const type = landing.get('type');
  let outcome;
  if (failed) outcome = <Notice kind="error">{failed}</Notice>;
  else if (session && type === 'email_change') {
    outcome = <Notice kind="success">Your email address is changed: you now sign in as {session.user.email}.</Notice>;
  } else if (session && landing.has('access_token')) {
    outcome = <Notice kind="success">Your email address {session.user.email} is confirmed.</Notice>;
  } else {
    outcome = <Notice kind="info">Nothing to confirm here: open the link from your email.</Notice>;
  }
  return (
    <div class="auth">
      <Page title="Email confirmation">
        {outcome}
        <p>
          {session ? <Link href={afterSignIn()}>Continue to the console</Link> : <Link href="/signin">Sign in</Link>}
        </p>
      </Page>
    </div>
  );
}
