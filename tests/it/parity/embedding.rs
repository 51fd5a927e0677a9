//! Points 3 and 4: every embedding target PostgREST accepts — a relation's name, a foreign key's
//! constraint name or column, a self reference by the table's own name — PGRST201 where still
//! ambiguous, PGRST200 with a hint; `rel(count)` besides `rel(count())` and `rel(col.sum())`.

use serde_json::json;

use super::*;

#[tokio::test]
async fn embedding_by_constraint_name() {
    let g = Gateway::start().await;
    let v = ok(&g, "/users?select=name,first_friend_of:best_friends_first_user_fkey(id)&order=id").await;
    assert_eq!(v, json!([{"name": "ann", "first_friend_of": [{"id": 1}]}, {"name": "ben", "first_friend_of": []}]));
    let v =
        ok(&g, "/best_friends?select=id,best_friends_first_user_fkey(name),best_friends_second_user_fkey(name)").await;
    assert_eq!(
        v,
        json!([{"id": 1, "best_friends_first_user_fkey": {"name": "ann"}, "best_friends_second_user_fkey": {"name": "ben"}}])
    );
}

#[tokio::test]
async fn embedding_by_foreign_key_column() {
    let g = Gateway::start().await;
    let v = ok(&g, "/best_friends?select=id,first:first_user(name),second_user(name)").await;
    assert_eq!(v, json!([{"id": 1, "first": {"name": "ann"}, "second_user": {"name": "ben"}}]));
    let v = ok(&g, "/user_profiles?select=username(*)&order=id").await;
    assert_eq!(v, json!([{"username": {"id": 1, "username": "ann"}}, {"username": {"id": 2, "username": "ben"}}]));
    let v = ok(&g, "/collections?select=id,parent_id(name)&order=id").await;
    assert_eq!(
        v,
        json!([
            {"id": 1, "parent_id": null},
            {"id": 2, "parent_id": {"name": "root"}},
            {"id": 3, "parent_id": {"name": "root"}},
            {"id": 4, "parent_id": {"name": "child a"}}
        ])
    );
    // With `*`, the embed's key follows the column of the same name (the last key wins in JSON).
    let v = ok(&g, "/collections?select=*,parent_id(*)&id=eq.4").await;
    assert_eq!(v[0]["parent_id"], json!({"id": 2, "name": "child a", "parent_id": 1}));
}

#[tokio::test]
async fn a_self_reference_by_the_tables_name_is_the_one_to_many_side() {
    let g = Gateway::start().await;
    let v = ok(&g, "/collections?select=*,collections(*)&id=eq.1&collections.order=id").await;
    assert_eq!(
        v,
        json!([{"id": 1, "name": "root", "parent_id": null, "collections": [
            {"id": 2, "name": "child a", "parent_id": 1},
            {"id": 3, "name": "child b", "parent_id": 1}
        ]}])
    );
    // A hint naming the referencing column picks the children too (PostgREST's rule), and the
    // column alone the parent.
    let v = ok(&g, "/employees?select=name,reports:employees!manager_id(name)&id=eq.1&reports.order=id").await;
    assert_eq!(v, json!([{"name": "Boss", "reports": [{"name": "Mid"}, {"name": "Other"}]}]));
    let v = ok(&g, "/employees?select=name,boss:manager_id(name)&id=eq.3").await;
    assert_eq!(v, json!([{"name": "Junior", "boss": {"name": "Mid"}}]));
}

#[tokio::test]
async fn still_ambiguous_is_300_with_the_candidates() {
    let g = Gateway::start().await;
    let r = g.get("/best_friends?select=users(name)").await;
    assert_eq!(status_code(&r), (300, "PGRST201".into()), "{}", r.body);
    assert_eq!(
        r.json(),
        json!({
            "code": "PGRST201",
            "details": [
                {"cardinality": "many-to-one", "embedding": "best_friends with users",
                 "relationship": "best_friends_first_user_fkey using best_friends(first_user) and users(id)"},
                {"cardinality": "many-to-one", "embedding": "best_friends with users",
                 "relationship": "best_friends_second_user_fkey using best_friends(second_user) and users(id)"}
            ],
            "hint": "Try changing 'users' to one of the following: 'users!best_friends_first_user_fkey', 'users!best_friends_second_user_fkey'. Find the desired relationship in the 'details' key.",
            "message": "Could not embed because more than one relationship was found for 'best_friends' and 'users'"
        })
    );
}

#[tokio::test]
async fn an_embed_matching_nothing_is_pgrst200_with_a_hint() {
    let g = Gateway::start().await;
    let r = g.get("/films?select=title,director(last_name)").await;
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({
                "code": "PGRST200",
                "details": "Searched for a foreign key relationship between 'films' and 'director' in the schema 'api', but no matches were found.",
                "hint": "Perhaps you meant 'directors' instead of 'director'.",
                "message": "Could not find a relationship between 'films' and 'director' in the schema cache"
            })
        )
    );
    let r = g.get("/films?select=title,directors!nope(last_name)").await;
    assert_eq!(status_code(&r), (400, "PGRST200".into()));
    assert_eq!(
        r.json()["details"],
        "Searched for a foreign key relationship between 'films' and 'directors' using the hint 'nope' in the schema 'api', but no matches were found."
    );
}

#[tokio::test]
async fn counting_an_embed_with_the_bare_word() {
    // `rel(count)` needs no aggregates setting: PostgreSQL reads `rel.count` as `count(rel)`.
    let g = Gateway::start().await;
    let v = ok(&g, "/directors?select=last_name,films(count)&order=id").await;
    assert_eq!(
        v,
        json!([
            {"last_name": "Coppola", "films": [{"count": 2}]},
            {"last_name": "Kurosawa", "films": [{"count": 1}]},
            {"last_name": "Unknown", "films": [{"count": 0}]}
        ])
    );
    assert_eq!(ok(&g, "/films?select=count").await, json!([{"count": 4}]));
    let v = ok(&g, "/employees?select=name,reports(n:count)&id=eq.1").await;
    assert_eq!(v, json!([{"name": "Boss", "reports": [{"n": 2}]}]));
    // The function forms need aggregates enabled.
    let r = g.get("/directors?select=films(count())").await;
    assert_eq!(status_code(&r), (400, "PGRST123".into()));
    let g = Gateway::start_with(|a| a.db_aggregates_enabled = Some("true".into())).await;
    let v = ok(&g, "/directors?select=last_name,films(count(),year.sum())&id=eq.1").await;
    assert_eq!(v, json!([{"last_name": "Coppola", "films": [{"count": 2, "sum": 4002}]}]));
}
