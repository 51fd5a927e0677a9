//! Rendering an [`Audit`]: text for people (findings grouped by level and rule, each with why and
//! fix, then the probe per table and user, then the counts) and JSON for tools. Both are
//! deterministic: findings come sorted from the lints, probe tables by name.

use std::fmt::Write;

use serde_json::{json, Value};

use super::lints;
use super::probe::{Outcome, ProbeReport};
use super::{Audit, Finding, Level};

pub fn text(audit: &Audit) -> String {
    let mut out = format!(
        "rowgate audit: schemas {}; request roles {}\n",
        audit.schemas.join(", "),
        audit.request_roles.join(", ")
    );
    let mut previous: Option<&str> = None;
    for f in &audit.findings {
        if previous != Some(f.rule) {
            out.push('\n');
            previous = Some(f.rule);
        }
        finding(&mut out, f);
    }
    if let Some(p) = &audit.probe {
        probe(&mut out, p);
    }
    out.push('\n');
    let _ = writeln!(out, "{}, {}", plural(audit.errors(), "error"), plural(audit.warnings(), "warning"));
    if let Some(p) = &audit.probe {
        let _ = writeln!(out, "probe: {}, {} inconclusive", plural(p.leaks(), "leak"), p.count(Outcome::Inconclusive));
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `ERROR rule  object — message`, then the why and fix indented (fix lines aligned).
fn finding(out: &mut String, f: &Finding) {
    let level = match f.level {
        Level::Error => "ERROR",
        Level::Warning => "WARNING",
    };
    let _ = writeln!(out, "{level} {}  {} — {}", f.rule, f.object, f.message);
    let _ = writeln!(out, "    why: {}", f.why);
    for (i, line) in f.fix.lines().enumerate() {
        let _ = writeln!(out, "    {}{line}", if i == 0 { "fix: " } else { "     " });
    }
}

fn probe(out: &mut String, p: &ProbeReport) {
    let _ =
        writeln!(out, "\nprobe as {} (one transaction, rolled back); membership table {}", p.role, p.membership_table);
    if let Some(note) = &p.note {
        let _ = writeln!(out, "  {note}");
    }
    for u in &p.users {
        let _ = writeln!(out, "  user {}: member of {}; writes aim at org {}", u.user, u.orgs.join(", "), u.other_org);
    }
    let mut previous: Option<&str> = None;
    for t in &p.tables {
        if previous != Some(t.table.as_str()) {
            let _ = writeln!(out, "\n{}", t.table);
            previous = Some(t.table.as_str());
        }
        let _ = writeln!(out, "  as {}", t.user);
        for c in &t.checks {
            let outcome = match c.outcome {
                Outcome::Ok => "ok",
                Outcome::Leak => "LEAK",
                Outcome::Inconclusive => "INCONCLUSIVE",
                Outcome::Skipped => "skipped",
            };
            let _ = writeln!(out, "    {:<7} {:<13} {}", c.command, outcome, c.detail);
        }
    }
}

pub fn json(audit: &Audit) -> Value {
    let findings: Vec<Value> = audit
        .findings
        .iter()
        .map(|f| {
            json!({
                "level": f.level,
                "rule": f.rule,
                "title": lints::find(f.rule).map(|l| l.title),
                "object": f.object,
                "message": f.message,
                "why": f.why,
                "fix": f.fix,
            })
        })
        .collect();
    let mut out = json!({
        "schemas": audit.schemas,
        "request_roles": audit.request_roles,
        "findings": findings,
        "errors": audit.errors(),
        "warnings": audit.warnings(),
    });
    if let Some(p) = &audit.probe {
        let mut probe = serde_json::to_value(p).unwrap_or(Value::Null);
        probe["leaks"] = p.leaks().into();
        probe["inconclusive"] = p.count(Outcome::Inconclusive).into();
        out["probe"] = probe;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::probe::{Check, ProbeUser, TableProbe};
    use super::*;

    fn finding(level: Level, rule: &'static str, object: &str, fix: &str) -> Finding {
        Finding {
            level,
            rule,
            object: object.into(),
            message: "something is off".into(),
            why: lints::find(rule).map(|l| l.why).unwrap_or_default(),
            fix: fix.into(),
        }
    }

    fn audit(findings: Vec<Finding>) -> Audit {
        Audit {
            schemas: vec!["api".into()],
            request_roles: vec!["anon".into(), "authenticated".into()],
            findings,
            probe: None,
        }
    }

    #[test]
    fn text_groups_findings_with_why_and_fix() {
        let a = audit(vec![
            finding(
                Level::Error,
                "rls_disabled",
                "api.a",
                "alter table api.a enable row level security;\nalter table api.a force row level security;",
            ),
            finding(Level::Error, "rls_disabled", "api.b", "x;"),
            finding(
                Level::Warning,
                "policy_to_public",
                "policy p on api.c",
                "alter policy p on api.c to authenticated;",
            ),
        ]);
        let t = text(&a);
        let why = lints::find("rls_disabled").unwrap().why;
        let expected = format!(
            "rowgate audit: schemas api; request roles anon, authenticated\n\
             \n\
             ERROR rls_disabled  api.a — something is off\n    why: {why}\n\
             \x20   fix: alter table api.a enable row level security;\n\
             \x20        alter table api.a force row level security;\n\
             ERROR rls_disabled  api.b — something is off\n    why: {why}\n    fix: x;\n\
             \n\
             WARNING policy_to_public  policy p on api.c — something is off\n    why: {}\n\
             \x20   fix: alter policy p on api.c to authenticated;\n\
             \n\
             2 errors, 1 warning\n",
            lints::find("policy_to_public").unwrap().why
        );
        assert_eq!(t, expected);
        // Two error-level findings: the audit fails (exit status 1) without any probe.
        assert_eq!((a.errors(), a.warnings(), a.failed()), (2, 1, true));
    }

    #[test]
    fn clean_text_and_json() {
        let a = audit(vec![]);
        assert_eq!(text(&a), "rowgate audit: schemas api; request roles anon, authenticated\n\n0 errors, 0 warnings\n");
        assert_eq!(
            json(&a),
            json!({"schemas": ["api"], "request_roles": ["anon", "authenticated"], "findings": [], "errors": 0, "warnings": 0})
        );
        assert!(!a.failed());
    }

    #[test]
    fn json_carries_every_field_and_the_counts() {
        let a = audit(vec![finding(Level::Warning, "policy_to_public", "policy p on api.c", "fix;")]);
        let v = json(&a);
        assert_eq!(v["warnings"], 1);
        assert_eq!(v["errors"], 0);
        let f = &v["findings"][0];
        assert_eq!(f["level"], "warning");
        assert_eq!(f["rule"], "policy_to_public");
        assert_eq!(f["title"], "Policy applies to PUBLIC");
        assert_eq!(f["object"], "policy p on api.c");
        assert_eq!(f["fix"], "fix;");
        assert!(f["why"].as_str().is_some_and(|w| !w.is_empty()));
        assert!(!a.failed(), "warnings never fail");
    }

    #[test]
    fn probe_leaks_fail_and_render() {
        let mut a = audit(vec![]);
        a.probe = Some(ProbeReport {
            role: "authenticated".into(),
            membership_table: "api.memberships".into(),
            users: vec![ProbeUser { user: "u1".into(), orgs: vec!["A".into()], other_org: "B".into() }],
            tables: vec![TableProbe {
                table: "api.tasks".into(),
                user: "u1".into(),
                checks: vec![
                    Check {
                        command: "read",
                        outcome: Outcome::Leak,
                        detail: "sees 1 of the 1 rows of other orgs".into(),
                    },
                    Check { command: "update", outcome: Outcome::Ok, detail: "0 rows of org B".into() },
                ],
            }],
            note: None,
        });
        assert!(a.failed());
        let t = text(&a);
        assert!(
            t.contains("\napi.tasks\n  as u1\n    read    LEAK          sees 1 of the 1 rows of other orgs\n"),
            "{t}"
        );
        assert!(t.contains("    update  ok            0 rows of org B\n"), "{t}");
        assert!(t.ends_with("0 errors, 0 warnings\nprobe: 1 leak, 0 inconclusive\n"), "{t}");
        let v = json(&a);
        assert_eq!(v["probe"]["leaks"], 1);
        assert_eq!(v["probe"]["tables"][0]["checks"][0]["outcome"], "leak");
    }
}
