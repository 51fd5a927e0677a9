//! Members, roles and invitations of one org. Reads api.memberships and api.invitations (owners
//! and admins only: policies/invitations.sql); role changes and removals are PATCH/DELETE on
//! api.memberships, decided by policies/memberships.sql (nobody above their own role) and the
//! keep_an_owner trigger; invitations come from api.create_invitation (by email) and
//! api.create_invite_link (anyone with the link), revoked by DELETE. "Send by email" is
//! supabase-js's `auth.admin.inviteUserByEmail` with the person's own token (api/client.ts adminApi):
//! POST /auth/v1/invite with data {org_id, role}, which rowgate allows the org's owners and admins
//! (auth.invite); the emailed link signs the invitee up or in and joins in one step. Membership changes arrive
//! live (api/live.ts: api.memberships is published; each delivery is decided by its policies).

import { useEffect, useState } from 'preact/hooks';
import { adminApi, run, supabase } from '../../api/client';
import { ApiError } from '../../api/errors';
import { describe } from '../../api/errors';
import { subscribeToOrg, type LiveState } from '../../api/live';
import { ROLES, atLeast, rank, type Invitation, type Membership, type MyOrg, type Role } from '../../api/types';
import { navigate } from '../../router';
import { useApp } from '../../state';
import { ConfirmButton, Notice, OnceVisible, Page, shortId, useAction, useLoad, when, type Loaded } from '../../ui/kit';
import { LiveIndicator } from '../projects/Projects';
import { joinLink } from './join';

function RoleSelect({ value, max, onChange, label, disabled }: { value: Role; max: Role; onChange: (r: Role) => void; label: string; disabled?: boolean }) {
  return (
    <select aria-label={label} value={value} disabled={disabled} onChange={(e) => onChange(e.currentTarget.value as Role)}>
      {ROLES.filter((r) => rank(r) <= rank(max) || r === value).map((r) => (
        <option value={r} key={r}>
          {r}
        </option>
      ))}
    </select>
  );
}

export function Members({ org }: { org: MyOrg }) {
  const { userId, email, reloadOrgs } = useApp();
  const manager = atLeast(org.role, 'admin');
  const members = useLoad(
    () => run<Membership[]>(supabase.from('memberships').select('*').eq('org_id', org.org_id).order('created_at')),
    [org.org_id],
  );
  const invitations = useLoad(
    () =>
      manager
        ? run<Invitation[]>(supabase.from('invitations').select('*').eq('org_id', org.org_id).order('created_at', { ascending: false }))
        : Promise.resolve([] as Invitation[]),
    [org.org_id, manager],
  );
  const [rowError, setRowError] = useState<string | null>(null);
  const [live, setLive] = useState<LiveState>('connecting');

  // Someone joins, leaves or changes role: re-read the list (and the invitations a join used);
  // a change of the user's own membership also changes what the console offers them.
  useEffect(
    () =>
      subscribeToOrg(
        org.org_id,
        ['memberships'],
        (c) => {
          void members.reload();
          if (c.eventType === 'INSERT' && manager) void invitations.reload();
          if ((c.row.user_id ?? c.old.user_id) === userId) void reloadOrgs();
        },
        setLive,
      ),
    [org.org_id, manager],
  );

  // Whom we know by email: ourselves, and members who accepted an email invitation.
  const knownEmail = (id: string): string | null => {
    if (id === userId) return email;
    return invitations.data?.find((i) => i.kind === 'email' && i.accepted_by === id)?.email ?? null;
  };

  const changeRole = async (m: Membership, role: Role) => {
    setRowError(null);
    const before = m.role;
    members.set((rows = []) => rows.map((r) => (r.user_id === m.user_id ? { ...r, role } : r)));
    try {
      const rows = await run<Membership[]>(
        supabase.from('memberships').update({ role }).eq('org_id', org.org_id).eq('user_id', m.user_id).select(),
      );
      if (rows.length === 0) throw new Error('You may not change this member.');
      if (m.user_id === userId) await reloadOrgs();
    } catch (e) {
      members.set((rows = []) => rows.map((r) => (r.user_id === m.user_id ? { ...r, role: before } : r)));
      setRowError(e instanceof Error && !('code' in e) ? e.message : describe(e));
    }
  };

  const remove = async (m: Membership) => {
    setRowError(null);
    try {
      const rows = await run<Membership[]>(
        supabase.from('memberships').delete().eq('org_id', org.org_id).eq('user_id', m.user_id).select(),
      );
      if (rows.length === 0) throw new Error('You may not remove this member.');
      if (m.user_id === userId) {
        await reloadOrgs();
        navigate('/', { replace: true });
        return;
      }
      await members.reload();
    } catch (e) {
      setRowError(e instanceof Error && !('code' in e) ? e.message : describe(e));
    }
  };

  return (
    <Page title="Members" actions={<LiveIndicator state={live} />}>
      <Notice kind="error">{members.error ?? rowError}</Notice>
      <table>
        <caption class="sr-only">Members of {org.organizations.name}</caption>
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Role</th>
            <th scope="col">Joined</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(members.data ?? []).map((m) => {
            const me = m.user_id === userId;
            const canManage = manager && rank(m.role) <= rank(org.role);
            const who = knownEmail(m.user_id);
            return (
              <tr key={m.user_id}>
                <td title={m.user_id}>
                  {who ?? `User ${shortId(m.user_id)}`}
                  {me && <span class="badge">you</span>}
                </td>
                <td>
                  {canManage ? (
                    <RoleSelect
                      label={`Role of ${who ?? shortId(m.user_id)}`}
                      value={m.role}
                      max={org.role}
                      onChange={(r) => void changeRole(m, r)}
                    />
                  ) : (
                    m.role
                  )}
                </td>
                <td>{when(m.created_at)}</td>
                <td class="row-actions">
                  {me ? (
                    <ConfirmButton label="Leave" confirmLabel="Leave organization" onConfirm={() => remove(m)} />
                  ) : (
                    canManage && <ConfirmButton label="Remove" confirmLabel={`Remove ${who ?? 'member'}`} onConfirm={() => remove(m)} />
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p class="hint">
        Members are shown by email address where the console knows it (you, and people who accepted an email invitation).
      </p>
      {manager && <Invitations org={org} invitations={invitations} />}
    </Page>
  );
}

function Invitations({ org, invitations }: { org: MyOrg; invitations: Loaded<Invitation[]> }) {
  const [email, setEmail] = useState('');
  const [emailRole, setEmailRole] = useState<Role>('member');
  const [linkRole, setLinkRole] = useState<Role>('member');
  const [maxUses, setMaxUses] = useState(1);
  const [expires, setExpires] = useState('7 days');
  const [created, setCreated] = useState<{ kind: 'email' | 'link' | 'sent'; link: string; to: string } | null>(null);
  const byEmail = useAction();
  const byLink = useAction();
  const [revokeError, setRevokeError] = useState<string | null>(null);

  const inviteByEmail = (e: Event) => {
    e.preventDefault();
    const send = (e as SubmitEvent).submitter?.getAttribute('value') === 'send';
    setCreated(null);
    void byEmail.act(async () => {
      if (send) {
        const admin = await adminApi();
        if (!admin) throw new Error('Your session has ended: sign in again.');
        const { error } = await admin.inviteUserByEmail(email, { data: { org_id: org.org_id, role: emailRole } });
        if (error) throw ApiError.from(error);
        setCreated({ kind: 'sent', link: '', to: email });
        setEmail('');
        await invitations.reload();
        return;
      }
      const token = await run<string>(supabase.rpc('create_invitation', { org: org.org_id, email, role: emailRole }));
      setCreated({ kind: 'email', link: joinLink(token), to: email });
      setEmail('');
      await invitations.reload();
    });
  };
  const inviteByLink = (e: Event) => {
    e.preventDefault();
    void byLink.act(async () => {
      const answer = await run<{ token: string }>(
        supabase.rpc('create_invite_link', { org: org.org_id, role: linkRole, max_uses: maxUses, expires_in: expires }),
      );
      setCreated({ kind: 'link', link: joinLink(answer.token), to: '' });
      await invitations.reload();
    });
  };
  const revoke = async (i: Invitation) => {
    setRevokeError(null);
    try {
      await run(supabase.from('invitations').delete().eq('org_id', org.org_id).eq('id', i.id));
      await invitations.reload();
    } catch (e) {
      setRevokeError(describe(e));
    }
  };

  return (
    <>
      <h2>Invite people</h2>
      <div class="columns">
        <form class="stack card" onSubmit={inviteByEmail} aria-labelledby="invite-email-title">
          <h3 id="invite-email-title">By email address</h3>
          <p class="hint">
            Only the person with this address can accept, once, within 7 days. The email's link signs them up (or in) and joins; or
            create the link and send it yourself.
          </p>
          <label>
            Email address
            <input type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </label>
          <label>
            Role
            <RoleSelect label="Role" value={emailRole} max={org.role} onChange={setEmailRole} />
          </label>
          <Notice kind="error">{byEmail.error}</Notice>
          <p class="actions">
            <button type="submit" class="primary" name="how" value="send" disabled={byEmail.busy}>
              Send by email
            </button>
            <button type="submit" name="how" value="link" disabled={byEmail.busy}>
              Create invitation
            </button>
          </p>
        </form>
        <form class="stack card" onSubmit={inviteByLink} aria-labelledby="invite-link-title">
          <h3 id="invite-link-title">Anyone with the link</h3>
          <p class="hint">Anyone signed in who opens the link may join, until it is used up or expires.</p>
          <label>
            Role
            <RoleSelect label="Role" value={linkRole} max={org.role} onChange={setLinkRole} />
          </label>
          <label>
            Uses
            <input type="number" min={1} max={1000} required value={maxUses} onInput={(e) => setMaxUses(Number(e.currentTarget.value))} />
          </label>
          <label>
            Expires in
            <select value={expires} onChange={(e) => setExpires(e.currentTarget.value)}>
              <option value="1 day">1 day</option>
              <option value="3 days">3 days</option>
              <option value="7 days">7 days</option>
              <option value="30 days">30 days</option>
            </select>
          </label>
          <Notice kind="error">{byLink.error}</Notice>
          <button type="submit" class="primary" disabled={byLink.busy}>
            Create link
          </button>
        </form>
      </div>
      {created?.kind === 'sent' && <Notice kind="success">{`An invitation email is on its way to ${created.to}.`}</Notice>}
      {created && created.kind !== 'sent' && (
        <OnceVisible
          label="Invitation link"
          value={created.link}
          note={
            created.kind === 'email'
              ? `Send this link to ${created.to} yourself. It is shown only now.`
              : 'Share this link with the people you invite. It is shown only now.'
          }
        />
      )}
      <h2>Invitations</h2>
      <Notice kind="error">{invitations.error ?? revokeError}</Notice>
      {invitations.data && invitations.data.length === 0 ? (
        <p>No invitations yet.</p>
      ) : (
        <table>
          <caption class="sr-only">Invitations</caption>
          <thead>
            <tr>
              <th scope="col">For</th>
              <th scope="col">Role</th>
              <th scope="col">Used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(invitations.data ?? []).map((i) => (
              <tr key={i.id}>
                <td>{i.kind === 'email' ? i.email : 'Anyone with the link'}</td>
                <td>{i.role}</td>
                <td>{i.kind === 'link' ? `${i.use_count} of ${i.max_uses}` : i.accepted_at ? `Accepted ${when(i.accepted_at)}` : 'Not yet'}</td>
                <td>{when(i.expires_at)}</td>
                <td class="row-actions">
                  <ConfirmButton label="Revoke" confirmLabel="Revoke invitation" onConfirm={() => revoke(i)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
