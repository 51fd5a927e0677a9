//! API tokens of the org (functions/rpc_api_tokens.sql): api.create_api_token answers the token
//! once (only its SHA-256 is stored), api.list_api_tokens and api.revoke_api_token — owners and
//! admins only, with a role ceiling not above their own. Revocation applies to the next request.

import { useState } from 'preact/hooks';
import { run, supabase } from '../../api/client';
import { describe } from '../../api/errors';
import { ROLES, rank, type ApiToken, type MyOrg, type Role } from '../../api/types';
import { ConfirmButton, Notice, OnceVisible, Page, useAction, useLoad, when } from '../../ui/kit';

function status(t: ApiToken): string {
  if (t.revoked_at) return `Revoked ${when(t.revoked_at)}`;
  if (t.expires_at && new Date(t.expires_at) <= new Date()) return 'Expired';
  return 'Active';
}

export function Tokens({ org }: { org: MyOrg }) {
  const tokens = useLoad(() => run<ApiToken[]>(supabase.rpc('list_api_tokens', { org: org.org_id })), [org.org_id]);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [days, setDays] = useState('90');
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const create = useAction();
  const [rowError, setRowError] = useState<string | null>(null);

  const submit = (e: Event) => {
    e.preventDefault();
    void create.act(async () => {
      const expires_at = days === 'never' ? null : new Date(Date.now() + Number(days) * 86_400_000).toISOString();
      const answer = await run<{ token: string; name: string }>(
        supabase.rpc('create_api_token', { org: org.org_id, name, role, expires_at }),
      );
      setCreated({ name: answer.name, token: answer.token });
      setName('');
      await tokens.reload();
    });
  };

  const revoke = async (t: ApiToken) => {
    setRowError(null);
    try {
      await run(supabase.rpc('revoke_api_token', { org: org.org_id, id: t.id }));
      await tokens.reload();
    } catch (e) {
      setRowError(describe(e));
    }
  };

  const list = (tokens.data ?? []).slice().sort((a, b) => b.created_at.localeCompare(a.created_at));
  return (
    <Page title="API tokens">
      <p class="hint">
        A token lets a script act in this organization only, at most with its role, without a user session: send it as{' '}
        <code>Authorization: Bearer rg_…</code>.
      </p>
      <form class="inline-form" onSubmit={submit}>
        <label>
          Token name
          <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.filter((r) => rank(r) <= rank(org.role)).map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          Expires
          <select value={days} onChange={(e) => setDays(e.currentTarget.value)}>
            <option value="7">in 7 days</option>
            <option value="30">in 30 days</option>
            <option value="90">in 90 days</option>
            <option value="365">in a year</option>
            <option value="never">never</option>
          </select>
        </label>
        <button type="submit" class="primary" disabled={create.busy}>
          Create token
        </button>
      </form>
      <Notice kind="error">{create.error}</Notice>
      {created && (
        <OnceVisible
          label={`New token “${created.name}”`}
          value={created.token}
          note="Copy it now: it is shown only once, and only its hash is stored."
        />
      )}
      <h2>Tokens</h2>
      <Notice kind="error">{tokens.error ?? rowError}</Notice>
      {tokens.data && tokens.data.length === 0 ? (
        <p>No tokens yet.</p>
      ) : (
        <table>
          <caption class="sr-only">API tokens</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((t) => (
              <tr key={t.id} data-token-id={t.id}>
                <td>{t.name}</td>
                <td>{t.role}</td>
                <td>{when(t.created_at)}</td>
                <td>{t.expires_at ? when(t.expires_at) : 'Never'}</td>
                <td>{when(t.last_used_at)}</td>
                <td>{status(t)}</td>
                <td class="row-actions">
                  {!t.revoked_at && <ConfirmButton label="Revoke" confirmLabel={`Revoke ${t.name}`} onConfirm={() => revoke(t)} />}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
