-- Tasks get an assignee: a member of the task's own org. The foreign key includes org_id, so a task
-- can never name a member of another org (and the check reveals nothing about other orgs: it
-- fails for them exactly as for a uuid that is nobody). Removing the member unassigns their tasks
-- (SET NULL on assignee_id only; org_id stays).

alter table api.tasks add column assignee_id uuid;
alter table api.tasks add constraint tasks_assignee_fkey
  foreign key (org_id, assignee_id) references api.memberships (org_id, user_id)
  on delete set null (assignee_id);
create index tasks_org_id_assignee_id_idx on api.tasks (org_id, assignee_id);

grant update (assignee_id) on api.tasks to authenticated;
