//! Backup, restore, verify and upgrades through the real binary: a backup
//! taken during an SMTP and IMAP flood restores to a server that serves
//! every message acknowledged before it began, byte for byte; incremental
//! backups link unchanged blobs; verify names damaged and missing blobs
//! and repairs a cached parse; every earlier schema version upgrades on
//! `serve` after a snapshot and verifies clean; a newer one is refused.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::TryStreamExt;
use postern_store::{BlobId, SCHEMA_VERSION, testing};

use crate::imap_async::imaps_login;
use crate::smtp::{mail_env_with, mailbox, send_mx_to};
use crate::smtp_durability::{body, flood};
use crate::support::{Env, Server};

/// Messages above 2 KiB are blob files, smaller ones database rows: a
/// backup must carry both.
const SOME_FILES: &str = "[store]\ninline_max_bytes = 2048\n";
/// Every message a blob file.
const ALL_FILES: &str = "[store]\ninline_max_bytes = 0\n";

const SMTP_CLIENTS: u32 = 3;
const SMTP_EACH: u32 = 100;
const APPENDS: u32 = 60;

/// An APPENDed message, distinct per `n` and sometimes above 2 KiB.
fn appended(n: u32) -> Vec<u8> {
    let mut m = format!("From: ann@example.org\r\nSubject: append-{n}\r\n\r\n").into_bytes();
    for l in 0..(10 + n * 7 % 150) {
        m.extend_from_slice(format!("appended line {l} of {n}\r\n").as_bytes());
    }
    m
}

/// The files under a backup's or data directory's `blobs/`, by name.
fn blob_files(dir: &Path) -> HashMap<String, PathBuf> {
    let mut out = HashMap::new();
    for sub in std::fs::read_dir(dir.join("blobs"))
        .expect("blobs")
        .flatten()
    {
        if sub.file_name().len() != 2 {
            continue;
        }
        for f in std::fs::read_dir(sub.path()).expect("sub").flatten() {
            out.insert(f.file_name().to_string_lossy().into_owned(), f.path());
        }
    }
    out
}

/// One message to ann over port 25, which must take it.
fn deliver(env: &Env, server: &Server, subject: &str) {
    let reply = send_mx_to(
        env,
        server,
        "a@elsewhere.test",
        &["ann@example.org"],
        &format!("From: a@elsewhere.test\r\nSubject: {subject}\r\n\r\n{subject}\r\n"),
    );
    assert!(reply.starts_with("250"), "{reply}");
}

fn subject(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_during_a_flood_restores_every_acknowledged_message_byte_identical() {
    let (env, server) = mail_env_with(SOME_FILES);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for c in 0..SMTP_CLIENTS {
        tasks.push(tokio::spawn(flood(
            server.addr("smtp"),
            (0, c, SMTP_EACH),
            acked.clone(),
            sent.clone(),
        )));
    }
    let appended_ok = Arc::new(Mutex::new(Vec::new()));
    let mut imap = imaps_login(&env, &server, "bob@example.org", "bob password").await;
    let done = appended_ok.clone();
    tasks.push(tokio::spawn(async move {
        for n in 0..APPENDS {
            imap.append("INBOX", None, None, appended(n))
                .await
                .expect("APPEND");
            done.lock().expect("lock").push(n);
        }
        let _ = imap.logout().await;
    }));
    // The backup starts with the floods under way.
    for _ in 0..600 {
        if acked.lock().expect("lock").len() >= 60 && appended_ok.lock().expect("lock").len() >= 10
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let smtp_before = acked.lock().expect("lock").clone();
    let imap_before = appended_ok.lock().expect("lock").clone();
    let dest = env.dir.path().join("backups").join("b1");
    let d = dest.to_string_lossy().into_owned();
    let env = Arc::new(env);
    let e = env.clone();
    let summary = tokio::task::spawn_blocking(move || e.ok(&["backup", &d]))
        .await
        .expect("backup task");
    assert!(summary.starts_with("backup "), "{summary}");
    let still_going = acked.lock().expect("lock").len() < (SMTP_CLIENTS * SMTP_EACH) as usize;
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(120), t)
            .await
            .expect("flood ends")
            .expect("flood task");
    }
    let all_acked = acked.lock().expect("lock").len();
    server.stop();
    eprintln!(
        "backup during a flood: {} SMTP + {} IMAP acknowledged before, {all_acked} SMTP in all, flood still running when the backup ended: {still_going}; {summary}",
        smtp_before.len(),
        imap_before.len()
    );

    let fresh = Env::new();
    let out = fresh.ok(&["restore", &dest.to_string_lossy()]);
    assert!(out.contains("run `postern verify` next"), "{out}");
    let verified = fresh.ok(&["verify"]);
    assert!(verified.contains(": 0 problems"), "{verified}");
    let restored = fresh.serve();
    let mut s = imaps_login(&fresh, &restored, "ann@example.org", "ann password").await;
    s.select("INBOX").await.expect("select");
    let mut got: HashMap<String, Vec<u8>> = HashMap::new();
    for f in s
        .fetch("1:*", "BODY.PEEK[]")
        .await
        .expect("fetch")
        .try_collect::<Vec<_>>()
        .await
        .expect("fetched")
    {
        let raw = f.body().expect("body").to_vec();
        assert!(got.insert(subject(&raw), raw).is_none(), "one copy each");
    }
    for tag in &smtp_before {
        let raw = got
            .get(tag)
            .unwrap_or_else(|| panic!("{tag} was acknowledged before the backup"));
        let (c, n) = tag
            .strip_prefix("r0-c")
            .and_then(|t| t.split_once("-n"))
            .expect("tag");
        let sent = body(0, c.parse().expect("c"), n.parse().expect("n"));
        // What the client sent, after the trace fields the server adds.
        assert!(raw.ends_with(sent.as_bytes()), "{tag} is intact");
    }
    let mut s = imaps_login(&fresh, &restored, "bob@example.org", "bob password").await;
    s.select("INBOX").await.expect("select");
    let bob: HashMap<String, Vec<u8>> = s
        .fetch("1:*", "BODY.PEEK[]")
        .await
        .expect("fetch")
        .try_collect::<Vec<_>>()
        .await
        .expect("fetched")
        .iter()
        .map(|f| {
            let raw = f.body().expect("body").to_vec();
            (subject(&raw), raw)
        })
        .collect();
    for n in &imap_before {
        assert_eq!(
            bob.get(&format!("append-{n}")),
            Some(&appended(*n)),
            "APPEND {n} was acknowledged before the backup: byte-identical"
        );
    }
}

#[test]
fn a_second_backup_hard_links_the_blobs_the_first_has() {
    let (env, server) = mail_env_with(ALL_FILES);
    for n in 0..3 {
        deliver(&env, &server, &format!("first {n}"));
    }
    let root = env.dir.path().join("backups");
    let b1 = root.join("monday");
    env.ok(&["backup", &b1.to_string_lossy()]);
    deliver(&env, &server, "second");
    let b2 = root.join("tuesday");
    let out = env.ok(&["backup", &b2.to_string_lossy()]);
    assert!(out.contains("3 from"), "the sibling was found: {out}");
    let (one, two) = (blob_files(&b1), blob_files(&b2));
    assert_eq!((one.len(), two.len()), (3, 4));
    for (name, p1) in &one {
        let (m1, m2) = (
            std::fs::metadata(p1).expect("b1"),
            std::fs::metadata(&two[name]).expect("b2"),
        );
        assert_eq!(m1.ino(), m2.ino(), "{name} is one file");
        // The data directory's file, and one link per backup.
        assert_eq!(m2.nlink(), 3, "{name}");
    }
    let full = root.join("full");
    let out = env.ok(&["backup", "--full", &full.to_string_lossy()]);
    assert!(
        !out.contains(" from "),
        "--full links from no backup: {out}"
    );
    server.stop();
}

#[test]
fn verify_names_a_damaged_and_a_deleted_blob_and_repair_re_derives_a_cached_parse() {
    let (env, server) = mail_env_with(ALL_FILES);
    for n in 1..=3 {
        deliver(&env, &server, &format!("m{n}"));
    }
    let msgs = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(mailbox(&env.data(), "ann@example.org", "INBOX"));
    assert_eq!(msgs.len(), 3);
    let files = blob_files(&env.data());
    let file = |i: usize| files[BlobId::of(&msgs[i].1).as_str()].clone();
    std::fs::write(file(0), b"not the message").expect("damage");
    std::fs::remove_file(file(1)).expect("delete");
    testing::damage_meta(&env.data(), "ann@example.org", "INBOX", msgs[2].0).expect("meta");

    // Read-only, beside the running server.
    let out = env.run(&["verify"], "");
    assert!(!out.status.success(), "problems make a non-zero exit");
    let text = String::from_utf8_lossy(&out.stdout);
    let named = |what: &str, uid: u32| {
        text.lines().any(|l| {
            l.starts_with("problem: ")
                && l.contains(what)
                && l.contains(&format!("UID {uid} in ann@example.org/INBOX"))
        })
    };
    assert!(named("is damaged", msgs[0].0), "{text}");
    assert!(named("is missing", msgs[1].0), "{text}");
    assert!(named("cached parse unreadable", msgs[2].0), "{text}");
    let busy = env.fails(&["verify", "--repair"], "");
    assert!(busy.contains("stop the server first"), "{busy}");
    server.stop();

    let out = env.run(&["verify", "--repair"], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "damaged and missing mail stay: {text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("repaired: ") && l.contains("cached parse unreadable")),
        "{text}"
    );
    let out = env.run(&["verify"], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("cached parse"),
        "re-derived for good: {text}"
    );
    assert!(text.contains("2 problems"), "{text}");
    // Never deleted: the messages are still there to be named.
    assert!(named("is damaged", msgs[0].0), "{text}");
    assert!(named("is missing", msgs[1].0), "{text}");
}

#[test]
fn restore_refuses_a_data_directory_that_is_not_empty() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    let b = env.dir.path().join("b");
    env.ok(&["backup", &b.to_string_lossy()]);
    let err = env.fails(&["restore", &b.to_string_lossy()], "");
    assert!(err.contains("is not empty"), "{err}");
    let err = env.fails(&["backup", &b.to_string_lossy()], "");
    assert!(
        err.contains("is not empty"),
        "a backup never overwrites: {err}"
    );
}

#[test]
fn every_earlier_schema_version_upgrades_on_serve_after_a_snapshot_and_verifies_clean() {
    let raws: Vec<Vec<u8>> = (0..3)
        .map(|n| {
            format!("From: x@elsewhere.test\r\nSubject: old {n}\r\n\r\nold mail {n}\r\n")
                .into_bytes()
        })
        .collect();
    for version in 1..SCHEMA_VERSION {
        let env = Env::new();
        testing::build_at_version(&env.data(), version, "ann@example.org", "x", &raws)
            .expect("build");
        let out = env.ok(&["upgrade", "--check"]);
        assert!(
            out.contains(&format!("{version} -> {SCHEMA_VERSION} on a copy: ok")),
            "{out}"
        );
        let server = env.serve();
        server.wait_for_log("pre-upgrade snapshot", Duration::from_secs(10));
        // Stopped once the last migration is in, not in the middle of them.
        server.wait_for_log(
            &format!("applied schema migration version={SCHEMA_VERSION}"),
            Duration::from_secs(30),
        );
        server.stop();
        let snaps: Vec<PathBuf> = std::fs::read_dir(env.data())
            .expect("list")
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().is_some_and(|n| {
                    n.to_string_lossy()
                        .starts_with(&format!("pre-upgrade-{version}-"))
                })
            })
            .collect();
        assert_eq!(snaps.len(), 1, "version {version}: {snaps:?}");
        assert_eq!(blob_files(&snaps[0]).len(), 3, "version {version}");
        let verified = env.ok(&["verify"]);
        assert!(
            verified.contains(": 0 problems"),
            "version {version}: {verified}"
        );
        let msgs = tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(mailbox(&env.data(), "ann@example.org", "INBOX"));
        let got: Vec<Vec<u8>> = msgs.into_iter().map(|(_, raw)| raw).collect();
        assert_eq!(got, raws, "version {version}");
    }
}

#[test]
fn a_database_from_a_newer_postern_is_refused_and_not_written() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    testing::set_schema_version(&env.data(), SCHEMA_VERSION + 1).expect("bump");
    let db = env.data().join("postern.db");
    let before = std::fs::read(&db).expect("db");
    let err = env.fails(&["domain", "list"], "");
    assert!(err.contains("newer than this postern knows"), "{err}");
    let server = env.serve();
    server.wait_for_log("newer than this postern knows", Duration::from_secs(10));
    drop(server);
    assert_eq!(std::fs::read(&db).expect("db"), before);
    let err = env.fails(&["upgrade", "--check"], "");
    assert!(err.contains("newer than this postern knows"), "{err}");
}
