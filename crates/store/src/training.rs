//! The spam classifier's tables (migration 12): the training journal, what
//! each (user, message) is trained as, the models' bytes and the per-user
//! sender reputation. The store knows nothing of classification: a model
//! is opaque bytes with a version; postern-spam's trainer drains the
//! journal and writes models back through [`Store::training_commit`].
//!
//! What trains, recorded in the same commit as the change that causes it
//! (so training is durable, off the IMAP command's path, and never lost):
//! - COPY or MOVE into a `\Junk` mailbox from one that is not: spam.
//! - COPY or MOVE out of `\Junk` into a mailbox that is neither `\Junk`
//!   nor `\Trash`: ham. A copy out counts too, since clients without MOVE
//!   move by COPY then EXPUNGE. Into `\Trash`: nothing (throwing spam away
//!   says nothing about it being ham).
//! - A flag change adding `$Junk` (or Thunderbird's older `Junk`): spam;
//!   adding `$NotJunk` (or `NonJunk`): ham. Removing one without adding
//!   the other is an undo of that class: an untrain if the message was
//!   trained so, nothing otherwise.
//! - Not: delivery (the filter's own Junk filing is not a user's
//!   judgement), APPEND (sync tools and migrations copy whole Junk
//!   folders, again and again), EXPUNGE, the admin's import.
//!
//! A journal row holds a reference on its message's blob until the
//! trainer's commit removes the row, so the bytes outlive an expunge.
//! Every change to a user's `spam_trained` rows is committed with a write
//! of that user's model whose version was checked (compare-and-swap), so
//! the server's trainer and the admin CLI cannot both apply one lesson.

use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;
use crate::mailboxes::Mailbox;
use crate::types::{Flags, SpecialUse, UserId};
use crate::writer::WriteCtx;
use crate::{BlobId, Store, now_secs};

/// Which way a message is trained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrainClass {
    Spam,
    Ham,
}

impl TrainClass {
    fn code(self) -> i64 {
        match self {
            TrainClass::Spam => 1,
            TrainClass::Ham => 0,
        }
    }
    fn from_code(c: i64) -> TrainClass {
        if c == 1 {
            TrainClass::Spam
        } else {
            TrainClass::Ham
        }
    }
}

/// One thing a user did that trains, in the order done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub id: i64,
    pub user: UserId,
    pub blob: BlobId,
    pub class: TrainClass,
    /// Take back `class` (a `$Junk` or `$NotJunk` removed) instead of
    /// training it.
    pub undo: bool,
}

/// Whose model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelOwner {
    /// The model every user's training feeds, for users with little of
    /// their own.
    Global,
    User(UserId),
}

impl ModelOwner {
    /// The `spam_models.owner` key: user ids start at 1, so 0 is free.
    fn key(self) -> i64 {
        match self {
            ModelOwner::Global => 0,
            ModelOwner::User(u) => u.0,
        }
    }
}

/// A model's stored bytes and version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredModel {
    /// Store-wide increasing: a version is never reused, even for a user
    /// id that a deleted user had.
    pub version: i64,
    /// Seconds since the epoch of the last write.
    pub updated_at: i64,
    pub bytes: Vec<u8>,
}

/// The answer for one model asked for by [`Store::spam_models`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelRead {
    Missing,
    /// The version the caller has is current; no bytes were read.
    Unchanged,
    Found(StoredModel),
}

/// A model to write if its stored version is still `expected` (`None`:
/// there must be no model yet).
#[derive(Clone, Debug)]
pub struct ModelWrite {
    pub owner: ModelOwner,
    pub expected: Option<i64>,
    pub bytes: Vec<u8>,
}

/// A change to one sender's counts in one user's reputation table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderDelta {
    pub user: UserId,
    /// Lowercased address.
    pub address: String,
    pub ham: i64,
    pub spam: i64,
}

/// One trainer pass or CLI batch, committed all or nothing.
#[derive(Clone, Debug, Default)]
pub struct TrainingCommit {
    pub models: Vec<ModelWrite>,
    /// What each (user, message) is now trained as (`None`: nothing). A
    /// user named here must have their model in `models`: that model's
    /// version check is what makes these rows safe to write.
    pub trained: Vec<(UserId, BlobId, Option<TrainClass>)>,
    pub senders: Vec<SenderDelta>,
    /// Journal rows handled: removed, their blob references dropped.
    pub done: Vec<i64>,
    /// Senders kept per user; the least recently seen go first.
    pub max_senders: usize,
}

/// What the reputation table knows of one sender for one user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderRecord {
    /// Messages the user sent to this address.
    pub sent: u64,
    /// Trained ham and spam from this address.
    pub ham: u64,
    pub spam: u64,
}

/// `postern spam stats`' store-side figures for one user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrainingStats {
    /// Journal rows not yet handled by the trainer.
    pub pending: u64,
    /// Messages currently trained as spam and as ham.
    pub trained_spam: u64,
    pub trained_ham: u64,
    /// Senders in the reputation table.
    pub senders: u64,
}

const SPAM_KEYWORDS: &[&str] = &["$Junk", "Junk"];
const HAM_KEYWORDS: &[&str] = &["$NotJunk", "NotJunk", "NonJunk", "$NonJunk"];

impl Store {
    /// The oldest `limit` journal rows.
    pub async fn training_journal(&self, limit: usize) -> Result<Vec<JournalEntry>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, user_id, blob, class, undo FROM spam_journal ORDER BY id LIMIT ?1",
            )?;
            let rows = st
                .query_map([limit as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, bool>(4)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(id, user, blob, class, undo)| {
                    Some(JournalEntry {
                        id,
                        user: UserId(user),
                        blob: BlobId::parse(&blob)?,
                        class: TrainClass::from_code(class),
                        undo,
                    })
                })
                .collect())
        })
        .await
    }

    /// Returns after a commit of this process wrote journal rows (at once
    /// if one did since the last call). Another process's writes (the
    /// admin CLI) do not ring it: the trainer also runs on a timer.
    pub async fn training_notified(&self) {
        self.inner.feed.training_notified().await;
    }

    /// What each (user, message) is trained as.
    pub async fn trained_as(&self, keys: Vec<(UserId, BlobId)>) -> Result<Vec<Option<TrainClass>>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT class FROM spam_trained WHERE user_id = ?1 AND blob = ?2",
            )?;
            keys.iter()
                .map(|(u, b)| {
                    Ok(st
                        .query_row((u.0, b.as_str()), |r| r.get::<_, i64>(0))
                        .optional()?
                        .map(TrainClass::from_code))
                })
                .collect()
        })
        .await
    }

    /// The models asked for, in one read; a model whose version the caller
    /// names as the one it has comes back `Unchanged`, without its bytes.
    pub async fn spam_models(
        &self,
        want: Vec<(ModelOwner, Option<i64>)>,
    ) -> Result<Vec<ModelRead>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT version, updated_at, CASE WHEN version = ?2 THEN NULL ELSE data END
                 FROM spam_models WHERE owner = ?1",
            )?;
            want.iter()
                .map(|(owner, have)| {
                    let row = st
                        .query_row((owner.key(), have.unwrap_or(-1)), |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get::<_, Option<Vec<u8>>>(2)?))
                        })
                        .optional()?;
                    Ok(match row {
                        None => ModelRead::Missing,
                        Some((_, _, None)) => ModelRead::Unchanged,
                        Some((version, updated_at, Some(bytes))) => ModelRead::Found(StoredModel {
                            version,
                            updated_at,
                            bytes,
                        }),
                    })
                })
                .collect()
        })
        .await
    }

    /// Writes a training step in one commit if every model's stored version
    /// is still the expected one; `Ok(false)` (nothing written) if another
    /// writer came first: read again and retry.
    pub async fn training_commit(&self, commit: TrainingCommit) -> Result<bool> {
        let wrote = self
            .inner
            .writer
            .write(move |ctx| apply_commit(ctx, &commit))
            .await?;
        if wrote {
            self.inner
                .models_generation
                .fetch_add(1, std::sync::atomic::Ordering::Release);
        }
        Ok(wrote)
    }

    /// A counter this process's training commits move on: while it stands
    /// still, no model changed here (another process, the admin CLI, may
    /// still have written one).
    pub fn models_generation(&self) -> u64 {
        self.inner
            .models_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Counts mail `user` sent to each of `addresses` (lowercased here), for
    /// the sender reputation: a correspondent's mail is rarely spam.
    pub async fn record_sent(
        &self,
        user: UserId,
        addresses: Vec<String>,
        max_senders: usize,
    ) -> Result<()> {
        self.inner
            .writer
            .write(move |ctx| {
                let now = now_secs();
                for a in &addresses {
                    ctx.conn
                        .prepare_cached(
                            "INSERT INTO spam_senders (user_id, address, sent, updated_at)
                             VALUES (?1, ?2, 1, ?3)
                             ON CONFLICT DO UPDATE SET sent = sent + 1, updated_at = ?3",
                        )?
                        .execute((user.0, a.to_lowercase(), now))?;
                }
                prune_senders(ctx.conn, user, max_senders)
            })
            .await
    }

    /// What `user`'s reputation table says of `address`.
    pub async fn sender_record(&self, user: UserId, address: &str) -> Result<Option<SenderRecord>> {
        let address = address.to_lowercase();
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT sent, ham, spam FROM spam_senders WHERE user_id = ?1 AND address = ?2",
            )?
            .query_row((user.0, &address), |r| {
                Ok(SenderRecord {
                    sent: r.get::<_, i64>(0)?.max(0) as u64,
                    ham: r.get::<_, i64>(1)?.max(0) as u64,
                    spam: r.get::<_, i64>(2)?.max(0) as u64,
                })
            })
            .optional()?)
        })
        .await
    }

    /// Journal, trained-message and sender counts for `user`.
    pub async fn training_stats(&self, user: UserId) -> Result<TrainingStats> {
        self.read(move |c| {
            let count = |sql: &str| -> Result<u64> {
                Ok(c.query_row(sql, [user.0], |r| r.get::<_, i64>(0))?.max(0) as u64)
            };
            Ok(TrainingStats {
                pending: count("SELECT COUNT(*) FROM spam_journal WHERE user_id = ?1")?,
                trained_spam: count(
                    "SELECT COUNT(*) FROM spam_trained WHERE user_id = ?1 AND class = 1",
                )?,
                trained_ham: count(
                    "SELECT COUNT(*) FROM spam_trained WHERE user_id = ?1 AND class = 0",
                )?,
                senders: count("SELECT COUNT(*) FROM spam_senders WHERE user_id = ?1")?,
            })
        })
        .await
    }
}

fn apply_commit(ctx: &mut WriteCtx<'_>, c: &TrainingCommit) -> Result<bool> {
    // Every check before any write: a conflict leaves nothing behind.
    for m in &c.models {
        let now: Option<i64> = ctx
            .conn
            .prepare_cached("SELECT version FROM spam_models WHERE owner = ?1")?
            .query_row([m.owner.key()], |r| r.get(0))
            .optional()?;
        if now != m.expected {
            return Ok(false);
        }
    }
    let now = now_secs();
    for m in &c.models {
        let version: i64 = ctx.conn.query_row(
            "INSERT INTO meta (key, value) VALUES ('spam_model_version', 1)
             ON CONFLICT(key) DO UPDATE SET value = value + 1 RETURNING value",
            [],
            |r| r.get(0),
        )?;
        ctx.conn
            .prepare_cached(
                "INSERT INTO spam_models (owner, version, updated_at, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(owner) DO UPDATE SET version = ?2, updated_at = ?3, data = ?4",
            )?
            .execute((m.owner.key(), version, now, &m.bytes))?;
    }
    for (user, blob, class) in &c.trained {
        match class {
            Some(class) => ctx
                .conn
                .prepare_cached(
                    "INSERT INTO spam_trained (user_id, blob, class, at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO UPDATE SET class = ?3, at = ?4",
                )?
                .execute((user.0, blob.as_str(), class.code(), now))?,
            None => ctx
                .conn
                .prepare_cached("DELETE FROM spam_trained WHERE user_id = ?1 AND blob = ?2")?
                .execute((user.0, blob.as_str()))?,
        };
    }
    let mut users: Vec<UserId> = Vec::new();
    for s in &c.senders {
        ctx.conn
            .prepare_cached(
                "INSERT INTO spam_senders (user_id, address, ham, spam, updated_at)
                 VALUES (?1, ?2, MAX(?3, 0), MAX(?4, 0), ?5)
                 ON CONFLICT DO UPDATE SET ham = MAX(ham + ?3, 0), spam = MAX(spam + ?4, 0),
                     updated_at = ?5",
            )?
            .execute((s.user.0, &s.address, s.ham, s.spam, now))?;
        if !users.contains(&s.user) {
            users.push(s.user);
        }
    }
    for u in users {
        prune_senders(ctx.conn, u, c.max_senders)?;
    }
    for id in &c.done {
        let blob: Option<String> = ctx
            .conn
            .prepare_cached("DELETE FROM spam_journal WHERE id = ?1 RETURNING blob")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        if let Some(b) = blob.as_deref().and_then(BlobId::parse) {
            ctx.drop_blob_ref(&b)?;
        }
    }
    Ok(true)
}

/// Keeps `user`'s `max` most recently seen senders.
fn prune_senders(c: &Connection, user: UserId, max: usize) -> Result<()> {
    c.prepare_cached(
        "DELETE FROM spam_senders WHERE user_id = ?1 AND address IN (
             SELECT address FROM spam_senders WHERE user_id = ?1
             ORDER BY updated_at DESC, address LIMIT -1 OFFSET ?2)",
    )?
    .execute((user.0, max as i64))?;
    Ok(())
}

/// Adds a journal row and takes its blob reference.
fn journal(
    ctx: &mut WriteCtx<'_>,
    user: UserId,
    blob: &BlobId,
    size: u64,
    class: TrainClass,
    undo: bool,
) -> Result<()> {
    // The message's own row holds a reference, so this only counts one more.
    ctx.add_blob_ref(blob, size, None)?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO spam_journal (user_id, blob, class, undo, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute((user.0, blob.as_str(), class.code(), undo, now_secs()))?;
    ctx.wake_trainer();
    Ok(())
}

/// The class a COPY or MOVE from `src` to `dst` trains, if any.
pub(crate) fn copy_lesson(src: &Mailbox, dst: &Mailbox) -> Option<TrainClass> {
    let junk = |m: &Mailbox| m.special_use == Some(SpecialUse::Junk);
    let trash = dst.special_use == Some(SpecialUse::Trash);
    match (junk(src), junk(dst)) {
        (false, true) => Some(TrainClass::Spam),
        (true, false) if !trash => Some(TrainClass::Ham),
        _ => None,
    }
}

/// Journals what a COPY or MOVE of `messages` (blob, size) from `src` to
/// `dst` trains.
pub(crate) fn journal_copy(
    ctx: &mut WriteCtx<'_>,
    src: &Mailbox,
    dst: &Mailbox,
    messages: &[(BlobId, u64)],
) -> Result<()> {
    if let Some(class) = copy_lesson(src, dst) {
        for (blob, size) in messages {
            journal(ctx, dst.user, blob, *size, class, false)?;
        }
    }
    Ok(())
}

/// What a flag change from `before` to `after` trains: `(class, undo)`
/// rows, in order.
pub(crate) fn flag_lessons(before: &Flags, after: &Flags) -> Vec<(TrainClass, bool)> {
    let has = |f: &Flags, ks: &[&str]| ks.iter().any(|k| f.has_keyword(k));
    let (s0, s1) = (has(before, SPAM_KEYWORDS), has(after, SPAM_KEYWORDS));
    let (h0, h1) = (has(before, HAM_KEYWORDS), has(after, HAM_KEYWORDS));
    match (!s0 && s1, !h0 && h1) {
        (true, false) => vec![(TrainClass::Spam, false)],
        (false, true) => vec![(TrainClass::Ham, false)],
        // Both set at once says nothing.
        (true, true) => Vec::new(),
        (false, false) => {
            let mut v = Vec::new();
            if s0 && !s1 {
                v.push((TrainClass::Spam, true));
            }
            if h0 && !h1 {
                v.push((TrainClass::Ham, true));
            }
            v
        }
    }
}

/// Journals what a flag change of one message trains.
pub(crate) fn journal_flags(
    ctx: &mut WriteCtx<'_>,
    user: UserId,
    (blob, size): (&BlobId, u64),
    before: &Flags,
    after: &Flags,
) -> Result<()> {
    for (class, undo) in flag_lessons(before, after) {
        journal(ctx, user, blob, size, class, undo)?;
    }
    Ok(())
}

/// Removes a deleted user's training rows (dropping the journal's blob
/// references) and their model.
pub(crate) fn delete_user_rows(ctx: &mut WriteCtx<'_>, user: UserId) -> Result<()> {
    let blobs: Vec<String> = {
        let mut st = ctx
            .conn
            .prepare("DELETE FROM spam_journal WHERE user_id = ?1 RETURNING blob")?;
        st.query_map([user.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    for b in blobs.iter().filter_map(|b| BlobId::parse(b)) {
        ctx.drop_blob_ref(&b)?;
    }
    for sql in [
        "DELETE FROM spam_trained WHERE user_id = ?1",
        "DELETE FROM spam_senders WHERE user_id = ?1",
        "DELETE FROM spam_models WHERE owner = ?1",
    ] {
        ctx.conn.execute(sql, [user.0])?;
    }
    Ok(())
}
