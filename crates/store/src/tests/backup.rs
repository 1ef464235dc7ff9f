//! Backup, restore, verify and upgrades against real data directories:
//! the pin that keeps collection off a backup's blobs, incremental links,
//! each verify finding named and repaired where it can be, the
//! pre-upgrade snapshot and the refusal of a newer database.

use std::os::unix::fs::MetadataExt;

use super::*;
use crate::backup::{BackupOptions, backup, read_manifest, restore};
use crate::verify::verify;

fn no_progress() -> impl FnMut(u64, u64) {
    |_, _| {}
}

fn file_of(dir: &Path, id: &BlobId) -> PathBuf {
    dir.join("blobs").join(&id.as_str()[..2]).join(id.as_str())
}

/// Waits (bounded) until `p` is gone: collection runs after the commit
/// that woke its caller.
async fn gone(p: &Path) -> bool {
    for _ in 0..250 {
        if !p.exists() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn a_backup_pin_keeps_collection_off_a_blob_until_it_is_released() {
    let f = fixture_with(0).await;
    let dir = f.store.dir().to_path_buf();
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let uids = append_n(&f.store, u, mb.id, "m", 2).await;
    let list = f.store.messages(mb.id).await.expect("list");
    let path = file_of(&dir, &list[0].blob);
    // The snapshot is taken: its blobs are pinned until the files are linked.
    let pin = crate::backup::Pin::shared(&dir).expect("pin");
    f.store
        .expunge(mb.id, ExpungeWhich::Uids(vec![uids[0]]))
        .await
        .expect("expunge");
    append_n(&f.store, u, mb.id, "after", 1).await;
    append_n(&f.store, u, mb.id, "later", 1).await;
    assert!(path.is_file(), "collection waits while a backup pins");
    drop(pin);
    append_n(&f.store, u, mb.id, "unpinned", 1).await;
    assert!(gone(&path).await, "collected at the first commit after");
}

#[tokio::test]
async fn backup_restores_and_a_second_backup_links_unchanged_blobs() {
    let f = fixture_with(0).await;
    let dir = f.store.dir().to_path_buf();
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    append_n(&f.store, u, mb.id, "first", 5).await;
    // A key file of the data directory, as `postern domain add` writes.
    std::fs::create_dir_all(dir.join("dkim/example.org")).expect("dkim dir");
    std::fs::write(dir.join("dkim/example.org/key.pem"), b"secret key").expect("key");
    let t = tempfile::tempdir().expect("tempdir");
    let b1 = t.path().join("b1");
    let r1 = backup(&dir, &b1, &BackupOptions::default(), &mut no_progress()).expect("b1");
    let m1 = r1.manifest.expect("manifest");
    assert_eq!((m1.users, m1.messages, m1.blob_files), (1, 5, 5));
    assert_eq!(m1.schema_version, SCHEMA_VERSION);
    assert_eq!(m1.other_files, 1, "the key, and no lock or database file");
    assert_eq!(r1.linked, 5, "same file system: hard links");
    append_n(&f.store, u, mb.id, "second", 2).await;
    let b2 = t.path().join("b2");
    let r2 = backup(&dir, &b2, &BackupOptions::default(), &mut no_progress()).expect("b2");
    assert_eq!(r2.from_previous, 5, "the sibling b1 was found");
    assert_eq!(r2.linked, 2);
    assert_eq!(read_manifest(&b2).expect("m2").since, Some(b1.clone()));
    for m in f.store.messages(mb.id).await.expect("list").iter().take(5) {
        let (a, b) = (file_of(&b1, &m.blob), file_of(&b2, &m.blob));
        let (ma, mb) = (
            std::fs::metadata(a).expect("b1"),
            std::fs::metadata(b).expect("b2"),
        );
        assert_eq!(ma.ino(), mb.ino(), "one file, linked");
    }
    assert!(
        backup(&dir, &b2, &BackupOptions::default(), &mut no_progress()).is_err(),
        "a non-empty destination is refused"
    );
    let restored = t.path().join("restored");
    let rr = restore(&b2, &restored).expect("restore");
    assert_eq!(rr.blob_files, 7);
    let report = verify(&restored, false).expect("verify");
    assert_eq!(report.problems, vec![], "a restored backup verifies clean");
    assert_eq!(report.messages, 7);
    assert_eq!(
        std::fs::read(restored.join("dkim/example.org/key.pem")).expect("key restored"),
        b"secret key"
    );
    let err = restore(&b2, &restored).expect_err("not empty");
    assert!(err.to_string().contains("not empty"), "{err}");
    let s = open(&restored, OpenMode::Server).expect("open restored");
    let got = s.messages(mb.id).await.expect("list");
    assert_eq!(got.len(), 7);
    let bytes = s.read_blob(&got[6].blob).await.expect("read");
    assert_eq!(bytes, msg("second1").raw);
}

#[tokio::test]
async fn verify_names_each_problem_and_repair_fixes_what_loses_no_mail() {
    let f = fixture_with(0).await;
    let dir = f.store.dir().to_path_buf();
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let uids = append_n(&f.store, u, mb.id, "m", 4).await;
    let list = f.store.messages(mb.id).await.expect("list");
    assert_eq!(verify(&dir, false).expect("clean").problems, vec![]);
    // UID 1's file damaged, UID 2's gone, UID 3's cached parse and UID 4's
    // blob count wrong, and a file nothing refers to (old enough to judge).
    std::fs::write(file_of(&dir, &list[0].blob), b"bit rot").expect("damage");
    std::fs::remove_file(file_of(&dir, &list[1].blob)).expect("delete");
    let n =
        crate::testing::damage_meta(&dir, "ann@example.org", "INBOX", uids[2].get()).expect("meta");
    assert_eq!(n, 1);
    let c = Connection::open(dir.join("postern.db")).expect("db");
    c.execute(
        "UPDATE blobs SET refcount = 3 WHERE hash = ?1",
        [list[3].blob.as_str()],
    )
    .expect("count");
    let orphan = BlobId::of(b"nobody's");
    let orphan_path = file_of(&dir, &orphan);
    std::fs::create_dir_all(orphan_path.parent().expect("dir")).expect("dir");
    std::fs::write(&orphan_path, b"nobody's").expect("orphan");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&orphan_path)
        .and_then(|f| f.set_modified(old))
        .expect("age");

    let found = verify(&dir, false).expect("verify");
    let text: Vec<&str> = found.problems.iter().map(|p| p.what.as_str()).collect();
    let has = |needle: &str, uid: u32| {
        text.iter().any(|t| {
            t.contains(needle) && t.contains(&format!("UID {uid} in ann@example.org/INBOX"))
        })
    };
    assert!(has("is damaged", 1), "{text:#?}");
    assert!(has("is missing", 2), "{text:#?}");
    assert!(has("cached parse unreadable", 3), "{text:#?}");
    assert!(
        text.iter()
            .any(|t| t.contains(list[3].blob.as_str()) && t.contains("reference count 3")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("orphan") && t.contains(orphan.as_str())),
        "{text:#?}"
    );
    assert_eq!(found.problems.len(), 5, "{text:#?}");
    assert!(found.problems.iter().all(|p| !p.repaired));

    let busy = verify(&dir, true).expect_err("the server holds the directory");
    assert!(busy.to_string().contains("stop the server"), "{busy}");
    let Fixture { _dir: keep, store } = f;
    store.shutdown().await;
    drop(store);

    let fixed = verify(&dir, true).expect("repair");
    assert_eq!(fixed.problems.len(), 5);
    assert_eq!(
        fixed.unrepaired(),
        2,
        "damaged and missing mail is only named"
    );
    assert!(dir.join("lost+found").join(orphan.as_str()).is_file());
    assert!(!orphan_path.exists());
    let again = verify(&dir, false).expect("verify again");
    let left: Vec<&str> = again.problems.iter().map(|p| p.what.as_str()).collect();
    assert_eq!(left.len(), 2, "{left:#?}");
    assert!(
        left.iter()
            .all(|t| t.contains("damaged") || t.contains("missing"))
    );
    drop(keep);
}

#[tokio::test]
async fn an_older_database_is_snapshotted_before_migrating_and_snapshots_are_pruned() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path().join("data");
    let raws = vec![msg("old").raw, msg("older").raw];
    crate::testing::build_at_version(&dir, 12, "ann@example.org", "x", &raws).expect("build");
    let check = crate::upgrade::upgrade_check(&dir).expect("check");
    assert_eq!((check.from, check.to), (12, SCHEMA_VERSION));
    assert_eq!(check.result, Ok(()));
    assert_eq!(
        crate::upgrade::stored_schema_version(&dir).expect("version"),
        Some(12),
        "the check touched nothing"
    );
    for _ in 0..3 {
        crate::upgrade::before_open(&dir, 2).expect("snapshot");
    }
    let snaps: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("list")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("pre-upgrade-12-"))
        .collect();
    assert_eq!(snaps.len(), 2, "pruned to the newest 2: {snaps:?}");
    let s = open(&dir, OpenMode::Server).expect("open migrates");
    drop(s);
    let snap = &snaps[0];
    assert_eq!(read_manifest(snap).expect("manifest").schema_version, 12);
    assert_eq!(read_manifest(snap).expect("manifest").messages, 2);
    assert_eq!(verify(&dir, false).expect("verify").problems, vec![]);
}

#[tokio::test]
async fn a_newer_database_is_refused_and_left_untouched() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path().join("data");
    crate::testing::build_at_version(&dir, SCHEMA_VERSION, "ann@example.org", "x", &[])
        .expect("build");
    crate::testing::set_schema_version(&dir, SCHEMA_VERSION + 1).expect("bump");
    // Fold the WAL in, so the file alone is the database.
    Connection::open(dir.join("postern.db"))
        .and_then(|c| c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);"))
        .expect("checkpoint");
    let before = std::fs::read(dir.join("postern.db")).expect("read");
    match open(&dir, OpenMode::Server) {
        Err(StoreError::SchemaTooNew { found, known }) => {
            assert_eq!((found, known), (SCHEMA_VERSION + 1, SCHEMA_VERSION))
        }
        Err(e) => panic!("expected SchemaTooNew, got {e}"),
        Ok(_) => panic!("a newer database was opened"),
    }
    assert_eq!(std::fs::read(dir.join("postern.db")).expect("read"), before);
    assert!(
        !std::fs::read_dir(&dir)
            .expect("list")
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("pre-upgrade-"))
    );
}

#[tokio::test]
async fn every_earlier_version_built_by_the_test_hook_migrates() {
    for version in 1..SCHEMA_VERSION {
        let t = tempfile::tempdir().expect("tempdir");
        let dir = t.path().join("data");
        crate::testing::build_at_version(&dir, version, "ann@example.org", "x", &[msg("a").raw])
            .expect("build");
        let s = open(&dir, OpenMode::Server).unwrap_or_else(|e| panic!("version {version}: {e}"));
        drop(s);
        let v = crate::upgrade::stored_schema_version(&dir).expect("version");
        assert_eq!(v, Some(SCHEMA_VERSION), "from {version}");
    }
}
