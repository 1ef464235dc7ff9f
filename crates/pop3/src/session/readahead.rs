//! Reading messages for RETR and TOP, with read-ahead for clients that
//! retrieve in order (almost all of them): once a RETR follows an earlier
//! RETR of a lower number, the next messages are read with it in one trip
//! to the store's blocking pool (at most `AHEAD_MESSAGES`, `AHEAD_BYTES`),
//! and the following RETRs are answered from memory. When half of that is
//! used, the next run is read in the background, so a client reading in
//! order does not wait for the store again.
//!
//! Coherence with IMAP: the session watches INBOX's change feed from
//! login. The store publishes an expunge before the expunging client hears
//! its answer, so any RETR that comes after an IMAP expunge finds it in the
//! feed: the message is dropped from the read-ahead and answered as gone.
//! When the feed says it lost track (a subscriber that fell behind), the
//! read-ahead is dropped and reads go to the store, which checks that each
//! message still exists.

use std::collections::{HashSet, VecDeque};

use postern_store::{ChangeKind, FeedEvent, MailboxId, Store, StoreError, Subscription, Uid};
use tokio::task::JoinHandle;

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
    /// The next run, being read in the background.
    pending: Option<Pending>,
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.drop_ahead();
    }
}

type Batch = postern_store::Result<Vec<(Uid, Vec<u8>)>>;

struct Pending {
    uids: Vec<Uid>,
    task: JoinHandle<Batch>,
}

impl Reader {
    pub(super) fn new(feed: Subscription, max_uid: Option<Uid>) -> Reader {
        Reader {
            feed,
            ahead: VecDeque::new(),
            gone: HashSet::new(),
            max_uid,
            last_retr: None,
            pending: None,
        }
    }

    /// Forgets everything read ahead (and what is being read).
    fn drop_ahead(&mut self) {
        self.ahead.clear();
        if let Some(p) = self.pending.take() {
            p.task.abort();
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
                    ChangeKind::Gone => self.drop_ahead(),
                    ChangeKind::New { .. } | ChangeKind::Flags { .. } => {}
                },
                FeedEvent::Resync => self.drop_ahead(),
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
        run: impl Iterator<Item = (Uid, u64)> + Clone,
        retr: bool,
    ) -> postern_store::Result<Option<Vec<u8>>> {
        self.poll();
        let all = run.clone();
        let mut run = run;
        let Some((uid, size)) = run.next() else {
            return Ok(None);
        };
        if self.gone.contains(&uid) {
            return Ok(None);
        }
        if self.pending.as_ref().is_some_and(|p| p.uids.contains(&uid)) {
            self.land().await?;
            self.poll();
            if self.gone.contains(&uid) {
                return Ok(None);
            }
        }
        if let Some(pos) = self.ahead.iter().position(|(u, _)| *u == uid) {
            if retr {
                self.last_retr = Some(index);
                let bytes = self.ahead.remove(pos).map(|(_, b)| b);
                self.prefetch(store, mailbox, uid, all);
                return Ok(bytes);
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
        self.drop_ahead();
        let uids = self.next_run(uid, size, run);
        let got = store.messages_bytes(mailbox, uids.clone()).await?;
        let mut first = self.merge(uids, got, Some(uid));
        // An expunge committed while we read is in the feed by now or will
        // be before the client can have heard of it: look once more.
        self.poll();
        if self.gone.contains(&uid) {
            first = None;
        }
        self.prefetch(store, mailbox, uid, all);
        Ok(first)
    }

    /// `first` and the messages after it, within the read-ahead bounds.
    fn next_run(&self, first: Uid, size: u64, rest: impl Iterator<Item = (Uid, u64)>) -> Vec<Uid> {
        let mut uids = vec![first];
        let mut total = size;
        for (u, s) in rest {
            if uids.len() >= AHEAD_MESSAGES || total + s > AHEAD_BYTES {
                break;
            }
            if !self.gone.contains(&u) {
                uids.push(u);
                total += s;
            }
        }
        uids
    }

    /// Puts what a read found into the read-ahead (`take` is handed back
    /// instead); what it did not find is gone.
    fn merge(
        &mut self,
        uids: Vec<Uid>,
        got: Vec<(Uid, Vec<u8>)>,
        take: Option<Uid>,
    ) -> Option<Vec<u8>> {
        let mut got = got.into_iter().peekable();
        let mut taken = None;
        for u in uids {
            match got.next_if(|(g, _)| *g == u) {
                Some((_, bytes)) if Some(u) == take => taken = Some(bytes),
                Some(pair) => self.ahead.push_back(pair),
                None => {
                    self.gone.insert(u);
                }
            }
        }
        taken
    }

    /// Starts reading the run after what is read ahead once half of it is
    /// used (`all` is the maildrop from the message just sent, `sent`).
    fn prefetch(
        &mut self,
        store: &Store,
        mailbox: MailboxId,
        sent: Uid,
        all: impl Iterator<Item = (Uid, u64)>,
    ) {
        if self.pending.is_some() || self.ahead.len() > AHEAD_MESSAGES / 2 {
            return;
        }
        let after = self.ahead.back().map_or(sent, |(u, _)| *u);
        let mut rest = all.filter(|(u, _)| *u > after && !self.gone.contains(u));
        let Some((first, size)) = rest.next() else {
            return;
        };
        let uids = self.next_run(first, size, rest);
        let (store, list) = (store.clone(), uids.clone());
        let task = tokio::spawn(async move { store.messages_bytes(mailbox, list).await });
        self.pending = Some(Pending { uids, task });
    }

    /// Waits for the background read and puts it in the read-ahead.
    async fn land(&mut self) -> postern_store::Result<()> {
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        let got = p
            .task
            .await
            .map_err(|e| StoreError::Commit(format!("read-ahead task: {e}")))??;
        self.merge(p.uids, got, None);
        Ok(())
    }
}
