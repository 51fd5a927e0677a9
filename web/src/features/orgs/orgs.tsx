//! Organizations: the home redirect, creating one (api.create_organization: the caller becomes
//! its owner; active or pending approval per the platform settings) and the current org.

import { useEffect, useState } from 'preact/hooks';
import { run, supabase } from '../../api/client';
import { STATUS_LABEL, type MyOrg, type Organization } from '../../api/types';
import { Link, navigate } from '../../router';
import { useApp } from '../../state';
import { Notice, Page, useAction, when } from '../../ui/kit';

const LAST_ORG_KEY = 'rowgate-console-org';

export function rememberOrg(id: string): void {
  localStorage.setItem(LAST_ORG_KEY, id);
}

/** `/`: the last org used, else the first, else the page to create one. */
export function Home() {
  const { orgs, orgsError, superAdmin } = useApp();
  useEffect(() => {
    if (!orgs || orgsError || superAdmin === null) return;
    const last = localStorage.getItem(LAST_ORG_KEY);
    const pick = orgs.find((o) => o.org_id === last) ?? orgs[0];
    if (pick) navigate(`/o/${pick.org_id}/projects`, { replace: true });
    else if (!superAdmin) navigate('/orgs/new', { replace: true });
  }, [orgs, orgsError, superAdmin]);
  if (orgsError) return <Notice kind="error">{orgsError}</Notice>;
  if (orgs && orgs.length === 0 && superAdmin) {
    return (
      <Page title="Welcome">
        <p>You administer this platform and belong to no organization yet.</p>
        <p class="actions">
          <Link class="button primary" href="/admin/orgs">
            Organizations
          </Link>
          <Link class="button" href="/orgs/new">
            New organization
          </Link>
        </p>
      </Page>
    );
  }
  return <p class="loading">Loading…</p>;
}

export function CreateOrg() {
  const { reloadOrgs } = useApp();
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ org_id: string; status: string } | null>(null);
  const { busy, error, act } = useAction();

  const submit = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      const answer = await run<{ org_id: string; status: keyof typeof STATUS_LABEL }>(
        supabase.rpc('create_organization', { name }),
      );
      await reloadOrgs();
      rememberOrg(answer.org_id);
      if (answer.status === 'active') navigate(`/o/${answer.org_id}/projects`);
      else setCreated(answer);
    });
  };

  return (
    <Page title="New organization">
      <form class="stack narrow" onSubmit={submit}>
        <label>
          Organization name
          <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <Notice kind="error">{error}</Notice>
        <button type="submit" class="primary" disabled={busy}>
          Create organization
        </button>
      </form>
      {created && (
        <div class="stack">
          <Notice kind="info">
            The organization is pending approval by a platform administrator. Until then it works within the platform's
            limits for pending organizations.
          </Notice>
          <p>
            <Link href={`/o/${created.org_id}/projects`}>Open the organization</Link>
          </p>
        </div>
      )}
      <p>
        Invited to an organization? <Link href="/join">Accept an invitation</Link>
      </p>
    </Page>
  );
}

/** The current org of an /o/:org/… page, from the caller's memberships. */
export function useCurrentOrg(orgId: string): MyOrg | null | undefined {
  const { orgs } = useApp();
  if (!orgs) return undefined;
  return orgs.find((o) => o.org_id === orgId) ?? null;
}

export function StatusBadge({ status }: { status: keyof typeof STATUS_LABEL }) {
  return <span class={`badge status-${status}`}>{STATUS_LABEL[status]}</span>;
}

/** What members must know about their org's status: read-only, and why (status_reason). */
export function OrgStatusNotice({ org }: { org: Organization }) {
  if (org.status === 'suspended') {
    return (
      <Notice kind="info">
        {org.name} is suspended by the platform and read-only{org.status_reason ? `: ${org.status_reason}` : ''}.
      </Notice>
    );
  }
  if (org.status === 'pending_deletion') {
    return (
      <Notice kind="info">
        {org.name} is pending deletion and read-only: it will be deleted for good on {when(org.purge_after)} unless an owner restores it.
      </Notice>
    );
  }
  return null;
}
