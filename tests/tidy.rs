//! Cheap rules about the tree, checked on every test run (rust-analyzer's
//! tidy test): the invariants ARCHITECTURE.md lists that a grep can verify.

use std::path::{Path, PathBuf};

use crate::support::root;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if p.is_dir() {
            if name != "target" && !name.starts_with('.') && name != "fuzz" {
                rust_files(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

fn all_sources() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for d in ["src", "crates", "tests", "bench"] {
        rust_files(&root().join(d), &mut files);
    }
    files
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.strip_prefix(root()).unwrap_or(&p).to_path_buf(), text)
        })
        .collect()
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let bad: Vec<_> = all_sources()
        .into_iter()
        .filter(|(_, t)| !t.trim_start().starts_with("//!"))
        .map(|(p, _)| p)
        .collect();
    assert!(
        bad.is_empty(),
        "files without a //! opening comment: {bad:?}"
    );
}

#[test]
fn wire_modules_do_no_io_and_know_no_store_or_auth() {
    let banned = ["tokio", "postern_store", "postern_auth", "postern_net"];
    for (p, t) in all_sources() {
        if !p.components().any(|c| c.as_os_str() == "wire") {
            continue;
        }
        for b in banned {
            assert!(
                !t.contains(&format!("{b}::")) && !t.contains(&format!("use {b}")),
                "{} uses {b}",
                p.display()
            );
        }
    }
}

#[test]
fn no_test_is_ignored() {
    let needle = format!("#[{}", "ignore");
    for (p, t) in all_sources() {
        assert!(
            !t.contains(&needle),
            "{} has an ignored test: assert today's behaviour instead",
            p.display()
        );
    }
}

/// SQL shapes, not bare keywords: IMAP has its own SELECT and DELETE
/// commands, which are fine anywhere.
fn looks_like_sql(line: &str) -> bool {
    let has = |w: &str| line.contains(w);
    let select_from = line
        .find(&format!("{} ", "SELECT"))
        .is_some_and(|at| line[at..].contains(" FROM "));
    has(&format!("{}::", "rusqlite"))
        || select_from
        || has(&format!("{} INTO ", "INSERT"))
        || has(&format!("{} TABLE ", "CREATE"))
        || has(&format!("{} FROM ", "DELETE"))
        || has(&format!("{} SET ", "UPDATE"))
}

#[test]
fn only_the_store_speaks_sql() {
    for (p, t) in all_sources() {
        if p.starts_with("crates/store") {
            continue;
        }
        for (n, line) in t.lines().enumerate() {
            assert!(
                !looks_like_sql(line),
                "{}:{}: SQL belongs in crates/store: {line}",
                p.display(),
                n + 1
            );
        }
    }
}

#[test]
fn the_sql_detector_tells_sql_from_imap() {
    let sql = [
        format!("{} uid {} messages", "SELECT", "FROM"),
        format!("{} INTO t", "INSERT"),
    ];
    for l in &sql {
        assert!(looks_like_sql(l), "{l}");
    }
    for l in [
        "a1 SELECT INBOX",
        "a2 DELETE Trash",
        "a3 UID SEARCH FROM ann",
    ] {
        assert!(!looks_like_sql(l), "{l}");
    }
}

#[test]
fn crate_dependencies_point_one_way() {
    let ours = [
        "postern-store",
        "postern-auth",
        "postern-net",
        "postern-smtp",
        "postern-imap",
        "postern-pop3",
        "postern-spam",
        "postern-delivery",
        "postern-web",
        "postern-managesieve",
    ];
    let allowed: &[(&str, &[&str])] = &[
        ("store", &[]),
        ("auth", &[]),
        ("net", &[]),
        // Training reads messages and keeps models in the store.
        ("spam", &["postern-store"]),
        (
            "delivery",
            &[
                "postern-store",
                "postern-auth",
                "postern-net",
                "postern-spam",
            ],
        ),
        (
            "smtp",
            &[
                "postern-store",
                "postern-auth",
                "postern-net",
                "postern-delivery",
            ],
        ),
        ("imap", &["postern-store", "postern-auth", "postern-net"]),
        ("pop3", &["postern-store", "postern-auth", "postern-net"]),
        // ManageSieve checks scripts with the checker delivery runs them by.
        (
            "managesieve",
            &[
                "postern-store",
                "postern-auth",
                "postern-net",
                "postern-delivery",
            ],
        ),
        ("web", &["postern-store", "postern-auth", "postern-net"]),
    ];
    for (krate, ok) in allowed {
        let manifest =
            std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml"))
                .expect("manifest");
        let deps = manifest.split("[dependencies]").nth(1).unwrap_or("");
        let deps = deps.split("\n[").next().unwrap_or("");
        for o in ours {
            if deps.lines().any(|l| {
                l.trim_start().starts_with(&format!("{o} "))
                    || l.trim_start().starts_with(&format!("{o}."))
            }) {
                assert!(ok.contains(&o), "crates/{krate} depends on {o}");
            }
        }
    }
}

#[test]
fn no_source_file_is_far_past_800_lines() {
    for (p, t) in all_sources() {
        let n = t.lines().count();
        assert!(
            n <= 900,
            "{} has {n} lines: split it by command family",
            p.display()
        );
    }
}
