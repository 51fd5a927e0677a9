//! One task: done checkbox, title (edited in place), assignee (a member of the same org: the
//! foreign key (org_id, assignee_id) → memberships), delete.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { Membership, Task } from '../../api/types';
import { ConfirmButton } from '../../ui/kit';

export function TaskRow({
  task,
  canWrite,
  members,
  memberName,
  onEdit,
  onDelete,
}: {
  task: Task;
  canWrite: boolean;
  members: Membership[];
  memberName: (id: string) => string;
  onEdit: (change: Partial<Pick<Task, 'title' | 'done' | 'assignee_id'>>) => void;
  onDelete: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(task.title);
  const input = useRef<HTMLInputElement>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const wasEditing = useRef(false);
  useEffect(() => {
    if (editing) input.current?.focus();
    else if (wasEditing.current) editButton.current?.focus();
    wasEditing.current = editing;
  }, [editing]);

  const save = (e: Event) => {
    e.preventDefault();
    setEditing(false);
    if (title.trim() && title !== task.title) onEdit({ title });
  };

  return (
    <li class={`task${task.done ? ' done' : ''}${task.id.startsWith('pending-') ? ' saving' : ''}`} data-task-id={task.id}>
      <input
        type="checkbox"
        id={`done-${task.id}`}
        checked={task.done}
        disabled={!canWrite}
        onChange={(e) => onEdit({ done: e.currentTarget.checked })}
        aria-label={`Done: ${task.title}`}
      />
      {editing ? (
        <form class="task-edit" onSubmit={save}>
          <label class="sr-only" for={`title-${task.id}`}>
            Title
          </label>
          <input
            id={`title-${task.id}`}
            ref={input}
            required
            maxLength={500}
            value={title}
            onInput={(e) => setTitle(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') {
                setTitle(task.title);
                setEditing(false);
              }
            }}
          />
          <button type="submit">Save</button>
          <button
            type="button"
            class="quiet"
            onClick={() => {
              setTitle(task.title);
              setEditing(false);
            }}
          >
            Cancel
          </button>
        </form>
      ) : (
        <span class="task-title">{task.title}</span>
      )}
      <select
        aria-label={`Assignee of ${task.title}`}
        value={task.assignee_id ?? ''}
        disabled={!canWrite}
        onChange={(e) => onEdit({ assignee_id: e.currentTarget.value || null })}
      >
        <option value="">Unassigned</option>
        {members.map((m) => (
          <option key={m.user_id} value={m.user_id}>
            {memberName(m.user_id)}
          </option>
        ))}
      </select>
      {canWrite && !editing && (
        <span class="row-actions">
          <button
            type="button"
            class="quiet"
            ref={editButton}
            aria-label={`Edit ${task.title}`}
            onClick={() => {
              setTitle(task.title);
              setEditing(true);
            }}
          >
            Edit
          </button>
          <ConfirmButton label="Delete" confirmLabel={`Delete ${task.title}`} onConfirm={onDelete} />
        </span>
      )}
    </li>
  );
}
