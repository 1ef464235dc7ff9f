//! Online backup and restore of a data directory: a consistent snapshot of
//! the database and the blob files it references, with a manifest.
//!
//! Order and pinning. The database is copied first, in one read
//! transaction (WAL: the writer goes on committing meanwhile), then the
//! blob files the copy references are linked or copied. A blob file is
//! deleted only by a writer's collection (`writer.rs`) once its count is
//! zero, and a message expunged after the snapshot may reach that while
//! its file is still to be copied. So a backup holds `backup.lock` shared
//! from before the snapshot until the last file is linked, and collection
//! runs only when it can take that lock exclusively (it retries at the
//! next commit); the startup sweep leaves files alone while any admin
//! process holds `blobs.lock`, which the backup holds too. A file that is
//! nevertheless missing was missing before the backup began: it is
//! reported (`verify` names its messages), and the backup still completes.
//!
//! Incremental: a blob file is named by its SHA-256, so one present in the
//! previous backup (`--since`, or the newest sibling with a manifest) is the
//! same bytes and is hard-linked from there; others are hard-linked from the
//! data directory when it is on the same file system, copied (and fsynced)
//! otherwise. The data directory's other files (DKIM and SRS keys,
//! certificates, the ACME account) are copied under `files/`, and `restore`
//! puts them back. The manifest is written last: a directory without one
//! is an unfinished backup.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::blobs::{BlobDir, BlobId, sync_dir};
use crate::error::{Result, StoreError};

/// The manifest's file name in a backup directory.
pub const MANIFEST: &str = "manifest.json";
/// The database's file name, in a data directory and in a backup.
const DB_FILE: &str = "postern.db";

/// What a backup holds, written last into its directory.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// The Postern release that wrote the backup.
    pub postern_version: String,
    /// The database's schema version (`schema_version` row).
    pub schema_version: i64,
    /// Seconds since the Unix epoch when the snapshot was taken.
    pub created_at: i64,
    pub users: u64,
    pub mailboxes: u64,
    pub messages: u64,
    /// Live blob rows, inline or in files.
    pub blobs: u64,
    /// Of those, the ones kept as files under `blobs/`.
    pub blob_files: u64,
    /// Size and SHA-256 (hex) of `postern.db` as written.
    pub db_size: u64,
    pub db_sha256: String,
    /// The earlier backup unchanged blobs were linked from, if any.
    pub since: Option<PathBuf>,
    /// The data directory's other files (DKIM and SRS keys, certificates,
    /// the ACME account), copied under `files/`.
    #[serde(default)]
    pub other_files: u64,
}

/// How the database is copied (both read one consistent snapshot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DbCopy {
    /// SQLite's online backup API, all pages in one step: a page copy.
    #[default]
    BackupApi,
    /// `VACUUM INTO`: rebuilds the database compactly (more CPU).
    VacuumInto,
}

/// What `backup` is asked to do.
#[derive(Clone, Debug, Default)]
pub struct BackupOptions {
    /// Link unchanged blobs from this earlier backup. None: the newest
    /// sibling of the destination that has a manifest, if any.
    pub since: Option<PathBuf>,
    /// Never look for a sibling (a full backup).
    pub full: bool,
    pub db_copy: DbCopy,
}

/// What a backup did.
#[derive(Clone, Debug, Default)]
pub struct BackupReport {
    pub manifest: Option<Manifest>,
    /// Blob files linked from the earlier backup.
    pub from_previous: u64,
    /// Blob files hard-linked from the data directory.
    pub linked: u64,
    /// Blob files copied (another file system).
    pub copied: u64,
    /// Blob files the snapshot references that the data directory lacks.
    pub missing: Vec<BlobId>,
    /// Time spent copying the database.
    pub db_time: Duration,
}

/// Progress of the blob phase: called with (done, total) as files go.
pub type ProgressFn<'a> = &'a mut dyn FnMut(u64, u64);

/// A shared hold on a data directory's `backup.lock`: while one lives, no
/// writer collects dead blobs.
pub(crate) struct Pin {
    _file: File,
}

impl Pin {
    /// Waits for a collection in progress to end, then pins.
    pub(crate) fn shared(data_dir: &Path) -> Result<Pin> {
        let p = data_dir.join("backup.lock");
        let f = File::create(&p).map_err(|e| StoreError::io("create", &p, e))?;
        f.lock_shared().map_err(|e| StoreError::io("lock", &p, e))?;
        Ok(Pin { _file: f })
    }

    /// The writer's side: the lock held exclusively for one collection, or
    /// None while a backup pins (or the lock file cannot be made).
    pub(crate) fn try_exclusive(blobs: &BlobDir) -> Option<File> {
        let p = blobs.pin_path();
        let f = File::create(&p).ok()?;
        f.try_lock().ok()?;
        Some(f)
    }
}

/// Backs up data directory `data` into `dest` (absent or empty) while a
/// server may be running.
pub fn backup(
    data: &Path,
    dest: &Path,
    opts: &BackupOptions,
    progress: ProgressFn<'_>,
) -> Result<BackupReport> {
    let db = data.join(DB_FILE);
    if !db.is_file() {
        return Err(StoreError::NotFound(format!("database {}", db.display())));
    }
    ensure_empty(dest)?;
    let previous = match (&opts.since, opts.full) {
        (Some(p), _) => {
            read_manifest(p)?;
            Some(p.clone())
        }
        (None, false) => newest_sibling(dest),
        (None, true) => None,
    };
    fs::create_dir_all(dest).map_err(|e| StoreError::io("create", dest, e))?;
    // Admin processes hold `blobs.lock` shared: the startup sweep then
    // leaves blob files alone.
    let blobs_lock = data.join("blobs.lock");
    let held = File::create(&blobs_lock).map_err(|e| StoreError::io("create", &blobs_lock, e))?;
    held.lock_shared()
        .map_err(|e| StoreError::io("lock", &blobs_lock, e))?;
    let _pin = Pin::shared(data)?;

    let mut report = BackupReport::default();
    let started = Instant::now();
    let copy = dest.join(DB_FILE);
    snapshot_db(&db, &copy, opts.db_copy)?;
    report.db_time = started.elapsed();

    let c = Connection::open_with_flags(&copy, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let files = file_blobs(&c)?;
    let total = files.len() as u64;
    let src_blobs = BlobDir::at(data.join("blobs"));
    let dst_blobs = BlobDir::at(dest.join("blobs"));
    let prev_blobs = previous.as_ref().map(|p| BlobDir::at(p.join("blobs")));
    let mut dirs = std::collections::BTreeSet::new();
    for (n, id) in files.iter().enumerate() {
        let to = dst_blobs.path(id);
        let dir = to.parent().map(Path::to_path_buf).unwrap_or_default();
        if dirs.insert(dir.clone()) {
            fs::create_dir_all(&dir).map_err(|e| StoreError::io("create", &dir, e))?;
        }
        let from_prev = prev_blobs
            .as_ref()
            .map(|b| b.path(id))
            .filter(|p| p.is_file());
        match from_prev.map(|p| fs::hard_link(p, &to)) {
            Some(Ok(())) => report.from_previous += 1,
            _ => match place(&src_blobs.path(id), &to)? {
                Placed::Linked => report.linked += 1,
                Placed::Copied => report.copied += 1,
                Placed::Missing => report.missing.push(id.clone()),
            },
        }
        progress(n as u64 + 1, total);
    }
    for d in &dirs {
        sync_dir(d)?;
    }
    let other_files = copy_tree(data, &dest.join(OTHER_FILES), true)?;
    let manifest = Manifest {
        postern_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: schema_version_of(&c)?,
        created_at: crate::now_secs(),
        users: count(&c, "SELECT COUNT(*) FROM users")?,
        mailboxes: count(&c, "SELECT COUNT(*) FROM mailboxes")?,
        messages: count(&c, "SELECT COUNT(*) FROM messages")?,
        blobs: count(&c, "SELECT COUNT(*) FROM blobs WHERE refcount > 0")?,
        blob_files: total,
        db_size: fs::metadata(&copy)
            .map_err(|e| StoreError::io("stat", &copy, e))?
            .len(),
        db_sha256: sha256_file(&copy)?,
        since: previous,
        other_files,
    };
    drop(c);
    write_manifest(dest, &manifest)?;
    report.manifest = Some(manifest);
    Ok(report)
}

/// Copies the database at `src` into the new file `dest` from one read
/// transaction, then fsyncs it. The copy is a rollback-journal database:
/// one self-contained file.
pub(crate) fn snapshot_db(src: &Path, dest: &Path, how: DbCopy) -> Result<()> {
    let from = Connection::open_with_flags(
        src,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    from.execute_batch("PRAGMA busy_timeout = 5000;")?;
    match how {
        DbCopy::BackupApi => {
            let mut to = Connection::open(dest)?;
            {
                // One step of every page: a single read transaction on the
                // source. Smaller steps restart whenever the server commits
                // between them, and under steady mail might never finish.
                use rusqlite::backup::StepResult;
                let b = rusqlite::backup::Backup::new(&from, &mut to)?;
                let mut waited = Duration::ZERO;
                loop {
                    match b.step(-1)? {
                        StepResult::Done => break,
                        // Only a lock can stop a whole-file step short.
                        _ if waited < Duration::from_secs(60) => {
                            std::thread::sleep(Duration::from_millis(20));
                            waited += Duration::from_millis(20);
                        }
                        _ => {
                            return Err(StoreError::Commit(
                                "the database stayed locked for a minute".into(),
                            ));
                        }
                    }
                }
            }
            to.execute_batch("PRAGMA journal_mode = DELETE;")?;
        }
        DbCopy::VacuumInto => {
            let target = dest
                .to_str()
                .ok_or_else(|| StoreError::Invalid(format!("{} is not UTF-8", dest.display())))?;
            from.execute("VACUUM INTO ?1", [target])?;
        }
    }
    drop(from);
    File::open(dest)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io("fsync", dest, e))?;
    if let Some(dir) = dest.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Where a backup keeps the data directory's other files.
const OTHER_FILES: &str = "files";

/// What a backup leaves out of the data directory's other files: the
/// database and blobs (copied their own way), locks, the database's WAL
/// and shared memory, earlier snapshots and what `verify --repair` set aside.
fn is_own(name: &str) -> bool {
    name.starts_with(DB_FILE)
        || name == "blobs"
        || name.ends_with(".lock")
        || name == crate::running::RUNNING_MARK
        || name.starts_with(crate::upgrade::PRE_UPGRADE_PREFIX)
        || name == crate::verify::LOST_FOUND
}

/// Copies the files under `from` into `to` (created), fsynced, keeping
/// their permissions; at the top level (`top`) skips the store's own
/// entries. Returns the number of files.
fn copy_tree(from: &Path, to: &Path, top: bool) -> Result<u64> {
    let mut n = 0;
    let entries = fs::read_dir(from).map_err(|e| StoreError::io("list", from, e))?;
    for e in entries.flatten() {
        let name = e.file_name();
        if top && name.to_str().is_none_or(is_own) {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        let kind = e
            .file_type()
            .map_err(|err| StoreError::io("stat", &src, err))?;
        if kind.is_dir() {
            n += copy_tree(&src, &dst, false)?;
        } else if kind.is_file() {
            fs::create_dir_all(to).map_err(|err| StoreError::io("create", to, err))?;
            copy_synced(&src, &dst)?;
            n += 1;
        }
    }
    if n > 0 {
        sync_dir(to)?;
    }
    Ok(n)
}

/// The live blobs a database keeps in files.
fn file_blobs(c: &Connection) -> Result<Vec<BlobId>> {
    // Before migration 2 every blob was a file (no `data` column).
    let inline: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('blobs') WHERE name = 'data')",
        [],
        |r| r.get(0),
    )?;
    let mut st = c.prepare(if inline {
        "SELECT hash FROM blobs WHERE data IS NULL AND refcount > 0 ORDER BY hash"
    } else {
        "SELECT hash FROM blobs WHERE refcount > 0 ORDER BY hash"
    })?;
    let hashes: Vec<String> = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(hashes.iter().filter_map(|h| BlobId::parse(h)).collect())
}

enum Placed {
    Linked,
    Copied,
    Missing,
}

/// Hard-links `from` to `to`, or copies it (fsynced) where linking fails
/// (another file system, or one without links).
fn place(from: &Path, to: &Path) -> Result<Placed> {
    match fs::hard_link(from, to) {
        Ok(()) => return Ok(Placed::Linked),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !from.exists() => {
            return Ok(Placed::Missing);
        }
        Err(_) => {}
    }
    copy_synced(from, to)?;
    Ok(Placed::Copied)
}

/// Copies one file and fsyncs the copy.
fn copy_synced(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to).map_err(|e| StoreError::io("copy", from, e))?;
    File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io("fsync", to, e))
}

fn count(c: &Connection, sql: &str) -> Result<u64> {
    let n: i64 = c.query_row(sql, [], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

pub(crate) fn schema_version_of(c: &Connection) -> Result<i64> {
    let has: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'schema_version')",
        [],
        |r| r.get(0),
    )?;
    if !has {
        return Ok(0);
    }
    let v: Option<i64> = c
        .query_row("SELECT version FROM schema_version WHERE id = 1", [], |r| {
            r.get(0)
        })
        .ok();
    Ok(v.unwrap_or(0))
}

/// Lowercase hex SHA-256 of a file, read in pieces.
pub(crate) fn sha256_file(p: &Path) -> Result<String> {
    let mut f = File::open(p).map_err(|e| StoreError::io("open", p, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| StoreError::io("read", p, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Refuses a destination that exists and holds anything.
pub(crate) fn ensure_empty(dir: &Path) -> Result<()> {
    if empty_or_absent(dir)? {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "{} is not empty: give a new or empty directory",
            dir.display()
        )))
    }
}

fn empty_or_absent(dir: &Path) -> Result<bool> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(StoreError::io("list", dir, e)),
    }
}

/// Reads and parses a backup's manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let p = dir.join(MANIFEST);
    let text = fs::read_to_string(&p).map_err(|e| StoreError::io("read", &p, e))?;
    serde_json::from_str(&text)
        .map_err(|e| StoreError::Invalid(format!("{}: not a backup manifest: {e}", p.display())))
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<()> {
    let tmp = dir.join(".manifest.tmp");
    let text = serde_json::to_string_pretty(m)
        .map_err(|e| StoreError::Invalid(format!("manifest: {e}")))?;
    let mut f = File::create(&tmp).map_err(|e| StoreError::io("create", &tmp, e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all())
        .map_err(|e| StoreError::io("write", &tmp, e))?;
    let p = dir.join(MANIFEST);
    fs::rename(&tmp, &p).map_err(|e| StoreError::io("rename", &p, e))?;
    sync_dir(dir)
}

/// The newest other directory next to `dest` holding a manifest.
fn newest_sibling(dest: &Path) -> Option<PathBuf> {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest.file_name()?;
    fs::read_dir(&parent)
        .ok()?
        .flatten()
        .filter(|e| e.file_name() != name)
        .filter_map(|e| {
            let m = read_manifest(&e.path()).ok()?;
            Some((m.created_at, e.path()))
        })
        .max()
        .map(|(_, p)| p)
}

/// What a restore did.
#[derive(Clone, Debug)]
pub struct RestoreReport {
    pub manifest: Manifest,
    pub blob_files: u64,
}

/// Restores backup `from` into data directory `data`, which must be absent
/// or empty. The database's checksum must match the manifest and every
/// blob file it references must be in the backup; files are copied, so the
/// restored directory shares nothing with the backup.
pub fn restore(from: &Path, data: &Path) -> Result<RestoreReport> {
    let manifest = read_manifest(from)?;
    if manifest.schema_version > crate::SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: manifest.schema_version,
            known: crate::SCHEMA_VERSION,
        });
    }
    if !empty_or_absent(data)? {
        return Err(StoreError::Invalid(format!(
            "data directory {} is not empty: restore only into a new or empty one",
            data.display()
        )));
    }
    let db = from.join(DB_FILE);
    let sum = sha256_file(&db)?;
    if sum != manifest.db_sha256 {
        return Err(StoreError::Corrupt(format!(
            "{}: SHA-256 {sum} differs from the manifest's {}",
            db.display(),
            manifest.db_sha256
        )));
    }
    let files = {
        let c = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        file_blobs(&c)?
    };
    let src = BlobDir::at(from.join("blobs"));
    if let Some(id) = files.iter().find(|id| !src.path(id).is_file()) {
        return Err(StoreError::Corrupt(format!(
            "the backup lacks blob file {}",
            src.path(id).display()
        )));
    }
    fs::create_dir_all(data).map_err(|e| StoreError::io("create", data, e))?;
    let dst = BlobDir::open(data.join("blobs"))?;
    let mut dirs = std::collections::BTreeSet::new();
    for id in &files {
        let to = dst.path(id);
        let dir = to.parent().map(Path::to_path_buf).unwrap_or_default();
        if dirs.insert(dir.clone()) {
            fs::create_dir_all(&dir).map_err(|e| StoreError::io("create", &dir, e))?;
        }
        copy_synced(&src.path(id), &to)?;
    }
    for d in &dirs {
        sync_dir(d)?;
    }
    let others = from.join(OTHER_FILES);
    if others.is_dir() {
        copy_tree(&others, data, false)?;
    }
    copy_synced(&db, &data.join(DB_FILE))?;
    sync_dir(data)?;
    Ok(RestoreReport {
        manifest,
        blob_files: files.len() as u64,
    })
}
