//! Lean reads of a mailbox's listing, for large mailboxes (issue 19):
//! what SELECT needs (UIDs, first unseen, keywords in use) in one pass
//! over the `messages_listing` covering index without a row object per
//! message, with the flags an IMAP session keeps (a `u16` per message
//! into the distinct sets, `flag_sets.rs`) and the HIGHESTMODSEQ, read
//! in one transaction so the flags are those of that MODSEQ; the
//! HIGHESTMODSEQ alone (`highest_modseq`: is the session's state still
//! the store's?); the listing of a UID range, so a FETCH or a flag read
//! touches the messages it names rather than the whole mailbox; and a
//! compact pass over UIDs, flags and MODSEQs (`scan_flags`) handed row by
//! row to the caller, for a FETCH of FLAGS or a SEARCH on flags, with the
//! messages without `\Seen` read from their own partial index (migration
//! 25).

use std::collections::BTreeSet;

use crate::Store;
use crate::error::Result;
use crate::messages::{MSG_COLS, MessageInfo, message_row};
use rusqlite::OptionalExtension;

use crate::flag_sets::FlagSets;
use crate::types::{Flags, MailboxId, ModSeq, SystemFlags};

/// One message as [`Store::scan_flags`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagRow {
    pub uid: u32,
    pub flags: Flags,
    pub modseq: ModSeq,
}

/// What SELECT and EXAMINE tell of a mailbox, read in one pass, and the
/// flags an IMAP session keeps of it (`imap/src/session/flag_memory.rs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailboxView {
    /// UIDs in ascending order (sequence number = index + 1).
    pub uids: Vec<u32>,
    /// The index in `uids` of the first message without `\Seen`.
    pub first_unseen: Option<usize>,
    /// Every keyword some message has, as written (each spelling once).
    pub keywords: BTreeSet<String>,
    /// Per message (beside `uids`), the number of its flags in
    /// `flag_sets`; empty (and `flag_sets` too) when the mailbox has
    /// more distinct sets than a `u16` numbers.
    pub flag_slots: Vec<u16>,
    pub flag_sets: FlagSets,
    /// The mailbox's HIGHESTMODSEQ, read with the rows: the state the
    /// view shows is that of this MODSEQ.
    pub highest_modseq: ModSeq,
    /// (UID, MODSEQ) of the messages last changed after the `since`
    /// asked for, in UID order.
    pub changed_since: Vec<(u32, ModSeq)>,
}

impl Store {
    /// [`MailboxView`] of `mailbox`: one read transaction, its
    /// HIGHESTMODSEQ and a pass over the listing index, a `u32` and a
    /// `u16` per message, a string only for a keyword not yet seen, a
    /// [`Flags`] only for a set of flags not yet seen. `since`: the
    /// messages changed after it are listed apart.
    pub async fn mailbox_view(&self, mailbox: MailboxId, since: ModSeq) -> Result<MailboxView> {
        self.read(move |c| {
            let tx = c.unchecked_transaction()?;
            let highest: Option<i64> = tx
                .prepare_cached("SELECT highestmodseq FROM mailboxes WHERE id = ?1")?
                .query_row([mailbox.0], |r| r.get(0))
                .optional()?;
            let mut st = tx.prepare_cached(
                "SELECT uid, flags, keywords, modseq FROM messages WHERE mailbox_id = ?1 ORDER BY uid",
            )?;
            let mut rows = st.query([mailbox.0])?;
            let mut v = MailboxView {
                highest_modseq: ModSeq(highest.unwrap_or(0).max(0) as u64),
                ..MailboxView::default()
            };
            // Keyword lists repeat: remember the last one read, as written.
            let mut last_keywords = String::new();
            // Flags repeat too: the last row's columns and their number.
            let mut last_flags: Option<(i64, u16)> = None;
            let mut numbered = true;
            while let Some(r) = rows.next()? {
                let uid: u32 = r.get(0)?;
                let flags: i64 = r.get(1)?;
                if v.first_unseen.is_none() && flags & i64::from(SystemFlags::SEEN.0) == 0 {
                    v.first_unseen = Some(v.uids.len());
                }
                v.uids.push(uid);
                let kw = r.get_ref(2)?.as_str().unwrap_or_default();
                let same_keywords = kw == last_keywords;
                if !kw.is_empty() && !same_keywords {
                    for k in kw.split(' ').filter(|k| !k.is_empty()) {
                        if !v.keywords.contains(k) {
                            v.keywords.insert(k.to_string());
                        }
                    }
                }
                if !same_keywords {
                    last_keywords.clear();
                    last_keywords.push_str(kw);
                    last_flags = None;
                }
                if numbered {
                    let n = match last_flags {
                        Some((f, n)) if f == flags => Some(n),
                        _ => v.flag_sets.number(&Flags::from_columns(flags, kw)),
                    };
                    match n {
                        Some(n) => {
                            v.flag_slots.push(n);
                            last_flags = Some((flags, n));
                        }
                        None => numbered = false,
                    }
                }
                let modseq = ModSeq(r.get::<_, i64>(3)?.max(0) as u64);
                if modseq > since {
                    v.changed_since.push((uid, modseq));
                }
            }
            if !numbered {
                v.flag_slots = Vec::new();
                v.flag_sets = FlagSets::default();
            }
            v.uids.shrink_to_fit();
            v.flag_slots.shrink_to_fit();
            Ok(v)
        })
        .await
    }

    /// The mailbox's HIGHESTMODSEQ as the store holds it now (`None`: no
    /// such mailbox).
    pub async fn highest_modseq(&self, mailbox: MailboxId) -> Result<Option<ModSeq>> {
        self.read(move |c| {
            let m: Option<i64> = c
                .prepare_cached("SELECT highestmodseq FROM mailboxes WHERE id = ?1")?
                .query_row([mailbox.0], |r| r.get(0))
                .optional()?;
            Ok(m.map(|m| ModSeq(m.max(0) as u64)))
        })
        .await
    }

    /// Hands `f` each message with `first <= uid <= last` in UID order
    /// (only those without `\Seen` when `unseen_only`), as it is read,
    /// with `state`, which it returns: no row object is kept, so a caller
    /// writes its answer (or keeps its matches) during the pass.
    pub async fn scan_flags<S, F>(
        &self,
        mailbox: MailboxId,
        (first, last): (u32, u32),
        unseen_only: bool,
        mut state: S,
        mut f: F,
    ) -> Result<S>
    where
        S: Send + 'static,
        F: FnMut(&mut S, FlagRow) + Send + 'static,
    {
        self.read(move |c| {
            flag_rows(c, mailbox, (first, last), unseen_only, &mut state, &mut f)?;
            Ok(state)
        })
        .await
    }

    /// The listing of the messages with `first <= uid <= last`, in UID
    /// order (the range read of `messages`).
    pub async fn messages_between(
        &self,
        mailbox: MailboxId,
        first: u32,
        last: u32,
    ) -> Result<Vec<MessageInfo>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {MSG_COLS} FROM messages WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 \
                 ORDER BY uid"
            );
            let mut st = c.prepare_cached(&sql)?;
            let rows = st
                .query_map((mailbox.0, first, last), message_row)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }
}

/// The pass of [`Store::scan_flags`] on connection `c`.
fn flag_rows<S>(
    c: &rusqlite::Connection,
    mailbox: MailboxId,
    (first, last): (u32, u32),
    unseen_only: bool,
    state: &mut S,
    f: &mut impl FnMut(&mut S, FlagRow),
) -> Result<()> {
    // The unseen index's condition is written as it is in
    // migration 25, which is what lets SQLite use it.
    let sql = if unseen_only {
        "SELECT uid, flags, keywords, modseq FROM messages INDEXED BY messages_unseen \
         WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 AND flags & 1 = 0 ORDER BY uid"
    } else {
        "SELECT uid, flags, keywords, modseq FROM messages INDEXED BY messages_listing \
         WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid"
    };
    let mut st = c.prepare_cached(sql)?;
    let mut rows = st.query((mailbox.0, first, last))?;
    while let Some(r) = rows.next()? {
        let keywords = r.get_ref(2)?.as_str().unwrap_or_default();
        let row = FlagRow {
            uid: r.get(0)?,
            flags: Flags::from_columns(r.get(1)?, keywords),
            modseq: ModSeq(r.get::<_, i64>(3)?.max(0) as u64),
        };
        f(state, row);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::tests::{add_user, inbox};
    use crate::{Flags, NewMessage, Store, StoreOptions, SystemFlags};

    #[tokio::test]
    async fn mailbox_view_lists_uids_first_unseen_and_each_keyword_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(dir.path(), StoreOptions::default()).expect("open");
        s.domain_add("example.org").await.expect("domain");
        let u = add_user(&s, "a@example.org").await;
        let mb = inbox(&s, u).await.id;
        let flags = [
            Flags::new(SystemFlags::SEEN, ["$Work".to_string()]),
            Flags::new(SystemFlags::empty(), ["$work".to_string(), "Later".into()]),
            Flags::new(SystemFlags::SEEN, []),
        ];
        let mut uids = Vec::new();
        for f in flags {
            let m = NewMessage {
                raw: b"Subject: x\r\n\r\nx\r\n".to_vec(),
                internal_date: Some(1_700_000_000),
                flags: f,
            };
            uids.push(s.append(u, mb, m).await.expect("append").uid.get());
        }
        let v = s.mailbox_view(mb, crate::ModSeq(0)).await.expect("view");
        assert_eq!(v.uids, uids);
        assert_eq!(
            v.first_unseen,
            Some(1),
            "the second message is the first unseen"
        );
        assert_eq!(
            v.keywords.into_iter().collect::<Vec<_>>(),
            ["$Work", "$work", "Later"],
            "every spelling of every keyword, once"
        );
        let mid = s
            .messages_between(mb, uids[1], uids[1])
            .await
            .expect("range");
        assert_eq!(
            mid.iter().map(|m| m.uid.get()).collect::<Vec<_>>(),
            [uids[1]]
        );
        assert!(
            s.messages_between(mb, uids[2] + 1, u32::MAX)
                .await
                .expect("past")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn scan_flags_reads_a_range_and_the_unseen_index_follows_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(dir.path(), StoreOptions::default()).expect("open");
        s.domain_add("example.org").await.expect("domain");
        let u = add_user(&s, "a@example.org").await;
        let mb = inbox(&s, u).await.id;
        let flags = [
            Flags::new(SystemFlags::SEEN, []),
            Flags::new(SystemFlags::FLAGGED, ["Later".to_string()]),
            Flags::new(SystemFlags::empty(), []),
        ];
        let mut uids = Vec::new();
        for f in flags {
            let m = NewMessage {
                raw: b"Subject: x\r\n\r\nx\r\n".to_vec(),
                internal_date: Some(1_700_000_000),
                flags: f,
            };
            uids.push(s.append(u, mb, m).await.expect("append").uid.get());
        }
        let scan = |unseen_only: bool, range: (u32, u32)| {
            s.scan_flags(mb, range, unseen_only, Vec::new(), |v, r| v.push(r))
        };
        let all = scan(false, (1, u32::MAX)).await.expect("scan");
        assert_eq!(all.iter().map(|r| r.uid).collect::<Vec<_>>(), uids);
        assert_eq!(
            all[1].flags,
            Flags::new(SystemFlags::FLAGGED, ["Later".to_string()]),
            "flags and keywords as stored"
        );
        let mid = scan(false, (uids[1], uids[1])).await.expect("range");
        assert_eq!(mid.iter().map(|r| r.uid).collect::<Vec<_>>(), [uids[1]]);
        let unseen = scan(true, (1, u32::MAX)).await.expect("unseen");
        assert_eq!(
            unseen.iter().map(|r| r.uid).collect::<Vec<_>>(),
            [uids[1], uids[2]]
        );
        let seen = crate::Uid::new(uids[1]).expect("uid");
        s.set_flags(
            mb,
            vec![seen],
            crate::FlagOp::Add,
            Flags::new(SystemFlags::SEEN, []),
            None,
        )
        .await
        .expect("seen");
        let unseen = scan(true, (1, u32::MAX)).await.expect("unseen");
        assert_eq!(
            unseen.iter().map(|r| r.uid).collect::<Vec<_>>(),
            [uids[2]],
            "a message marked seen leaves the unseen index"
        );
    }
}
