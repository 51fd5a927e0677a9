//! Projects and their tasks (api.projects, api.tasks: viewers read, members and above write —
//! policies/projects.sql, policies/tasks.sql; suspended orgs are read-only — the org_writable
//! trigger). Every edit is optimistic: the screen changes at once and rolls back, with the
//! server's reason as a sentence, when the write is refused. Other people's edits arrive live
//! through api/live.ts once realtime exists (issue 16), else on reload.

import { useEffect, useRef, useState } from 'preact/hooks';
import { run, supabase } from '../../api/client';
import { describe } from '../../api/errors';
import { subscribeToOrg, type Change, type LiveState } from '../../api/live';
import { atLeast, type Membership, type MyOrg, type Project, type Task } from '../../api/types';
import { Link, navigate } from '../../router';
import { useApp } from '../../state';
import { ConfirmButton, Notice, Page, shortId, useAction, useLoad } from '../../ui/kit';
import { TaskRow } from './TaskRow';

/** Applies a realtime change to a list keyed by `id`. */
function applyChange<T extends { id: string }>(rows: T[], c: Change, keep: (row: T) => boolean): T[] {
  const id = (c.eventType === 'DELETE' ? c.old.id : c.row.id) as string | undefined;
  if (!id) return rows;
  const without = rows.filter((r) => r.id !== id);
  if (c.eventType === 'DELETE') return without;
  const row = c.row as unknown as T;
  if (!keep(row)) return without;
  const at = rows.findIndex((r) => r.id === id);
  if (at < 0) return [...rows, row];
  const next = rows.slice();
  next[at] = { ...rows[at], ...row };
  return next;
}

export function LiveIndicator({ state }: { state: LiveState }) {
  const text = {
    connecting: 'Live updates: connecting…',
    live: 'Live updates: on',
    off: 'Live updates: off (reload to see others’ changes)',
  }[state];
  return (
    <p class={`live live-${state}`} data-live={state} aria-live="polite">
      {text}
    </p>
  );
}

export function Projects({ org, projectId }: { org: MyOrg; projectId?: string }) {
  const { userId } = useApp();
  const canWrite = atLeast(org.role, 'member') && org.organizations.status !== 'suspended';
  const projects = useLoad(
    () => run<Project[]>(supabase.from('projects').select('*').eq('org_id', org.org_id).order('created_at')),
    [org.org_id],
  );
  const members = useLoad(
    () => run<Membership[]>(supabase.from('memberships').select('*').eq('org_id', org.org_id).order('created_at')),
    [org.org_id],
  );
  const selected = projects.data?.find((p) => p.id === projectId) ?? (projectId ? undefined : projects.data?.[0]);
  const tasks = useLoad(
    () =>
      selected
        ? run<Task[]>(supabase.from('tasks').select('*').eq('org_id', org.org_id).eq('project_id', selected.id).order('created_at'))
        : Promise.resolve([] as Task[]),
    [org.org_id, selected?.id],
  );
  const [live, setLive] = useState<LiveState>('connecting');
  const [editError, setEditError] = useState<string | null>(null);
  const newProject = useAction();
  const [projectName, setProjectName] = useState('');

  useEffect(
    () =>
      subscribeToOrg(
        org.org_id,
        ['projects', 'tasks'],
        (c) => {
          if (c.table === 'projects') projects.set((rows = []) => applyChange(rows, c, () => true));
          if (c.table === 'tasks' && selected) {
            // An echo of an earlier change must not undo an edit still in flight.
            const change: Change =
              c.eventType === 'DELETE' ? c : { ...c, row: { ...withInFlight(c.row as unknown as Task) } as Record<string, unknown> };
            tasks.set((rows = []) => applyChange(rows, change, (t: Task) => t.project_id === selected.id));
          }
        },
        setLive,
      ),
    [org.org_id, selected?.id],
  );

  const createProject = (e: Event) => {
    e.preventDefault();
    void newProject.act(async () => {
      const [row] = await run<Project[]>(supabase.from('projects').insert({ org_id: org.org_id, name: projectName }).select());
      setProjectName('');
      projects.set((rows = []) => (rows.some((r) => r.id === row.id) ? rows : [...rows, row]));
      navigate(`/o/${org.org_id}/projects/${row.id}`);
    });
  };

  const deleteProject = async (p: Project) => {
    setEditError(null);
    const before = projects.data ?? [];
    projects.set(before.filter((r) => r.id !== p.id));
    try {
      const rows = await run<Project[]>(supabase.from('projects').delete().eq('org_id', org.org_id).eq('id', p.id).select());
      if (rows.length === 0) throw new Error('You may not delete this project.');
      navigate(`/o/${org.org_id}/projects`, { replace: true });
    } catch (e) {
      projects.set(before);
      setEditError(e instanceof Error && !('code' in e) ? e.message : describe(e));
    }
  };

  /** Per task, the optimistic changes not yet answered (in order): they stay on top of any row
   *  the server sends meanwhile — another edit's answer or a realtime echo. */
  const inFlight = useRef(new Map<string, Partial<Task>[]>());
  const withInFlight = (row: Task): Task => Object.assign({ ...row }, ...(inFlight.current.get(row.id) ?? []));
  const settle = (id: string, change: Partial<Task>) => {
    const left = (inFlight.current.get(id) ?? []).filter((c) => c !== change);
    if (left.length) inFlight.current.set(id, left);
    else inFlight.current.delete(id);
  };

  /** An optimistic change to one task: shown now, undone if the server refuses it. */
  const editTask = async (task: Task, change: Partial<Pick<Task, 'title' | 'done' | 'assignee_id'>>) => {
    setEditError(null);
    inFlight.current.set(task.id, [...(inFlight.current.get(task.id) ?? []), change]);
    tasks.set((rows = []) => rows.map((t) => (t.id === task.id ? { ...t, ...change } : t)));
    try {
      const rows = await run<Task[]>(supabase.from('tasks').update(change).eq('org_id', org.org_id).eq('id', task.id).select());
      settle(task.id, change);
      if (rows.length === 0) throw new Error('You may not change this task.');
      tasks.set((list = []) => list.map((t) => (t.id === task.id ? withInFlight(rows[0]) : t)));
    } catch (e) {
      settle(task.id, change);
      const undo = Object.fromEntries(Object.keys(change).map((k) => [k, task[k as keyof Task]]));
      tasks.set((rows = []) => rows.map((t) => (t.id === task.id ? { ...t, ...undo } : t)));
      setEditError(e instanceof Error && !('code' in e) ? e.message : describe(e));
    }
  };

  const deleteTask = async (task: Task) => {
    setEditError(null);
    tasks.set((rows = []) => rows.filter((t) => t.id !== task.id));
    try {
      const rows = await run<Task[]>(supabase.from('tasks').delete().eq('org_id', org.org_id).eq('id', task.id).select());
      if (rows.length === 0) throw new Error('You may not delete this task.');
    } catch (e) {
      tasks.set((rows = []) => (rows.some((t) => t.id === task.id) ? rows : [...rows, task]));
      setEditError(e instanceof Error && !('code' in e) ? e.message : describe(e));
    }
  };

  const [taskTitle, setTaskTitle] = useState('');
  const createTask = async (e: Event) => {
    e.preventDefault();
    if (!selected) return;
    setEditError(null);
    const title = taskTitle;
    const temp: Task = {
      org_id: org.org_id,
      id: `pending-${Date.now()}`,
      project_id: selected.id,
      title,
      done: false,
      assignee_id: null,
      created_at: new Date().toISOString(),
    };
    tasks.set((rows = []) => [...rows, temp]);
    setTaskTitle('');
    try {
      const [row] = await run<Task[]>(supabase.from('tasks').insert({ org_id: org.org_id, project_id: selected.id, title }).select());
      tasks.set((rows = []) => {
        const withoutTemp = rows.filter((t) => t.id !== temp.id);
        return withoutTemp.some((t) => t.id === row.id) ? withoutTemp : [...withoutTemp, row];
      });
    } catch (err) {
      tasks.set((rows = []) => rows.filter((t) => t.id !== temp.id));
      setTaskTitle(title);
      setEditError(describe(err));
    }
  };

  const memberName = (id: string) => (id === userId ? 'You' : `User ${shortId(id)}`);

  return (
    <Page title="Projects" actions={<LiveIndicator state={live} />}>
      <Notice kind="error">{projects.error}</Notice>
      {org.organizations.status === 'suspended' && (
        <Notice kind="info">This organization is suspended: everything is read-only.</Notice>
      )}
      <div class="split">
        <nav class="project-list" aria-label="Projects">
          {projects.data && projects.data.length === 0 && <p>No projects yet.</p>}
          <ul>
            {(projects.data ?? []).map((p) => (
              <li key={p.id}>
                <Link href={`/o/${org.org_id}/projects/${p.id}`} aria-current={p.id === selected?.id ? 'page' : undefined}>
                  {p.name}
                </Link>
              </li>
            ))}
          </ul>
          {canWrite && (
            <form class="stack" onSubmit={createProject}>
              <label>
                New project
                <input required maxLength={200} value={projectName} onInput={(e) => setProjectName(e.currentTarget.value)} />
              </label>
              <Notice kind="error">{newProject.error}</Notice>
              <button type="submit" disabled={newProject.busy}>
                Add project
              </button>
            </form>
          )}
        </nav>
        <section class="tasks" aria-labelledby="tasks-title">
          {selected ? (
            <>
              <div class="page-head">
                <h2 id="tasks-title">{selected.name}</h2>
                {canWrite && (
                  <ConfirmButton label="Delete project" confirmLabel={`Delete ${selected.name} and its tasks`} onConfirm={() => deleteProject(selected)} />
                )}
              </div>
              <Notice kind="error">{tasks.error ?? editError}</Notice>
              <ul class="task-list" aria-label={`Tasks of ${selected.name}`}>
                {(tasks.data ?? []).map((t) => (
                  <TaskRow
                    key={t.id}
                    task={t}
                    canWrite={canWrite && !t.id.startsWith('pending-')}
                    members={members.data ?? []}
                    memberName={memberName}
                    onEdit={(change) => void editTask(t, change)}
                    onDelete={() => void deleteTask(t)}
                  />
                ))}
              </ul>
              {tasks.data && tasks.data.length === 0 && <p>No tasks yet.</p>}
              {canWrite && (
                <form class="inline-form" onSubmit={createTask}>
                  <label>
                    New task
                    <input required maxLength={500} value={taskTitle} onInput={(e) => setTaskTitle(e.currentTarget.value)} />
                  </label>
                  <button type="submit">Add task</button>
                </form>
              )}
            </>
          ) : (
            projects.data && <h2 id="tasks-title">{projectId ? 'This project does not exist here.' : 'Create a project to add tasks.'}</h2>
          )}
        </section>
      </div>
    </Page>
  );
}
