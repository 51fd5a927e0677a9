//! Changing one's password and email address from the account page (supabase-js
//! `auth.updateUser` → PUT /auth/v1/user, docs/auth.md). A new password applies at once and ends
//! the person's other sessions; when the server asks for reauthentication
//! (ROWGATE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION and a session over a day old:
//! `reauthentication_needed`) the page has `auth.reauthenticate()` email a code and sends it as the
//! `nonce`. A new email address is confirmed by the link sent to it (unless the server confirms at
//! once), which lands on /auth/confirm (features/auth/links.tsx) and says the address changed.

import { useState } from 'preact/hooks';
import { supabase } from '../../api/client';
import { ApiError } from '../../api/errors';
import { useApp } from '../../state';
import { Notice, useAction } from '../../ui/kit';

export function ChangePassword() {
  const [password, setPassword] = useState('');
  const [nonce, setNonce] = useState('');
  const [needsNonce, setNeedsNonce] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const { busy, error, act } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    setDone(null);
    void act(async () => {
      const { error: err } = await supabase.auth.updateUser(needsNonce ? { password, nonce } : { password });
      if (err && err.code === 'reauthentication_needed') {
        const sent = await supabase.auth.reauthenticate();
        if (sent.error) throw ApiError.from(sent.error);
        setNeedsNonce(true);
        setDone('For your security, enter the code we just emailed you, then save again.');
        return;
      }
      if (err) throw ApiError.from(err);
      setPassword('');
      setNonce('');
      setNeedsNonce(false);
      setDone('Your password is changed. Your other sessions are signed out.');
    });
  };
  return (
    <form class="stack narrow card" onSubmit={submit} aria-labelledby="change-password-title">
      <h3 id="change-password-title">Change your password</h3>
      <label>
        New password
        <input
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      {needsNonce && (
        <label>
          Code from your email
          <input inputMode="numeric" autoComplete="one-time-code" required value={nonce} onInput={(e) => setNonce(e.currentTarget.value)} />
        </label>
      )}
      <Notice kind="error">{error}</Notice>
      <Notice kind="success">{done}</Notice>
      <button type="submit" disabled={busy}>
        Change password
      </button>
    </form>
  );
}

export function ChangeEmail() {
  const { email: current } = useApp();
  const [email, setEmail] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const { busy, error, act } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    setDone(null);
    void act(async () => {
      const { data, error: err } = await supabase.auth.updateUser(
        { email },
        { emailRedirectTo: `${location.origin}/auth/confirm` },
      );
      if (err) throw ApiError.from(err);
      setDone(
        data.user.new_email
          ? `Check ${email}: the link we sent there changes your address. Until then you sign in as ${current ?? 'before'}.`
          : `Your email address is changed to ${data.user.email ?? email}.`,
      );
      setEmail('');
    });
  };
  return (
    <form class="stack narrow card" onSubmit={submit} aria-labelledby="change-email-title">
      <h3 id="change-email-title">Change your email address</h3>
      <label>
        New email address
        <input type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      </label>
      <Notice kind="error">{error}</Notice>
      <Notice kind="success">{done}</Notice>
      <button type="submit" disabled={busy}>
        Change email address
      </button>
    </form>
  );
}
