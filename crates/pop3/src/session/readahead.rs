//! Reading messages for RETR and TOP, with read-ahead for clients that
//! retrieve in order (almost all of them): once a RETR follows an earlier
//! RETR of a lower number, the messages after it are read in the
//! background in runs (at most `AHEAD_MESSAGES`, `AHEAD_BYTES` each, one
//! trip to the store's blocking pool per run), and each is made into its
//! whole RETR answer there (status line, dot-stuffed body, terminator). A
//! RETR read ahead is then answered by handing that buffer to the driver:
//! no store trip, no stuffing and often no copy while the client waits.
//! When half of a run is used the next one is started, so a client reading
//! in order does not wait for the store again.
//!
//! Coherence with IMAP: the session watches INBOX's change feed from
//! login. The store publishes an expunge before the expunging client hears
//! its answer, so any RETR that comes after an IMAP expunge finds it in the
//! feed: the message is dropped from the read-ahead and answered as gone.
//! When the feed says it lost track (a subscriber that fell behind), the
//! read-ahead is dropped and reads go to the store, which checks that each
//! message still exists. TOP always reads from the store (the read-ahead
//! holds RETR answers, not the bytes).

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
    /// RETR answers read ahead, in maildrop order.
    ahead: VecDeque<Ahead>,
    /// Snapshot messages the store no longer has (from the feed or a read).
    gone: HashSet<Uid>,
    /// The highest UID of the snapshot: later expunges are not ours.
    max_uid: Option<Uid>,
    /// The index of the last RETR, to see a client reading in order.
    last_retr: Option<usize>,
    /// The next run, being read in the background.
    pending: Option<Pending>,
}

/// One message read ahead.
struct Ahead {
    uid: Uid,
    /// RETR's whole answer.
    answer: Vec<u8>,
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.drop_ahead();
    }
}

type Batch = postern_store::Result<Vec<Ahead>>;

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

    /// RETR's whole answer for message `index` (the first of `run`: that
    /// message and the ones after it not deleted, with their sizes); `None`
    /// when the store no longer has it.
    pub(super) async fn retr(
        &mut self,
        store: &Store,
        mailbox: MailboxId,
        index: usize,
        run: impl Iterator<Item = (Uid, u64)> + Clone,
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
        let in_order = self.last_retr.is_some_and(|l| l < index);
        self.last_retr = Some(index);
        if let Some(pos) = self.ahead.iter().position(|a| a.uid == uid) {
            let answer = self.ahead.remove(pos).map(|a| a.answer);
            self.prefetch(store, mailbox, uid, all);
            return Ok(answer);
        }
        if in_order {
            // Out of step with what was read ahead (or nothing was yet):
            // start again after this message, in the background.
            self.drop_ahead();
        }
        let got = store.message_bytes(mailbox, uid).await?;
        let Some(bytes) = got else {
            self.gone.insert(uid);
            return Ok(None);
        };
        if in_order {
            self.prefetch(store, mailbox, uid, all);
        }
        let mut answer = Vec::new();
        response::retr(&mut answer, size, &bytes);
        Ok(Some(answer))
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
        let (store, list) = (store.clone(), uids.clone());
        let task = tokio::spawn(async move {
            let got = store.messages_bytes(mailbox, list).await?;
            Ok(answers(&run, got))
        });
        self.pending = Some(Pending { uids, task });
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
        for u in p.uids {
            match got.next_if(|a| a.uid == u) {
                Some(a) => self.ahead.push_back(a),
                None => {
                    self.gone.insert(u);
                }
            }
        }
        Ok(())
    }
}

/// The RETR answers of what a run read (`got` is in `run`'s order, with
/// the messages the store no longer has left out).
fn answers(run: &[(Uid, u64)], got: Vec<(Uid, Vec<u8>)>) -> Vec<Ahead> {
    let mut sizes = run.iter().copied().peekable();
    got.into_iter()
        .filter_map(|(uid, bytes)| {
            while sizes.next_if(|(u, _)| *u != uid).is_some() {}
            let (_, size) = sizes.next()?;
            let mut answer = Vec::new();
            response::retr(&mut answer, size, &bytes);
            Some(Ahead { uid, answer })
        })
        .collect()
}
