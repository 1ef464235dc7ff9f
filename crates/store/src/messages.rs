//! Messages: delivery, APPEND, flags, expunge, and the reads IMAP and POP3
//! need (listing, cached ENVELOPE/BODYSTRUCTURE, raw bytes, CONDSTORE and
//! QRESYNC change queries, quota usage).

use rusqlite::{Connection, OptionalExtension, Row};

use crate::blobs::BlobId;
use crate::error::{Result, StoreError};
use crate::feed::{ChangeKind, MailboxChange};
use crate::mailboxes::mailbox_by_id;
use crate::parse::{self, SortFields};
use crate::types::{Flags, MailboxId, ModSeq, SystemFlags, Uid, UidValidity, UserId};
use crate::writer::WriteCtx;
use crate::{Store, now_secs};

/// A message to store: the raw bytes (CRLF line ends), its INTERNALDATE
/// (seconds since the epoch; now when `None`) and its initial flags.
#[derive(Clone, Debug, Default)]
pub struct NewMessage {
    pub raw: Vec<u8>,
    pub internal_date: Option<i64>,
    pub flags: Flags,
}

/// A local recipient of a delivery. The mailbox is the one with `special`
/// use if the user has one (so a Junk folder renamed `Spam` still gets the
/// spam), else the one named `mailbox`, else INBOX: a target never fails for
/// want of a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryTarget {
    pub user: UserId,
    pub mailbox: Option<String>,
    pub special: Option<crate::SpecialUse>,
    /// Create `mailbox` when the user has none of that name (Sieve
    /// `fileinto :create`, RFC 5490 §3.2) instead of falling back to INBOX.
    pub create: bool,
    /// The copy's flags and keywords instead of the message's (Sieve
    /// imap4flags, RFC 5232).
    pub flags: Option<Flags>,
}

impl DeliveryTarget {
    pub fn inbox(user: UserId) -> Self {
        Self {
            user,
            mailbox: None,
            special: None,
            create: false,
            flags: None,
        }
    }

    /// The user's `\Junk` mailbox (RFC 6154), else one named `Junk`.
    pub fn junk(user: UserId) -> Self {
        Self {
            user,
            mailbox: Some("Junk".into()),
            special: Some(crate::SpecialUse::Junk),
            create: false,
            flags: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub user: UserId,
    pub mailbox: MailboxId,
    pub uidvalidity: UidValidity,
    pub uid: Uid,
    pub modseq: ModSeq,
}

/// APPENDUID's values (RFC 4315) and the new message's MODSEQ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    pub mailbox: MailboxId,
    pub uidvalidity: UidValidity,
    pub uid: Uid,
    pub modseq: ModSeq,
}

/// A message as listed for SELECT, FETCH and POP3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageInfo {
    pub uid: Uid,
    pub flags: Flags,
    pub modseq: ModSeq,
    pub size: u64,
    pub internal_date: i64,
    pub blob: BlobId,
}

/// The result of `set_flags`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlagUpdate {
    /// Messages whose flags changed, with their new flags and MODSEQ.
    pub updated: Vec<(Uid, Flags, ModSeq)>,
    /// Messages left alone because their MODSEQ was above UNCHANGEDSINCE
    /// (RFC 7162 §3.1.3: reported in the MODIFIED response code).
    pub modified: Vec<Uid>,
}

/// Which messages `expunge` removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpungeWhich {
    /// All messages with `\Deleted` (IMAP EXPUNGE, CLOSE).
    Deleted,
    /// Those of the given UIDs that have `\Deleted` (UID EXPUNGE, RFC 4315).
    DeletedAmong(Vec<Uid>),
    /// The given UIDs whatever their flags (POP3 DELE at QUIT, MOVE).
    Uids(Vec<Uid>),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expunged {
    pub uids: Vec<Uid>,
    pub modseq: ModSeq,
}

/// What changed in a mailbox since a MODSEQ (CONDSTORE / QRESYNC).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub changed: Vec<MessageInfo>,
    pub vanished: Vec<Uid>,
    pub highest_modseq: ModSeq,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuotaUsage {
    pub used_bytes: u64,
    pub used_messages: u64,
    pub limit_bytes: Option<u64>,
    pub limit_messages: Option<u64>,
}

/// A message prepared outside the writer: hashed, parsed, and, when it is
/// too large to live inline, its blob file written and fsynced.
pub(crate) struct Prepared {
    pub(crate) blob: BlobId,
    pub(crate) size: u64,
    meta_json: String,
    /// ENVELOPE and BODYSTRUCTURE as sent (`structure.rs`), when the
    /// process registered a renderer.
    structure: Option<Vec<u8>>,
    sort: SortFields,
    /// SORT (DATE)'s value and the thread head (`sort_keys.rs`).
    sort_date: i64,
    thread_head: Option<Vec<u8>>,
    pub(crate) flags: Flags,
    internal_date: i64,
    raw: Vec<u8>,
    /// Kept in the `blobs` row (covered by the batch's commit) rather than a file.
    inline: bool,
}

impl Prepared {
    pub(crate) fn inline_bytes(&self) -> Option<&[u8]> {
        self.inline.then_some(&self.raw[..])
    }
}

/// A blob's bytes, from its row when inline, else its file.
pub(crate) fn blob_bytes(
    c: &Connection,
    blobs: &crate::blobs::BlobDir,
    id: &BlobId,
) -> Result<Vec<u8>> {
    let inline: Option<Option<Vec<u8>>> = c
        .prepare_cached("SELECT data FROM blobs WHERE hash = ?1")?
        .query_row([id.as_str()], |r| r.get(0))
        .optional()?;
    match inline {
        Some(Some(data)) => Ok(data),
        _ => blobs.read(id),
    }
}

pub(crate) const MSG_COLS: &str = "uid, flags, keywords, modseq, size, internal_date, blob";

pub(crate) fn message_row(r: &Row<'_>) -> rusqlite::Result<MessageInfo> {
    let uid: u32 = r.get(0)?;
    let blob: String = r.get(6)?;
    Ok(MessageInfo {
        uid: Uid::new(uid).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, 0))?,
        flags: Flags::from_columns(r.get(1)?, &r.get::<_, String>(2)?),
        modseq: ModSeq(r.get::<_, i64>(3)?.max(0) as u64),
        size: r.get::<_, i64>(4)?.max(0) as u64,
        internal_date: r.get(5)?,
        blob: BlobId::parse(&blob).ok_or(rusqlite::Error::InvalidColumnType(
            6,
            "blob".into(),
            rusqlite::types::Type::Text,
        ))?,
    })
}

/// How many times a delivery rewrites its blob when the file vanished
/// between the write and the commit (see `WriteCtx::add_blob_ref`).
const BLOB_RETRIES: usize = 3;

impl Store {
    /// Hashes and parses the message off the async threads and, for a
    /// message above the inline limit, writes its blob file (fsynced).
    async fn prepare(&self, msg: NewMessage) -> Result<Prepared> {
        let size = msg.raw.len() as u64;
        if size > self.inner.opts.max_message_size {
            return Err(StoreError::TooLarge {
                size,
                max: self.inner.opts.max_message_size,
            });
        }
        let inline = size <= self.inner.opts.inline_max;
        let blobs = self.inner.blobs.clone();
        self.blocking("prepare", move || {
            let blob = BlobId::of(&msg.raw);
            let mut parsed = parse::parse(&msg.raw);
            let internal_date = msg.internal_date.unwrap_or_else(now_secs);
            let sort_date = crate::sort_keys::sort_date(&parsed.meta.envelope, internal_date);
            let b = &parsed.meta.body;
            let thread_head = msg
                .raw
                .get(b.header_start as usize..b.body_start as usize)
                .and_then(crate::sort_keys::thread_head);
            let meta_json = parse::encode_meta(&mut parsed.meta)
                .map_err(|e| StoreError::Corrupt(format!("encoding message cache: {e}")))?;
            // From the meta as stored (clipped), as a later read renders it.
            let structure = crate::structure::render(&parsed.meta);
            if !inline {
                blobs.write(&blob, &msg.raw)?;
            }
            Ok(Prepared {
                blob,
                size,
                meta_json,
                structure,
                sort: parsed.sort,
                sort_date,
                thread_head,
                flags: msg.flags,
                internal_date,
                raw: msg.raw,
                inline,
            })
        })
        .await
    }

    /// Stores one message for several local recipients: one blob, one commit.
    /// Returns when the message is durable, with one result per target (a
    /// target over quota fails alone). The blob is written once however many
    /// recipients there are.
    pub async fn deliver(
        &self,
        msg: NewMessage,
        targets: Vec<DeliveryTarget>,
    ) -> Result<Vec<Result<Delivered>>> {
        Ok(self.accept(msg, targets, None, false).await?.local)
    }

    /// What SMTP calls once per accepted message: delivers to the local
    /// targets and queues the outbound part in one commit, so one `250`
    /// covers both. With `quota_grace`, a mailbox may go over its quota by
    /// this message (quota was checked when the recipient was accepted; the
    /// message must not be lost now). A failed queue insert fails the whole
    /// call.
    pub async fn accept(
        &self,
        msg: NewMessage,
        targets: Vec<DeliveryTarget>,
        outbound: Option<crate::Outbound>,
        quota_grace: bool,
    ) -> Result<crate::Accepted> {
        self.accept_all(crate::Acceptance {
            variants: vec![(msg, targets)],
            outbound,
            quota_grace,
            ..Default::default()
        })
        .await
    }

    /// Stores a message in one mailbox of `user` (IMAP APPEND, import).
    pub async fn append(
        &self,
        user: UserId,
        mailbox: MailboxId,
        msg: NewMessage,
    ) -> Result<Appended> {
        let d = self
            .commit_message(msg, move |ctx, p| {
                let mb = mailbox_by_id(ctx.conn, mailbox)?
                    .filter(|m| m.user == user)
                    .ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
                insert_message(ctx, user, mb.id, p, false)
            })
            .await?;
        Ok(Appended {
            mailbox: d.mailbox,
            uidvalidity: d.uidvalidity,
            uid: d.uid,
            modseq: d.modseq,
        })
    }

    /// Stores several messages in one mailbox in one commit, all or none
    /// (IMAP MULTIAPPEND, RFC 3502): quota and UIDs are checked message by
    /// message inside one job, and a refusal of any rolls back all.
    pub async fn append_many(
        &self,
        user: UserId,
        mailbox: MailboxId,
        msgs: Vec<NewMessage>,
    ) -> Result<Vec<Appended>> {
        self.commit_messages(msgs, move |ctx, prepared| {
            let mb = mailbox_by_id(ctx.conn, mailbox)?
                .filter(|m| m.user == user)
                .ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
            let mut out = Vec::with_capacity(prepared.len());
            for p in prepared {
                let d = insert_message(ctx, user, mb.id, p, false)?;
                out.push(Appended {
                    mailbox: d.mailbox,
                    uidvalidity: d.uidvalidity,
                    uid: d.uid,
                    modseq: d.modseq,
                });
            }
            Ok(out)
        })
        .await
    }

    /// Prepares `msg` (blob written and fsynced), then runs `job` in the next
    /// write batch. If the blob file vanished in between (its last reference
    /// went away), writes it again and retries.
    pub(crate) async fn commit_message<T, F>(&self, msg: NewMessage, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&mut WriteCtx<'_>, &Prepared) -> Result<T> + Clone + Send + 'static,
    {
        self.commit_messages(vec![msg], move |ctx, p| match p.first() {
            Some(p) => job(ctx, p),
            None => Err(StoreError::Commit("no message to commit".into())),
        })
        .await
    }

    /// [`Self::commit_message`] for several messages in one batch.
    pub(crate) async fn commit_messages<T, F>(&self, msgs: Vec<NewMessage>, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&mut WriteCtx<'_>, &[Prepared]) -> Result<T> + Clone + Send + 'static,
    {
        self.check_space()?;
        let mut prepared = Vec::with_capacity(msgs.len());
        for msg in msgs {
            prepared.push(self.prepare(msg).await?);
        }
        let prepared = std::sync::Arc::new(prepared);
        for attempt in 1..=BLOB_RETRIES {
            let (p, f) = (prepared.clone(), job.clone());
            match self.inner.writer.write(move |ctx| f(ctx, &p)).await {
                Err(StoreError::BlobMissing)
                    if attempt < BLOB_RETRIES && prepared.iter().any(|p| !p.inline) =>
                {
                    let (blobs, p) = (self.inner.blobs.clone(), prepared.clone());
                    tokio::task::spawn_blocking(move || {
                        for p in p.iter().filter(|p| !p.inline) {
                            blobs.write(&p.blob, &p.raw)?;
                        }
                        Ok::<(), StoreError>(())
                    })
                    .await
                    .map_err(|e| StoreError::Commit(format!("blob task failed: {e}")))??;
                }
                other => return other,
            }
        }
        Err(StoreError::BlobMissing)
    }

    /// STORE: changes flags of the given UIDs (absent UIDs are ignored). All
    /// messages changed by one call share one new MODSEQ.
    pub async fn set_flags(
        &self,
        mailbox: MailboxId,
        uids: Vec<Uid>,
        op: crate::FlagOp,
        flags: Flags,
        unchanged_since: Option<ModSeq>,
    ) -> Result<FlagUpdate> {
        self.inner
            .writer
            .write_flags(move |ctx| set_flags_rows(ctx, mailbox, uids, op, &flags, unchanged_since))
            .await
    }

    /// [`Store::set_flags`] then [`Store::expunge`] in one write job, so
    /// in one commit (one fsync) instead of two: a client that pipelines
    /// `STORE +FLAGS (\Deleted)` and `EXPUNGE` (a delete) waits for one.
    /// Each part succeeds or fails on its own, as two jobs would; the
    /// outer error is the commit's, which both share.
    pub async fn set_flags_then_expunge(
        &self,
        mailbox: MailboxId,
        uids: Vec<Uid>,
        op: crate::FlagOp,
        flags: Flags,
        unchanged_since: Option<ModSeq>,
        which: ExpungeWhich,
    ) -> Result<(Result<FlagUpdate>, Result<Expunged>)> {
        self.inner
            .writer
            .write(move |ctx| {
                let stored =
                    ctx.isolated(|c| set_flags_rows(c, mailbox, uids, op, &flags, unchanged_since));
                let expunged = ctx.isolated(|c| expunge_rows(c, mailbox, &which));
                Ok((stored, expunged))
            })
            .await
    }

    /// Removes messages; their UIDs are remembered with the new MODSEQ for
    /// QRESYNC, their blobs lose a reference, their size leaves the quota.
    pub async fn expunge(&self, mailbox: MailboxId, which: ExpungeWhich) -> Result<Expunged> {
        self.inner
            .writer
            .write(move |ctx| expunge_rows(ctx, mailbox, &which))
            .await
    }

    /// Every message of a mailbox in UID order.
    pub async fn messages(&self, mailbox: MailboxId) -> Result<Vec<MessageInfo>> {
        self.read(move |c| {
            let sql = format!("SELECT {MSG_COLS} FROM messages WHERE mailbox_id = ?1 ORDER BY uid");
            let mut st = c.prepare_cached(&sql)?;
            let rows = st
                .query_map([mailbox.0], message_row)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// The raw bytes of a message, from its row when inline, else its file.
    pub async fn read_blob(&self, blob: &BlobId) -> Result<Vec<u8>> {
        let id = blob.clone();
        let blobs = self.inner.blobs.clone();
        self.read(move |c| blob_bytes(c, &blobs, &id)).await
    }

    /// Messages changed and UIDs expunged after `since` (RFC 7162).
    pub async fn changes_since(&self, mailbox: MailboxId, since: ModSeq) -> Result<Changes> {
        self.read(move |c| {
            let mb =
                mailbox_by_id(c, mailbox)?.ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
            let sql = format!(
                "SELECT {MSG_COLS} FROM messages WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid"
            );
            let changed = c
                .prepare_cached(&sql)?
                .query_map((mailbox.0, since.0 as i64), message_row)?
                .collect::<rusqlite::Result<_>>()?;
            let vanished = c
                .prepare_cached(
                    "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
                )?
                .query_map((mailbox.0, since.0 as i64), |r| r.get::<_, u32>(0))?
                .filter_map(|u| u.map(Uid::new).transpose())
                .collect::<rusqlite::Result<_>>()?;
            Ok(Changes {
                changed,
                vanished,
                highest_modseq: mb.highest_modseq,
            })
        })
        .await
    }

    pub async fn quota(&self, user: UserId) -> Result<QuotaUsage> {
        self.read(move |c| quota_of(c, user)).await
    }

    /// [`Store::quota`] and whether the user has an active Sieve script,
    /// in one read: SMTP asks both for every local recipient at RCPT, and
    /// each read is a hand-off to a blocking thread and back.
    pub async fn quota_and_sieve(&self, user: UserId) -> Result<(QuotaUsage, bool)> {
        self.read(move |c| {
            let q = quota_of(c, user)?;
            let scripted = c
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM sieve_scripts WHERE user_id = ?1 AND active = 1)",
                )?
                .query_row([user.0], |r| r.get(0))?;
            Ok((q, scripted))
        })
        .await
    }
}

pub(crate) fn quota_of(c: &Connection, user: UserId) -> Result<QuotaUsage> {
    c.prepare_cached(
        "SELECT used_bytes, used_messages, quota_bytes, quota_messages FROM users WHERE id = ?1",
    )?
    .query_row([user.0], |r| {
        Ok(QuotaUsage {
            used_bytes: r.get::<_, i64>(0)?.max(0) as u64,
            used_messages: r.get::<_, i64>(1)?.max(0) as u64,
            limit_bytes: r.get::<_, Option<i64>>(2)?.map(|v| v.max(0) as u64),
            limit_messages: r.get::<_, Option<i64>>(3)?.map(|v| v.max(0) as u64),
        })
    })
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("user {}", user.0)))
}

/// Inserts one message row: quota check, next UID, new MODSEQ, blob ref.
pub(crate) fn insert_message(
    ctx: &mut WriteCtx<'_>,
    user: UserId,
    mailbox: MailboxId,
    p: &Prepared,
    quota_grace: bool,
) -> Result<Delivered> {
    insert_flagged(ctx, user, mailbox, p, &p.flags, quota_grace)
}

/// [`insert_message`] with flags other than the message's.
pub(crate) fn insert_flagged(
    ctx: &mut WriteCtx<'_>,
    user: UserId,
    mailbox: MailboxId,
    p: &Prepared,
    flags: &Flags,
    quota_grace: bool,
) -> Result<Delivered> {
    let q = quota_of(ctx.conn, user)?;
    if !quota_grace && q.limit_bytes.is_some_and(|l| q.used_bytes + p.size > l) {
        return Err(StoreError::QuotaExceeded(format!(
            "mailbox would hold {} of {} bytes",
            q.used_bytes + p.size,
            q.limit_bytes.unwrap_or_default()
        )));
    }
    if !quota_grace && q.limit_messages.is_some_and(|l| q.used_messages + 1 > l) {
        return Err(StoreError::QuotaExceeded(format!(
            "mailbox holds {} of {} messages",
            q.used_messages,
            q.limit_messages.unwrap_or_default()
        )));
    }
    let mb =
        mailbox_by_id(ctx.conn, mailbox)?.ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
    let uid =
        Uid::new(mb.uidnext).ok_or_else(|| StoreError::Invalid("UID space exhausted".into()))?;
    if mb.uidnext == u32::MAX {
        return Err(StoreError::Invalid("UID space exhausted".into()));
    }
    let modseq = ModSeq(mb.highest_modseq.0 + 1);
    ctx.add_blob_ref(&p.blob, p.size, p.inline_bytes())?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, size, internal_date,
                saved_at, blob, meta, hdr_date, hdr_subject, hdr_from, hdr_to, hdr_cc, message_id,
                in_reply_to, refs, email_id, sort_date, thread_head)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                ?19, ?20, ?21)",
        )?
        .execute(rusqlite::params![
            mailbox.0,
            uid.get(),
            modseq.0 as i64,
            i64::from(flags.system.0),
            flags.keywords_column(),
            p.size as i64,
            p.internal_date,
            now_secs(),
            p.blob.as_str(),
            &p.meta_json,
            p.sort.date,
            &p.sort.subject,
            &p.sort.from,
            &p.sort.to,
            &p.sort.cc,
            &p.sort.message_id,
            &p.sort.in_reply_to,
            &p.sort.references,
            crate::object_ids::new_email_id(mb.uidvalidity, uid),
            p.sort_date,
            p.thread_head,
        ])?;
    if let Some(structure) = &p.structure {
        ctx.conn
            .prepare_cached(
                "INSERT INTO message_structure (mailbox_id, uid, structure) VALUES (?1, ?2, ?3)",
            )?
            .execute((mailbox.0, uid.get(), structure))?;
    }
    ctx.conn
        .prepare_cached("UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1")?
        .execute((mailbox.0, uid.get() + 1, modseq.0 as i64))?;
    ctx.conn
        .prepare_cached(
            "UPDATE users SET used_bytes = used_bytes + ?2, used_messages = used_messages + 1 WHERE id = ?1",
        )?
        .execute((user.0, p.size as i64))?;
    ctx.publish(MailboxChange {
        mailbox,
        modseq,
        kind: ChangeKind::New {
            uids: vec![uid],
            flags: vec![flags.as_stored()],
        },
    });
    Ok(Delivered {
        user,
        mailbox,
        uidvalidity: mb.uidvalidity,
        uid,
        modseq,
    })
}

/// STORE's rows: the body of [`Store::set_flags`], for jobs that change
/// flags among other things in one commit.
pub(crate) fn set_flags_rows(
    ctx: &mut WriteCtx<'_>,
    mailbox: MailboxId,
    uids: Vec<Uid>,
    op: crate::FlagOp,
    flags: &Flags,
    unchanged_since: Option<ModSeq>,
) -> Result<FlagUpdate> {
    let mb =
        mailbox_by_id(ctx.conn, mailbox)?.ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
    let modseq = ModSeq(mb.highest_modseq.0 + 1);
    let mut out = FlagUpdate::default();
    let sql = format!("SELECT {MSG_COLS} FROM messages WHERE mailbox_id = ?1 AND uid = ?2");
    for uid in uids {
        let Some(mut m) = ctx
            .conn
            .prepare_cached(&sql)?
            .query_row((mailbox.0, uid.get()), message_row)
            .optional()?
        else {
            continue;
        };
        if unchanged_since.is_some_and(|u| m.modseq > u) {
            out.modified.push(uid);
            continue;
        }
        let before = m.flags.clone();
        if !m.flags.apply(op, flags) {
            continue;
        }
        // `$Junk` / `$NotJunk` set or taken away trains the classifier.
        crate::training::journal_flags(ctx, mb.user, (&m.blob, m.size), &before, &m.flags)?;
        ctx.conn.execute(
            "UPDATE messages SET flags = ?3, keywords = ?4, modseq = ?5
             WHERE mailbox_id = ?1 AND uid = ?2",
            (
                mailbox.0,
                uid.get(),
                i64::from(m.flags.system.0),
                m.flags.keywords_column(),
                modseq.0 as i64,
            ),
        )?;
        ctx.publish(MailboxChange {
            mailbox,
            modseq,
            kind: ChangeKind::Flags {
                uid,
                flags: m.flags.as_stored(),
            },
        });
        out.updated.push((uid, m.flags, modseq));
    }
    if !out.updated.is_empty() {
        ctx.conn.execute(
            "UPDATE mailboxes SET highestmodseq = ?2 WHERE id = ?1",
            (mailbox.0, modseq.0 as i64),
        )?;
    }
    Ok(out)
}

pub(crate) fn expunge_rows(
    ctx: &mut WriteCtx<'_>,
    mailbox: MailboxId,
    which: &ExpungeWhich,
) -> Result<Expunged> {
    let mb =
        mailbox_by_id(ctx.conn, mailbox)?.ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
    let deleted = i64::from(SystemFlags::DELETED.0);
    let rows: Vec<(u32, String, i64)> = {
        let mut st = ctx.conn.prepare_cached(
            "SELECT uid, blob, size FROM messages
             WHERE mailbox_id = ?1 AND (?2 = 0 OR (flags & ?3) != 0) ORDER BY uid",
        )?;
        let all_flags = i64::from(!matches!(which, ExpungeWhich::Uids(_)));
        st.query_map((mailbox.0, all_flags, deleted), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?
    };
    let wanted: Option<std::collections::HashSet<u32>> = match which {
        ExpungeWhich::Deleted => None,
        ExpungeWhich::DeletedAmong(u) | ExpungeWhich::Uids(u) => {
            Some(u.iter().map(|u| u.get()).collect())
        }
    };
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|(uid, _, _)| wanted.as_ref().is_none_or(|w| w.contains(uid)))
        .collect();
    if rows.is_empty() {
        return Ok(Expunged {
            uids: Vec::new(),
            modseq: mb.highest_modseq,
        });
    }
    let modseq = ModSeq(mb.highest_modseq.0 + 1);
    let mut uids = Vec::with_capacity(rows.len());
    let mut bytes = 0i64;
    for (uid, blob, size) in &rows {
        ctx.conn
            .prepare_cached("DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2")?
            .execute((mailbox.0, uid))?;
        ctx.conn
            .prepare_cached("DELETE FROM message_structure WHERE mailbox_id = ?1 AND uid = ?2")?
            .execute((mailbox.0, uid))?;
        ctx.conn
            .prepare_cached(
                "INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO UPDATE SET modseq = excluded.modseq",
            )?
            .execute((mailbox.0, uid, modseq.0 as i64))?;
        ctx.conn
            .prepare_cached("DELETE FROM pop3_retrieved WHERE mailbox_id = ?1 AND uid = ?2")?
            .execute((mailbox.0, uid))?;
        ctx.conn
            .prepare_cached("DELETE FROM pop3_uidls WHERE mailbox_id = ?1 AND uid = ?2")?
            .execute((mailbox.0, uid))?;
        if let Some(b) = BlobId::parse(blob) {
            ctx.drop_blob_ref(&b)?;
        }
        bytes += size;
        if let Some(u) = Uid::new(*uid) {
            uids.push(u);
        }
    }
    ctx.conn.execute(
        "UPDATE users SET used_bytes = MAX(used_bytes - ?2, 0), used_messages = MAX(used_messages - ?3, 0)
         WHERE id = ?1",
        (mb.user.0, bytes, rows.len() as i64),
    )?;
    ctx.conn.execute(
        "UPDATE mailboxes SET highestmodseq = ?2 WHERE id = ?1",
        (mailbox.0, modseq.0 as i64),
    )?;
    ctx.publish(MailboxChange {
        mailbox,
        modseq,
        kind: ChangeKind::Expunged { uids: uids.clone() },
    });
    Ok(Expunged { uids, modseq })
}
