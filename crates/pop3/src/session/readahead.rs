//! Reading messages for RETR and TOP, with read-ahead for clients that
//! retrieve in order (almost all of them): once a RETR follows an earlier
//! RETR of a lower number, the messages after it are read in the
//! background in runs (at most `AHEAD_MESSAGES`, `AHEAD_BYTES` each, one
//! trip to the store's blocking pool per run); when half of a run is used
//! the next one is started, so a client reading in order does not wait for
//! the store again. While the driver waits for the client's next command,
//! [`Reader::prepare`] builds the whole RETR answer of the next message
//! read ahead (status line, dot-stuffed body, terminator), so that RETR is
//! answered by handing one buffer to the driver. A client that pipelines
//! gives no such wait, and its RETRs stuff straight into the output.
//!
//! Coherence with IMAP: the session watches INBOX's change feed from
//! login. The store publishes an expunge before the expunging client hears
//! its answer, so any RETR that comes after an IMAP expunge finds it in the
//! feed: the message is dropped from the read-ahead and answered as gone.
//! When the feed says it lost track (a subscriber that fell behind), the
//! read-ahead is dropped and reads go to the store, which checks that each
//! message still exists. TOP always reads from the store.

use std::collections::{HashSet, VecDeque};

use postern_store::{ChangeKind, FeedEvent, MailboxId, Store, StoreError, Subscription, Uid};
use tokio::task::JoinHandle;

use crate::wire::response;

/// Most messages read ahead at once.
const AHEAD_MESSAGES: usize = 16;
/// Most bytes read ahead at once (the first message of a run always comes).
const AHEAD_BYTES: u64 = 256 * 1024;

pub(super) struct Reader {
    feed: Subscription,
    /// Messages read ahead, in maildrop order.
    ahead: VecDeque<Ahead>,
    /// Snapshot messages the store no longer has (from the feed or a read).
    gone: HashSet<Uid>,
    /// The highest UID of the snapshot: later expunges are not ours.
    max_uid: Option<Uid>,
    /// The index of the last RETR, to see a client reading in order.
    last_retr: Option<usize>,
    /// The next run, being read in the background.
    pending: Option<Pending>,
    /// An emptied answer buffer for `prepare` to build the next answer in
    /// (at most `AHEAD_BYTES` of capacity), so answers do not cost an
    /// allocation each.
    spare: Vec<u8>,
}

/// One message read ahead.
struct Ahead {
    uid: Uid,
    /// Its size in the snapshot (RETR's status line).
    size: u64,
    data: Data,
}

enum Data {
    /// The message as the store has it.
    Raw(Vec<u8>),
    /// RETR's whole answer, built by [`Reader::prepare`].
    Answer(Vec<u8>),
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.drop_ahead();
    }
}

type Batch = postern_store::Result<Vec<(Uid, Vec<u8>)>>;

struct Pending {
    run: Vec<(Uid, u64)>,
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
            spare: Vec::new(),
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
                        self.ahead.retain(|a| !uids.contains(&a.uid));
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
        self.ahead.retain(|a| a.uid != uid);
    }

    /// Appends RETR's whole answer for message `index` (the first of
    /// `run`: that message and the ones after it not deleted, with their
    /// sizes) to `out`; false when the store no longer has it.
    pub(super) async fn retr(
        &mut self,
        store: &Store,
        mailbox: MailboxId,
        index: usize,
        run: impl Iterator<Item = (Uid, u64)> + Clone,
        out: &mut Vec<u8>,
    ) -> postern_store::Result<bool> {
        self.poll();
        let all = run.clone();
        let mut run = run;
        let Some((uid, size)) = run.next() else {
            return Ok(false);
        };
        if self.gone.contains(&uid) {
            return Ok(false);
        }
        if self
            .pending
            .as_ref()
            .is_some_and(|p| p.run.iter().any(|(u, _)| *u == uid))
        {
            self.land().await?;
            self.poll();
            if self.gone.contains(&uid) {
                return Ok(false);
            }
        }
        let in_order = self.last_retr.is_some_and(|l| l < index);
        self.last_retr = Some(index);
        if let Some(pos) = self.ahead.iter().position(|a| a.uid == uid) {
            if let Some(a) = self.ahead.remove(pos) {
                match a.data {
                    Data::Raw(bytes) => response::retr(out, a.size, &bytes),
                    Data::Answer(mut answer) => {
                        // Taken as the output when that is empty (a client
                        // waiting for each answer): no copy, and the old
                        // output becomes the spare. An output buffer grown
                        // past AHEAD_BYTES (pipelined RETRs fill it to the
                        // driver's flush point) is kept and copied into:
                        // dropping it cost an mmap and munmap per flush.
                        if out.is_empty() && out.capacity() <= AHEAD_BYTES as usize {
                            std::mem::swap(out, &mut answer);
                        } else {
                            out.extend_from_slice(&answer);
                        }
                        if answer.capacity() <= AHEAD_BYTES as usize {
                            answer.clear();
                            self.spare = answer;
                        }
                    }
                }
            }
            self.prefetch(store, mailbox, uid, all);
            return Ok(true);
        }
        if in_order {
            // Out of step with what was read ahead (or nothing was yet):
            // start again after this message, in the background.
            self.drop_ahead();
        }
        let Some(bytes) = store.message_bytes(mailbox, uid).await? else {
            self.gone.insert(uid);
            return Ok(false);
        };
        if in_order {
            self.prefetch(store, mailbox, uid, all);
        }
        response::retr(out, size, &bytes);
        Ok(true)
    }

    /// Builds the answer of the next message read ahead, the one a client
    /// reading in order asks for next: for the driver to call while it
    /// waits for that client (the stuffing is then done by the time RETR
    /// comes, not after).
    pub(super) fn prepare(&mut self) {
        if let Some(a) = self.ahead.front_mut()
            && let Data::Raw(bytes) = &a.data
        {
            let mut answer = std::mem::take(&mut self.spare);
            response::retr(&mut answer, a.size, bytes);
            a.data = Data::Answer(answer);
        }
    }

    /// TOP: the bytes of the message `uid`, from the store; `None` when it
    /// no longer has it. The read-ahead stays as it is.
    pub(super) async fn top(
        &mut self,
        store: &Store,
        mailbox: MailboxId,
        uid: Uid,
    ) -> postern_store::Result<Option<Vec<u8>>> {
        self.poll();
        if self.gone.contains(&uid) {
            return Ok(None);
        }
        let got = store.message_bytes(mailbox, uid).await?;
        if got.is_none() {
            self.gone.insert(uid);
        }
        Ok(got)
    }

    /// `first` and the messages after it, within the read-ahead bounds.
    fn next_run(
        &self,
        first: (Uid, u64),
        rest: impl Iterator<Item = (Uid, u64)>,
    ) -> Vec<(Uid, u64)> {
        let mut run = vec![first];
        let mut total = first.1;
        for (u, s) in rest {
            if run.len() >= AHEAD_MESSAGES || total + s > AHEAD_BYTES {
                break;
            }
            if !self.gone.contains(&u) {
                run.push((u, s));
                total += s;
            }
        }
        run
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
        let after = self.ahead.back().map_or(sent, |a| a.uid);
        let mut rest = all.filter(|(u, _)| *u > after && !self.gone.contains(u));
        let Some(first) = rest.next() else {
            return;
        };
        let run = self.next_run(first, rest);
        let uids = run.iter().map(|(u, _)| *u).collect::<Vec<_>>();
        let store = store.clone();
        let task = tokio::spawn(async move { store.messages_bytes(mailbox, uids).await });
        self.pending = Some(Pending { run, task });
    }

    /// Waits for the background read and puts it in the read-ahead; what
    /// it did not find is gone.
    async fn land(&mut self) -> postern_store::Result<()> {
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        let got = p
            .task
            .await
            .map_err(|e| StoreError::Commit(format!("read-ahead task: {e}")))??;
        let mut got = got.into_iter().peekable();
        for (u, size) in p.run {
            match got.next_if(|(g, _)| *g == u) {
                Some((uid, bytes)) => self.ahead.push_back(Ahead {
                    uid,
                    size,
                    data: Data::Raw(bytes),
                }),
                None => {
                    self.gone.insert(u);
                }
            }
        }
        Ok(())
    }
}
