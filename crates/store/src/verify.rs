//! `postern verify`: checks a data directory against itself and names
//! every problem by the message, mailbox and user it touches:
//! SQLite's integrity and foreign-key checks; every referenced blob
//! present, with its size and SHA-256; reference counts equal to the
//! references (messages, queue entries, spam-training journal rows); no
//! blob file without its row; every message's cached parse decodable;
//! no stored ENVELOPE/BODYSTRUCTURE (`message_structure`) without its
//! message; queue rows with recipients, and recipients well-formed and
//! owned.
//!
//! Read-only, it runs beside a server: one read transaction is the
//! snapshot checked, and it pins blobs (`backup.rs`) so collection cannot
//! remove a file the snapshot still names. A blob file younger than
//! `RECENT` that no row names is not judged: a delivery writes its file
//! before the commit that names it.
//!
//! `repair` needs the data directory to itself (it takes `server.lock`,
//! so the server must be stopped) and fixes what loses no mail, in one
//! transaction: cached parses re-derived from their message, reference
//! counts set to the references (a row with none left is removed), stored
//! structures without their message deleted (the message's bytes are not
//! in them), orphan files moved to `lost+found/` (never deleted). A missing or damaged
//! message is reported, and its rows are kept.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OpenFlags};

use crate::backup::{Pin, schema_version_of};
use crate::blobs::{BlobDir, BlobId};
use crate::error::{Result, StoreError};
use crate::messages::blob_bytes;
use crate::parse;
use crate::schema::SCHEMA_VERSION;

/// Blob files younger than this without a row are not called orphans by a
/// read-only verify: their commit may be on its way.
const RECENT: Duration = Duration::from_secs(120);
/// Where `repair` moves blob files no row wants.
pub const LOST_FOUND: &str = "lost+found";

/// One problem found, and whether `repair` fixed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub what: String,
    pub repaired: bool,
}

/// What a verify looked at and found.
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    pub messages: u64,
    pub blobs: u64,
    pub blob_files: u64,
    pub queue: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Problems left as they were.
    pub fn unrepaired(&self) -> usize {
        self.problems.iter().filter(|p| !p.repaired).count()
    }
}

/// Verifies data directory `dir`; with `repair`, fixes what it can.
pub fn verify(dir: &Path, repair: bool) -> Result<VerifyReport> {
    let db = dir.join("postern.db");
    if !db.is_file() {
        return Err(StoreError::NotFound(format!("database {}", db.display())));
    }
    let mut locks = Vec::new();
    let c = if repair {
        let p = dir.join("server.lock");
        let f = File::create(&p).map_err(|e| StoreError::io("create", &p, e))?;
        if f.try_lock().is_err() {
            return Err(StoreError::Invalid(format!(
                "--repair needs the data directory {} to itself: stop the server first",
                dir.display()
            )));
        }
        locks.push(f);
        let c = Connection::open(&db)?;
        c.execute_batch("PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON;")?;
        c
    } else {
        let p = dir.join("blobs.lock");
        let f = File::create(&p).map_err(|e| StoreError::io("create", &p, e))?;
        f.lock_shared().map_err(|e| StoreError::io("lock", &p, e))?;
        locks.push(f);
        let c = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        c.execute_batch("PRAGMA busy_timeout = 5000;")?;
        c
    };
    let _pin = Pin::shared(dir)?;
    let version = schema_version_of(&c)?;
    if version != SCHEMA_VERSION {
        return Err(StoreError::Invalid(format!(
            "the database is at schema version {version} and this postern verifies {SCHEMA_VERSION}: \
             run `postern upgrade` (or start the server) first"
        )));
    }
    c.execute_batch(if repair { "BEGIN IMMEDIATE" } else { "BEGIN" })?;
    let mut v = Verifier {
        c: &c,
        blobs: BlobDir::at(dir.join("blobs")),
        repair,
        report: VerifyReport::default(),
        names: HashMap::new(),
        bad_blobs: BTreeSet::new(),
        to_lost: Vec::new(),
    };
    let run = v.run();
    let (report, to_lost) = (v.report, v.to_lost);
    match run {
        Ok(()) => c.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    if !to_lost.is_empty() {
        let lost = dir.join(LOST_FOUND);
        fs::create_dir_all(&lost).map_err(|e| StoreError::io("create", &lost, e))?;
        for from in to_lost {
            if let Some(name) = from.file_name() {
                let to = lost.join(name);
                fs::rename(&from, &to).map_err(|e| StoreError::io("move", &from, e))?;
            }
        }
    }
    Ok(report)
}

struct Verifier<'a> {
    c: &'a Connection,
    blobs: BlobDir,
    repair: bool,
    report: VerifyReport,
    /// Mailbox id → `user/mailbox`.
    names: HashMap<i64, String>,
    /// Blobs missing or damaged: their messages' parses cannot be re-derived.
    bad_blobs: BTreeSet<String>,
    /// Files `repair` moves to lost+found once the transaction commits.
    to_lost: Vec<PathBuf>,
}

impl Verifier<'_> {
    fn problem(&mut self, what: String, repaired: bool) {
        self.report.problems.push(Problem { what, repaired });
    }

    fn run(&mut self) -> Result<()> {
        self.sqlite_checks()?;
        let mut st = self.c.prepare(
            "SELECT m.id, u.address || '/' || m.name FROM mailboxes m
             LEFT JOIN users u ON u.id = m.user_id",
        )?;
        self.names = st
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        drop(st);
        self.blob_rows()?;
        self.blob_files()?;
        self.metas()?;
        self.structures()?;
        self.queue()?;
        Ok(())
    }

    /// Stored structures (`structure.rs`) whose message is gone: expunge
    /// and a mailbox's deletion remove them with it, so one left is a
    /// fault; `repair` deletes it.
    fn structures(&mut self) -> Result<()> {
        let orphans: Vec<(i64, i64)> = self
            .c
            .prepare(
                "SELECT s.mailbox_id, s.uid FROM message_structure s
                 WHERE NOT EXISTS (SELECT 1 FROM messages m
                                   WHERE m.mailbox_id = s.mailbox_id AND m.uid = s.uid)",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (mailbox, uid) in orphans {
            if self.repair {
                self.c.execute(
                    "DELETE FROM message_structure WHERE mailbox_id = ?1 AND uid = ?2",
                    (mailbox, uid),
                )?;
            }
            let name = self
                .names
                .get(&mailbox)
                .cloned()
                .unwrap_or_else(|| format!("mailbox {mailbox}"));
            self.problem(
                format!("stored structure of UID {uid} in {name} without its message"),
                self.repair,
            );
        }
        Ok(())
    }

    fn sqlite_checks(&mut self) -> Result<()> {
        let rows: Vec<String> = self
            .c
            .prepare("PRAGMA integrity_check(100)")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if rows != ["ok"] {
            for r in rows {
                self.problem(format!("database integrity: {r}"), false);
            }
        }
        let fk: Vec<(String, i64, String)> = self
            .c
            .prepare("PRAGMA foreign_key_check")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (table, rowid, parent) in fk {
            self.problem(
                format!("database: {table} row {rowid} refers to a missing {parent} row"),
                false,
            );
        }
        Ok(())
    }

    /// Who refers to blob `hash`, for naming a missing or damaged one.
    fn referrers(&self, hash: &str) -> Result<String> {
        let mut out = Vec::new();
        let mut st = self
            .c
            .prepare_cached("SELECT id, mailbox_id, uid FROM messages WHERE blob = ?1")?;
        let rows: Vec<(i64, i64, i64)> = st
            .query_map([hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, mailbox, uid) in rows {
            out.push(self.message_name(id, mailbox, uid));
        }
        let mut st = self
            .c
            .prepare_cached("SELECT id FROM queue WHERE blob = ?1")?;
        for id in st.query_map([hash], |r| r.get::<_, i64>(0))? {
            out.push(format!("queue entry {}", id?));
        }
        let mut st = self
            .c
            .prepare_cached("SELECT id FROM spam_journal WHERE blob = ?1")?;
        for id in st.query_map([hash], |r| r.get::<_, i64>(0))? {
            out.push(format!("spam training journal row {}", id?));
        }
        Ok(out.join(", "))
    }

    fn message_name(&self, id: i64, mailbox: i64, uid: i64) -> String {
        let name = self
            .names
            .get(&mailbox)
            .cloned()
            .unwrap_or_else(|| format!("mailbox {mailbox}"));
        format!("message {id} (UID {uid} in {name})")
    }

    /// Reference counts against the references, and each blob's bytes.
    fn blob_rows(&mut self) -> Result<()> {
        let mut refs: HashMap<String, i64> = HashMap::new();
        for sql in [
            "SELECT blob, COUNT(*) FROM messages GROUP BY blob",
            "SELECT blob, COUNT(*) FROM queue GROUP BY blob",
            "SELECT blob, COUNT(*) FROM spam_journal GROUP BY blob",
        ] {
            let mut st = self.c.prepare(sql)?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                *refs.entry(r.get(0)?).or_default() += r.get::<_, i64>(1)?;
            }
        }
        let mut st = self
            .c
            .prepare("SELECT hash, size, refcount, data IS NULL FROM blobs")?;
        let rows: Vec<(String, i64, i64, bool)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        drop(st);
        for (hash, size, refcount, in_file) in rows {
            let n = refs.remove(&hash).unwrap_or(0);
            // A row at zero with no references waits for collection.
            if refcount != n && !(n == 0 && refcount <= 0) {
                let fixed = self.repair && self.fix_refcount(&hash, n, in_file)?;
                self.problem(
                    format!("blob {hash}: reference count {refcount}, but {n} references"),
                    fixed,
                );
            }
            if n == 0 {
                continue;
            }
            self.report.blobs += 1;
            if let Some(fault) = self.content_fault(&hash, size, in_file)? {
                let who = self.referrers(&hash)?;
                self.bad_blobs.insert(hash.clone());
                self.problem(format!("blob {hash} {fault}: {who}"), false);
            }
        }
        let mut rest: Vec<String> = refs.into_keys().collect();
        rest.sort();
        for hash in rest {
            let who = self.referrers(&hash)?;
            self.bad_blobs.insert(hash.clone());
            self.problem(format!("blob {hash} has no row (missing): {who}"), false);
        }
        Ok(())
    }

    /// Sets a count to the references; a row with none is removed, its
    /// file moved to lost+found after the commit.
    fn fix_refcount(&mut self, hash: &str, n: i64, in_file: bool) -> Result<bool> {
        if n > 0 {
            self.c
                .execute("UPDATE blobs SET refcount = ?1 WHERE hash = ?2", (n, hash))?;
        } else {
            self.c
                .execute("DELETE FROM blobs WHERE hash = ?1", [hash])?;
            if let Some(id) = BlobId::parse(hash).filter(|_| in_file) {
                let p = self.blobs.path(&id);
                if p.is_file() {
                    self.to_lost.push(p);
                }
            }
        }
        Ok(true)
    }

    /// What is wrong with a live blob's bytes, if anything.
    fn content_fault(&mut self, hash: &str, size: i64, in_file: bool) -> Result<Option<String>> {
        let Some(id) = BlobId::parse(hash) else {
            return Ok(Some("has a malformed name".into()));
        };
        let bytes = if in_file {
            self.report.blob_files += 1;
            match fs::read(self.blobs.path(&id)) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(Some(format!(
                        "is missing (no file {})",
                        self.blobs.path(&id).display()
                    )));
                }
                Err(e) => return Ok(Some(format!("is unreadable ({e})"))),
            }
        } else {
            self.c
                .prepare_cached("SELECT data FROM blobs WHERE hash = ?1")?
                .query_row([hash], |r| r.get::<_, Vec<u8>>(0))?
        };
        let got = BlobId::of(&bytes);
        if got != id || bytes.len() as i64 != size {
            return Ok(Some(format!(
                "is damaged ({} bytes with SHA-256 {}; expected {size} bytes)",
                bytes.len(),
                got.as_str()
            )));
        }
        Ok(None)
    }

    /// Blob files that no file-backed row wants.
    fn blob_files(&mut self) -> Result<()> {
        if !self.blobs.root().is_dir() {
            return Ok(());
        }
        let (ids, _tmps) = self.blobs.scan()?;
        let now = SystemTime::now();
        let mut st = self
            .c
            .prepare("SELECT 1 FROM blobs WHERE hash = ?1 AND data IS NULL")?;
        let mut orphans = Vec::new();
        for id in ids {
            if st.exists([id.as_str()])? {
                continue;
            }
            let p = self.blobs.path(&id);
            let young = fs::metadata(&p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_none_or(|age| age < RECENT);
            if !self.repair && young {
                continue;
            }
            orphans.push(p);
        }
        drop(st);
        for p in orphans {
            self.problem(
                format!("orphan blob file {} (nothing refers to it)", p.display()),
                self.repair,
            );
            if self.repair {
                self.to_lost.push(p);
            }
        }
        Ok(())
    }

    /// Every message's cached parse decodes; `repair` re-derives the rest.
    fn metas(&mut self) -> Result<()> {
        let mut bad = Vec::new();
        {
            let mut st = self
                .c
                .prepare("SELECT id, mailbox_id, uid, blob, meta FROM messages")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                self.report.messages += 1;
                let meta = r.get_ref(4)?.as_str().map_err(rusqlite::Error::from)?;
                if let Err(e) = parse::decode_meta(meta) {
                    bad.push((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, e.to_string()));
                }
            }
        }
        for (id, mailbox, uid, blob, err) in bad {
            let (id, mailbox, uid, blob): (i64, i64, i64, String) = (id, mailbox, uid, blob);
            let fixed = self.repair && self.rederive(id, &blob)?;
            let name = self.message_name(id, mailbox, uid);
            self.problem(format!("{name}: cached parse unreadable ({err})"), fixed);
        }
        Ok(())
    }

    fn rederive(&mut self, id: i64, blob: &str) -> Result<bool> {
        let Some(bid) = BlobId::parse(blob).filter(|_| !self.bad_blobs.contains(blob)) else {
            return Ok(false);
        };
        let raw = blob_bytes(self.c, &self.blobs, &bid)?;
        let mut meta = parse::meta_of(&raw);
        let Ok(json) = parse::encode_meta(&mut meta) else {
            return Ok(false);
        };
        self.c
            .execute("UPDATE messages SET meta = ?1 WHERE id = ?2", (json, id))?;
        Ok(true)
    }

    /// Queue entries have recipients; recipients are well-formed and owned.
    fn queue(&mut self) -> Result<()> {
        let entries: Vec<(i64, i64)> = self
            .c
            .prepare(
                "SELECT q.id, (SELECT COUNT(*) FROM queue_recipients r WHERE r.queue_id = q.id)
                 FROM queue q",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        self.report.queue = entries.len() as u64;
        for (id, n) in entries {
            if n == 0 {
                self.problem(format!("queue entry {id} has no recipients"), false);
            }
        }
        let rcpts: Vec<(i64, String, bool)> = self
            .c
            .prepare(
                "SELECT r.queue_id, r.address, EXISTS (SELECT 1 FROM queue q WHERE q.id = r.queue_id)
                 FROM queue_recipients r",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, address, owned) in rcpts {
            if !owned {
                self.problem(
                    format!("queue recipient {address:?} belongs to a missing queue entry {id}"),
                    false,
                );
            } else if !well_formed(&address) {
                self.problem(
                    format!("queue entry {id}: recipient {address:?} is not an address"),
                    false,
                );
            }
        }
        Ok(())
    }
}

/// A forward path as the queue stores it: `local@domain`, no controls,
/// a domain without spaces, within RFC 5321 §4.5.3.1's sizes.
fn well_formed(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && local.len() <= 64 * 4
        && domain.len() <= 255
        && !address.chars().any(|c| c.is_control())
        && !domain
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_shapes() {
        assert!(well_formed("ann@example.org"));
        assert!(well_formed("\"a b\"@example.org"));
        assert!(!well_formed("ann"));
        assert!(!well_formed("@example.org"));
        assert!(!well_formed("ann@"));
        assert!(!well_formed("ann@exa mple.org"));
        assert!(!well_formed("ann@example.org\r\nRCPT"));
    }
}
