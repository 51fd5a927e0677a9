//! Aggregates behind ROWGATE_DB_AGGREGATES_ENABLED.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn aggregates_are_refused_unless_enabled() {
    let g = Gateway::start().await;
    let r = g.get("/films?select=count()").await;
    assert_eq!((r.status, r.code()), (400, "PGRST123".to_string()), "{}", r.body);
    let r = g.get("/directors?select=id,films(count())").await;
    assert_eq!(r.code(), "PGRST123", "also inside embeds");
}

#[tokio::test]
async fn aggregates_group_by_the_other_columns() {
    let g = Gateway::start_with(|a| a.db_aggregates_enabled = Some("true".into())).await;
    let v = g.get("/films?select=count()").await.json();
    assert_eq!(v, json!([{"count": 4}]));
    let r = g.get("/films?select=director_id,count()&director_id=not.is.null&order=director_id").await;
    assert_eq!(r.json(), json!([{"director_id": 1, "count": 2}, {"director_id": 2, "count": 1}]), "{}", r.body);
    let r =
        g.get("/items?select=active,total:price.sum(),price.max(),price.min(),id.count()&order=active.nullslast").await;
    assert_eq!(
        r.json(),
        json!([
            {"active": false, "total": 2.25, "max": 2.00, "min": 0.25, "count": 2},
            {"active": true, "total": 1.50, "max": 1.50, "min": 1.50, "count": 2},
            {"active": null, "total": 0.10, "max": 0.10, "min": 0.10, "count": 1}
        ]),
        "{}",
        r.body
    );
    let r = g.get("/items?select=avg:price.avg()::text&id=in.(1,2)").await;
    assert_eq!(r.json(), json!([{"avg": "0.87500000000000000000"}]), "{}", r.body);
}

#[tokio::test]
async fn aggregates_inside_embeds() {
    let g = Gateway::start_with(|a| a.db_aggregates_enabled = Some("true".into())).await;
    let r = g.get("/directors?select=last_name,films(count())&order=id").await;
    assert_eq!(
        r.json(),
        json!([
            {"last_name": "Coppola", "films": [{"count": 2}]},
            {"last_name": "Kurosawa", "films": [{"count": 1}]},
            {"last_name": "Unknown", "films": [{"count": 0}]}
        ]),
        "{}",
        r.body
    );
}
