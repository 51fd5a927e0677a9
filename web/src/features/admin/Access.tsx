//! The access report, for super admins: who may use which model across organizations
//! (api.access_report, a security_invoker view — every enabled member × every entitled, enabled,
//! unexpired model of an active or pending org; the super admin sees every org, an org's owners
//! and admins their own, members nothing). Filtered by model or organization in the query.

import { useState } from 'preact/hooks';
import { run, supabase } from '../../api/client';
import type { AccessRow } from '../../api/types';
import { Notice, Page, shortId, useLoad, when } from '../../ui/kit';

export function AdminAccess() {
  const [model, setModel] = useState('');
  const rows = useLoad(
    () => run<AccessRow[]>(supabase.from('access_report').select('*').order('model_name').order('org_name').order('email')),
    [],
  );
  const models = [...new Set((rows.data ?? []).map((r) => r.model_name))].sort();
  const shown = (rows.data ?? []).filter((r) => !model || r.model_name === model);

  return (
    <Page title="Access report">
      <p class="hint">Who can use which model, in every organization that is active or pending approval.</p>
      <label class="inline">
        Model
        <select value={model} onChange={(e) => setModel(e.currentTarget.value)}>
          <option value="">All models</option>
          {models.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </label>
      <Notice kind="error">{rows.error}</Notice>
      {rows.data && shown.length === 0 ? (
        <p>Nobody has access to a model.</p>
      ) : (
        <table>
          <caption class="sr-only">Access to models</caption>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Organization</th>
              <th scope="col">Person</th>
              <th scope="col">Role</th>
              <th scope="col">Until</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={`${r.org_id}-${r.user_id}-${r.model_id}`}>
                <td>{r.model_name}</td>
                <td>{r.org_name}</td>
                <td title={r.user_id}>{r.email ?? `User ${shortId(r.user_id)}`}</td>
                <td>{r.role}</td>
                <td>{r.expires_at ? when(r.expires_at) : 'No end'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
