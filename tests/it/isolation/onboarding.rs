//! How users get into an org (issue 13 points 2 and 3), over HTTP with real credentials: an
//! invitation addressed to an email admits only that user (case-insensitively), and refuses every
//! other user — of another org, of no org, of the inviting org — and API tokens, changing nothing;
//! an "anyone with the link" invitation admits signed-in users up to its use count and until it
//! expires, and a member using it consumes nothing; a user who signed up through `/auth/v1/signup`
//! creates an organization, owns it and works in it, active or pending per the platform settings.

use reqwest::Method;
use serde_json::{json, Value};

use super::*;

/// `POST /auth/v1/signup`: the new user's id and `Authorization` value.
async fn sign_up(w: &World, email: &str) -> (String, String) {
    let body = json!({"email": email, "password": "a long passphrase"}).to_string();
    let r = w.g.send(Method::POST, "/auth/v1/signup", &[], &body).await;
    assert_eq!(r.status, 200, "signup of {email}: {}", r.body);
    let v = r.json();
    let id = v["user"]["id"].as_str().expect("user id").to_string();
    (id, format!("Bearer {}", v["access_token"].as_str().expect("an access_token")))
}

/// A request as a signed-up user (not one of the world's actors).
async fn as_user(w: &World, authorization: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    let headers = [("authorization", authorization), ("prefer", "return=representation")];
    match body {
        Some(b) => w.g.send(method, path, &headers, &b.to_string()).await,
        None => w.g.request(method, path, &headers).await,
    }
}

fn accept(token: &str) -> Value {
    json!({ "token": token })
}

/// The invitation with this token, as the superuser sees it.
async fn invitation(w: &World, token: &str) -> Value {
    let rows = w
        .rows(&format!(
            "select kind, email, role, max_uses, use_count, accepted_by from api.invitations \
              where token_hash = encode(public.digest('{token}', 'sha256'), 'hex')"
        ))
        .await;
    rows[0].clone()
}

#[tokio::test]
async fn an_email_invitation_admits_only_its_addressee() {
    let w = World::new().await;
    let (_, stranger) = sign_up(&w, "stranger@x.test").await;
    let r = w
        .rpc(Actor::OwnerA, "create_invitation", &json!({"org": ORG_A, "email": "Loner@X.Test", "role": "member"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json().as_str().expect("the token").to_string();
    let before = w.dump().await;

    // Everyone but the addressee is refused, and nothing changes.
    let mut failures = vec![];
    let other_email = "this invitation is for another email address";
    let refused = [
        (Actor::MemberB, 403, "PT403", other_email),
        (Actor::OwnerB, 403, "PT403", other_email),
        (Actor::Super, 403, "PT403", other_email),
        (Actor::ViewerA, 403, "PT403", other_email),
        (Actor::OwnerA, 403, "PT403", other_email),
        (Actor::TokenMemberA, 403, "PT403", "API tokens cannot accept invitations"),
        (Actor::Anon, 401, "42501", "permission denied for function accept_invitation"),
        (Actor::Service, 403, "42501", "permission denied for function accept_invitation"),
    ];
    for (actor, status, code, text) in refused {
        let r = w.rpc(actor, "accept_invitation", &accept(&token)).await;
        if (r.status, r.code(), message(&r)) != (status, code.to_string(), text.to_string()) {
            failures.push(format!(
                "{}: expected {status} {code} {text:?}, got {} {}",
                actor.column(),
                r.status,
                r.body
            ));
        }
    }
    let r = as_user(&w, &stranger, Method::POST, "/rpc/accept_invitation", Some(accept(&token))).await;
    if (r.status, message(&r)) != (403, other_email.to_string()) {
        failures.push(format!("a user who just signed up: expected 403, got {} {}", r.status, r.body));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(w.dump().await, before, "a refused invitation changed something");

    // The addressee (loner@x.test; the invitation says Loner@X.Test) accepts, once.
    let r = w.rpc(Actor::Loner, "accept_invitation", &accept(&token)).await;
    assert_eq!((r.status, r.json()), (200, json!({"org_id": ORG_A, "role": "member"})), "{}", r.body);
    assert_eq!(w.get(Actor::Loner, "/organizations?select=name").await.json(), json!([{"name": "Org A"}]));
    assert_eq!(invitation(&w, &token).await["accepted_by"], json!(LONER));
    let r = w.rpc(Actor::Loner, "accept_invitation", &accept(&token)).await;
    assert_eq!((r.status, r.code()), (400, "PT400".to_string()), "{}", r.body);
    let r = as_user(&w, &stranger, Method::POST, "/rpc/accept_invitation", Some(accept(&token))).await;
    assert_eq!((r.status, r.code()), (400, "PT400".to_string()), "{}", r.body);
}

#[tokio::test]
async fn an_invite_link_admits_signed_in_users_up_to_its_uses() {
    let w = World::new().await;
    let link =
        |role: &str, uses: Value, ttl: &str| json!({"org": ORG_A, "role": role, "max_uses": uses, "expires_in": ttl});
    // Who may create one, and with what.
    let refused = [
        (Actor::MemberA, link("viewer", json!(5), "1 day"), 403),
        (Actor::TokenViewerA, link("viewer", json!(5), "1 day"), 403),
        (Actor::AdminB, link("viewer", json!(5), "1 day"), 403),
        (Actor::Super, link("viewer", json!(5), "1 day"), 403),
        (Actor::Loner, link("viewer", json!(5), "1 day"), 403),
        (Actor::AdminA, link("owner", json!(5), "1 day"), 403),
        (Actor::AdminA, link("root", json!(5), "1 day"), 400),
        (Actor::AdminA, link("viewer", json!(0), "1 day"), 400),
        (Actor::AdminA, link("viewer", json!(1001), "1 day"), 400),
        (Actor::AdminA, link("viewer", json!(5), "-1 hour"), 400),
        (Actor::AdminA, link("viewer", json!(5), "31 days"), 400),
        (Actor::Anon, link("viewer", json!(5), "1 day"), 401),
    ];
    for (actor, args, status) in &refused {
        let r = w.rpc(*actor, "create_invite_link", args).await;
        assert_eq!(r.status, *status, "{} {args}: {}", actor.column(), r.body);
    }
    assert_eq!(w.rows("select id from api.invitations where kind = 'link'").await, json!([]));

    let r = w.rpc(Actor::AdminA, "create_invite_link", &link("member", json!(2), "2 days")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let created = r.json();
    let token = created["token"].as_str().expect("token").to_string();
    assert!(token.starts_with(&format!("{ORG_A}.")) && token.len() == 36 + 1 + 48, "{token}");
    assert_eq!(
        (created["org_id"].clone(), created["role"].clone(), created["max_uses"].clone()),
        (json!(ORG_A), json!("member"), json!(2))
    );
    // Its admins see it (never the token), its members don't.
    let r = w.get(Actor::AdminA, "/invitations?kind=eq.link&select=role,email,max_uses,use_count").await;
    assert_eq!(r.json(), json!([{"role": "member", "email": null, "max_uses": 2, "use_count": 0}]));
    assert!(!r.body.contains(&token[37..]), "{}", r.body);
    assert_eq!(w.get(Actor::MemberA, "/invitations?kind=eq.link").await.json(), json!([]));

    // Members, API tokens and anonymous callers cannot use it, and consume nothing.
    let before = w.dump().await;
    for (actor, status, code) in [
        (Actor::MemberA, 409, "PT409"),
        (Actor::ViewerA, 409, "PT409"),
        (Actor::TokenMemberA, 403, "PT403"),
        (Actor::Anon, 401, "42501"),
    ] {
        let r = w.rpc(actor, "accept_invitation", &accept(&token)).await;
        assert_eq!((r.status, r.code()), (status, code.to_string()), "{}: {}", actor.column(), r.body);
    }
    assert_eq!(w.dump().await, before, "refused uses changed something");

    // Two users join (one of another org, one who just signed up); the third is refused.
    let r = w.rpc(Actor::MemberB, "accept_invitation", &accept(&token)).await;
    assert_eq!((r.status, r.json()), (200, json!({"org_id": ORG_A, "role": "member"})), "{}", r.body);
    let (newcomer_id, newcomer) = sign_up(&w, "newcomer@x.test").await;
    let r = as_user(&w, &newcomer, Method::POST, "/rpc/accept_invitation", Some(accept(&token))).await;
    assert_eq!((r.status, r.json()), (200, json!({"org_id": ORG_A, "role": "member"})), "{}", r.body);
    let r = as_user(&w, &newcomer, Method::GET, "/projects?select=name&order=name", None).await;
    assert_eq!(r.json(), json!([{"name": "alpha"}, {"name": "alpha-2"}]), "the newcomer works in A");
    let r = w.rpc(Actor::Loner, "accept_invitation", &accept(&token)).await;
    assert_eq!((r.status, r.code()), (400, "PT400".to_string()), "used up: {}", r.body);
    let stored = invitation(&w, &token).await;
    assert_eq!((stored["kind"].clone(), stored["use_count"].clone()), (json!("link"), json!(2)), "{stored}");
    let joined = w
        .rows(&format!(
            "select user_id::text, role from api.memberships where org_id = '{ORG_A}' \
              and user_id in ('{MEMBER_B}', '{newcomer_id}', '{LONER}') order by user_id"
        ))
        .await;
    let mut expected =
        vec![json!({"user_id": MEMBER_B, "role": "member"}), json!({"user_id": newcomer_id, "role": "member"})];
    expected.sort_by_key(|v| v["user_id"].as_str().unwrap().to_string());
    assert_eq!(joined, Value::Array(expected));

    // Expired: refused.
    let r = w.rpc(Actor::OwnerA, "create_invite_link", &link("viewer", json!(5), "1 hour")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let expired = r.json()["token"].as_str().expect("token").to_string();
    w.g.db
        .admin()
        .await
        .batch_execute(&format!(
            "update api.invitations set expires_at = now() - interval '1 second' \
              where token_hash = encode(public.digest('{expired}', 'sha256'), 'hex')"
        ))
        .await
        .expect("expire the link");
    let r = w.rpc(Actor::Loner, "accept_invitation", &accept(&expired)).await;
    assert_eq!((r.status, r.code()), (400, "PT400".to_string()), "expired: {}", r.body);
    assert_eq!(w.get(Actor::Loner, "/organizations").await.json(), json!([]));
}

#[tokio::test]
async fn a_signed_up_user_creates_an_organization() {
    let w = World::new().await;
    let (founder_id, founder) = sign_up(&w, "founder@new.test").await;
    assert_eq!(as_user(&w, &founder, Method::GET, "/organizations", None).await.json(), json!([]));

    // Refused: anonymous callers, API tokens, service_role, a bad name; nothing is created.
    let orgs_before = w.rows("select * from api.organizations order by id").await;
    let newco = json!({"name": "Newco"});
    let r = w.rpc(Actor::Anon, "create_organization", &newco).await;
    assert_eq!((r.status, r.code()), (401, "42501".to_string()), "{}", r.body);
    let r = w.rpc(Actor::TokenMemberA, "create_organization", &newco).await;
    assert_eq!((r.status, message(&r)), (403, "API tokens cannot create organizations".to_string()), "{}", r.body);
    let r = w.rpc(Actor::Service, "create_organization", &newco).await;
    assert_eq!((r.status, r.code()), (403, "42501".to_string()), "{}", r.body);
    for name in [json!("   "), json!(""), json!("x".repeat(201)), Value::Null] {
        let r = as_user(&w, &founder, Method::POST, "/rpc/create_organization", Some(json!({"name": name}))).await;
        assert_eq!((r.status, r.code()), (400, "PT400".to_string()), "{name}: {}", r.body);
    }
    assert_eq!(w.rows("select * from api.organizations order by id").await, orgs_before);

    // The founder creates one, owns it, sees it and works in it; nobody else sees it.
    let r = as_user(&w, &founder, Method::POST, "/rpc/create_organization", Some(json!({"name": " Newco "}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let out = r.json();
    assert_eq!(out["status"], json!("active"));
    let org = out["org_id"].as_str().expect("org_id").to_string();
    let r = as_user(&w, &founder, Method::GET, "/organizations?select=id,name,status", None).await;
    assert_eq!(r.json(), json!([{"id": org, "name": "Newco", "status": "active"}]));
    let r = as_user(&w, &founder, Method::GET, "/memberships?select=user_id,role", None).await;
    assert_eq!(r.json(), json!([{"user_id": founder_id, "role": "owner"}]));
    let r = as_user(&w, &founder, Method::POST, "/projects", Some(json!({"org_id": org, "name": "first"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    for actor in [Actor::OwnerA, Actor::Loner, Actor::Super] {
        let r = w.get(actor, &format!("/projects?org_id=eq.{org}")).await;
        assert_eq!(r.json(), json!([]), "{}", actor.column());
    }
    assert_eq!(
        w.get(Actor::Super, &format!("/organizations?id=eq.{org}&select=name")).await.json(),
        json!([{"name": "Newco"}])
    );
    // A member of another org may create one too.
    let r = w.rpc(Actor::MemberA, "create_organization", &json!({"name": "Side project"})).await;
    assert_eq!((r.status, r.json()["status"].clone()), (200, json!("active")), "{}", r.body);
    // And invites with a link.
    let r = as_user(
        &w,
        &founder,
        Method::POST,
        "/rpc/create_invite_link",
        Some(json!({"org": org, "role": "member", "max_uses": 1})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = w.rpc(Actor::Loner, "accept_invitation", &accept(r.json()["token"].as_str().expect("token"))).await;
    assert_eq!((r.status, r.json()), (200, json!({"org_id": org, "role": "member"})), "{}", r.body);
}

#[tokio::test]
async fn with_auto_activation_off_a_new_organization_is_pending() {
    let w = World::new().await;
    let r = w
        .write(Actor::Super, Method::PATCH, "/platform_settings", Some(&json!({"auto_activate_new_orgs": false})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, founder) = sign_up(&w, "pending@new.test").await;
    let r = as_user(&w, &founder, Method::POST, "/rpc/create_organization", Some(json!({"name": "Waiting"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], json!("pending_approval"));
    let org = r.json()["org_id"].as_str().expect("org_id").to_string();
    let r = as_user(&w, &founder, Method::GET, "/organizations?select=status", None).await;
    assert_eq!(r.json(), json!([{"status": "pending_approval"}]));

    // The pending limits (the `pending` plan: 1 project, 3 members by default) hold, for links too.
    let project = |name: &str| Some(json!({"org_id": org, "name": name}));
    let r = as_user(&w, &founder, Method::POST, "/projects", project("one")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = as_user(&w, &founder, Method::POST, "/projects", project("two")).await;
    assert_eq!((r.status, error_field(&r, "code")), (403, "quota_exceeded".to_string()), "{}", r.body);
    assert!(error_field(&r, "details").contains("pending approval"), "{}", r.body);
    let r = as_user(
        &w,
        &founder,
        Method::POST,
        "/rpc/create_invite_link",
        Some(json!({"org": org, "role": "viewer", "max_uses": 10})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json()["token"].as_str().expect("token").to_string();
    for actor in [Actor::Loner, Actor::MemberB] {
        let r = w.rpc(actor, "accept_invitation", &accept(&token)).await;
        assert_eq!(r.status, 200, "{}: {}", actor.column(), r.body);
    }
    let r = w.rpc(Actor::ViewerB, "accept_invitation", &accept(&token)).await;
    assert_eq!((r.status, error_field(&r, "code")), (403, "quota_exceeded".to_string()), "a fourth member: {}", r.body);
    assert!(error_field(&r, "details").contains("pending approval"), "{}", r.body);
    assert_eq!(invitation(&w, &token).await["use_count"], json!(2), "the refused join consumed no use");

    // Its owner cannot approve it; the super admin does, and the limits are gone.
    let approve = json!({"org": org, "status": "active"});
    let r = as_user(&w, &founder, Method::POST, "/rpc/set_org_status", Some(approve.clone())).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = w.rpc(Actor::Super, "set_org_status", &approve).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = w.rpc(Actor::ViewerB, "accept_invitation", &accept(&token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = as_user(&w, &founder, Method::POST, "/projects", project("two")).await;
    assert_eq!(r.status, 201, "{}", r.body);
}
