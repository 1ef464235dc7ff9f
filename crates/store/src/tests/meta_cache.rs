//! The cached meta read back (`meta_cache.rs`): a row that does not decode
//! is re-derived from the message and rewritten, never an error.

use super::*;

/// Overwrites the cached meta of `uid` behind the store's back.
fn damage(dir: &Path, mailbox: MailboxId, uid: Uid, json: &str) {
    let c = Connection::open(dir.join("postern.db")).expect("db");
    let n = c
        .execute(
            "UPDATE messages SET meta = ?1 WHERE mailbox_id = ?2 AND uid = ?3",
            (json, mailbox.0, uid.get()),
        )
        .expect("update");
    assert_eq!(n, 1);
}

fn row_decodes(dir: &Path, mailbox: MailboxId, uid: Uid) -> bool {
    let c = Connection::open(dir.join("postern.db")).expect("db");
    let json: String = c
        .query_row(
            "SELECT meta FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
            (mailbox.0, uid.get()),
            |r| r.get(0),
        )
        .expect("row");
    parse::decode_meta(&json).is_ok()
}

#[tokio::test]
async fn an_unreadable_cache_row_is_re_derived_from_the_message_and_rewritten() {
    // Inline blobs and blob files: the message is read from either.
    for inline_max in [StoreOptions::default().inline_max, 0] {
        let f = fixture_with(inline_max).await;
        let dir = f.store.dir().to_path_buf();
        let u = add_user(&f.store, "ann@example.org").await;
        let mb = inbox(&f.store, u).await;
        // 40 messages: a read of all of them takes the dense path.
        let uids = append_n(&f.store, u, mb.id, "m", 40).await;
        // What an older build wrote for a message nested past serde_json's
        // recursion limit, and plain garbage.
        let too_deep = format!(
            "{{\"envelope\":{{}},\"body\":{}",
            "{\"media_type\":\"multipart\",\"subtype\":\"mixed\",\"header_start\":0,\"body_start\":0,\"end\":0,\"lines\":0,\"parts\":[".repeat(70)
        );
        damage(&dir, mb.id, uids[2], &too_deep);
        damage(&dir, mb.id, uids[4], "not json");
        damage(&dir, mb.id, uids[6], "not json either");

        let all = f
            .store
            .message_metas(mb.id, uids.clone())
            .await
            .expect("no error for a bad row");
        let subjects: Vec<_> = all
            .iter()
            .map(|(_, m)| m.envelope.subject.clone().unwrap_or_default())
            .collect();
        let want: Vec<_> = (0..40).map(|i| format!("m{i}")).collect();
        assert_eq!(subjects, want, "every message, the damaged ones re-derived");
        assert!(row_decodes(&dir, mb.id, uids[2]), "rewritten");
        assert!(row_decodes(&dir, mb.id, uids[4]), "rewritten");

        // One message at a time (the sparse path) and through `message_meta`.
        damage(&dir, mb.id, uids[4], "[[[");
        let one = f
            .store
            .message_meta(mb.id, uids[4])
            .await
            .expect("no error for a bad row")
            .expect("present");
        assert_eq!(one.envelope.subject.as_deref(), Some("m4"));
        assert_eq!(one, parse::meta_of(&msg("m4").raw));
        assert!(row_decodes(&dir, mb.id, uids[4]), "rewritten");
    }
}
