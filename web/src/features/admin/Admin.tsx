//! The platform console for super admins (auth.users.is_super_admin, read from the table, never
//! from a token): api.platform_settings (policies/platform_settings.sql), the model catalog
//! (policies/models.sql) and the users (/auth/v1/admin/users, auth.may_administer()). The
//! organizations are in Orgs.tsx, the plans in Plans.tsx, the access report in Access.tsx.

import { useEffect, useState } from 'preact/hooks';
import type { User } from '@supabase/supabase-js';
import { adminApi, run, supabase } from '../../api/client';
import { ApiError, describe } from '../../api/errors';
import type { Model, Organization, Plan, PlatformSettings } from '../../api/types';
import { useApp } from '../../state';
import { ConfirmButton, Notice, Page, shortId, useAction, useLoad, when } from '../../ui/kit';

/** The settings form: api.platform_settings plus the limits of the `pending` plan (api.plans). */
interface SettingsForm {
  auto_activate_new_orgs: boolean;
  max_members: number | null;
  max_projects: number | null;
}

export function AdminSettings() {
  const settings = useLoad(async (): Promise<SettingsForm> => {
    const [platform, pending] = await Promise.all([
      run<PlatformSettings>(supabase.from('platform_settings').select('*').single()),
      run<Plan>(supabase.from('plans').select('*').eq('id', 'pending').single()),
    ]);
    return {
      auto_activate_new_orgs: platform.auto_activate_new_orgs,
      max_members: pending.max_members,
      max_projects: pending.max_projects,
    };
  }, []);
  const [form, setForm] = useState<SettingsForm | null>(null);
  const [saved, setSaved] = useState(false);
  const save = useAction();
  useEffect(() => setForm(settings.data ?? null), [settings.data]);

  const submit = (e: Event) => {
    e.preventDefault();
    if (!form) return;
    setSaved(false);
    void save.act(async () => {
      const plans = await run<Plan[]>(
        supabase
          .from('plans')
          .update({ max_members: form.max_members, max_projects: form.max_projects })
          .eq('id', 'pending')
          .select(),
      );
      const rows = await run<PlatformSettings[]>(
        supabase
          .from('platform_settings')
          .update({ auto_activate_new_orgs: form.auto_activate_new_orgs })
          .eq('id', true)
          .select(),
      );
      // RLS hides the rows from anyone but a super admin: an update that matched nothing.
      if (rows.length === 0 || plans.length === 0) {
        throw new ApiError('Only platform administrators may change the settings.', '42501');
      }
      settings.set({ auto_activate_new_orgs: rows[0].auto_activate_new_orgs, ...plans[0] });
      setSaved(true);
    });
  };
  const limit = (value: string) => (value === '' ? null : Number(value));

  return (
    <Page title="Platform settings">
      <Notice kind="error">{settings.error}</Notice>
      {form && (
        <form class="stack narrow" onSubmit={submit}>
          <label class="check">
            <input
              type="checkbox"
              checked={form.auto_activate_new_orgs}
              onChange={(e) => setForm({ ...form, auto_activate_new_orgs: e.currentTarget.checked })}
            />
            Activate new organizations at once
          </label>
          <p class="hint">
            Otherwise new organizations wait for approval and work within the limits of the pending plan below
            meanwhile (empty: no limit).
          </p>
          <label>
            Members of a pending organization, at most
            <input
              type="number"
              min={0}
              value={form.max_members ?? ''}
              onInput={(e) => setForm({ ...form, max_members: limit(e.currentTarget.value) })}
            />
          </label>
          <label>
            Projects of a pending organization, at most
            <input
              type="number"
              min={0}
              value={form.max_projects ?? ''}
              onInput={(e) => setForm({ ...form, max_projects: limit(e.currentTarget.value) })}
            />
          </label>
          <Notice kind="error">{save.error}</Notice>
          <Notice kind="success">{saved ? 'Settings saved.' : null}</Notice>
          <button type="submit" class="primary" disabled={save.busy}>
            Save settings
          </button>
        </form>
      )}
    </Page>
  );
}

export function AdminModels() {
  const models = useLoad(() => run<Model[]>(supabase.from('models').select('*').order('name')), []);
  const orgs = useLoad(() => run<Organization[]>(supabase.from('organizations').select('*').order('name')), []);
  const [name, setName] = useState('');
  const [grant, setGrant] = useState({ org: '', model: '' });
  const [granted, setGranted] = useState<string | null>(null);
  const add = useAction();
  const enable = useAction();
  const [rowError, setRowError] = useState<string | null>(null);

  const remove = async (m: Model) => {
    setRowError(null);
    try {
      await run(supabase.from('models').delete().eq('id', m.id));
      await models.reload();
    } catch (e) {
      setRowError(describe(e));
    }
  };

  return (
    <Page title="Model catalog">
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void add.act(async () => {
            await run(supabase.from('models').insert({ name }));
            setName('');
            await models.reload();
          });
        }}
      >
        <label>
          Model name
          <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={add.busy}>
          Add model
        </button>
      </form>
      <Notice kind="error">{add.error ?? models.error ?? rowError}</Notice>
      <form
        class="inline-form"
        aria-labelledby="grant-title"
        onSubmit={(e) => {
          e.preventDefault();
          setGranted(null);
          void enable.act(async () => {
            // The platform grants the entitlement (api.grant_entitlement), then enables the model
            // for the org, as its owners could (api.org_models refuses what was not granted).
            await run(supabase.rpc('grant_entitlement', { org: grant.org, model_id: grant.model }));
            await run(supabase.from('org_models').insert({ org_id: grant.org, model_id: grant.model }));
            const org = orgs.data?.find((o) => o.id === grant.org)?.name;
            const model = models.data?.find((m) => m.id === grant.model)?.name;
            setGranted(`${model} is enabled for ${org}.`);
          });
        }}
      >
        <h2 id="grant-title" class="sr-only">
          Enable a model for an organization
        </h2>
        <label>
          For organization
          <select required value={grant.org} onChange={(e) => setGrant({ ...grant, org: e.currentTarget.value })}>
            <option value="">Choose an organization</option>
            {(orgs.data ?? []).map((o) => (
              <option key={o.id} value={o.id}>
                {o.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Model
          <select required value={grant.model} onChange={(e) => setGrant({ ...grant, model: e.currentTarget.value })}>
            <option value="">Choose a model</option>
            {(models.data ?? []).map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={enable.busy}>
          Enable for the organization
        </button>
      </form>
      <Notice kind="error">{enable.error}</Notice>
      <Notice kind="success">{granted}</Notice>
      <h2>Catalog</h2>
      <ul class="plain">
        {(models.data ?? []).map((m) => (
          <li key={m.id}>
            {m.name} <ConfirmButton label="Delete" confirmLabel={`Delete ${m.name} from the catalog`} onConfirm={() => remove(m)} />
          </li>
        ))}
      </ul>
    </Page>
  );
}

type AdminUser = User & { banned_until?: string | null; is_super_admin?: boolean };

export function AdminUsers() {
  const { userId } = useApp();
  const users = useLoad(async () => {
    const api = await adminApi();
    if (!api) return [] as AdminUser[];
    const { data, error } = await api.listUsers({ page: 1, perPage: 1000 });
    if (error) throw ApiError.from(error);
    return data.users as AdminUser[];
  }, []);
  const [rowError, setRowError] = useState<string | null>(null);

  const ban = async (u: AdminUser, banned: boolean) => {
    setRowError(null);
    try {
      const api = await adminApi();
      if (!api) return;
      const { error } = await api.updateUserById(u.id, { ban_duration: banned ? '876000h' : 'none' });
      if (error) throw ApiError.from(error);
      await users.reload();
    } catch (e) {
      setRowError(describe(e));
    }
  };

  return (
    <Page title="Users">
      <Notice kind="error">{users.error ?? rowError}</Notice>
      <table>
        <caption class="sr-only">Users</caption>
        <thead>
          <tr>
            <th scope="col">Email address</th>
            <th scope="col">Id</th>
            <th scope="col">Created</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(users.data ?? []).map((u) => (
            <tr key={u.id}>
              <td>
                {u.email}
                {u.is_super_admin && <span class="badge">platform admin</span>}
              </td>
              <td title={u.id}>{shortId(u.id)}</td>
              <td>{when(u.created_at)}</td>
              <td>{u.banned_until ? 'Disabled' : 'Active'}</td>
              <td class="row-actions">
                {u.id !== userId &&
                  (u.banned_until ? (
                    <button type="button" onClick={() => void ban(u, false)} aria-label={`Enable ${u.email}`}>
                      Enable
                    </button>
                  ) : (
                    <ConfirmButton label="Disable" confirmLabel={`Disable ${u.email}`} onConfirm={() => ban(u, true)} />
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
