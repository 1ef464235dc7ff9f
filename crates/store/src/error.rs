//! The store's error type. A caller can tell a refusal the user should hear
//! about (quota, a name that exists) from a failure of the machine.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("data directory {0} is in use by another postern server")]
    Locked(PathBuf),
    #[error(
        "database schema version {found} is newer than this postern knows ({known}): it was written by a newer postern; run that release, or restore a backup this one made (the database was not opened for writing)"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("quota exceeded: {0}")]
    QuotaExceeded(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Exists(String),
    #[error("{0}")]
    Invalid(String),
    #[error("message is larger than the store accepts ({size} > {max} bytes)")]
    TooLarge { size: u64, max: u64 },
    #[error("blob file vanished before its reference was committed")]
    BlobMissing,
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("the store is shut down")]
    Closed,
    #[error("cached data is corrupt: {0}")]
    Corrupt(String),
    #[error("not enough free disk space: {0}")]
    DiskFull(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }
    /// True when the file system is full or below the configured floor: a
    /// temporary failure (`452 4.3.1`, APPEND `NO`), nothing to log as a
    /// fault. SQLite's and the blob files' own out-of-space errors count.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::DiskFull(_) => true,
            StoreError::Db(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            StoreError::Io { source, .. } => {
                source.kind() == std::io::ErrorKind::StorageFull
                    || source.kind() == std::io::ErrorKind::QuotaExceeded
            }
            _ => false,
        }
    }

    /// True for refusals the caller should answer with a protocol error
    /// (`NO`, `552`, `-ERR`) rather than log as a failure.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            StoreError::QuotaExceeded(_)
                | StoreError::NotFound(_)
                | StoreError::Exists(_)
                | StoreError::Invalid(_)
                | StoreError::TooLarge { .. }
        )
    }
}
