//! OAuth/OIDC sign-in (docs/auth.md, "OAuth"): one button per provider that GET /auth/v1/settings
//! lists (ROWGATE_EXTERNAL_PROVIDERS; none: no buttons), and /auth/callback, where the provider
//! sends the person back with `?code=` (exchanged for a session: supabase-js
//! `exchangeCodeForSession`, the PKCE flow) or `?error=…` (a sentence).

import { useEffect, useState } from 'preact/hooks';
import { oauthProviders, signInWithOAuth, supabase } from '../../api/client';
import { ApiError, describe } from '../../api/errors';
import { Link, navigate } from '../../router';
import { Notice, Page, useAction } from '../../ui/kit';
import { afterSignIn } from '../members/join';

export function OAuthButtons() {
  const [providers, setProviders] = useState<string[]>([]);
  const { busy, error, act } = useAction();
  useEffect(() => {
    oauthProviders().then(setProviders, () => setProviders([]));
  }, []);
  if (providers.length === 0) return null;
  return (
    <div class="stack">
      {providers.map((p) => (
        <button type="button" key={p} disabled={busy} onClick={() => void act(() => signInWithOAuth(p))}>
          Continue with {p}
        </button>
      ))}
      <Notice kind="error">{error}</Notice>
    </div>
  );
}

const callback = new URLSearchParams(location.search);

export function OAuthCallback() {
  const [failed, setFailed] = useState<string | null>(callback.get('error_description') ?? callback.get('error'));
  useEffect(() => {
    const code = callback.get('code');
    if (failed || !code) return;
    supabase.auth.exchangeCodeForSession(code).then(
      ({ error }) => (error ? setFailed(describe(ApiError.from(error))) : navigate(afterSignIn(), { replace: true })),
      (e) => setFailed(describe(e)),
    );
  }, []);
  return (
    <div class="auth">
      <Page title="Signing in">
        {failed ? <Notice kind="error">{`The sign-in did not complete: ${failed}`}</Notice> : <p class="loading">Signing you in…</p>}
        <p>
          <Link href="/signin">Back to sign in</Link>
        </p>
      </Page>
    </div>
  );
}
