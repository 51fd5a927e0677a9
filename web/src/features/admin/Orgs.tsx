//! The platform's organizations, for super admins: every org with its status, plan and usage
//! (api.admin_list_organizations, the rows of api.org_usage; PT403 for anyone else) and why its
//! status last changed (api.organizations: the super admin reads every row). Status changes carry
//! a reason (api.set_org_status(org, status, reason) records it in status_reason and the org's
//! audit log; members see it), plans move with api.set_org_plan, deletion is requested and
//! cancelled with api.delete_organization / api.restore_organization; one org's page adds
//! ownership moves by email (api.transfer_ownership) and its data export (api.export_org).

import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { run, supabase } from '../../api/client';
import { describe } from '../../api/errors';
import { COUNTERS, ORG_COLUMNS, STATUS_LABEL, type Organization, type OrgStatus, type OrgUsage, type Plan } from '../../api/types';
import { Link } from '../../router';
import { ConfirmButton, Notice, Page, downloadJson, useAction, useLoad, when } from '../../ui/kit';
import { StatusBadge } from '../orgs/orgs';
import { usageText } from '../plan/Plan';

export type AdminOrg = OrgUsage & { org: Organization | undefined };

/** Every org with its usage and its row (reason, purge date), merged by id. */
async function loadOrgs(filter: '' | OrgStatus, id?: string): Promise<AdminOrg[]> {
  let usage = supabase.rpc('admin_list_organizations', undefined, { get: true }).order('name');
  let rows = supabase.from('organizations').select(ORG_COLUMNS);
  if (filter) usage = usage.eq('status', filter);
  if (id) {
    usage = usage.eq('org_id', id);
    rows = rows.eq('id', id);
  }
  // The list first: it is what refuses anyone but a super admin.
  const list = await run<OrgUsage[]>(usage);
  const orgs = await run<Organization[]>(rows);
  return list.map((u) => ({ ...u, org: orgs.find((o) => o.id === u.org_id) }));
}

export function usePlans() {
  return useLoad(() => run<Plan[]>(supabase.from('plans').select('*').order('name')), []);
}

/** A status change with its reason: the button opens a one-field form (Escape or Cancel closes it). */
function StatusChange({ org, to, verb, onDone, reasonRequired }: { org: AdminOrg; to: OrgStatus; verb: string; onDone: (msg: string) => void; reasonRequired?: boolean }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const action = useAction();
  const input = useRef<HTMLInputElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);
  // Focus into the field when the form opens, back to the button when it is cancelled.
  useEffect(() => {
    if (open) input.current?.focus();
    else if (wasOpen.current) button.current?.focus();
    wasOpen.current = open;
  }, [open]);
  if (!open) {
    return (
      <button
        type="button"
        ref={button}
        class={to === 'suspended' ? 'danger-quiet' : undefined}
        onClick={() => setOpen(true)}
        aria-label={`${verb} ${org.name}`}
      >
        {verb}
      </button>
    );
  }
  return (
    <form
      class="reason"
      onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}
      onSubmit={(e) => {
        e.preventDefault();
        void action.act(async () => {
          await run(supabase.rpc('set_org_status', { org: org.org_id, status: to, reason }));
          setOpen(false);
          onDone(`${org.name} is now ${STATUS_LABEL[to].toLowerCase()}.`);
        });
      }}
    >
      <label>
        {`Reason${reasonRequired ? '' : ' (optional)'} for ${org.name}`}
        <input ref={input} required={reasonRequired} maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </label>
      <button type="submit" class={to === 'suspended' ? 'danger' : 'primary'} disabled={action.busy}>
        {`Confirm: ${verb.toLowerCase()} ${org.name}`}
      </button>
      <button type="button" class="quiet" onClick={() => setOpen(false)}>
        Cancel
      </button>
      <Notice kind="error">{action.error}</Notice>
    </form>
  );
}

/** Approve, suspend, reactivate, restore: what applies to the org's status. */
export function StatusActions({ org, onDone, onError }: { org: AdminOrg; onDone: (msg: string) => void; onError: (msg: string) => void }) {
  const restore = async () => {
    try {
      await run(supabase.rpc('restore_organization', { org: org.org_id }));
      onDone(`${org.name} is restored.`);
    } catch (e) {
      onError(describe(e));
    }
  };
  return (
    <>
      {org.status === 'pending_approval' && <StatusChange org={org} to="active" verb="Approve" onDone={onDone} />}
      {org.status === 'suspended' && <StatusChange org={org} to="active" verb="Reactivate" onDone={onDone} />}
      {(org.status === 'active' || org.status === 'pending_approval') && (
        <StatusChange org={org} to="suspended" verb="Suspend" reasonRequired onDone={onDone} />
      )}
      {org.status === 'pending_deletion' && (
        <button type="button" onClick={() => void restore()} aria-label={`Restore ${org.name}`}>
          Restore
        </button>
      )}
    </>
  );
}

/** The reason and date of the last status change, or the purge date of a pending deletion. */
export function StatusLine({ org }: { org: AdminOrg }) {
  return (
    <>
      <StatusBadge status={org.status} />
      {org.org?.status_reason && <span class="reason-text"> — {org.org.status_reason}</span>}
      {org.status === 'pending_deletion' && <span class="hint"> Purged on {when(org.org?.purge_after)}.</span>}
    </>
  );
}

/** The org's plan: choose, then confirm with the button (arrow keys on a select must not move an org). */
export function PlanSelect({ org, plans, onDone, onError }: { org: AdminOrg; plans: Plan[]; onDone: (msg: string) => void; onError: (msg: string) => void }) {
  const [plan, setPlan] = useState(org.plan_id);
  const [busy, setBusy] = useState(false);
  // Follow the org's plan when it changes (after a move), never on mount: an effect that ran
  // after the first paint would undo a choice made in between.
  const shown = useRef(org.plan_id);
  useEffect(() => {
    if (shown.current !== org.plan_id) {
      shown.current = org.plan_id;
      setPlan(org.plan_id);
    }
  }, [org.plan_id]);
  const change = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await run(supabase.rpc('set_org_plan', { org: org.org_id, plan }));
      onDone(`${org.name} is now on ${plans.find((p) => p.id === plan)?.name ?? plan}.`);
    } catch (err) {
      onError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="plan-form" onSubmit={change}>
      <select aria-label={`Plan of ${org.name}`} value={plan} onChange={(e) => setPlan(e.currentTarget.value)}>
        {plans
          .filter((p) => p.id !== 'pending')
          .map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
      </select>
      {plan !== org.plan_id && (
        <button type="submit" disabled={busy} aria-label={`Move ${org.name} to this plan`}>
          Move
        </button>
      )}
    </form>
  );
}

export function AdminOrgs() {
  const [filter, setFilter] = useState<'' | OrgStatus>('');
  const orgs = useLoad(() => loadOrgs(filter), [filter]);
  const plans = usePlans();
  const [rowError, setRowError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const ok = (msg: string) => {
    setRowError(null);
    setDone(msg);
    void orgs.reload();
  };
  const fail = (msg: string) => {
    setDone(null);
    setRowError(msg);
  };

  return (
    <Page title="Organizations">
      <label class="inline">
        Show
        <select value={filter} onChange={(e) => setFilter(e.currentTarget.value as '' | OrgStatus)}>
          <option value="">All organizations</option>
          {(Object.keys(STATUS_LABEL) as OrgStatus[]).map((s) => (
            <option key={s} value={s}>
              {STATUS_LABEL[s]}
            </option>
          ))}
        </select>
      </label>
      <Notice kind="error">{orgs.error ?? plans.error ?? rowError}</Notice>
      <Notice kind="success">{done}</Notice>
      <table>
        <caption class="sr-only">Organizations</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Plan</th>
            <th scope="col">Usage</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(orgs.data ?? []).map((o) => (
            <tr key={o.org_id} data-org-id={o.org_id}>
              <td title={o.org_id}>
                <Link href={`/admin/orgs/${o.org_id}`}>{o.name}</Link>
              </td>
              <td>
                <StatusLine org={o} />
              </td>
              <td>{plans.data ? <PlanSelect org={o} plans={plans.data} onDone={ok} onError={fail} /> : o.plan_id}</td>
              <td class="usage">
                {COUNTERS.slice(0, 3)
                  .map((c) => `${c.label} ${usageText(o[c.key], o[`max_${c.key}`])}`)
                  .join(' · ')}
              </td>
              <td class="row-actions">
                <StatusActions org={o} onDone={ok} onError={fail} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {orgs.data && orgs.data.length === 0 && <p>No organization here.</p>}
    </Page>
  );
}

/** One org: everything above, plus deletion, ownership by email and the data export. */
export function AdminOrg({ id }: { id: string }) {
  const orgs = useLoad(() => loadOrgs('', id), [id]);
  const plans = usePlans();
  const [done, setDone] = useState<string | null>(null);
  const [rowError, setRowError] = useState<string | null>(null);
  const [owner, setOwner] = useState('');
  const transfer = useAction();
  const exporting = useAction();
  const remove = useAction();
  const o = orgs.data?.[0];
  const ok = (msg: string) => {
    setRowError(null);
    setDone(msg);
    void orgs.reload();
  };

  return (
    <Page title={o ? o.name : 'Organization'}>
      <p>
        <Link href="/admin/orgs">All organizations</Link>
      </p>
      <Notice kind="error">{orgs.error ?? plans.error ?? rowError ?? transfer.error ?? exporting.error ?? remove.error}</Notice>
      <Notice kind="success">{done}</Notice>
      {orgs.data && !o && <p>This organization does not exist.</p>}
      {o && (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <StatusLine org={o} /> {o.org?.status_changed_at && <span class="hint">(since {when(o.org.status_changed_at)})</span>}
            </dd>
            <dt>Plan</dt>
            <dd>{plans.data ? <PlanSelect org={o} plans={plans.data} onDone={ok} onError={setRowError} /> : o.plan_id}</dd>
            {COUNTERS.map((c) => (
              <Fragment key={c.key}>
                <dt>{c.label}</dt>
                <dd>{usageText(o[c.key], o[`max_${c.key}`])}</dd>
              </Fragment>
            ))}
          </dl>
          <p class="actions">
            <StatusActions org={o} onDone={ok} onError={setRowError} />
            {o.status !== 'pending_deletion' && (
              <ConfirmButton
                label="Delete"
                confirmLabel={`Delete ${o.name}`}
                onConfirm={() =>
                  void remove.act(async () => {
                    const answer = await run<{ purge_after: string }>(supabase.rpc('delete_organization', { org: o.org_id }));
                    ok(`${o.name} will be deleted for good on ${when(answer.purge_after)}.`);
                  })
                }
              />
            )}
            <button
              type="button"
              disabled={exporting.busy}
              onClick={() =>
                void exporting.act(async () => {
                  const doc = await run<unknown>(supabase.rpc('export_org', { org_id: o.org_id }, { get: true }));
                  downloadJson(`${o.name.replace(/[^\w.-]+/g, '-')}-export.json`, doc);
                })
              }
            >
              Export data
            </button>
          </p>
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              void transfer.act(async () => {
                await run(supabase.rpc('transfer_ownership', { org: o.org_id, email: owner }));
                setOwner('');
                ok(`${owner} now owns ${o.name}; its other owners are admins.`);
              });
            }}
          >
            <label>
              New owner’s email address
              <input type="email" required value={owner} onInput={(e) => setOwner(e.currentTarget.value)} />
            </label>
            <button type="submit" disabled={transfer.busy}>
              Transfer ownership
            </button>
          </form>
          <p class="hint">The user joins the organization if needed and becomes its owner; every other owner becomes an admin.</p>
        </>
      )}
    </Page>
  );
}
