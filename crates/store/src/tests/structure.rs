//! The stored ENVELOPE and BODYSTRUCTURE (`structure.rs`): written with
//! each new row by the registered renderer, kept by COPY, and read back
//! row by row with the listing's columns and, on demand, the meta.

use super::*;
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
        "UPDATE messages SET structure = NULL WHERE mailbox_id = ?1 AND uid = ?2",
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
