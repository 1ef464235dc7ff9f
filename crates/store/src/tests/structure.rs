//! The stored ENVELOPE and BODYSTRUCTURE (`structure.rs`): written with
//! each new message by the registered renderer into `message_structure`,
//! kept by COPY and MOVE, removed with its message, moved there from the
//! rows of a database at migration 27, and read back message by message
//! with the listing's columns and, on demand, the meta.

use super::*;
use crate::verify::verify;
use crate::{FetchRow, set_structure_renderer};

/// A stand-in for IMAP's renderer: the subject, so a row shows whose it is.
fn by_subject(m: &MessageMeta) -> Vec<u8> {
    format!("S:{}", m.envelope.subject.as_deref().unwrap_or_default()).into_bytes()
}

/// What a scan saw of each row.
type Seen = Vec<(u32, Option<Vec<u8>>, Option<String>, u64)>;

fn note(seen: &mut Seen, r: &FetchRow<'_>) {
    let subject = r.meta().ok().and_then(|m| m.envelope.subject);
    seen.push((r.uid, r.structure().map(<[u8]>::to_vec), subject, r.size));
}

#[tokio::test]
async fn new_rows_keep_the_rendered_structure_and_a_scan_reads_them_in_uid_order() {
    set_structure_renderer(by_subject);
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let uids = append_n(&f.store, u, mb.id, "m", 5).await;
    let seen = f
        .store
        .scan_fetch(mb.id, (uids[1].get(), uids[3].get()), Seen::new(), note)
        .await
        .expect("scan");
    let want: Vec<u32> = uids[1..=3].iter().map(|u| u.get()).collect();
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), want);
    for (i, (_, structure, subject, size)) in seen.iter().enumerate() {
        assert_eq!(
            structure.as_deref(),
            Some(format!("S:m{}", i + 1).as_bytes())
        );
        assert_eq!(subject.as_deref(), Some(format!("m{}", i + 1).as_str()));
        assert!(*size > 0);
    }

    // A copy keeps it; a row from before migration 26 has none, and its
    // meta still reads.
    let dst = f
        .store
        .mailbox_get(u, "Archive")
        .await
        .expect("get")
        .expect("Archive exists");
    f.store
        .copy_messages(u, mb.id, vec![uids[0]], dst.id)
        .await
        .expect("copy");
    let c = Connection::open(f.store.dir().join("postern.db")).expect("db");
    c.execute(
        "DELETE FROM message_structure WHERE mailbox_id = ?1 AND uid = ?2",
        (mb.id.0, uids[0].get()),
    )
    .expect("clear");
    let copied = f
        .store
        .scan_fetch(dst.id, (1, u32::MAX), Seen::new(), note)
        .await
        .expect("scan");
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0].1.as_deref(), Some(&b"S:m0"[..]));
    let old = f
        .store
        .scan_fetch(mb.id, (1, 1), Seen::new(), note)
        .await
        .expect("scan");
    assert_eq!(old[0].1, None);
    assert_eq!(old[0].2.as_deref(), Some("m0"));
}

/// Stored structure rows per mailbox id, as SQL sees them.
fn structure_rows(dir: &Path) -> Vec<(i64, i64)> {
    let c = Connection::open(dir.join("postern.db")).expect("db");
    c.prepare("SELECT mailbox_id, COUNT(*) FROM message_structure GROUP BY mailbox_id")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

/// (UID, stored bytes) of a mailbox's scan.
async fn scanned(s: &Store, mb: MailboxId) -> Vec<(u32, Option<Vec<u8>>)> {
    s.scan_fetch(mb, (1, u32::MAX), Seen::new(), note)
        .await
        .expect("scan")
        .into_iter()
        .map(|(uid, structure, _, _)| (uid, structure))
        .collect()
}

#[tokio::test]
async fn expunge_move_and_mailbox_deletion_take_the_stored_structure_with_the_message() {
    set_structure_renderer(by_subject);
    let f = fixture().await;
    let dir = f.store.dir().to_path_buf();
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let archive = f
        .store
        .mailbox_get(u, "Archive")
        .await
        .expect("get")
        .expect("Archive exists");
    let uids = append_n(&f.store, u, mb.id, "m", 5).await;
    let stored = |n: usize| Some(format!("S:m{n}").into_bytes());

    // UID 2 expunged, UID 3 moved to Archive.
    f.store
        .set_flags(
            mb.id,
            vec![uids[1]],
            crate::FlagOp::Add,
            Flags::new(SystemFlags::DELETED, Vec::<String>::new()),
            None,
        )
        .await
        .expect("flag");
    let gone = f
        .store
        .expunge(mb.id, ExpungeWhich::Deleted)
        .await
        .expect("expunge");
    assert_eq!(gone.uids, vec![uids[1]]);
    let (moved, _) = f
        .store
        .move_messages(u, mb.id, vec![uids[2]], archive.id)
        .await
        .expect("move");
    assert_eq!(
        scanned(&f.store, mb.id).await,
        vec![
            (uids[0].get(), stored(0)),
            (uids[3].get(), stored(3)),
            (uids[4].get(), stored(4)),
        ]
    );
    assert_eq!(
        scanned(&f.store, archive.id).await,
        vec![(moved.pairs[0].1.get(), stored(2))]
    );
    assert_eq!(
        structure_rows(&dir),
        vec![(mb.id.0, 3), (archive.id.0, 1)],
        "a row per message, none left behind"
    );
    assert_eq!(verify(&dir, false).expect("verify").problems, vec![]);

    // The mailbox's deletion takes its rows.
    f.store.mailbox_delete(u, "Archive").await.expect("delete");
    assert_eq!(structure_rows(&dir), vec![(mb.id.0, 3)]);
    assert_eq!(verify(&dir, false).expect("verify").problems, vec![]);

    // A row without its message (none of the paths above leaves one) is
    // stepped over by the scan, named by verify, and removed by repair.
    let c = Connection::open(dir.join("postern.db")).expect("db");
    c.execute(
        "INSERT INTO message_structure (mailbox_id, uid, structure) VALUES (?1, ?2, x'00')",
        (mb.id.0, uids[1].get()),
    )
    .expect("plant");
    assert_eq!(scanned(&f.store, mb.id).await.len(), 3);
    let found = verify(&dir, false).expect("verify");
    let text: Vec<&str> = found.problems.iter().map(|p| p.what.as_str()).collect();
    assert_eq!(
        text,
        vec![format!(
            "stored structure of UID {} in ann@example.org/INBOX without its message",
            uids[1].get()
        )]
    );
    let Fixture { _dir: keep, store } = f;
    store.shutdown().await;
    drop(store);
    let fixed = verify(&dir, true).expect("repair");
    assert_eq!((fixed.problems.len(), fixed.unrepaired()), (1, 0));
    assert_eq!(verify(&dir, false).expect("verify").problems, vec![]);
    assert_eq!(structure_rows(&dir), vec![(mb.id.0, 3)]);
    drop(keep);
}

#[tokio::test]
async fn a_database_at_migration_27_moves_each_stored_structure_to_its_table() {
    set_structure_renderer(by_subject);
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path().join("data");
    let raws: Vec<Vec<u8>> = (0..6).map(|i| msg(&format!("m{i}")).raw).collect();
    crate::testing::build_at_version(&dir, 27, "ann@example.org", "x", &raws).expect("build");
    // As a server at 27 left them: stored bytes in the row (UID 4 from
    // before migration 26: none), flags changed on UID 2.
    let c = Connection::open(dir.join("postern.db")).expect("db");
    c.execute_batch(
        "UPDATE messages SET structure = CAST('S:' || hdr_subject AS BLOB) WHERE uid != 4;
         UPDATE messages SET flags = 3, keywords = '$Work', modseq = 9 WHERE uid = 2;",
    )
    .expect("rows at 27");
    type Before = (u32, i64, String, i64, i64, i64, Option<Vec<u8>>);
    let before: Vec<Before> = c
        .prepare(
            "SELECT uid, flags, keywords, modseq, size, internal_date, structure
             FROM messages ORDER BY uid",
        )
        .expect("prepare")
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    assert_eq!(before.len(), 6);
    assert_eq!(before[3].6, None);
    drop(c);

    let s = open(&dir, OpenMode::Server).expect("open migrates");
    let u = s
        .user_get("ann@example.org")
        .await
        .expect("user")
        .expect("ann");
    let mb = inbox(&s, u.id).await;
    /// What a FETCH of the listing's items and the structure reads.
    type After = (u32, Flags, u64, u64, i64, Option<Vec<u8>>, Option<String>);
    fn after(v: &mut Vec<After>, r: &FetchRow<'_>) {
        let subject = r.meta().ok().and_then(|m| m.envelope.subject);
        v.push((
            r.uid,
            r.flags.clone(),
            r.modseq.0,
            r.size,
            r.internal_date,
            r.structure().map(<[u8]>::to_vec),
            subject,
        ));
    }
    let got = s
        .scan_fetch(mb.id, (1, u32::MAX), Vec::new(), after)
        .await
        .expect("scan");
    assert_eq!(got.len(), before.len());
    for (i, (g, b)) in got.iter().zip(&before).enumerate() {
        assert_eq!(g.0, b.0);
        assert_eq!(g.1, Flags::from_columns(b.1, &b.2), "UID {}", b.0);
        assert_eq!(
            (g.2, g.3, g.4),
            (b.3 as u64, b.4 as u64, b.5),
            "UID {}",
            b.0
        );
        assert_eq!(g.5, b.6, "UID {}: the stored bytes moved as they were", b.0);
        assert_eq!(g.6.as_deref(), Some(format!("m{i}").as_str()), "meta reads");
    }
    drop(s);

    // Kept once: the row's column and the covering index of 27 are gone.
    let c = Connection::open(dir.join("postern.db")).expect("db");
    let left: i64 = c
        .query_row(
            "SELECT (SELECT COUNT(*) FROM pragma_table_info('messages') WHERE name = 'structure')
                  + (SELECT COUNT(*) FROM sqlite_schema WHERE name = 'messages_fetch')",
            [],
            |r| r.get(0),
        )
        .expect("schema");
    assert_eq!(left, 0);
    assert_eq!(structure_rows(&dir), vec![(mb.id.0, 5)]);
    assert_eq!(verify(&dir, false).expect("verify").problems, vec![]);
}
