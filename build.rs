//! Embeds `policies/*.sql` (sorted by name) so `rowgate migrate` needs no files at run time, and
//! rebuilds when a migration is added to `sql/`.

use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=policies");
    // refinery's embed_migrations!("sql") does not tell cargo about new files in sql/.
    println!("cargo:rerun-if-changed=sql");
    let dir = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("policies");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|it| {
            it.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "sql")).collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from(
        "/// `(file name, SQL)` of every policy file, in name order.\npub const POLICY_FILES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        writeln!(out, "    ({:?}, include_str!({:?})),", format!("policies/{name}"), f.display().to_string()).unwrap();
    }
    out.push_str("];\n");
    std::fs::write(std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("policies.rs"), out).unwrap();
}
