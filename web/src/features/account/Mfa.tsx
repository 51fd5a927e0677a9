//! Two-factor authentication with a TOTP app (docs/auth.md, "MFA"): the account's page to enrol
//! (QR code and the secret for manual entry, then a first code), list and remove authenticators
//! (supabase-js `auth.mfa.enroll`, `challengeAndVerify`, `listFactors`, `unenroll`), and the
//! code asked at sign-in when the session is aal1 but the user has a verified factor (App.tsx
//! shows MfaChallenge before the console; state.tsx asks `getAuthenticatorAssuranceLevel`).

import type { Factor } from '@supabase/supabase-js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { supabase } from '../../api/client';
import { ApiError } from '../../api/errors';
import { Link } from '../../router';
import { ConfirmButton, Notice, Page, useAction, useLoad, when } from '../../ui/kit';

/** A supabase-js answer's data, or an ApiError. */
async function auth<T>(answer: Promise<{ data: T | null; error: unknown }>): Promise<T> {
  const { data, error } = await answer;
  if (error || data === null) throw ApiError.from(error);
  return data;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const SVG_ATTRS = ['width', 'height', 'viewBox', 'shape-rendering', 'fill', 'd', 'x', 'y'];

/**
 * The QR code as inline SVG. supabase-js gives `data:image/svg+xml;utf-8,<svg…>`, which the CSP's
 * `img-src 'self'` refuses as an image; the SVG is rebuilt here from its shapes alone (svg, rect,
 * path and their geometry), so nothing else from the answer reaches the page.
 */
function QrCode({ dataUri }: { dataUri: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const source = new DOMParser().parseFromString(dataUri.slice(dataUri.indexOf(',') + 1), 'image/svg+xml').documentElement;
    const copy = (from: Element): Element | null => {
      if (!['svg', 'rect', 'path'].includes(from.localName)) return null;
      const to = document.createElementNS(SVG_NS, from.localName);
      for (const a of SVG_ATTRS) {
        const v = from.getAttribute(a);
        if (v !== null) to.setAttribute(a, v);
      }
      for (const child of Array.from(from.children)) {
        const c = copy(child);
        if (c) to.appendChild(c);
      }
      return to;
    };
    const svg = copy(source);
    if (svg) box.current?.replaceChildren(svg);
  }, [dataUri]);
  return <div class="qr" ref={box} role="img" aria-label="QR code to scan with your authenticator app" />;
}

function CodeField({ value, onInput }: { value: string; onInput: (v: string) => void }) {
  return (
    <>
      <label>
        Code from your authenticator app
        <input
        name="code"
        inputMode="numeric"
        autoComplete="one-time-code"
        pattern="[0-9]{6}"
        maxLength={6}
        required
        aria-describedby="code-hint"
        value={value}
          onInput={(e) => onInput(e.currentTarget.value.trim())}
        />
      </label>
      <p class="hint" id="code-hint">
        Six digits; a new one every 30 seconds.
      </p>
    </>
  );
}

interface Enrolment {
  id: string;
  qr: string;
  secret: string;
}

/** /account/mfa */
export function MfaSettings() {
  const factors = useLoad(async () => (await auth(supabase.auth.mfa.listFactors())).all as Factor[], []);
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [code, setCode] = useState('');
  const [info, setInfo] = useState<string | null>(null);
  const action = useAction();
  const verified = (factors.data ?? []).filter((f) => f.status === 'verified');

  const start = () =>
    void action.act(async () => {
      setInfo(null);
      const f = await auth(supabase.auth.mfa.enroll({ factorType: 'totp', friendlyName: `Authenticator ${new Date().toISOString().slice(0, 16)}` }));
      if (f.type !== 'totp') throw new ApiError('The server answered with another kind of factor.', 'mfa');
      setEnrolment({ id: f.id, qr: f.totp.qr_code, secret: f.totp.secret });
      setCode('');
    });
  const confirm = (e: Event) => {
    e.preventDefault();
    if (!enrolment) return;
    void action.act(async () => {
      await auth(supabase.auth.mfa.challengeAndVerify({ factorId: enrolment.id, code }));
      setEnrolment(null);
      setInfo('Two-factor authentication is on: the next sign-in asks for a code.');
      await factors.reload();
    });
  };
  const remove = (f: Factor) =>
    void action.act(async () => {
      await auth(supabase.auth.mfa.unenroll({ factorId: f.id }));
      setInfo(f.status === 'verified' ? 'The authenticator is removed: sign-in asks for your password only.' : 'The authenticator is removed.');
      await factors.reload();
    });

  return (
    <Page title="Two-factor authentication">
      <p>
        <Link href="/account">Your account</Link>
      </p>
      <Notice kind="error">{factors.error ?? action.error}</Notice>
      <Notice kind="success">{info}</Notice>
      {factors.data && factors.data.length > 0 ? (
        <table>
          <caption>Your authenticators</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {factors.data.map((f) => (
              <tr key={f.id}>
                <td>{f.friendly_name || 'Authenticator app'}</td>
                <td>{f.status === 'verified' ? 'in use' : 'not confirmed'}</td>
                <td>{when(f.created_at)}</td>
                <td>
                  <ConfirmButton label="Remove" confirmLabel="Confirm: remove" onConfirm={() => remove(f)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        factors.data && <p>Sign-in asks for your password only.</p>
      )}
      {!enrolment && verified.length === 0 && factors.data && (
        <button type="button" class="primary" disabled={action.busy} onClick={start}>
          Set up an authenticator app
        </button>
      )}
      {enrolment && (
        <form onSubmit={confirm} class="stack">
          <p>Scan this code with your authenticator app, or enter the key below, then type the code it shows.</p>
          <QrCode dataUri={enrolment.qr} />
          <p>
            Key for manual entry: <code data-secret>{enrolment.secret}</code>
          </p>
          <CodeField value={code} onInput={setCode} />
          <button type="submit" class="primary" disabled={action.busy}>
            Turn on two-factor authentication
          </button>
        </form>
      )}
    </Page>
  );
}

/** Asked before the console opens when the session still owes its second factor. */
export function MfaChallenge() {
  const [code, setCode] = useState('');
  const { busy, error, act } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      const list = await auth(supabase.auth.mfa.listFactors());
      const factor = list.totp[0];
      if (!factor) throw new ApiError('This account has no authenticator any more: sign in again.', 'mfa');
      await auth(supabase.auth.mfa.challengeAndVerify({ factorId: factor.id, code }));
      // The new aal2 session reaches state.tsx, and App opens the console.
    });
  };
  return (
    <div class="auth">
      <Page title="Enter your authentication code">
        <form onSubmit={submit} class="stack">
          <p>This account uses two-factor authentication: open your authenticator app.</p>
          <CodeField value={code} onInput={setCode} />
          <Notice kind="error">{error}</Notice>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Please wait…' : 'Verify'}
          </button>
        </form>
        <p>
          <button type="button" class="quiet" onClick={() => void supabase.auth.signOut({ scope: 'local' })}>
            Sign out
          </button>
        </p>
      </Page>
    </div>
  );
}
