//! Raw messages above the inline limit, as immutable files named by their
//! SHA-256, under `blobs/xx/<hex>` in the data directory (smaller ones live in
//! their `blobs` row: see the crate notes).
//!
//! A blob becomes visible only by `rename` of a fully written and fsynced temp
//! file, so a reader never sees half a message; the directory is fsynced
//! after the rename, before the caller queues the write that refers to the
//! blob, so the commit never names a file a power cut could lose. Files are deleted
//! only by the writer thread, inside a write transaction that confirms nothing
//! refers to them (see `Writer::collect_dead`), so a concurrent delivery of the
//! same content can never lose its file.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};

/// A content address: the lowercase hex SHA-256 of the raw message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId(String);

impl BlobId {
    pub fn of(data: &[u8]) -> BlobId {
        let digest = Sha256::digest(data);
        let mut s = String::with_capacity(64);
        for b in digest.iter() {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 15)]));
        }
        BlobId(s)
    }
    /// Accepts only what `of` produces: 64 lowercase hex digits.
    pub fn parse(s: &str) -> Option<BlobId> {
        (s.len() == 64 && s.bytes().all(|b| HEX.contains(&b))).then(|| BlobId(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The blob directory of one data directory.
#[derive(Debug)]
pub(crate) struct BlobDir {
    root: PathBuf,
    tmp: PathBuf,
    counter: AtomicU64,
}

impl BlobDir {
    pub(crate) fn open(root: PathBuf) -> Result<BlobDir> {
        let tmp = root.join("tmp");
        fs::create_dir_all(&tmp).map_err(|e| StoreError::io("create", &tmp, e))?;
        Ok(BlobDir {
            root,
            tmp,
            counter: AtomicU64::new(0),
        })
    }

    /// A blob directory to read or fill without creating its `tmp/`
    /// (a backup's).
    pub(crate) fn at(root: PathBuf) -> BlobDir {
        BlobDir {
            tmp: root.join("tmp"),
            root,
            counter: AtomicU64::new(0),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The data directory's `backup.lock`, which pins blobs (`backup.rs`).
    pub(crate) fn pin_path(&self) -> PathBuf {
        self.root.with_file_name("backup.lock")
    }

    pub(crate) fn path(&self, id: &BlobId) -> PathBuf {
        self.root.join(&id.0[..2]).join(&id.0)
    }

    /// The directory a blob's entry lives in.
    fn dir_of(&self, id: &BlobId) -> PathBuf {
        self.root.join(&id.0[..2])
    }

    /// Writes `data` as blob `id`: temp file, write, fsync, rename, fsync
    /// of the directory. Callers run this on their own blocking threads,
    /// so concurrent deliveries' fsyncs overlap instead of queueing on the
    /// writer thread; a job referring to the blob is queued only after this
    /// returns, so the batch that commits it never outruns the file.
    pub(crate) fn write(&self, id: &BlobId, data: &[u8]) -> Result<()> {
        let dir = self.dir_of(id);
        fs::create_dir_all(&dir).map_err(|e| StoreError::io("create", &dir, e))?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .tmp
            .join(format!("{}.{}.{n}", &id.0[..16], std::process::id()));
        let result = (|| {
            let mut f = File::create(&tmp).map_err(|e| StoreError::io("create", &tmp, e))?;
            f.write_all(data)
                .map_err(|e| StoreError::io("write", &tmp, e))?;
            f.sync_all().map_err(|e| StoreError::io("fsync", &tmp, e))?;
            let dest = self.path(id);
            fs::rename(&tmp, &dest).map_err(|e| StoreError::io("rename", &dest, e))?;
            sync_dir(&dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    pub(crate) fn read(&self, id: &BlobId) -> Result<Vec<u8>> {
        let p = self.path(id);
        fs::read(&p).map_err(|e| StoreError::io("read", p, e))
    }

    pub(crate) fn exists(&self, id: &BlobId) -> bool {
        self.path(id).is_file()
    }

    pub(crate) fn remove(&self, id: &BlobId) {
        let p = self.path(id);
        if let Err(e) = fs::remove_file(&p)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %p.display(), error = %e, "could not remove blob");
        }
    }

    /// Every blob file on disk, and the leftover temp files (from a crash).
    pub(crate) fn scan(&self) -> Result<(Vec<BlobId>, Vec<PathBuf>)> {
        let mut blobs = Vec::new();
        let entries =
            fs::read_dir(&self.root).map_err(|e| StoreError::io("list", &self.root, e))?;
        for dir in entries.flatten() {
            let name = dir.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.len() != 2 || !dir.path().is_dir() {
                continue;
            }
            let sub = dir.path();
            for f in fs::read_dir(&sub)
                .map_err(|e| StoreError::io("list", &sub, e))?
                .flatten()
            {
                if let Some(id) = f.file_name().to_str().and_then(BlobId::parse) {
                    blobs.push(id);
                }
            }
        }
        let tmps = match fs::read_dir(&self.tmp) {
            Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(StoreError::io("list", &self.tmp, e)),
        };
        Ok((blobs, tmps))
    }
}

/// fsyncs a directory so the entries created in it survive a power cut.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("fsync directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_id_is_sha256_hex_and_parse_is_strict() {
        let id = BlobId::of(b"abc");
        assert_eq!(
            id.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(BlobId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(BlobId::parse(&id.as_str().to_uppercase()), None);
        assert_eq!(BlobId::parse("abc"), None);
    }

    #[test]
    fn write_read_scan_remove() {
        let t = tempfile::tempdir().expect("tempdir");
        let b = BlobDir::open(t.path().join("blobs")).expect("open");
        let id = BlobId::of(b"hello");
        b.write(&id, b"hello").expect("write");
        b.write(&id, b"hello")
            .expect("rewrite of the same content is harmless");
        assert_eq!(b.read(&id).expect("read"), b"hello");
        let (ids, tmps) = b.scan().expect("scan");
        assert_eq!(ids, vec![id.clone()]);
        assert!(tmps.is_empty());
        b.remove(&id);
        assert!(!b.exists(&id));
    }
}
