//! Sign in and sign up (supabase-js auth → /auth/v1/token?grant_type=password, /auth/v1/signup).
//! When the server requires email confirmation (ROWGATE_MAILER_AUTOCONFIRM=false) signUp answers
//! without a session and this page says to check the inbox; the link lands on ROWGATE_SITE_URL
//! (no `emailRedirectTo`, so that sign-up never depends on it) and App forwards it to /auth/confirm.
//! "Email me a sign-in link" is `signInWithOtp` (POST /auth/v1/otp, `shouldCreateUser: false`): a
//! magic link to an existing account, the same sentence for any address; the link lands on the
//! site's root signed in (the implicit flow's fragment, read by supabase-js).

import { useState } from 'preact/hooks';
import { supabase } from '../../api/client';
import { ApiError } from '../../api/errors';
import { Link } from '../../router';
import { Notice, Page, useAction } from '../../ui/kit';
import { FAREWELL_KEY } from '../account/Account';
import { OAuthButtons } from './oauth';

export function AuthPage({ mode }: { mode: 'signin' | 'signup' }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // After an erasure (features/account), the sign-in page says so once.
  const [info, setInfo] = useState<string | null>(() => {
    const farewell = sessionStorage.getItem(FAREWELL_KEY);
    sessionStorage.removeItem(FAREWELL_KEY);
    return farewell;
  });
  const { busy, error, act } = useAction();
  const signingUp = mode === 'signup';

  const submit = async (e: Event) => {
    e.preventDefault();
    setInfo(null);
    if ((e as SubmitEvent).submitter?.getAttribute('value') === 'link') {
      await act(async () => {
        if (!email) throw new Error('Enter your email address first.');
        const { error: err } = await supabase.auth.signInWithOtp({ email, options: { shouldCreateUser: false } });
        if (err) throw ApiError.from(err);
        setInfo(`If ${email} has an account here, an email with a sign-in link is on its way.`);
      });
      return;
    }
    await act(async () => {
      const { data, error: err } = signingUp
        ? await supabase.auth.signUp({ email, password })
        : await supabase.auth.signInWithPassword({ email, password });
      if (err) throw ApiError.from(err);
      // With a session, App moves on (to a pending invitation, else home) as the session appears.
      if (!data.session) setInfo('Check your email for a link to confirm your address, then sign in.');
    });
  };

  return (
    <div class="auth">
      <Page title={signingUp ? 'Create your account' : 'Sign in'}>
        <form onSubmit={submit} class="stack" aria-describedby={error ? 'auth-error' : undefined}>
          <label>
            Email address
            <input
              type="email"
              name="email"
              autoComplete="email"
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          </label>
          <label>
            Password
            <input
              type="password"
              name="password"
              autoComplete={signingUp ? 'new-password' : 'current-password'}
              required
              minLength={signingUp ? 8 : undefined}
              aria-describedby={signingUp ? 'password-hint' : undefined}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </label>
          {signingUp && (
            <p class="hint" id="password-hint">
              At least 8 characters.
            </p>
          )}
          <div id="auth-error">
            <Notice kind="error">{error}</Notice>
          </div>
          <Notice kind="info">{info}</Notice>
          <button type="submit" class="primary" name="how" value="password" disabled={busy}>
            {busy ? 'Please wait…' : signingUp ? 'Create account' : 'Sign in'}
          </button>
          {!signingUp && (
            <button type="submit" name="how" value="link" formNoValidate disabled={busy}>
              Email me a sign-in link
            </button>
          )}
        </form>
        <p>
          {signingUp ? (
            <>
              Already have an account? <Link href="/signin">Sign in</Link>
            </>
          ) : (
            <>
              New here? <Link href="/signup">Create an account</Link>
            </>
          )}
        </p>
        {!signingUp && (
          <p>
            <Link href="/auth/forgot">Forgot your password?</Link>
          </p>
        )}
        {!signingUp && <OAuthButtons />}
      </Page>
    </div>
  );
}
