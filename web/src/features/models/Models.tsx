//! The org's model entitlements: api.org_models joined to the global catalog api.models
//! (policies/org_models.sql: members read; owners, admins and the super admin enable and
//! disable; policies/models.sql: users see only models enabled for one of their orgs, the super
//! admin the whole catalog, which they edit under Platform → Models).
//! Each enabled model shows until when the platform granted it (api.org_entitlements, members
//! read their org's) and whether the user may use it now (GET /rpc/has_model_access: the same
//! check a product's own functions make — an active or pending org, entitled, unexpired, enabled).
//! Left: enabling among entitlements not yet enabled — their names are not readable by members
//! (policies/models.sql lets users read the models enabled for one of their orgs only).

import { useState } from 'preact/hooks';
import { run, supabase } from '../../api/client';
import { describe } from '../../api/errors';
import { atLeast, type Model, type MyOrg, type OrgModel } from '../../api/types';
import { useApp } from '../../state';
import { ConfirmButton, Notice, Page, useAction, useLoad, when } from '../../ui/kit';

export function Models({ org }: { org: MyOrg }) {
  const { superAdmin } = useApp();
  const manager = atLeast(org.role, 'admin') || superAdmin;
  const enabled = useLoad(
    () =>
      run<OrgModel[]>(
        supabase.from('org_models').select('org_id, model_id, created_at, models(name)').eq('org_id', org.org_id).order('created_at'),
      ),
    [org.org_id],
  );
  // Until when each is granted, and whether this user may use it (one small RPC per model).
  const access = useLoad(async () => {
    const granted = await run<{ model_id: string; expires_at: string | null }[]>(
      supabase.from('org_entitlements').select('model_id, expires_at').eq('org_id', org.org_id),
    );
    const ids = (enabled.data ?? []).map((m) => m.model_id);
    const usable = await Promise.all(
      ids.map((id) => run<boolean>(supabase.rpc('has_model_access', { model_id: id }, { get: true }))),
    );
    return {
      until: new Map(granted.map((g) => [g.model_id, g.expires_at])),
      usable: new Map(ids.map((id, i) => [id, usable[i]])),
    };
  }, [org.org_id, enabled.data]);
  const catalog = useLoad(
    () => (superAdmin ? run<Model[]>(supabase.from('models').select('*').order('name')) : Promise.resolve([] as Model[])),
    [superAdmin],
  );
  const [choice, setChoice] = useState('');
  const enable = useAction();
  const [rowError, setRowError] = useState<string | null>(null);
  const available = (catalog.data ?? []).filter((m) => !enabled.data?.some((e) => e.model_id === m.id));

  const disable = async (m: OrgModel) => {
    setRowError(null);
    try {
      const rows = await run<OrgModel[]>(
        supabase.from('org_models').delete().eq('org_id', org.org_id).eq('model_id', m.model_id).select('org_id'),
      );
      if (rows.length === 0) throw new Error('You may not disable this model.');
      await enabled.reload();
    } catch (e) {
      setRowError(e instanceof Error && !('code' in e) ? e.message : describe(e));
    }
  };

  return (
    <Page title="Models">
      <p class="hint">The models this organization may use.</p>
      <Notice kind="error">{enabled.error ?? access.error ?? rowError}</Notice>
      {enabled.data && enabled.data.length === 0 ? (
        <p>No model is enabled for this organization.</p>
      ) : (
        <table>
          <caption class="sr-only">Enabled models</caption>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Enabled since</th>
              <th scope="col">Granted until</th>
              <th scope="col">You can use it</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(enabled.data ?? []).map((m) => (
              <tr key={m.model_id}>
                <td>{m.models?.name ?? m.model_id}</td>
                <td>{when(m.created_at)}</td>
                <td>{access.data ? (access.data.until.get(m.model_id) ? when(access.data.until.get(m.model_id)) : 'No end') : '…'}</td>
                <td data-access={m.model_id}>{access.data ? (access.data.usable.get(m.model_id) ? 'Yes' : 'No') : '…'}</td>
                <td class="row-actions">
                  {manager && (
                    <ConfirmButton label="Disable" confirmLabel={`Disable ${m.models?.name ?? 'model'}`} onConfirm={() => disable(m)} />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {superAdmin && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void enable.act(async () => {
              await run(supabase.from('org_models').insert({ org_id: org.org_id, model_id: choice }));
              setChoice('');
              await enabled.reload();
            });
          }}
        >
          <label>
            Enable a catalog model
            <select required value={choice} onChange={(e) => setChoice(e.currentTarget.value)}>
              <option value="">Choose a model</option>
              {available.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={enable.busy}>
            Enable
          </button>
          <Notice kind="error">{enable.error}</Notice>
        </form>
      )}
    </Page>
  );
}
