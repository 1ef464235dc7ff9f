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
    #[error("database schema version {found} is newer than this postern knows ({known})")]
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
