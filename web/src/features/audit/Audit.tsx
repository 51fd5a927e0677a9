//! The org's audit log (api.audit_log: one row per changed row of every tenant table, written
//! by the audit trigger; owners, admins and the super admin read it — policies/audit_log.sql).
//! Paged with Range and an exact count; the page is in the URL (?page=2).

import { runCounted, supabase } from '../../api/client';
import type { AuditEntry, MyOrg } from '../../api/types';
import { navigate, useLocation } from '../../router';
import { useApp } from '../../state';
import { Notice, Page, shortId, useLoad, when } from '../../ui/kit';

export const AUDIT_PAGE_SIZE = 10;

const ACTION: Record<AuditEntry['action'], string> = { INSERT: 'Created', UPDATE: 'Changed', DELETE: 'Deleted' };
const TABLE: Record<string, string> = {
  organizations: 'organization',
  memberships: 'membership',
  invitations: 'invitation',
  projects: 'project',
  tasks: 'task',
  org_models: 'model entitlement',
};

function show(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v.length > 40 ? `${v.slice(0, 40)}…` : v;
  return JSON.stringify(v);
}

/** An update's changed columns as "title: a → b"; an insert's or delete's name or title. */
function summary(e: AuditEntry): string {
  const d = e.diff ?? {};
  if (e.action === 'UPDATE') {
    return Object.entries(d)
      .map(([k, v]) => {
        const c = v as { old?: unknown; new?: unknown };
        return `${k}: ${show(c.old)} → ${show(c.new)}`;
      })
      .join('; ');
  }
  const label = d.name ?? d.title ?? d.role ?? d.email;
  return label === undefined ? '' : show(label);
}

export function Audit({ org }: { org: MyOrg }) {
  const { userId } = useApp();
  const loc = useLocation();
  const page = Math.max(1, Number(loc.search.get('page') ?? '1') || 1);
  const entries = useLoad(() => {
    const from = (page - 1) * AUDIT_PAGE_SIZE;
    return runCounted<AuditEntry>(
      supabase
        .from('audit_log')
        .select('*', { count: 'exact' })
        .eq('org_id', org.org_id)
        .order('at', { ascending: false })
        .order('id')
        .range(from, from + AUDIT_PAGE_SIZE - 1),
    );
  }, [org.org_id, page]);
  const total = entries.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / AUDIT_PAGE_SIZE));
  const go = (n: number) => navigate(`/o/${org.org_id}/audit${n > 1 ? `?page=${n}` : ''}`);

  return (
    <Page title="Audit log">
      <Notice kind="error">{entries.error}</Notice>
      <table>
        <caption class="sr-only">Audit log, page {page}</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {(entries.data?.rows ?? []).map((e) => (
            <tr key={e.id}>
              <td>{when(e.at)}</td>
              <td title={e.actor_user_id ?? ''}>{e.actor_user_id === userId ? 'You' : e.actor_user_id ? `User ${shortId(e.actor_user_id)}` : 'System'}</td>
              <td>
                {ACTION[e.action]} {TABLE[e.table_name] ?? e.table_name}
              </td>
              <td class="details">{summary(e)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav class="pager" aria-label="Audit log pages">
        <button type="button" disabled={page <= 1} onClick={() => go(page - 1)}>
          Previous page
        </button>
        <span aria-live="polite">{entries.data ? `Page ${page} of ${pages} (${total} entries)` : 'Loading…'}</span>
        <button type="button" disabled={page >= pages} onClick={() => go(page + 1)}>
          Next page
        </button>
      </nav>
    </Page>
  );
}
