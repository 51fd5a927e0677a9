//! The org's plan and usage: api.org_usage (a security_invoker view — members see their orgs'
//! rows: policies/usage_counters.sql, organizations.sql) beside the plan that applies (api.plans,
//! readable by everyone signed in; `pending` while the org awaits approval). Limits hold in SQL at
//! write time (functions/quota.sql): a refused write shows as a sentence (api/errors.ts). Only a
//! super admin moves an org to another plan (api.set_org_plan, Platform → Organizations). Usage
//! is re-read when the org's memberships, projects or tasks change (realtime; the counters
//! themselves are not published).

import { useEffect, useRef, useState } from 'preact/hooks';
import { run, supabase } from '../../api/client';
import { subscribeToOrg, type LiveState } from '../../api/live';
import { COUNTERS, type MyOrg, type OrgUsage, type Plan } from '../../api/types';
import { Link } from '../../router';
import { Notice, Page, useLoad } from '../../ui/kit';
import { LiveIndicator } from '../projects/Projects';

/** "3 of 5", "3 (no limit)". */
export function usageText(used: number, limit: number | null | undefined): string {
  return limit === null || limit === undefined ? `${used} (no limit)` : `${used} of ${limit}`;
}

/** A meter for a counter with a limit: accessible name and value, no colour alone. */
export function UsageMeter({ label, used, limit }: { label: string; used: number; limit: number | null }) {
  if (limit === null) return null;
  return <meter aria-label={`${label} used`} min={0} max={Math.max(limit, 1)} value={Math.min(used, Math.max(limit, 1))} high={limit * 0.8} optimum={0} />;
}

export function PlanPage({ org }: { org: MyOrg }) {
  const data = useLoad(async () => {
    const usage = await run<OrgUsage>(supabase.from('org_usage').select('*').eq('org_id', org.org_id).single());
    const plans = await run<Plan[]>(supabase.from('plans').select('*').in('id', [usage.plan_id, usage.effective_plan]));
    return { usage, plan: plans.find((p) => p.id === usage.plan_id), effective: plans.find((p) => p.id === usage.effective_plan) };
  }, [org.org_id]);
  const [live, setLive] = useState<LiveState>('connecting');
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  // Any change of what is counted re-reads the usage (at most every half second).
  useEffect(() => {
    const stop = subscribeToOrg(
      org.org_id,
      ['memberships', 'projects', 'tasks'],
      () => {
        clearTimeout(pending.current);
        pending.current = setTimeout(() => void data.reload(), 500);
      },
      setLive,
    );
    return () => {
      clearTimeout(pending.current);
      stop();
    };
  }, [org.org_id]);

  const d = data.data;
  return (
    <Page title="Plan and usage" actions={<LiveIndicator state={live} />}>
      <Notice kind="error">{data.error}</Notice>
      {d && (
        <>
          <p>
            Plan: <strong data-plan={d.usage.plan_id}>{d.plan?.name ?? d.usage.plan_id}</strong>
          </p>
          {d.usage.effective_plan !== d.usage.plan_id && (
            <Notice kind="info">
              While the organization is pending approval, the limits of “{d.effective?.name ?? d.usage.effective_plan}” apply.
            </Notice>
          )}
          <table>
            <caption class="sr-only">Usage of {org.organizations.name} against its limits</caption>
            <thead>
              <tr>
                <th scope="col">Counter</th>
                <th scope="col">Used</th>
                <th scope="col">
                  <span class="sr-only">Share of the limit</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {COUNTERS.map((c) => (
                <tr key={c.key} data-counter={c.key}>
                  <th scope="row">{c.label}</th>
                  <td>{usageText(d.usage[c.key], d.usage[`max_${c.key}`])}</td>
                  <td>
                    <UsageMeter label={c.label} used={d.usage[c.key]} limit={d.usage[`max_${c.key}`]} />
                  </td>
                </tr>
              ))}
              {Object.entries(d.usage.limits ?? {}).map(([name, limit]) => (
                <tr key={name} data-counter={name}>
                  <th scope="row">{name}</th>
                  <td>{usageText(d.usage.counters?.[name] ?? 0, limit)}</td>
                  <td>
                    <UsageMeter label={name} used={d.usage.counters?.[name] ?? 0} limit={limit} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="hint">
            Writes beyond a limit are refused. A platform administrator can move the organization to another plan.
            {org.role === 'owner' && (
              <>
                {' '}
                The organization’s deletion, ownership and data export are under <Link href={`/o/${org.org_id}/settings`}>Organization</Link>.
              </>
            )}
          </p>
        </>
      )}
    </Page>
  );
}
