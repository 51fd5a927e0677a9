//! The signed-in person's own data (functions/privacy.sql): everything stored about them as one
//! JSON file (api.export_my_data), and deleting their account (api.delete_my_account: the current
//! password again; refused while they are the last owner of an organization — PT409 — or the last
//! super admin). Erasure removes their sessions at once, so the console then forgets the session
//! locally and says so on the sign-in page. Changing the password or the email address: Credentials.tsx.

import { useState } from 'preact/hooks';
import { run, supabase } from '../../api/client';
import { useApp } from '../../state';
import { Link, navigate } from '../../router';
import { Notice, Page, downloadJson, useAction } from '../../ui/kit';
import { ChangeEmail, ChangePassword } from './Credentials';

/** Read once by the sign-in page after an erasure. */
export const FAREWELL_KEY = 'rowgate-console-farewell';

export function Account() {
  const { email } = useApp();
  const [password, setPassword] = useState('');
  const exporting = useAction();
  const erase = useAction();

  const exportMine = () =>
    void exporting.act(async () => {
      const doc = await run<unknown>(supabase.rpc('export_my_data', undefined, { get: true }));
      downloadJson('my-data.json', doc);
    });

  const deleteAccount = (e: Event) => {
    e.preventDefault();
    void erase.act(async () => {
      await run(supabase.rpc('delete_my_account', { password }));
      sessionStorage.setItem(FAREWELL_KEY, `The account ${email ?? ''} is deleted.`.replace('  ', ' '));
      // The server ended every session with the account: forget it here, without asking it again.
      await supabase.auth.signOut({ scope: 'local' });
      navigate('/signin', { replace: true });
    });
  };

  return (
    <Page title="Your account">
      <p>
        Signed in as <strong>{email}</strong>.
      </p>
      <h2>Sign-in</h2>
      <p>
        <Link href="/account/mfa">Two-factor authentication</Link>: a code from an authenticator app at every sign-in.
      </p>
      <div class="columns">
        <ChangePassword />
        <ChangeEmail />
      </div>
      <h2>Your data</h2>
      <p class="hint">Your profile, memberships, sessions, the tokens and invitations you created, the rows you created and every audit entry you caused.</p>
      <p>
        <button type="button" onClick={exportMine} disabled={exporting.busy}>
          Download your data
        </button>
      </p>
      <Notice kind="error">{exporting.error}</Notice>
      <h2>Delete your account</h2>
      <form class="stack narrow card" onSubmit={deleteAccount} aria-labelledby="delete-account-title">
        <h3 id="delete-account-title">Delete your account for good</h3>
        <p class="hint">
          Your sessions, API tokens and memberships end at once; the audit log keeps what you did under a pseudonym. If you are the
          last owner of an organization, move its ownership first.
        </p>
        <label>
          Current password
          <input type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <Notice kind="error">{erase.error}</Notice>
        <button type="submit" class="danger" disabled={erase.busy}>
          Delete my account
        </button>
      </form>
    </Page>
  );
}
