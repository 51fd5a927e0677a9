//! The rows the console reads, as the reference schema defines them (sql/V3, V9, V13; docs/tenancy.md).

export type Role = 'owner' | 'admin' | 'member' | 'viewer';
export const ROLES: Role[] = ['owner', 'admin', 'member', 'viewer'];
export type OrgStatus = 'pending_approval' | 'active' | 'suspended' | 'pending_deletion';

/** internal.role_rank: owner > admin > member > viewer. */
export function rank(role: Role | null | undefined): number {
  return role ? 4 - ROLES.indexOf(role) : 0;
}
export function atLeast(role: Role | null | undefined, wanted: Role): boolean {
  return rank(role) >= rank(wanted);
}

export interface Organization {
  id: string;
  name: string;
  status: OrgStatus;
  /** Why the status last changed (api.set_org_status's reason, or the lifecycle's own words). */
  status_reason: string | null;
  status_changed_at: string | null;
  /** While pending deletion: when the maintenance job purges it (restorable until then). */
  purge_after: string | null;
  plan_id: string;
  created_at: string;
}

/** The columns of api.organizations the console reads (embedded in memberships, listed by the platform). */
export const ORG_COLUMNS = 'id, name, status, status_reason, status_changed_at, purge_after, plan_id, created_at';

/** One of the caller's memberships, with its org embedded. */
export interface MyOrg {
  org_id: string;
  role: Role;
  organizations: Organization;
}

export interface Membership {
  org_id: string;
  user_id: string;
  role: Role;
  created_at: string;
}

export interface Invitation {
  org_id: string;
  id: string;
  kind: 'email' | 'link';
  email: string | null;
  role: Role;
  expires_at: string;
  accepted_at: string | null;
  accepted_by: string | null;
  max_uses: number | null;
  use_count: number;
  created_at: string;
}

export interface Project {
  org_id: string;
  id: string;
  name: string;
  created_at: string;
}

export interface Task {
  org_id: string;
  id: string;
  project_id: string;
  title: string;
  done: boolean;
  assignee_id: string | null;
  created_at: string;
}

export interface Model {
  id: string;
  name: string;
  created_at: string;
}

export interface OrgModel {
  org_id: string;
  model_id: string;
  created_at: string;
  models: { name: string } | null;
}

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface AuditEntry {
  org_id: string;
  id: string;
  at: string;
  actor_user_id: string | null;
  action: 'INSERT' | 'UPDATE' | 'DELETE';
  table_name: string;
  row_key: Record<string, unknown>;
  diff: Record<string, unknown> | null;
  request_id: string | null;
}

export interface PlatformSettings {
  id: boolean;
  auto_activate_new_orgs: boolean;
  /** A PostgreSQL interval as PostgREST renders it ("30 days"). */
  deletion_grace_period: string;
}

/** api.plans: an org's limits (NULL: no limit); `pending` holds orgs awaiting approval. */
export interface Plan {
  id: string;
  name: string;
  max_members: number | null;
  max_projects: number | null;
  max_tasks: number | null;
  max_api_tokens: number | null;
  max_storage_mb: number | null;
  limits: Record<string, number>;
}

export const STATUS_LABEL: Record<OrgStatus, string> = {
  pending_approval: 'Pending approval',
  active: 'Active',
  suspended: 'Suspended',
  pending_deletion: 'Pending deletion',
};

/** The built-in counters of api.org_usage, each beside its limit (`max_<counter>`, NULL: none). */
export const COUNTERS = [
  { key: 'members', label: 'Members' },
  { key: 'projects', label: 'Projects' },
  { key: 'tasks', label: 'Tasks' },
  { key: 'api_tokens', label: 'API tokens' },
  { key: 'storage_mb', label: 'Storage (MB)' },
] as const;
export type Counter = (typeof COUNTERS)[number]['key'];

/** A row of api.org_usage (and of api.admin_list_organizations). */
export type OrgUsage = {
  org_id: string;
  name: string;
  status: OrgStatus;
  plan_id: string;
  /** `pending` while the org awaits approval, else plan_id. */
  effective_plan: string;
  counters: Record<string, number>;
  limits: Record<string, number>;
} & Record<Counter, number> &
  Record<`max_${Counter}`, number | null>;

/** A row of api.access_report: who may use which model, per org. */
export interface AccessRow {
  org_id: string;
  org_name: string;
  user_id: string;
  email: string | null;
  role: Role;
  model_id: string;
  model_name: string;
  expires_at: string | null;
}
