//! Sign in and sign up (supabase-js auth → /auth/v1/token?grant_type=password, /auth/v1/signup).
//! When the server requires email confirmation (ROWGATE_MAILER_AUTOCONFIRM=false) signUp answers
//! without a session and this page says to check the inbox; the link lands on ROWGATE_SITE_URL
//! (no `emailRedirectTo`, so that sign-up never depends on it) and App forwards it to /auth/confirm.

import { useState } from 'preact/hooks';
import { supabase } from '../../api/client';
import { ApiError } from '../../api/errors';
import { Link } from '../../router';
import { Notice, Page, useAction } from '../../ui/kit';
import { FAREWELL_KEY } from '../account/Account';

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
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Please wait…' : signingUp ? 'Create account' : 'Sign in'}
          </button>
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
      </Page>
    </div>
  );
}
