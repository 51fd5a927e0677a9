//! Embeds `functions/*.sql` and `policies/*.sql` (each sorted by name) so `rowgate migrate` needs
//! no files at run time, and rebuilds when a migration is added to `sql/`.

use std::fmt::Write;

fn main() {
    // refinery's embed_migrations!("sql") does not tell cargo about new files in sql/.
    println!("cargo:rerun-if-changed=sql");
    let mut out = String::new();
    embed(&mut out, "functions", "FUNCTION_FILES");
    embed(&mut out, "policies", "POLICY_FILES");
    std::fs::write(std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("reapplied.rs"), out).unwrap();
}

/// `pub const NAME: &[(&str, &str)]`: `(file name, SQL)` of every `.sql` file in `dir`, by name.
fn embed(out: &mut String, dir: &str, name: &str) {
    println!("cargo:rerun-if-changed={dir}");
    let path = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&path)
        .map(|it| {
            it.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "sql")).collect()
        })
        .unwrap_or_default();
    files.sort();
    writeln!(out, "/// `(file name, SQL)` of every file in `{dir}/`, in name order.").unwrap();
    writeln!(out, "pub const {name}: &[(&str, &str)] = &[").unwrap();
    for f in &files {
        let file = f.file_name().unwrap().to_string_lossy();
        writeln!(out, "    ({:?}, include_str!({:?})),", format!("{dir}/{file}"), f.display().to_string()).unwrap();
    }
    out.push_str("];\n");
}
