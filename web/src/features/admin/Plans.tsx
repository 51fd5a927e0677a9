//! The platform's plans (api.plans: everyone signed in reads them; only the super admin writes —
//! policies/plans.sql): each plan's limits, and a form that creates a plan or changes one. The
//! `pending` plan holds orgs awaiting approval (also under Settings); orgs move between the others
//! with api.set_org_plan (Organizations).

import { useState } from 'preact/hooks';
import { run, supabase } from '../../api/client';
import { ApiError } from '../../api/errors';
import { COUNTERS, type Plan } from '../../api/types';
import { Notice, Page, useAction } from '../../ui/kit';
import { usePlans } from './Orgs';

type Limits = Pick<Plan, 'max_members' | 'max_projects' | 'max_tasks' | 'max_api_tokens' | 'max_storage_mb'>;
const EMPTY: Limits & { id: string; name: string } = {
  id: '',
  name: '',
  max_members: null,
  max_projects: null,
  max_tasks: null,
  max_api_tokens: null,
  max_storage_mb: null,
};

const limitText = (n: number | null) => (n === null ? 'no limit' : String(n));

export function AdminPlans() {
  const plans = usePlans();
  const [editing, setEditing] = useState<string>(''); // '' : a new plan
  const [form, setForm] = useState(EMPTY);
  const [saved, setSaved] = useState<string | null>(null);
  const save = useAction();

  const choose = (id: string) => {
    setEditing(id);
    setSaved(null);
    const p = plans.data?.find((x) => x.id === id);
    setForm(p ? { ...EMPTY, ...p } : EMPTY);
  };
  const num = (v: string) => (v === '' ? null : Number(v));

  const submit = (e: Event) => {
    e.preventDefault();
    setSaved(null);
    void save.act(async () => {
      const { id, name, ...limits } = form;
      if (editing) {
        const rows = await run<Plan[]>(supabase.from('plans').update({ name, ...limits }).eq('id', editing).select());
        // RLS hides nothing here (everyone reads plans), so no row means the write was refused.
        if (rows.length === 0) throw new ApiError('Only platform administrators may change plans.', '42501');
      } else {
        await run(supabase.from('plans').insert({ id, name, ...limits }).select());
      }
      await plans.reload();
      if (!editing) setForm(EMPTY);
      setSaved(`Plan “${name}” saved.`);
    });
  };

  return (
    <Page title="Plans">
      <Notice kind="error">{plans.error}</Notice>
      <table>
        <caption class="sr-only">Plans and their limits</caption>
        <thead>
          <tr>
            <th scope="col">Plan</th>
            {COUNTERS.map((c) => (
              <th scope="col" key={c.key}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(plans.data ?? []).map((p) => (
            <tr key={p.id} data-plan={p.id}>
              <th scope="row">
                {p.name} <span class="hint">({p.id})</span>
              </th>
              {COUNTERS.map((c) => (
                <td key={c.key}>{limitText(p[`max_${c.key}`])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <form class="stack narrow card" onSubmit={submit} aria-labelledby="plan-form-title">
        <h2 id="plan-form-title">{editing ? 'Change a plan' : 'New plan'}</h2>
        <label>
          Plan to edit
          <select value={editing} onChange={(e) => choose(e.currentTarget.value)}>
            <option value="">A new plan</option>
            {(plans.data ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        {!editing && (
          <label>
            Identifier
            <input required pattern="[a-z][a-z0-9_\-]{0,39}" value={form.id} onInput={(e) => setForm({ ...form, id: e.currentTarget.value })} aria-describedby="plan-id-hint" />
            <span class="hint" id="plan-id-hint">
              Lower-case letters, digits, “-” and “_”, starting with a letter; it cannot change later.
            </span>
          </label>
        )}
        <label>
          Name
          <input required maxLength={200} value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
        </label>
        {COUNTERS.map((c) => (
          <label key={c.key}>
            {`${c.label}, at most`}
            <input
              type="number"
              min={0}
              placeholder="no limit"
              value={form[`max_${c.key}`] ?? ''}
              onInput={(e) => setForm({ ...form, [`max_${c.key}`]: num(e.currentTarget.value) })}
            />
          </label>
        ))}
        <Notice kind="error">{save.error}</Notice>
        <Notice kind="success">{saved}</Notice>
        <button type="submit" class="primary" disabled={save.busy}>
          Save plan
        </button>
      </form>
    </Page>
  );
}
