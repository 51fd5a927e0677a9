//! The read API end to end.

use crate::harness::*;

#[tokio::test]
async fn reads_a_table() {
    let g = Gateway::start().await;
    let r = g.get("/items?select=id,name&order=id").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2, 3, 4, 5]);
    assert_eq!(r.header("content-range"), Some("0-4/*"));
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
}
