//! The owner's page of an org (functions/rpc_lifecycle.sql, functions/privacy.sql): export its
//! whole data set (api.export_org, owners and the super admin), move ownership to a member
//! (api.transfer_ownership by user_id: the new owner, every other owner becomes an admin), and
//! request its deletion (api.delete_organization: read-only at once, purged after the platform's
//! deletion_grace_period) or cancel it (api.restore_organization). Each RPC checks the caller
//! itself (PT403); this page only leaves out what a role cannot use.

import { useState } from 'preact/hooks';
import { run, supabase } from '../../api/client';
import { type Invitation, type Membership, type MyOrg, type PlatformSettings } from '../../api/types';
import { useApp } from '../../state';
import { ConfirmButton, Notice, Page, downloadJson, interval, shortId, useAction, useLoad, when } from '../../ui/kit';

export function OrgSettings({ org }: { org: MyOrg }) {
  const { userId, email, reloadOrgs } = useApp();
  const o = org.organizations;
  const owner = org.role === 'owner';
  const grace = useLoad(
    () =>
      owner
        ? run<PlatformSettings>(supabase.from('platform_settings').select('deletion_grace_period').single())
        : Promise.resolve(null),
    [owner],
  );
  const people = useLoad(async () => {
    if (!owner) return [];
    const [members, invitations] = await Promise.all([
      run<Membership[]>(supabase.from('memberships').select('*').eq('org_id', org.org_id).order('created_at')),
      run<Invitation[]>(supabase.from('invitations').select('*').eq('org_id', org.org_id)),
    ]);
    // Whom the console knows by email: the user, and members who accepted an email invitation.
    const name = (id: string) =>
      id === userId ? email ?? id : invitations.find((i) => i.kind === 'email' && i.accepted_by === id)?.email ?? `User ${shortId(id)}`;
    return members.filter((m) => m.user_id !== userId).map((m) => ({ ...m, name: name(m.user_id) }));
  }, [org.org_id, org.role]);
  const [heir, setHeir] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const exporting = useAction();
  const transfer = useAction();
  const lifecycle = useAction();

  const exportOrg = () =>
    void exporting.act(async () => {
      const doc = await run<unknown>(supabase.rpc('export_org', { org_id: org.org_id }, { get: true }));
      downloadJson(`${o.name.replace(/[^\w.-]+/g, '-')}-export.json`, doc);
    });

  const moveOwnership = (e: Event) => {
    e.preventDefault();
    setDone(null);
    const to = people.data?.find((m) => m.user_id === heir);
    void transfer.act(async () => {
      await run(supabase.rpc('transfer_ownership', { org: org.org_id, user_id: heir }));
      setDone(`${to?.name ?? 'The member'} is now the owner; you are an admin.`);
      await reloadOrgs();
    });
  };

  const remove = () =>
    lifecycle.act(async () => {
      setDone(null);
      const answer = await run<{ purge_after: string }>(supabase.rpc('delete_organization', { org: org.org_id }));
      setDone(`${o.name} will be deleted for good on ${when(answer.purge_after)}.`);
      await reloadOrgs();
    });
  const restore = () =>
    void lifecycle.act(async () => {
      setDone(null);
      await run(supabase.rpc('restore_organization', { org: org.org_id }));
      setDone(`${o.name} is restored.`);
      await reloadOrgs();
    });

  if (!owner) {
    return (
      <Page title="Organization">
        {/* Also right after this user moved ownership away: say it worked. */}
        <Notice kind="success">{done}</Notice>
        <Notice kind="info">Only the organization’s owners export it, move its ownership or delete it.</Notice>
      </Page>
    );
  }
  return (
    <Page title="Organization">
      <Notice kind="success">{done}</Notice>
      <h2>Export</h2>
      <p class="hint">Everything stored for {o.name}: members, invitations, projects, tasks, models, API tokens (never a secret) and the audit log, as one JSON file.</p>
      <p>
        <button type="button" onClick={exportOrg} disabled={exporting.busy}>
          Download the organization’s data
        </button>
      </p>
      <Notice kind="error">{exporting.error}</Notice>

      <h2>Ownership</h2>
      <Notice kind="error">{people.error}</Notice>
      {people.data && people.data.length === 0 ? (
        <p>Invite someone first: ownership moves to a member.</p>
      ) : (
        <form class="inline-form" onSubmit={moveOwnership}>
          <label>
            New owner
            <select required value={heir} onChange={(e) => setHeir(e.currentTarget.value)}>
              <option value="">Choose a member</option>
              {(people.data ?? []).map((m) => (
                <option key={m.user_id} value={m.user_id}>
                  {m.name} ({m.role})
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={transfer.busy}>
            Transfer ownership
          </button>
        </form>
      )}
      <p class="hint">The new member becomes the owner and every other owner, you included, becomes an admin.</p>
      <Notice kind="error">{transfer.error}</Notice>

      <h2>Deletion</h2>
      {o.status === 'pending_deletion' ? (
        <>
          <Notice kind="info">
            {o.name} is pending deletion: it is read-only and will be deleted for good on {when(o.purge_after)}.
          </Notice>
          <p>
            <button type="button" class="primary" onClick={restore} disabled={lifecycle.busy}>
              Restore {o.name}
            </button>
          </p>
        </>
      ) : (
        <>
          <p class="hint" id="delete-hint">
            The organization becomes read-only at once and is deleted for good after {interval(grace.data?.deletion_grace_period)}, with its
            members, projects, tasks and tokens; until then you can restore it.
          </p>
          <p>
            <ConfirmButton label="Delete organization" confirmLabel={`Delete ${o.name}`} describedBy="delete-hint" onConfirm={() => void remove()} />
          </p>
        </>
      )}
      <Notice kind="error">{lifecycle.error}</Notice>
    </Page>
  );
}
