//! `@supabase/supabase-js` (npm) against rowgate's `/auth/v1` and REST API: sign-in, a read
//! under RLS by `sub`, getUser, refresh rotation, a wrong password, sign-out revoking the access
//! token at once. The script `tests/clients/supabase_auth.mjs` asserts everything itself and
//! exits non-zero on any failure; `scripts/test` installs the package, without it this fails.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::harness::*;

/// ann's note and someone else's, readable only by their owner (RLS on the token's `sub`).
/// (Also used by tests/it/caddy.rs, which runs the same script through Caddy.)
pub(crate) const SETUP: &str = "
insert into auth.users (email, encrypted_password)
  values ('ann@example.com', crypt('correct horse', gen_salt('bf', 10)));
create table api.private_notes (
  id bigint generated always as identity primary key,
  owner uuid not null,
  body text not null
);
alter table api.private_notes enable row level security;
create policy private_notes_own on api.private_notes for select to authenticated
  using (owner = nullif(current_setting('request.jwt.claims', true)::jsonb ->> 'sub', '')::uuid);
grant select on api.private_notes to anon, authenticated;
insert into api.private_notes (owner, body)
  select id, 'ann note' from auth.users where email = 'ann@example.com'
  union all select gen_random_uuid(), 'someone else''s note';
";

#[tokio::test]
async fn supabase_js_auth_client() {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/node_modules/@supabase/supabase-js");
    assert!(
        modules.is_dir(),
        "{} is missing: run `scripts/test` (it runs `npm ci` in tests/clients) before these tests",
        modules.display()
    );
    let db = TestDb::new().await;
    // Before the gateway starts, so the schema cache sees the table.
    db.admin().await.batch_execute(SETUP).await.expect("set up users and notes");
    let key = rowgate::auth::signing::SigningKey::generate_jwk().unwrap();
    let cfg = config(&db, |a| {
        a.jwt_signing_key = Some(key);
        a.db_pre_request = Some("internal.check_request".into());
    });
    let g = Gateway::start_on(db, cfg).await;

    // supabase-js sends the anon key as `apikey` and, signed out, as the bearer token.
    let anon_key = token(json!({"role": "anon"}));
    let origin = g.url("");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("tests/clients/supabase_auth.mjs")
            .arg(&origin)
            .arg(&anon_key)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap_or_else(|e| panic!("could not run node: {e}; run `scripts/test` to set up"))
    })
    .await
    .expect("client thread");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "supabase-js failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}", out.status);
    eprintln!("supabase-js:\n{stdout}{stderr}");
}
