//! The floors hold: no module below the HTTP layer reaches up into it, no use case reaches up
//! into the application's state (each takes the parts it needs), and no SQL runs outside
//! `storage`. Read from the sources, so a new `use crate::http::…` in `scoring` or a query in
//! `features` fails here rather than growing an import circle or a second home for SQL.

use std::path::{Path, PathBuf};

/// Files under `src/` (relative paths with `/`) and their text.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).expect("a readable source file");
            (rel, text)
        })
        .collect()
}

/// Lines of `text` that name module `m` of this crate: `crate::m::…`, `crate::m;` or inside a
/// `crate::{…}` group.
fn naming(text: &str, m: &str) -> Vec<String> {
    let direct = [format!("crate::{m}::"), format!("crate::{m};")];
    let mut hits = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let in_group = line.find("crate::{").is_some_and(|at| {
            line[at..]
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| w == m)
        });
        if direct.iter().any(|d| line.contains(d.as_str())) || in_group {
            hits.push(format!("{}: {}", n + 1, line.trim()));
        }
    }
    hits
}

fn offenders(module: &str, allowed: &[&str]) -> Vec<String> {
    sources()
        .into_iter()
        .filter(|(rel, _)| !allowed.iter().any(|a| rel == a || rel.starts_with(a)))
        .flat_map(|(rel, text)| {
            naming(&text, module)
                .into_iter()
                .map(move |hit| format!("src/{rel}:{hit}"))
        })
        .collect()
}

/// Above the HTTP layer: the launcher, the CLI, and `startup` which mounts the router.
const ABOVE_HTTP: &[&str] = &[
    "http/",
    "startup.rs",
    "cli/",
    "main.rs",
    "layering_tests.rs",
];

#[test]
fn no_module_below_http_imports_it() {
    let found = offenders("http", ABOVE_HTTP);
    assert!(
        found.is_empty(),
        "below http, but naming it:\n{}",
        found.join("\n")
    );
}

#[test]
fn use_cases_take_their_parts_not_the_application_state() {
    let mut allowed = ABOVE_HTTP.to_vec();
    // The console is an edge beside `http`: it reads and acts through the state, as handlers do.
    allowed.extend(["app.rs", "app/", "demo.rs", "console/"]);
    let found = offenders("app", &allowed);
    assert!(
        found.is_empty(),
        "below app, but naming it:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_each_way_of_naming_a_module() {
    assert_eq!(naming("use crate::http::ApiError;", "http").len(), 1);
    assert_eq!(naming("use crate::{audit, http};", "http").len(), 1);
    assert_eq!(naming("impl crate::http::AppState {", "http").len(), 1);
    assert!(naming("use crate::https_like::X;", "http").is_empty());
    assert!(naming("// HTTP answers", "http").is_empty());
}

/// What running SQL looks like in Rust source: a query built by sqlx, or a pool or transaction
/// borrowed through storage's dialect macros.
const RUNS_SQL: &[&str] = &[
    "sqlx::query",
    "sqlx::raw_sql",
    "with_db!",
    "with_tx!",
    "fetch_all(",
    "fetch_one(",
    "fetch_optional(",
];

/// Lines of `text` that run SQL.
fn running_sql(text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| RUNS_SQL.iter().any(|s| line.contains(s)))
        .map(|(n, line)| format!("{}: {}", n + 1, line.trim()))
        .collect()
}

#[test]
fn sql_runs_only_in_storage() {
    let found: Vec<String> = sources()
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with("storage/") && rel != "layering_tests.rs")
        .flat_map(|(rel, text)| {
            running_sql(&text)
                .into_iter()
                .map(move |hit| format!("src/{rel}:{hit}"))
        })
        .collect();
    assert!(
        found.is_empty(),
        "SQL outside storage (ask a function in src/storage/ for typed facts instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_sql_check_sees_queries_and_the_dialect_macros() {
    assert_eq!(
        running_sql("let r = sqlx::query_as(SQL).fetch_all(p);").len(),
        1
    );
    assert_eq!(running_sql("with_db!(db, p => run(p))").len(), 1);
    assert_eq!(running_sql("with_tx!(tx, c => run(c))").len(), 1);
    assert!(running_sql("StoreError::Other(sqlx::Error::Io(e))").is_empty());
    assert!(running_sql("let facts = storage::facts::sme_facts(db, uscc, at);").is_empty());
}
