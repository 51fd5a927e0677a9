//! Accepting an invitation (either kind) with api.accept_invitation(token). Invitation links
//! carry the token in the URL fragment (/join#<token>), which browsers never send to a server,
//! so it stays out of access logs and Referer headers. Joining always takes a click: a link
//! alone never makes someone a member of an org they did not choose.

import { useState } from 'preact/hooks';
import { run, supabase } from '../../api/client';
import { Link, navigate, useLocation } from '../../router';
import { useApp } from '../../state';
import { Notice, Page, useAction } from '../../ui/kit';

const PENDING_KEY = 'rowgate-console-join';

/** The link an invitee opens: `<origin>/join#<token>`. */
export function joinLink(token: string): string {
  return `${window.location.origin}/join#${token}`;
}

/** A token from a pasted token or link. */
export function tokenFrom(text: string): string {
  const t = text.trim();
  const hash = t.indexOf('#');
  return hash >= 0 ? t.slice(hash + 1) : t;
}

/** Where to go after signing in: back to a pending invitation, else home. */
export function afterSignIn(): string {
  const pending = sessionStorage.getItem(PENDING_KEY);
  return pending ? `/join#${pending}` : '/';
}

export function JoinPage() {
  const { session, reloadOrgs } = useApp();
  const loc = useLocation();
  const [pasted, setPasted] = useState('');
  const { busy, error, act } = useAction();
  const token = loc.hash || '';

  if (!session) {
    if (token) sessionStorage.setItem(PENDING_KEY, token);
    return (
      <Page title="Join an organization">
        <p>You have been invited to an organization. Sign in, or create an account, to accept the invitation.</p>
        <p class="actions">
          <Link class="button primary" href="/signin">
            Sign in
          </Link>
          <Link class="button" href="/signup">
            Create an account
          </Link>
        </p>
      </Page>
    );
  }

  const accept = (value: string) =>
    act(async () => {
      const answer = await run<{ org_id: string; role: string }>(supabase.rpc('accept_invitation', { token: value }));
      sessionStorage.removeItem(PENDING_KEY);
      await reloadOrgs();
      navigate(`/o/${answer.org_id}/projects`, { replace: true });
    });

  return (
    <Page title="Join an organization">
      {token ? (
        <>
          <p>Accept this invitation to join the organization that sent it.</p>
          <Notice kind="error">{error}</Notice>
          <p class="actions">
            <button type="button" class="primary" disabled={busy} onClick={() => void accept(token)}>
              Accept invitation
            </button>
            <Link
              class="button"
              href="/"
              onClick={() => sessionStorage.removeItem(PENDING_KEY)}
            >
              Not now
            </Link>
          </p>
        </>
      ) : (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void accept(tokenFrom(pasted));
          }}
        >
          <label>
            Invitation link or token
            <input required value={pasted} onInput={(e) => setPasted(e.currentTarget.value)} />
          </label>
          <Notice kind="error">{error}</Notice>
          <button type="submit" class="primary" disabled={busy}>
            Accept invitation
          </button>
        </form>
      )}
    </Page>
  );
}
