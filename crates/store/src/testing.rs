//! Hooks for the end-to-end tests of backup, verify and upgrades, which
//! must build and damage data directories the way only this crate may
//! (no SQL outside it). Not for use by the server.

use std::path::Path;

use rusqlite::Connection;

use crate::blobs::{BlobDir, BlobId};
use crate::error::Result;
use crate::parse;
use crate::schema;

/// Builds a data directory at schema version `version` (migrations
/// 1..=version only) holding domain and user `address` (with
/// `password_hash`) whose INBOX has `raws`, every message a blob file,
/// through SQL valid at that version.
pub fn build_at_version(
    dir: &Path,
    version: i64,
    address: &str,
    password_hash: &str,
    raws: &[Vec<u8>],
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| crate::StoreError::io("create", dir, e))?;
    let mut c = Connection::open(dir.join("postern.db"))?;
    c.execute_batch("PRAGMA journal_mode = WAL;")?;
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL,
            applied_at INTEGER NOT NULL
        );",
    )?;
    schema::migrate_to(&mut c, version)?;
    let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or(address);
    let uidvalidity: i64 = 1_700_000_000;
    let tx = c.transaction()?;
    tx.execute(
        "INSERT INTO domains (id, name, created_at) VALUES (1, ?1, 0)",
        [domain],
    )?;
    let total: usize = raws.iter().map(Vec::len).sum();
    tx.execute(
        "INSERT INTO users (id, address, domain_id, password_hash, used_bytes, used_messages,
             created_at) VALUES (1, ?1, 1, ?2, ?3, ?4, 0)",
        (address, password_hash, total as i64, raws.len() as i64),
    )?;
    tx.execute(
        "INSERT INTO mailboxes (id, user_id, name, uidvalidity, uidnext, highestmodseq,
             special_use) VALUES (1, 1, 'INBOX', ?1, ?2, ?2, NULL)",
        (uidvalidity, raws.len() as i64 + 1),
    )?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('uidvalidity', ?1)",
        [uidvalidity],
    )?;
    let blobs = BlobDir::open(dir.join("blobs"))?;
    for (i, raw) in raws.iter().enumerate() {
        let uid = i as i64 + 1;
        let id = BlobId::of(raw);
        blobs.write(&id, raw)?;
        tx.execute(
            "INSERT INTO blobs (hash, size, refcount) VALUES (?1, ?2, 1)
             ON CONFLICT(hash) DO UPDATE SET refcount = refcount + 1",
            (id.as_str(), raw.len() as i64),
        )?;
        let mut meta = parse::meta_of(raw);
        let json =
            parse::encode_meta(&mut meta).map_err(|e| crate::StoreError::Invalid(e.to_string()))?;
        tx.execute(
            "INSERT INTO messages (mailbox_id, uid, modseq, size, internal_date, saved_at,
                 blob, meta) VALUES (1, ?1, ?1, ?2, 1700000000, 1700000000, ?3, ?4)",
            (uid, raw.len() as i64, id.as_str(), json),
        )?;
        if version >= 13 {
            tx.execute(
                "UPDATE messages SET email_id = (?1 << 32) | uid WHERE uid = ?2",
                (uidvalidity, uid),
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Overwrites the cached parse of message `uid` in `address`'s mailbox
/// `mailbox` with bytes that do not decode.
pub fn damage_meta(dir: &Path, address: &str, mailbox: &str, uid: u32) -> Result<usize> {
    let c = Connection::open(dir.join("postern.db"))?;
    c.execute_batch("PRAGMA busy_timeout = 5000;")?;
    Ok(c.execute(
        "UPDATE messages SET meta = '{\"damaged' WHERE uid = ?3 AND mailbox_id =
             (SELECT m.id FROM mailboxes m JOIN users u ON u.id = m.user_id
              WHERE u.address = ?1 AND m.name = ?2)",
        (address, mailbox, uid),
    )?)
}

/// Sets the stored ENVELOPE and BODYSTRUCTURE (`structure.rs`) of every
/// message in `address`'s mailbox `mailbox` to `value`: `None` is a row
/// from before migration 26.
pub fn set_structure(
    dir: &Path,
    address: &str,
    mailbox: &str,
    value: Option<&[u8]>,
) -> Result<usize> {
    let c = Connection::open(dir.join("postern.db"))?;
    c.execute_batch("PRAGMA busy_timeout = 5000;")?;
    let mailbox_id = "(SELECT m.id FROM mailboxes m JOIN users u ON u.id = m.user_id
                       WHERE u.address = ?1 AND m.name = ?2)";
    Ok(match value {
        None => c.execute(
            &format!("DELETE FROM message_structure WHERE mailbox_id = {mailbox_id}"),
            (address, mailbox),
        )?,
        Some(v) => c.execute(
            &format!(
                "INSERT OR REPLACE INTO message_structure (mailbox_id, uid, structure)
                 SELECT mailbox_id, uid, ?3 FROM messages WHERE mailbox_id = {mailbox_id}"
            ),
            (address, mailbox, v),
        )?,
    })
}

/// Sets the recorded schema version (a database "from a newer Postern").
pub fn set_schema_version(dir: &Path, version: i64) -> Result<()> {
    let c = Connection::open(dir.join("postern.db"))?;
    c.execute_batch("PRAGMA busy_timeout = 5000;")?;
    c.execute("UPDATE schema_version SET version = ?1", [version])?;
    Ok(())
}
