//! What the corpus tests share (test builds only): where the shared corpus
//! is, its latin-1 strings, its INTERNALDATEs, and a store with one user to
//! APPEND it into.

use postern_store::{MailboxId, NewUser, Store, StoreOptions, UserId};

use crate::wire::{CommandBody, ParseOptions, parse_command};

/// The shared corpus, beside the workspace.
pub(crate) const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

/// `dd-Mon-yyyy hh:mm:ss +zzzz` (RFC 9051 date-time) to Unix seconds,
/// through the wire parser.
pub(crate) fn internal_date(s: &str) -> i64 {
    let line = format!("a APPEND x \"{}\" {{1+}}\r\nx", s.trim());
    match parse_command(line.as_bytes(), &ParseOptions::default()) {
        Ok(cmd) => match cmd.body {
            CommandBody::Append { messages, .. } => match messages.first() {
                Some(m) => m.date.as_ref().expect("APPEND with a date").unix(),
                None => panic!("APPEND without a message"),
            },
            other => panic!("not an APPEND: {other:?}"),
        },
        Err(e) => panic!("bad date {s}: {e:?}"),
    }
}

/// The golden file's strings are wire bytes decoded as latin-1.
pub(crate) fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("golden strings are latin-1"))
        .collect()
}

/// A store in a temp dir with user60@example.test, and its INBOX.
pub(crate) async fn store_with_inbox() -> (tempfile::TempDir, Store, UserId, MailboxId) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("open store");
    store.domain_add("example.test").await.expect("domain");
    let user = store
        .user_add(NewUser {
            address: "user60@example.test".into(),
            display_name: "Corpus".into(),
            password_hash: "x".into(),
            quota_bytes: None,
            quota_messages: None,
        })
        .await
        .expect("user");
    let inbox = store
        .mailbox_get(user, "INBOX")
        .await
        .expect("mailbox")
        .expect("INBOX exists")
        .id;
    (dir, store, user, inbox)
}
