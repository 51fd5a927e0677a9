//! The scenarios: what a single-page app sends most, on the reference schema, as one user of
//! each organization. Keys follow bench/sql/data.sql's numbering, so nothing is looked up.

use std::fmt;

/// Sizes of the generated data set (bench/sql/data.sql).
#[derive(Debug, Clone, Copy)]
pub struct DataSize {
    pub orgs: u64,
    pub members: u64,
    pub projects: u64,
    pub tasks: u64,
}

impl DataSize {
    pub const FULL: DataSize = DataSize { orgs: 1000, members: 10, projects: 100, tasks: 1000 };
}

/// The id data.sql's `bench.uid(kind, n)` gives.
pub fn uid(kind: u32, n: u64) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

/// Which members of an org act.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Acting {
    /// The members with role `member` (the third to the eighth): read and write tasks.
    Member,
    /// The first member (role `owner`): lists the org's API tokens.
    Owner,
}

impl Acting {
    /// The user numbers (1-based) of the acting members of org `org`.
    pub fn users(self, size: DataSize, org: u64) -> Vec<u64> {
        let first = (org - 1) * size.members;
        match self {
            Acting::Owner => vec![first + 1],
            Acting::Member => (3..=size.members.min(8)).map(|j| first + j).collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scenario {
    Single,
    Page,
    Embed,
    Count,
    Post,
    Patch,
    Rpc,
    Refresh,
    Access,
}

impl Scenario {
    pub const ALL: [Scenario; 9] = [
        Scenario::Single,
        Scenario::Page,
        Scenario::Embed,
        Scenario::Count,
        Scenario::Post,
        Scenario::Patch,
        Scenario::Rpc,
        Scenario::Refresh,
        Scenario::Access,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Single => "single",
            Scenario::Page => "page",
            Scenario::Embed => "embed",
            Scenario::Count => "count",
            Scenario::Post => "post",
            Scenario::Patch => "patch",
            Scenario::Rpc => "rpc",
            Scenario::Refresh => "refresh",
            Scenario::Access => "access",
        }
    }

    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn title(self) -> &'static str {
        match self {
            Scenario::Single => "one task by key under RLS",
            Scenario::Page => "a filtered, ordered page of 20 tasks",
            Scenario::Embed => "a task with its project and assignee embedded",
            Scenario::Count => "a page of 20 with Prefer: count=exact",
            Scenario::Post => "POST one task",
            Scenario::Patch => "PATCH one task",
            Scenario::Rpc => "GET /rpc/list_api_tokens (owner)",
            Scenario::Refresh => "POST /auth/v1/token?grant_type=refresh_token",
            Scenario::Access => "GET /rpc/has_model_access (a member, an enabled model)",
        }
    }

    pub fn acting(self) -> Acting {
        if self == Scenario::Rpc {
            Acting::Owner
        } else {
            Acting::Member
        }
    }

    /// Whether a PostgREST-compatible peer serves it (the auth service is rowgate's own).
    pub fn peer_serves(self) -> bool {
        self != Scenario::Refresh
    }

    /// The status every response must have (anything else counts as an error).
    pub fn expected_status(self) -> &'static [u16] {
        match self {
            Scenario::Count => &[200, 206],
            Scenario::Post => &[201],
            Scenario::Patch => &[204],
            _ => &[200],
        }
    }

    /// The request of org `org`'s acting user, holding `token`. Not for Refresh (its body is a
    /// refresh token; see `wrk::refresh_script`).
    pub fn request(self, size: DataSize, org: u64, token: &str) -> HttpRequest {
        let org_id = uid(1, org);
        // A task and a project of this org (spread over the org's keys).
        let task = uid(4, (org - 1) * size.tasks + 1 + (org * 37) % size.tasks);
        let project = uid(3, (org - 1) * size.projects + 1 + (org * 13) % size.projects);
        let auth = ("Authorization".to_string(), format!("Bearer {token}"));
        let json = ("Content-Type".to_string(), "application/json".to_string());
        let get = |path: String, extra: Vec<(String, String)>| HttpRequest {
            method: "GET",
            path,
            headers: [vec![auth.clone()], extra].concat(),
            body: None,
        };
        match self {
            Scenario::Single => get(format!("/tasks?id=eq.{task}"), vec![]),
            Scenario::Page => get("/tasks?select=id,title,done,assignee_id&done=is.false&order=id&limit=20".into(), vec![]),
            Scenario::Embed => get(
                format!("/tasks?select=id,title,done,project:projects(id,name),assignee:memberships(user_id,role)&id=eq.{task}"),
                vec![],
            ),
            Scenario::Count => get(
                "/tasks?select=id,title&done=is.false&order=id&limit=20".into(),
                vec![("Prefer".into(), "count=exact".into())],
            ),
            Scenario::Post => HttpRequest {
                method: "POST",
                path: "/tasks".into(),
                headers: vec![auth, json],
                body: Some(format!(r#"{{"org_id":"{org_id}","project_id":"{project}","title":"written by the benchmark"}}"#)),
            },
            Scenario::Patch => HttpRequest {
                method: "PATCH",
                path: format!("/tasks?id=eq.{task}"),
                headers: vec![auth, json],
                body: Some(r#"{"done":true}"#.into()),
            },
            Scenario::Rpc => get(format!("/rpc/list_api_tokens?org={org_id}"), vec![]),
            // data.sql: org o has models (o + k) % 20 + 1 enabled for k = 0, 1, 2.
            Scenario::Access => get(format!("/rpc/has_model_access?model_id={}", uid(6, org % 20 + 1)), vec![]),
            Scenario::Refresh => HttpRequest {
                method: "POST",
                path: REFRESH_PATH.into(),
                headers: vec![json],
                body: Some(format!(r#"{{"refresh_token":"{token}"}}"#)),
            },
        }
    }
}

pub const REFRESH_PATH: &str = "/auth/v1/token?grant_type=refresh_token";

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_the_sql_numbering() {
        // bench.uid(4, 1000001) in data.sql.
        assert_eq!(uid(4, 1_000_001), "00000004-0000-4000-8000-0000000f4241");
        assert_eq!(Acting::Member.users(DataSize::FULL, 2), vec![13, 14, 15, 16, 17, 18]);
        assert_eq!(Acting::Owner.users(DataSize::FULL, 1), vec![1]);
    }

    #[test]
    fn every_request_stays_in_its_own_org() {
        let size = DataSize::FULL;
        for org in [1, 500, 1000] {
            let r = Scenario::Single.request(size, org, "t");
            let task_n = u64::from_str_radix(r.path.rsplit('-').next().unwrap(), 16).unwrap();
            assert!((org - 1) * size.tasks < task_n && task_n <= org * size.tasks, "{}", r.path);
            let r = Scenario::Post.request(size, org, "t");
            assert!(r.body.unwrap().contains(&uid(1, org)));
        }
    }
}
