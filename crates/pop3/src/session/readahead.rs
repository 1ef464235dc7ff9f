//! Reading messages for RETR and TOP, with read-ahead for clients that
//! retrieve in order (almost all of them): once a RETR follows an earlier
//! RETR of a lower number, the next messages are read with it in one trip
//! to the store's blocking pool (at most `AHEAD_MESSAGES`, `AHEAD_BYTES`),
//! and the following RETRs are answered from memory.
//!
//! Coherence with IMAP: the session watches INBOX's change feed from
//! login. The store publishes an expunge before the expunging client hears
//! its answer, so any RETR that comes after an IMAP expunge finds it in the
//! feed: the message is dropped from the read-ahead and answered as gone.
//! When the feed says it lost track (a subscriber that fell behind), the
//! read-ahead is dropped and reads go to the store, which checks that each
//! message still exists.

use std::collections::{HashSet, VecDeque};

use postern_store::{ChangeKind, FeedEvent, MailboxId, Store, Subscription, Uid};

/// Most messages read ahead at once.
const AHEAD_MESSAGES: usize = 16;
/// Most bytes read ahead at once (the message asked for always comes).
const AHEAD_BYTES: u64 = 256 * 1024;

pub(super) struct Reader {
    feed: Subscription,
    /// Messages read ahead, in maildrop order.
    ahead: VecDeque<(Uid, Vec<u8>)>,
    /// Snapshot messages the store no longer has (from the feed or a read).
    gone: HashSet<Uid>,
    /// The highest UID of the snapshot: later expunges are not ours.
    max_uid: Option<Uid>,
    /// The index of the last RETR, to see a client reading in order.
    last_retr: Option<usize>,
}

impl Reader {
    pub(super) fn new(feed: Subscription, max_uid: Option<Uid>) -> Reader {
        Reader {
            feed,
            ahead: VecDeque::new(),
            gone: HashSet::new(),
            max_uid,
            last_retr: None,
        }
    }

    /// Takes in what the feed reported since the last look.
    fn poll(&mut self) {
        while let Some(ev) = self.feed.try_recv() {
            match ev {
                FeedEvent::Change(c) => match &c.kind {
                    ChangeKind::Expunged { uids } => {
                        for u in uids {
                            if self.max_uid.is_some_and(|m| *u <= m) {
                                self.gone.insert(*u);
                            }
                        }
                        self.ahead.retain(|(u, _)| !uids.contains(u));
                    }
                    ChangeKind::Gone => self.ahead.clear(),
                    ChangeKind::New { .. } | ChangeKind::Flags { .. } => {}
                },
                FeedEvent::Resync => self.ahead.clear(),
            }
        }
    }

    /// DELE: a message read ahead will not be asked for.
    pub(super) fn forget(&mut self, uid: Uid) {
        self.ahead.retain(|(u, _)| *u != uid);
    }

    /// The bytes of message `index` (the first of `run`: that message and
    /// the ones after it not deleted, with their sizes); `None` when the
    /// store no longer has it. `retr` is false for TOP, which reads one
    /// message and leaves the read-ahead as it is.
    pub(super) async fn read(
        &mut self,
        store: &Store,
        mailbox: MailboxId,
        index: usize,
        mut run: impl Iterator<Item = (Uid, u64)>,
        retr: bool,
    ) -> postern_store::Result<Option<Vec<u8>>> {
        self.poll();
        let Some((uid, size)) = run.next() else {
            return Ok(None);
        };
        if self.gone.contains(&uid) {
            return Ok(None);
        }
        if let Some(pos) = self.ahead.iter().position(|(u, _)| *u == uid) {
            if retr {
                self.last_retr = Some(index);
                return Ok(self.ahead.remove(pos).map(|(_, b)| b));
            }
            return Ok(Some(self.ahead[pos].1.clone()));
        }
        let in_order = retr && self.last_retr.is_some_and(|l| l < index);
        if retr {
            self.last_retr = Some(index);
        }
        if !in_order {
            let got = store.message_bytes(mailbox, uid).await?;
            if got.is_none() {
                self.gone.insert(uid);
            }
            return Ok(got);
        }
        let mut uids = vec![uid];
        let mut total = size;
        for (u, s) in run {
            if uids.len() >= AHEAD_MESSAGES || total + s > AHEAD_BYTES {
                break;
            }
            if !self.gone.contains(&u) {
                uids.push(u);
                total += s;
            }
        }
        let mut got = store
            .messages_bytes(mailbox, uids.clone())
            .await?
            .into_iter()
            .peekable();
        self.ahead.clear();
        let mut first = None;
        for u in uids {
            match got.next_if(|(g, _)| *g == u) {
                Some((_, bytes)) if u == uid => first = Some(bytes),
                Some(pair) => self.ahead.push_back(pair),
                None => {
                    self.gone.insert(u);
                }
            }
        }
        // An expunge committed while we read is in the feed by now or will
        // be before the client can have heard of it: look once more.
        self.poll();
        if self.gone.contains(&uid) {
            return Ok(None);
        }
        Ok(first)
    }
}
