//! The write API: POST, PATCH, PUT, DELETE, by behaviour. Most cases are one request described by
//! a [`Case`]: what is sent, what the reply must be, and which rows the database holds afterwards.

mod errors;
mod insert;
mod preferences;
mod put;
mod rls;
mod update_delete;
mod upsert;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

pub const JSON_UTF8: &str = "application/json; charset=utf-8";
pub const OBJECT_UTF8: &str = "application/vnd.pgrst.object+json; charset=utf-8";

/// api.goods without its `tz` column, by id.
pub const GOODS: &str = "select id, name, price, stock from api.goods order by id";

/// The rows of `sql`, read as the superuser, as one JSON array (in the query's order).
pub async fn rows(g: &Gateway, sql: &str) -> Value {
    let db = g.db.admin().await;
    let q = format!("select coalesce(json_agg(t), '[]')::text from ({sql}) t");
    let row = db.query_one(q.as_str(), &[]).await.unwrap_or_else(|e| panic!("{q}: {e}"));
    serde_json::from_str(row.get::<_, &str>(0)).expect("json_agg")
}

/// api.goods as loaded by the fixture.
pub fn initial_goods() -> Value {
    json!([
        {"id": 1, "name": "apple", "price": 1.5, "stock": 10},
        {"id": 2, "name": "pear", "price": 2, "stock": 5},
        {"id": 3, "name": "plum", "price": 3, "stock": 0}
    ])
}

/// api.goods as loaded, changed by `edit`.
pub fn goods_with(edit: impl FnOnce(&mut Vec<Value>)) -> Value {
    let mut goods = initial_goods();
    edit(goods.as_array_mut().unwrap());
    goods
}

/// The server's default TimeZone (no `Prefer: timezone`), from a fresh superuser session.
pub async fn default_timezone(g: &Gateway) -> String {
    let db = g.db.admin().await;
    db.query_one("select current_setting('TimeZone')", &[]).await.unwrap().get(0)
}

/// `Preference-Applied` as a sorted list (its order carries no meaning).
pub fn applied(r: &Reply) -> Vec<String> {
    let mut v: Vec<String> = r
        .header("preference-applied")
        .map(|h| h.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

pub fn sorted(prefs: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = prefs.iter().map(|p| p.to_string()).collect();
    v.sort();
    v
}

/// What the body of a reply must be.
pub enum Answer {
    /// Not checked by the case.
    Any,
    /// Empty.
    Empty,
    /// This JSON value.
    Json(Value),
    /// This JSON array once sorted by `id` (PATCH and DELETE return rows in no set order).
    JsonById(Value),
    /// A PostgREST error: the whole body, with a JSON content type.
    Error(Value),
}

/// One write and everything asserted about it.
pub struct Case<'a> {
    pub method: Method,
    pub path: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    /// `None` sends no body and no content type (DELETE).
    pub body: Option<&'a str>,
    pub status: u16,
    /// Response headers with exactly this value (`None`: absent).
    pub reply_headers: Vec<(&'a str, Option<&'a str>)>,
    /// `Preference-Applied`, in any order; `None`: not checked.
    pub applied: Option<&'a [&'a str]>,
    pub answer: Answer,
    /// Queries run as the superuser afterwards, and the rows each must return.
    pub after: Vec<(&'a str, Value)>,
}

impl Default for Case<'_> {
    fn default() -> Self {
        Case {
            method: Method::POST,
            path: "/goods",
            headers: &[],
            body: None,
            status: 0,
            reply_headers: Vec::new(),
            applied: None,
            answer: Answer::Any,
            after: Vec::new(),
        }
    }
}

impl<'a> Case<'a> {
    /// A successful write with `return=minimal`: no body, no content type, no `Location`.
    pub fn minimal(status: u16, range: &'a str) -> Self {
        Case {
            status,
            reply_headers: vec![("content-range", Some(range)), ("content-type", None), ("location", None)],
            answer: Answer::Empty,
            ..Case::default()
        }
    }

    /// A JSON body (array or object, per `content_type`) with this range.
    pub fn json(status: u16, content_type: &'a str, range: &'a str, body: Value) -> Self {
        Case {
            status,
            reply_headers: vec![("content-type", Some(content_type)), ("content-range", Some(range))],
            answer: Answer::Json(body),
            ..Case::default()
        }
    }

    /// A PostgREST error body, and api.goods left as loaded.
    pub fn error(status: u16, body: Value) -> Self {
        Case { status, answer: Answer::Error(body), after: vec![(GOODS, initial_goods())], ..Case::default() }
    }

    /// Sends the request and checks every expectation; returns the reply for more checks.
    pub async fn run(&self, g: &Gateway) -> Reply {
        let r = match self.body {
            Some(body) => g.send(self.method.clone(), self.path, self.headers, body).await,
            None => g.request(self.method.clone(), self.path, self.headers).await,
        };
        let what = format!("{} {} {:?}", self.method, self.path, self.headers);
        assert_eq!(r.status, self.status, "{what}: {}", r.body);
        for (name, value) in &self.reply_headers {
            assert_eq!(r.header(name), *value, "{what}: {name} ({})", r.body);
        }
        if let Some(prefs) = self.applied {
            assert_eq!(applied(&r), sorted(prefs), "{what}: Preference-Applied");
        }
        match &self.answer {
            Answer::Any => {}
            Answer::Empty => assert_eq!(r.body, "", "{what}"),
            Answer::Json(v) => assert_eq!(&r.json(), v, "{what}"),
            Answer::JsonById(v) => {
                let mut body = r.json();
                body.as_array_mut().expect("an array body").sort_by_key(|v| v["id"].as_i64());
                assert_eq!(&body, v, "{what}");
            }
            Answer::Error(v) => {
                assert_eq!(r.header("content-type"), Some(JSON_UTF8), "{what}: {}", r.body);
                assert_eq!(&r.json(), v, "{what}");
            }
        }
        for (sql, want) in &self.after {
            assert_eq!(&rows(g, sql).await, want, "{what}: afterwards, {sql}");
        }
        r
    }
}

/// The PostgREST body of an error without details or hint.
pub fn error_body(code: &str, message: &str) -> Value {
    json!({"code": code, "message": message, "details": null, "hint": null})
}
