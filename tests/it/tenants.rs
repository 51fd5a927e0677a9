//! The tenant world the tests of the reference schema share (isolation, tenancy, API tokens,
//! audit, backup): its ids, the SQL that seeds it, and [`seed`].
//!
//! [`BASE`] holds two active orgs: A with an owner, an admin, a member and a viewer, B with an
//! owner; a project and a task in each; three models, one enabled for each org (each org is
//! entitled to its own and to the unused one); a user in no org and the super admin. Files add what they need on top: [`STATUS_ORGS`] (a suspended and a
//! pending org) or rows of their own, passed to [`seed`] after the base.

use crate::harness::TestDb;

// Orgs: A and B active; S suspended and P pending approval ([`STATUS_ORGS`]).
pub const ORG_A: &str = "0a000000-0000-0000-0000-000000000000";
pub const ORG_B: &str = "0b000000-0000-0000-0000-000000000000";
pub const ORG_S: &str = "0c000000-0000-0000-0000-000000000000";
pub const ORG_P: &str = "0d000000-0000-0000-0000-000000000000";

pub const OWNER_A: &str = "a0000000-0000-0000-0000-000000000001";
pub const ADMIN_A: &str = "a0000000-0000-0000-0000-000000000002";
pub const MEMBER_A: &str = "a0000000-0000-0000-0000-000000000003";
pub const VIEWER_A: &str = "a0000000-0000-0000-0000-000000000004";
pub const OWNER_B: &str = "b0000000-0000-0000-0000-000000000001";
pub const OWNER_S: &str = "c0000000-0000-0000-0000-000000000001";
pub const OWNER_P: &str = "d0000000-0000-0000-0000-000000000001";
/// In no org.
pub const LONER: &str = "e0000000-0000-0000-0000-000000000001";
/// `is_super_admin` in auth.users.
pub const SUPER: &str = "50000000-0000-0000-0000-000000000001";

pub const PROJ_A: &str = "1a000000-0000-0000-0000-000000000001";
/// A second project of A, without tasks; not in the base (the files that use it add it).
pub const PROJ2_A: &str = "1a000000-0000-0000-0000-000000000002";
pub const PROJ_B: &str = "1b000000-0000-0000-0000-000000000001";
pub const PROJ_S: &str = "1c000000-0000-0000-0000-000000000001";
pub const TASK_A: &str = "2a000000-0000-0000-0000-000000000001";
pub const TASK_B: &str = "2b000000-0000-0000-0000-000000000001";
pub const TASK_S: &str = "2c000000-0000-0000-0000-000000000001";
/// Enabled for A only, for B only, for nobody (entitled to both).
pub const MODEL_A: &str = "30000000-0000-0000-0000-000000000001";
pub const MODEL_B: &str = "30000000-0000-0000-0000-000000000002";
pub const MODEL_FREE: &str = "30000000-0000-0000-0000-000000000003";

/// Orgs A and B, their people, a project and a task each, the model catalog, a user in no org and
/// the super admin. No passwords (files that sign in set them), no invitations, no audit rows.
pub const BASE: &str = r#"
insert into auth.users (id, email) values
  ('a0000000-0000-0000-0000-000000000001', 'owner@a.test'),
  ('a0000000-0000-0000-0000-000000000002', 'admin@a.test'),
  ('a0000000-0000-0000-0000-000000000003', 'member@a.test'),
  ('a0000000-0000-0000-0000-000000000004', 'viewer@a.test'),
  ('b0000000-0000-0000-0000-000000000001', 'owner@b.test'),
  ('e0000000-0000-0000-0000-000000000001', 'loner@x.test');
insert into auth.users (id, email, is_super_admin) values
  ('50000000-0000-0000-0000-000000000001', 'root@platform.test', true);
insert into api.organizations (id, name, status) values
  ('0a000000-0000-0000-0000-000000000000', 'Org A', 'active'),
  ('0b000000-0000-0000-0000-000000000000', 'Org B', 'active');
insert into api.memberships (org_id, user_id, role) values
  ('0a000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000001', 'owner'),
  ('0a000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000002', 'admin'),
  ('0a000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000003', 'member'),
  ('0a000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000004', 'viewer'),
  ('0b000000-0000-0000-0000-000000000000', 'b0000000-0000-0000-0000-000000000001', 'owner');
insert into api.projects (org_id, id, name) values
  ('0a000000-0000-0000-0000-000000000000', '1a000000-0000-0000-0000-000000000001', 'alpha'),
  ('0b000000-0000-0000-0000-000000000000', '1b000000-0000-0000-0000-000000000001', 'beta');
insert into api.tasks (org_id, id, project_id, title) values
  ('0a000000-0000-0000-0000-000000000000', '2a000000-0000-0000-0000-000000000001', '1a000000-0000-0000-0000-000000000001', 'a-task'),
  ('0b000000-0000-0000-0000-000000000000', '2b000000-0000-0000-0000-000000000001', '1b000000-0000-0000-0000-000000000001', 'b-task');
insert into api.models (id, name) values
  ('30000000-0000-0000-0000-000000000001', 'model-a'),
  ('30000000-0000-0000-0000-000000000002', 'model-b'),
  ('30000000-0000-0000-0000-000000000003', 'model-unused');
insert into api.org_entitlements (org_id, model_id) values
  ('0a000000-0000-0000-0000-000000000000', '30000000-0000-0000-0000-000000000001'),
  ('0a000000-0000-0000-0000-000000000000', '30000000-0000-0000-0000-000000000003'),
  ('0b000000-0000-0000-0000-000000000000', '30000000-0000-0000-0000-000000000002'),
  ('0b000000-0000-0000-0000-000000000000', '30000000-0000-0000-0000-000000000003');
insert into api.org_models (org_id, model_id) values
  ('0a000000-0000-0000-0000-000000000000', '30000000-0000-0000-0000-000000000001'),
  ('0b000000-0000-0000-0000-000000000000', '30000000-0000-0000-0000-000000000002');
"#;

/// Org S (suspended once its project and task exist) and org P (pending approval), each with its
/// owner.
pub const STATUS_ORGS: &str = r#"
insert into auth.users (id, email) values
  ('c0000000-0000-0000-0000-000000000001', 'owner@s.test'),
  ('d0000000-0000-0000-0000-000000000001', 'owner@p.test');
insert into api.organizations (id, name, status) values
  ('0c000000-0000-0000-0000-000000000000', 'Org S', 'active'),
  ('0d000000-0000-0000-0000-000000000000', 'Org P', 'pending_approval');
insert into api.memberships (org_id, user_id, role) values
  ('0c000000-0000-0000-0000-000000000000', 'c0000000-0000-0000-0000-000000000001', 'owner'),
  ('0d000000-0000-0000-0000-000000000000', 'd0000000-0000-0000-0000-000000000001', 'owner');
insert into api.projects (org_id, id, name) values
  ('0c000000-0000-0000-0000-000000000000', '1c000000-0000-0000-0000-000000000001', 'sigma');
insert into api.tasks (org_id, id, project_id, title) values
  ('0c000000-0000-0000-0000-000000000000', '2c000000-0000-0000-0000-000000000001', '1c000000-0000-0000-0000-000000000001', 's-task');
update api.organizations set status = 'suspended' where id = '0c000000-0000-0000-0000-000000000000';
"#;

/// Gives every user so far the password `password` (bcrypt, cost 4: fast to check).
pub fn passwords(password: &str) -> String {
    format!("update auth.users set encrypted_password = public.crypt('{password}', public.gen_salt('bf', 4));")
}

/// Seeds `db` with [`BASE`], then each of `extra` in order.
pub async fn seed(db: &TestDb, extra: &[&str]) {
    seed_with(&db.admin().await, extra).await;
}

/// [`seed`] through any superuser connection (for databases the harness did not create).
pub async fn seed_with(client: &tokio_postgres::Client, extra: &[&str]) {
    client.batch_execute(BASE).await.expect("seed the tenant world");
    for sql in extra {
        client.batch_execute(sql).await.unwrap_or_else(|e| panic!("seed: {e}\n{sql}"));
    }
}
