//! The full-text index (issue 19): an SQLite FTS5 table with the trigram
//! tokenizer, in the same database, of the text IMAP SEARCH TEXT and BODY
//! read ([`text::split_text`]), one row per message blob (so copies share
//! it). The table is contentless: it keeps the trigram index only, never
//! a second copy of the text.
//!
//! - Off (`[store] fts = false`, the default): a server's open drops the
//!   triggers below and empties the queue, so filing and expunging cost the
//!   index nothing; turned on again, it makes them again and queues what
//!   changed meanwhile ([`sync_triggers`]).
//! - Off the delivery path: a trigger queues a new blob in `fts_queue` in
//!   the commit that files it (one small insert), and the indexer
//!   ([`Store::run_indexer`]) decodes and indexes the queue in batches
//!   afterwards (a quarter of a second after the commit that woke it, so a
//!   burst of deliveries shares one batch), each batch one writer job. The
//!   trigger on delete queues a blob whose last message went, and the
//!   indexer drops its row.
//! - Exact: both columns hold the text folded as the scan folds it, and the
//!   tokenizer keeps case (`case_sensitive 1`, no diacritics removed), so a
//!   phrase query of a folded needle of 3 characters or more is a substring
//!   match of exactly the scan's text. A needle the index cannot answer
//!   (shorter, or holding a line break, which may span two parts), a
//!   message not indexed yet, and a message whose text was cut at
//!   `fts_max_text` when it is not found in the part indexed, are left to
//!   the scan ([`FtsAnswer`]).
//! - Rows are keyed by `fts_docs.id`, which names the blob and the version
//!   of the text extraction that made the row; a row of an older version is
//!   treated as missing. Each message names its blob's row in
//!   `messages.fts_doc` (NULL while none; set here and by a trigger for a
//!   message filed with a blob indexed already), so [`Store::fts_hits`]
//!   turns hits into a mailbox's UIDs with one index scan.

pub mod text;

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension};

use crate::blobs::BlobId;
use crate::error::Result;
use crate::types::{MailboxId, UserId};
use crate::{Store, meta_of};

/// The version of the text extraction; rows made by another are ignored
/// and made again by `postern index rebuild`.
pub const FTS_VERSION: i64 = 1;

/// Blobs decoded and indexed per writer job at most.
const BATCH_DOCS: usize = 64;
/// How long the indexer waits after a commit wakes it, so that one batch
/// (one commit) indexes what many deliveries filed meanwhile. With SMTP
/// sending a new message every fraction of a millisecond, waking at once
/// doubled the fsyncs per message; a quarter of a second is still soon
/// for a search (a message not yet indexed is found by the scan).
const INDEX_SETTLE: std::time::Duration = std::time::Duration::from_millis(250);

/// The triggers that keep the queue and the messages' `fts_doc` in step
/// with the messages (made by migrations 18 and 24), by name. They exist
/// only while a server runs with the index on ([`sync_triggers`]).
const TRIGGERS: [(&str, &str); 3] = [
    (
        "fts_filed",
        "CREATE TRIGGER fts_filed AFTER INSERT ON messages
         WHEN NOT EXISTS (SELECT 1 FROM fts_docs WHERE blob = NEW.blob)
         BEGIN
             INSERT OR IGNORE INTO fts_queue (blob) VALUES (NEW.blob);
         END;",
    ),
    (
        "fts_removed",
        "CREATE TRIGGER fts_removed AFTER DELETE ON messages
         WHEN EXISTS (SELECT 1 FROM fts_docs WHERE blob = OLD.blob)
             AND NOT EXISTS (SELECT 1 FROM messages WHERE blob = OLD.blob)
         BEGIN
             INSERT OR IGNORE INTO fts_queue (blob) VALUES (OLD.blob);
         END;",
    ),
    (
        "fts_linked",
        "CREATE TRIGGER fts_linked AFTER INSERT ON messages
         WHEN EXISTS (SELECT 1 FROM fts_docs WHERE blob = NEW.blob)
         BEGIN
             UPDATE messages SET fts_doc = (SELECT id FROM fts_docs WHERE blob = NEW.blob)
             WHERE id = NEW.id;
         END;",
    ),
];

/// Makes the database follow a server's `[store] fts` setting, at its
/// open. Off: the triggers go and the queue is emptied, so a message filed
/// or expunged costs the index nothing (before, every delivery queued its
/// blob and the indexer emptied the queue again in a commit, and an fsync,
/// of its own). On, with the triggers missing (the index was off): they
/// are made again, and what changed meanwhile is queued: messages filed
/// with a blob that has a row are linked to it, blobs without a row are
/// queued to be indexed, and rows whose blob no message holds any more to
/// be dropped. Only a server's open does this (the admin CLI beside it
/// leaves the triggers as the server set them).
pub(crate) fn sync_triggers(conn: &Connection, on: bool) -> Result<()> {
    let exists = |name: &str| -> Result<bool> {
        Ok(conn
            .prepare_cached("SELECT 1 FROM sqlite_schema WHERE type = 'trigger' AND name = ?1")?
            .exists([name])?)
    };
    let mut missing = Vec::new();
    for (name, sql) in TRIGGERS {
        if !exists(name)? {
            missing.push(sql);
        }
    }
    if on && missing.is_empty() {
        return Ok(());
    }
    crate::writer::begin_immediate(conn)?;
    let r = (|| -> Result<()> {
        if on {
            for sql in missing {
                conn.execute_batch(sql)?;
            }
            conn.execute_batch(
                "UPDATE messages SET fts_doc = (SELECT d.id FROM fts_docs d WHERE d.blob = messages.blob)
                    WHERE fts_doc IS NULL AND blob IN (SELECT blob FROM fts_docs);
                 INSERT OR IGNORE INTO fts_queue (blob)
                    SELECT DISTINCT blob FROM messages WHERE fts_doc IS NULL;
                 INSERT OR IGNORE INTO fts_queue (blob)
                    SELECT blob FROM fts_docs WHERE blob NOT IN (SELECT blob FROM messages);",
            )?;
        } else {
            for (name, _) in TRIGGERS {
                conn.execute_batch(&format!("DROP TRIGGER IF EXISTS {name};"))?;
            }
            conn.execute_batch("DELETE FROM fts_queue;")?;
        }
        conn.execute_batch("COMMIT")?;
        Ok(())
    })();
    if r.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    r
}

/// Index hits up to which [`Store::fts_hits`] seeks each hit's messages
/// rather than reading the mailbox's whole (row, uid) index (lower in
/// this crate's tests, so both ways are taken).
const SEEK_HITS: usize = if cfg!(test) { 2 } else { 4096 };
/// Text per writer job at most, so one job never holds the writer long
/// (an accept queued behind it waits for it).
const BATCH_TEXT: usize = 2 * 1024 * 1024;

/// One text key the index is asked about: BODY (`body_only`) or TEXT, the
/// needle folded as the scan folds it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FtsQuery {
    pub body_only: bool,
    pub needle: String,
}

impl FtsQuery {
    /// Whether the index answers this needle exactly: at least one trigram,
    /// and no line break (every segment of the text ends with one, so a
    /// needle without cannot span a part's header and body).
    pub fn answerable(needle: &str) -> bool {
        needle.chars().nth(2).is_some() && !needle.contains('\n')
    }
}

/// What the index says about one mailbox.
#[derive(Debug, Default)]
pub struct FtsAnswer {
    /// UIDs whose message is indexed, with whether all of its text is
    /// (`false`: cut at the limit, so only a hit is certain).
    pub docs: HashMap<u32, bool>,
    /// Per query asked, the UIDs whose indexed text holds the needle.
    pub hits: HashMap<FtsQuery, HashSet<u32>>,
}

impl FtsAnswer {
    /// The index's answer for `uid` on `q`: `None` when the scan must decide.
    pub fn decide(&self, uid: u32, q: &FtsQuery) -> Option<bool> {
        let complete = *self.docs.get(&uid)?;
        let hit = self.hits.get(q)?.contains(&uid);
        (hit || complete).then_some(hit)
    }
}

/// What the index alone says of one mailbox ([`Store::fts_hits`]).
#[derive(Debug, Default)]
pub struct FtsHits {
    /// Per query asked, the UIDs whose indexed text holds the needle,
    /// ascending.
    pub hits: HashMap<FtsQuery, Vec<u32>>,
    /// UIDs the index cannot answer for, ascending: not indexed (yet), of
    /// an older extraction, or cut at `fts_max_text`.
    pub unsure: Vec<u32>,
}

/// Progress of [`Store::fts_rebuild`] and of an indexer pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FtsProgress {
    pub done: u64,
    pub total: u64,
}

/// Index size figures (`postern index stats`, bench/imap/fts.sh).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FtsStats {
    pub docs: u64,
    pub queued: u64,
    /// Bytes of the FTS5 shadow tables and `fts_docs` (dbstat).
    pub index_bytes: u64,
}

/// One queued blob, looked at off the writer.
struct Doc {
    blob: String,
    work: Work,
}

enum Work {
    /// Its folded header and body text, and whether nothing was cut.
    Index(String, String, bool),
    /// No message holds the blob any more: its row goes.
    Drop,
    /// Indexed already (queued again by a delete that left a copy).
    Keep,
}

fn match_expr(q: &FtsQuery) -> String {
    let phrase = format!("\"{}\"", q.needle.replace('"', "\"\""));
    if q.body_only {
        format!("body : {phrase}")
    } else {
        phrase
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn cut(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut at = max;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
    true
}

/// The folded header and body text of `raw`, each cut to its share of
/// `max` bytes; the flag says nothing was cut.
pub(crate) fn index_text(raw: &[u8], max: usize) -> (String, String, bool) {
    let meta = meta_of(raw);
    let (mut head, mut body) = text::split_text(raw, &meta.body);
    let head_cut = cut(&mut head, max / 4);
    let body_cut = cut(&mut body, max - head.len());
    (head, body, !(head_cut || body_cut))
}

impl Store {
    /// Whether SEARCH may consult the index (`[store] fts`).
    pub fn fts_enabled(&self) -> bool {
        self.inner.opts.fts
    }

    /// What the index knows of `mailbox` for `queries` (each
    /// [`FtsQuery::answerable`]); `None` when the index is off.
    pub async fn fts_search(
        &self,
        mailbox: MailboxId,
        queries: Vec<FtsQuery>,
    ) -> Result<Option<FtsAnswer>> {
        if !self.fts_enabled() {
            return Ok(None);
        }
        self.read(move |c| {
            let mut answer = FtsAnswer::default();
            // Two plain queries joined here: one MATCH over the index, never
            // one per message (SQLite may plan the join inside out).
            let mut by_doc: HashMap<i64, Vec<u32>> = HashMap::new();
            let mut st = c.prepare_cached(
                "SELECT m.uid, d.complete, d.id FROM messages m JOIN fts_docs d ON d.blob = m.blob
                 WHERE m.mailbox_id = ?1 AND d.version = ?2",
            )?;
            let rows = st.query_map((mailbox.0, FTS_VERSION), |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (uid, complete, doc) = row?;
                answer.docs.insert(uid, complete);
                by_doc.entry(doc).or_default().push(uid);
            }
            let mut st = c.prepare_cached("SELECT rowid FROM fts WHERE fts MATCH ?1")?;
            for q in queries {
                let mut uids = HashSet::new();
                let docs = st.query_map([match_expr(&q)], |r| r.get::<_, i64>(0))?;
                for doc in docs {
                    if let Some(u) = by_doc.get(&doc?) {
                        uids.extend(u);
                    }
                }
                answer.hits.insert(q, uids);
            }
            Ok(answer)
        })
        .await
        .map(Some)
    }

    /// The UIDs of `mailbox` each of `queries` (each
    /// [`FtsQuery::answerable`]) finds, and those the index does not know
    /// well enough to say; `None` when the index is off. Read through the
    /// memory-mapped reader: a common needle's trigrams have long doclists.
    pub async fn fts_hits(
        &self,
        mailbox: MailboxId,
        queries: Vec<FtsQuery>,
    ) -> Result<Option<FtsHits>> {
        if !self.fts_enabled() {
            return Ok(None);
        }
        let reader = self.bulk_reader().await?;
        reader
            .read(move |c, _| {
                let mut docs: Vec<(FtsQuery, Vec<i64>)> = Vec::with_capacity(queries.len());
                let mut st =
                    c.prepare_cached("SELECT rowid FROM fts WHERE fts MATCH ?1 ORDER BY rowid")?;
                for q in queries {
                    let ids = st
                        .query_map([match_expr(&q)], |r| r.get::<_, i64>(0))?
                        .collect::<rusqlite::Result<Vec<i64>>>()?;
                    docs.push((q, ids));
                }
                // Rows of another extraction or cut short: few, by index.
                let unsure_docs: Vec<i64> = c
                    .prepare_cached(
                        "SELECT id FROM fts_docs INDEXED BY fts_docs_state
                         WHERE version < ?1 OR version > ?1 OR (version = ?1 AND complete = 0)",
                    )?
                    .query_map([FTS_VERSION], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let mut unsure_docs = unsure_docs;
                unsure_docs.sort_unstable();
                let mut out = FtsHits::default();
                // `messages.fts_doc` names each message's row, indexed by
                // (mailbox, row, uid): the messages without a row are one
                // range, and a row's messages one seek, with no join on
                // the blob.
                let mut by_doc = c.prepare_cached(
                    "SELECT uid FROM messages INDEXED BY messages_fts
                     WHERE mailbox_id = ?1 AND fts_doc IS ?2",
                )?;
                let mut uids_of = |doc: Option<i64>, into: &mut Vec<u32>| -> Result<()> {
                    let mut rows = by_doc.query((mailbox.0, doc))?;
                    while let Some(r) = rows.next()? {
                        into.push(r.get(0)?);
                    }
                    Ok(())
                };
                uids_of(None, &mut out.unsure)?;
                for &d in &unsure_docs {
                    uids_of(Some(d), &mut out.unsure)?;
                }
                out.unsure.sort_unstable();
                let total: usize = docs.iter().map(|(_, ids)| ids.len()).sum();
                let mut hits: Vec<Vec<u32>> = vec![Vec::new(); docs.len()];
                if total <= SEEK_HITS {
                    // Few hits: a seek per hit.
                    for ((_, ids), hits) in docs.iter().zip(hits.iter_mut()) {
                        for &d in ids {
                            uids_of(Some(d), hits)?;
                        }
                    }
                } else {
                    // Many: the mailbox's rows in row order, merged with
                    // each query's hits (row order too).
                    let mut st = c.prepare_cached(
                        "SELECT fts_doc, uid FROM messages INDEXED BY messages_fts
                         WHERE mailbox_id = ?1 AND fts_doc IS NOT NULL ORDER BY fts_doc",
                    )?;
                    let mut at = vec![0usize; docs.len()];
                    let mut rows = st.query([mailbox.0])?;
                    while let Some(r) = rows.next()? {
                        let (doc, uid): (i64, u32) = (r.get(0)?, r.get(1)?);
                        for (((_, ids), hits), at) in
                            docs.iter().zip(hits.iter_mut()).zip(at.iter_mut())
                        {
                            while ids.get(*at).is_some_and(|&i| i < doc) {
                                *at += 1;
                            }
                            if ids.get(*at) == Some(&doc) {
                                hits.push(uid);
                            }
                        }
                    }
                }
                for h in &mut hits {
                    h.sort_unstable();
                    h.retain(|u| out.unsure.binary_search(u).is_err());
                }
                for ((q, _), uids) in docs.into_iter().zip(hits) {
                    out.hits.insert(q, uids);
                }
                Ok(out)
            })
            .await
            .map(Some)
    }

    /// Indexes (or, for blobs no message holds any more, unindexes) up to
    /// one batch of the queue; returns how many queued blobs it took.
    /// With the index off, nothing is queued ([`sync_triggers`]): none.
    pub async fn fts_index_batch(&self) -> Result<usize> {
        if !self.fts_enabled() {
            return Ok(0);
        }
        let max = self.inner.opts.fts_max_text;
        let blobs = self.inner.blobs.clone();
        let docs = self
            .read(move |c| {
                let queued: Vec<String> = c
                    .prepare_cached("SELECT blob FROM fts_queue LIMIT ?1")?
                    .query_map([BATCH_DOCS as i64], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let mut docs = Vec::new();
                let mut size = 0;
                for blob in queued {
                    if size >= BATCH_TEXT {
                        break;
                    }
                    let id = BlobId::parse(&blob);
                    let work = match id {
                        Some(_) if !live(c, &blob)? => Work::Drop,
                        Some(_) if current(c, &blob)? => Work::Keep,
                        Some(id) => match crate::messages::blob_bytes(c, &blobs, &id) {
                            Ok(raw) => {
                                let (head, body, complete) = index_text(&raw, max);
                                size += head.len() + body.len();
                                Work::Index(head, body, complete)
                            }
                            // Gone since: its delete queued it again.
                            Err(_) => Work::Drop,
                        },
                        None => Work::Drop,
                    };
                    docs.push(Doc { blob, work });
                }
                Ok(docs)
            })
            .await?;
        let n = docs.len();
        if n == 0 {
            return Ok(0);
        }
        self.inner
            .writer
            .write(move |ctx| {
                for d in &docs {
                    store_doc(ctx.conn, d)?;
                }
                Ok(n)
            })
            .await
    }

    /// Runs the indexer until the store closes: a batch at a time, then
    /// waits for a commit that added messages (or a minute, for what the
    /// admin CLI wrote, which this process's feed does not hear).
    pub async fn run_indexer(&self) {
        loop {
            match self.fts_index_batch().await {
                Ok(0) => {}
                Ok(_) => continue,
                Err(crate::StoreError::Closed) => return,
                Err(e) => tracing::warn!(error = %e, "full-text indexing failed"),
            }
            tokio::select! {
                () = self.inner.feed.indexing_notified() => {}
                () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
            }
            // Lets the commits of a burst of mail gather before indexing
            // them: a batch right after every delivery's commit was one
            // more commit (and fsync) per message on the one writer, which
            // the next delivery's commit waited behind (issue 19).
            tokio::time::sleep(INDEX_SETTLE).await;
        }
    }

    /// Drops the index rows of every message (of `user`'s mailboxes only,
    /// with `user`) and queues them again; then indexes the queue here,
    /// calling `progress` after each batch.
    pub async fn fts_rebuild(
        &self,
        user: Option<UserId>,
        progress: &dyn Fn(FtsProgress),
    ) -> Result<FtsProgress> {
        let total = self
            .inner
            .writer
            .write(move |ctx| {
                let c = ctx.conn;
                match user {
                    None => {
                        c.execute_batch(
                            "INSERT INTO fts (fts) VALUES ('delete-all');
                             DELETE FROM fts_docs;
                             UPDATE messages SET fts_doc = NULL WHERE fts_doc IS NOT NULL;
                             INSERT OR IGNORE INTO fts_queue (blob)
                                SELECT DISTINCT blob FROM messages;",
                        )?;
                    }
                    Some(u) => {
                        c.execute(
                            "INSERT OR IGNORE INTO fts_queue (blob)
                             SELECT DISTINCT m.blob FROM messages m
                             JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.user_id = ?1",
                            [u.0],
                        )?;
                        c.execute_batch(
                            "DELETE FROM fts WHERE rowid IN
                                (SELECT d.id FROM fts_docs d JOIN fts_queue q ON q.blob = d.blob);
                             DELETE FROM fts_docs WHERE blob IN (SELECT blob FROM fts_queue);
                             UPDATE messages SET fts_doc = NULL
                                WHERE blob IN (SELECT blob FROM fts_queue);",
                        )?;
                    }
                }
                Ok(
                    c.query_row("SELECT count(*) FROM fts_queue", [], |r| r.get::<_, i64>(0))?
                        as u64,
                )
            })
            .await?;
        let mut p = FtsProgress { done: 0, total };
        progress(p);
        loop {
            let n = self.fts_index_batch().await?;
            if n == 0 {
                break;
            }
            p.done = (p.done + n as u64).min(total);
            progress(p);
        }
        Ok(p)
    }

    /// Rows, queue length and on-disk size of the index.
    pub async fn fts_stats(&self) -> Result<FtsStats> {
        self.read(|c| {
            let count = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0));
            let docs = count("SELECT count(*) FROM fts_docs")? as u64;
            let queued = count("SELECT count(*) FROM fts_queue")? as u64;
            // dbstat is compiled into the bundled SQLite; without it, 0.
            let index_bytes = c
                .query_row(
                    "SELECT sum(pgsize) FROM dbstat
                     WHERE name LIKE 'fts\\_%' ESCAPE '\\' OR name = 'fts'",
                    [],
                    |r| r.get::<_, Option<i64>>(0),
                )
                .ok()
                .flatten()
                .unwrap_or(0) as u64;
            Ok(FtsStats {
                docs,
                queued,
                index_bytes,
            })
        })
        .await
    }
}

/// Whether some message holds `blob`.
fn live(c: &Connection, blob: &str) -> Result<bool> {
    Ok(
        c.prepare_cached("SELECT 1 FROM messages WHERE blob = ?1 LIMIT 1")?
            .exists([blob])?,
    )
}

/// Whether `blob` has a row of the current version.
fn current(c: &Connection, blob: &str) -> Result<bool> {
    Ok(
        c.prepare_cached("SELECT 1 FROM fts_docs WHERE blob = ?1 AND version = ?2")?
            .exists((blob, FTS_VERSION))?,
    )
}

/// Writes one decoded doc (inside the writer's transaction): its row made
/// anew, or dropped when no message holds the blob now.
fn store_doc(c: &Connection, d: &Doc) -> Result<()> {
    c.prepare_cached("DELETE FROM fts_queue WHERE blob = ?1")?
        .execute([&d.blob])?;
    let old: Option<(i64, i64)> = c
        .prepare_cached("SELECT id, version FROM fts_docs WHERE blob = ?1")?
        .query_row([&d.blob], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let index = matches!(d.work, Work::Index(..)) && live(c, &d.blob)?;
    if let Some((id, version)) = old {
        // Kept; or another indexer (the CLI's rebuild beside a server)
        // made it meanwhile.
        if matches!(d.work, Work::Keep) || (index && version == FTS_VERSION) {
            return Ok(());
        }
        c.prepare_cached("DELETE FROM fts WHERE rowid = ?1")?
            .execute([id])?;
        c.prepare_cached("DELETE FROM fts_docs WHERE id = ?1")?
            .execute([id])?;
        c.prepare_cached("UPDATE messages SET fts_doc = NULL WHERE blob = ?1")?
            .execute([&d.blob])?;
    }
    if let (true, Work::Index(head, body, complete)) = (index, &d.work) {
        c.prepare_cached("INSERT INTO fts_docs (blob, version, complete) VALUES (?1, ?2, ?3)")?
            .execute((&d.blob, FTS_VERSION, complete))?;
        let id = c.last_insert_rowid();
        c.prepare_cached("INSERT INTO fts (rowid, head, body) VALUES (?1, ?2, ?3)")?
            .execute((id, head, body))?;
        c.prepare_cached("UPDATE messages SET fts_doc = ?1 WHERE blob = ?2")?
            .execute((id, &d.blob))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
