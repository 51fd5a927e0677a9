//! The folder rule of docs/architecture.md, checked: the top-level modules of `src/` may use each
//! other only without loops (arrows point down the pipeline or to the shared bottom layer). A
//! module "uses" another when code outside its tests names `crate::<other>`; doc comments and
//! `#[cfg(test)]` modules do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn modules(src: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(src).expect("src/") {
        let path = entry.expect("entry").path();
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if path.is_dir() || (path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main") {
            out.insert(name);
        }
    }
    out
}

fn files(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("dir") {
            files(&entry.expect("entry").path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let in_tests = path.components().any(|c| c.as_os_str() == "tests");
        if name != "tests.rs" && !in_tests {
            out.push(path.to_path_buf());
        }
    }
}

/// The modules `code` names, outside comments and the trailing `#[cfg(test)] mod tests`.
fn used(code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code = code.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    let mut out = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + 7..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if known.contains(&name) {
                out.insert(name);
            } else if let Some(list) = rest.strip_prefix('{') {
                let list = list.split('}').next().unwrap_or_default();
                for part in list.split(',') {
                    let head: String =
                        part.trim().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                    if known.contains(&head) {
                        out.insert(head);
                    }
                }
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let known = modules(&src);
    let mut edges = BTreeMap::new();
    for m in &known {
        let mut paths = Vec::new();
        let dir = src.join(m);
        files(if dir.is_dir() { &dir } else { &src }, &mut paths);
        if !dir.is_dir() {
            paths.retain(|p| p.file_stem().is_some_and(|s| s == m.as_str()) && p.parent() == Some(src.as_path()));
        }
        let mut uses = BTreeSet::new();
        for p in paths {
            uses.extend(used(&std::fs::read_to_string(&p).expect("read"), &known));
        }
        uses.remove(m);
        edges.insert(m.clone(), uses);
    }
    edges
}

/// A loop through `start`, if any (depth-first).
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|s| s == n) {
            let mut c = stack[at..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for next in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn top_level_modules_have_no_import_loops() {
    let edges = graph();
    let map: Vec<String> =
        edges.iter().map(|(m, u)| format!("{m} -> {}", u.iter().cloned().collect::<Vec<_>>().join(", "))).collect();
    assert!(edges.len() > 10 && edges["pipeline"].contains("plan"), "the scan found the modules:\n{}", map.join("\n"));
    if let Some(c) = cycle(&edges) {
        panic!("import loop {}\n{}", c.join(" -> "), map.join("\n"));
    }
    // The bottom layer stays at the bottom.
    for bottom in ["error", "body", "channels", "request"] {
        for top in ["http", "pipeline", "realtime", "app", "state"] {
            assert!(!edges[bottom].contains(top), "{bottom} uses {top}");
        }
    }
}

#[test]
fn the_scan_sees_a_loop_when_there_is_one() {
    let mut edges = graph();
    edges.get_mut("error").expect("error module").insert("pipeline".into());
    assert!(cycle(&edges).is_some());
}
