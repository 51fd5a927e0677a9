//! Property tests: random query strings and headers never get a 5xx, a panic or a hang through
//! the gateway, and the request parser never panics on any input.

use super::*;

const TOKENS: &[&str] = &[
    "a", "b", "c", "d", "e", "i", "n", "o", "r", "s", "t", "x", "z", ".", ",", "(", ")", ":", "!", "*", "\"", "-", ">",
    "=", "&", "%", "0", "1", "2", "9", "not", "in", "is", "eq", "id", "name", "data", "tags", "select", "order",
    "limit", "offset", "or", "and", "desc", "null", "->>", "::", "%00", "%FF", "%22", "%2C", "%28", "'", ";", " ", "{",
    "}", "@", "~",
];

fn query_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(TOKENS), 0..40).prop_map(|v| v.concat())
}

fn header_strategy() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let accept = prop_oneof![
        Just(String::new()),
        Just("application/json".to_string()),
        Just("text/csv".to_string()),
        Just("application/vnd.pgrst.object+json".to_string()),
        Just("*/*".to_string()),
        "[a-z/*+;=.0-9 ,]{0,30}",
    ];
    let prefer = prop_oneof![
        Just(String::new()),
        Just("count=exact".to_string()),
        Just("handling=strict, count=exact".to_string()),
        "[a-z=, ;-]{0,30}",
    ];
    let range =
        prop_oneof![Just(String::new()), "[0-9]{0,22}-[0-9]{0,22}", "[a-z0-9=,-]{0,12}", range_bounds_strategy(),];
    (accept, prefer, range).prop_map(|(a, p, r)| {
        let mut h = Vec::new();
        if !a.is_empty() {
            h.push(("Accept", a));
        }
        if !p.is_empty() {
            h.push(("Prefer", p));
        }
        if !r.is_empty() {
            h.push(("Range", r));
        }
        h
    })
}

/// Random query strings and headers over HTTP: no 5xx, errors are JSON with a code.
#[test]
fn random_requests_never_fail_badly() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let g = rt.block_on(Gateway::start());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut runner = deterministic_runner(PropConfig {
        cases: 200,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..PropConfig::default()
    });
    let ran = Cell::new(0usize);
    let result = runner.run(&(query_strategy(), header_strategy()), |(q, headers)| {
        if Instant::now() > deadline {
            return Ok(());
        }
        ran.set(ran.get() + 1);
        let path = format!("/items?{q}");
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let what = format!("{path} {headers:?}");
        let r = rt.block_on(try_hit(&g, &path, &hs)).map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
        check_sane(&what, &r).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let ran = ran.get();
    assert!(ran >= 50, "only {ran} cases ran before the deadline");
    rt.block_on(assert_database_untouched(&g));
}

/// A runner with a fixed seed: every run tries the same inputs, so a failure reproduces.
fn deterministic_runner(config: PropConfig) -> TestRunner {
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    TestRunner::new_with_rng(config, rng)
}

/// `lower-upper` with bounds biased to the edges of `u64`.
fn range_bounds_strategy() -> impl Strategy<Value = String> {
    let bound = || prop_oneof![Just(0u64), Just(u64::MAX), Just(u64::MAX - 1), any::<u64>(), 0u64..100];
    (bound(), bound(), any::<bool>()).prop_map(
        |(lo, hi, open)| {
            if open {
                format!("{lo}-")
            } else {
                format!("{lo}-{hi}")
            }
        },
    )
}

fn parse_input_strategy() -> impl Strategy<Value = (String, String, String)> {
    let q = prop_oneof![query_strategy(), any::<String>(), "[ -~]{0,80}"];
    let h = prop_oneof![Just(String::new()), "[ -~]{0,40}"];
    let range = prop_oneof![Just(String::new()), "[ -~]{0,40}", range_bounds_strategy()];
    (q, h, range)
}

/// The request stage on random input: errors are fine, panics are not.
#[test]
fn request_parse_never_panics() {
    let deadline = Instant::now() + Duration::from_secs(10);
    let schemas = vec!["api".to_string(), "v2".to_string()];
    let mut runner =
        deterministic_runner(PropConfig { cases: 3000, failure_persistence: None, ..PropConfig::default() });
    let parsed = Cell::new(0usize);
    let result = runner.run(&parse_input_strategy(), |(q, header, range)| {
        if Instant::now() > deadline {
            return Ok(());
        }
        // The grammar-level parsers take any (decoded) string.
        let _ = rowgate::request::select::parse_select(&q);
        let _ = rowgate::request::order::parse_order(&q);
        let _ = rowgate::request::filter::parse_filter("id", &q);
        let _ = rowgate::request::filter::parse_filter(&q, "eq.1");
        let _ = rowgate::request::filter::parse_logic(rowgate::request::ast::LogicOp::Or, false, &q);
        let _ = rowgate::request::range::parse_range_header(&range);
        let _ = rowgate::request::media::negotiate(Some(&header));
        let _ = rowgate::request::preferences::parse_prefer(std::iter::once(header.as_str()));
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let _ = rowgate::request::query::parse_query(&pairs);

        // The whole request stage, when the URI and headers are valid HTTP.
        for method in ["GET", "HEAD", "OPTIONS", "TRACE"] {
            let mut b = hyper::Request::builder().method(method).uri(format!("/items?{q}"));
            if !header.is_empty() {
                b = b.header("accept", header.as_str()).header("prefer", header.as_str());
                b = b.header("accept-profile", header.as_str());
            }
            if !range.is_empty() {
                b = b.header("range", range.as_str()).header("cookie", range.as_str());
            }
            if let Ok(req) = b.body(()) {
                let (parts, ()) = req.into_parts();
                let _ = rowgate::request::parse(&parts, &schemas);
                parsed.set(parsed.get() + 1);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let parsed = parsed.get();
    assert!(parsed > 100, "only {parsed} requests were valid enough to parse");
}
