//! `\Recent` (RFC 3501 §2.3.2) the way Dovecot keeps it: not a flag per
//! message but a first recent UID per mailbox, and one session at a time
//! owning the mailbox's recent messages.
//!
//! The session that selects a mailbox read-write while nobody owns it
//! gets every message from the mailbox's first recent UID on as `\Recent`,
//! and the messages that arrive while it stays; other sessions get none.
//! When it leaves (CLOSE, another SELECT, LOGOUT, a dropped connection)
//! the first recent UID moves past what it was told of.
//!
//! Ownership lives in memory, shared by the process's sessions (one lock,
//! no write, when a session takes it): two sessions selecting at once are
//! ordered by the lock, and the second gets nothing. A mailbox's entry,
//! once made, stays for the life of the process (a few bytes per mailbox
//! selected): the row is read only to make it, so a read that started
//! before another session's release was written can never win over it. Only the release is
//! written (`mailboxes.first_recent_uid`, one column, moved forward only),
//! so a restart knows which messages some session already saw. A release
//! that was not yet written when the process died leaves its messages
//! recent once more, as RFC 3501 §2.3.2 asks when the server cannot tell
//! ("SHOULD be considered recent").

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OptionalExtension};

use crate::Store;
use crate::error::{Result, StoreError};
use crate::types::MailboxId;

#[derive(Default)]
pub(crate) struct RecentBook {
    entries: Mutex<HashMap<MailboxId, Entry>>,
    tokens: AtomicU64,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// The session holding the mailbox's recent messages, if any.
    owner: Option<u64>,
    /// Owned: the owner's first recent UID; otherwise the mailbox's.
    from: u32,
}

impl RecentBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MailboxId, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn known(&self, mailbox: MailboxId) -> Option<u32> {
        self.lock().get(&mailbox).map(|e| e.from)
    }
}

fn first_recent_uid(c: &Connection, mailbox: MailboxId) -> Result<u32> {
    let v: Option<i64> = c
        .prepare_cached("SELECT first_recent_uid FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))
        .optional()?;
    let v = v.ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
    Ok(u32::try_from(v.max(1)).unwrap_or(u32::MAX))
}

/// A session's hold on a mailbox's `\Recent` messages: every message with
/// a UID from `first_recent()` on. Dropping it hands them on.
pub struct RecentOwner {
    store: Store,
    mailbox: MailboxId,
    token: u64,
    from: u32,
    /// One past the last UID the session was told of (EXISTS).
    upto: u32,
}

impl std::fmt::Debug for RecentOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecentOwner")
            .field("mailbox", &self.mailbox)
            .field("from", &self.from)
            .field("upto", &self.upto)
            .finish()
    }
}

impl RecentOwner {
    /// The first UID that is `\Recent` in this session.
    pub fn first_recent(&self) -> u32 {
        self.from
    }

    /// The session told its client of every message below UID `next`:
    /// they are no longer recent for the sessions after it.
    pub fn told_upto(&mut self, next: u32) {
        self.upto = self.upto.max(next);
    }
}

impl Drop for RecentOwner {
    fn drop(&mut self) {
        let upto = self.upto;
        {
            let mut map = self.store.inner.recent.lock();
            if let Some(e) = map.get_mut(&self.mailbox)
                && e.owner == Some(self.token)
            {
                e.owner = None;
                e.from = e.from.max(upto);
            }
        }
        if upto <= self.from {
            return;
        }
        // Written after the session is gone; without a runtime (tests,
        // shutdown) the memory keeps it until the process ends.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.store.clone();
        let mailbox = self.mailbox;
        rt.spawn(async move {
            let written = store
                .inner
                .writer
                .write(move |ctx| {
                    ctx.conn
                        .prepare_cached(
                            "UPDATE mailboxes SET first_recent_uid = max(first_recent_uid, ?2)
                             WHERE id = ?1",
                        )?
                        .execute((mailbox.0, i64::from(upto)))?;
                    Ok(())
                })
                .await;
            match written {
                Ok(()) => {}
                // Shutting down: the next start shows these messages as
                // recent once more (see the module notes).
                Err(StoreError::Closed) => {}
                Err(e) => tracing::warn!(error = %e, "first recent UID not saved"),
            }
        });
    }
}

impl Store {
    /// Makes the caller the owner of `mailbox`'s `\Recent` messages, or
    /// `None` when another session holds them (RFC 3501 §2.3.2: only one
    /// session is told a message is recent). No write: see the module notes.
    pub async fn take_recent(&self, mailbox: MailboxId) -> Result<Option<RecentOwner>> {
        let from = match self.inner.recent.known(mailbox) {
            Some(f) => f,
            None => self.read(move |c| first_recent_uid(c, mailbox)).await?,
        };
        let token = self.inner.recent.tokens.fetch_add(1, Ordering::Relaxed);
        let mut map = self.inner.recent.lock();
        // Another session may have come in while the row was read.
        let e = map.entry(mailbox).or_insert(Entry { owner: None, from });
        if e.owner.is_some() {
            return Ok(None);
        }
        e.owner = Some(token);
        let from = e.from;
        drop(map);
        Ok(Some(RecentOwner {
            store: self.clone(),
            mailbox,
            token,
            from,
            upto: from,
        }))
    }

    /// The first UID a session would see as `\Recent` (or, while a session
    /// owns them, the owner's first): for EXAMINE, which must not take
    /// them (RFC 3501 §6.3.2), and STATUS RECENT.
    pub async fn recent_from(&self, mailbox: MailboxId) -> Result<u32> {
        match self.inner.recent.known(mailbox) {
            Some(f) => Ok(f),
            None => self.read(move |c| first_recent_uid(c, mailbox)).await,
        }
    }

    /// STATUS RECENT: how many messages are at or after `recent_from`.
    pub async fn recent_count(&self, mailbox: MailboxId) -> Result<u32> {
        let known = self.inner.recent.known(mailbox);
        self.read(move |c| {
            let from = match known {
                Some(f) => f,
                None => first_recent_uid(c, mailbox)?,
            };
            let n: i64 = c
                .prepare_cached(
                    "SELECT COUNT(*) FROM messages WHERE mailbox_id = ?1 AND uid >= ?2",
                )?
                .query_row((mailbox.0, i64::from(from)), |r| r.get(0))?;
            Ok(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::{add_user, append_n};
    use crate::{Store, StoreOptions};

    fn open(dir: &std::path::Path) -> Store {
        Store::open(dir, StoreOptions::default()).expect("open")
    }

    #[tokio::test]
    async fn one_session_owns_recent_and_leaving_moves_the_first_recent_uid_for_good() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        store.domain_add("example.org").await.expect("domain");
        let user = add_user(&store, "ann@example.org").await;
        let inbox = crate::tests::inbox(&store, user).await.id;
        append_n(&store, user, inbox, "m", 2).await;
        assert_eq!(store.recent_count(inbox).await.expect("count"), 2);
        let mut first = store
            .take_recent(inbox)
            .await
            .expect("take")
            .expect("owner");
        assert_eq!(first.first_recent(), 1);
        assert!(
            store.take_recent(inbox).await.expect("take").is_none(),
            "a second session must not get the same recent messages"
        );
        assert_eq!(store.recent_from(inbox).await.expect("from"), 1);
        first.told_upto(3);
        drop(first);
        assert_eq!(store.recent_count(inbox).await.expect("count"), 0);
        let next = store
            .take_recent(inbox)
            .await
            .expect("take")
            .expect("owner");
        assert_eq!(
            next.first_recent(),
            3,
            "the messages told of are not recent again"
        );
        drop(next);
        // The release is written in the background.
        let mut saved = 0;
        for _ in 0..500 {
            saved = store
                .read(move |c| super::first_recent_uid(c, inbox))
                .await
                .expect("read");
            if saved == 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(saved, 3, "release not written");
        drop(store);
        let store = open(dir.path());
        assert_eq!(store.recent_from(inbox).await.expect("from"), 3);
    }
}
