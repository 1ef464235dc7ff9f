//! The free-space floor (`StoreOptions::min_free`): new mail is refused
//! with a temporary error while the data directory's file system has less
//! free than the floor, so a full disk never turns into a half-written
//! message or a database that cannot commit the flag change or expunge
//! that would free space. Checked live (one `statvfs`, about a
//! microsecond) at every delivery, so service resumes by itself when space
//! comes back.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::{Result, Store, StoreError};

impl Store {
    /// `Err(StoreError::DiskFull)` while free space is below the floor.
    /// Callers that take new mail ask before reading it (SMTP at MAIL),
    /// and `deliver`, `accept` and `append` ask again themselves.
    pub fn check_space(&self) -> Result<()> {
        let floor = self.inner.opts.min_free;
        if floor == 0 {
            return Ok(());
        }
        match free_bytes(&self.inner.dir) {
            Some(free) if free < floor => Err(StoreError::DiskFull(format!(
                "{} MiB free in {}, below the {} MiB floor ([store] min_free_mb)",
                free >> 20,
                self.inner.dir.display(),
                floor >> 20
            ))),
            // Unknown (statvfs failed): the writes themselves will say.
            _ => Ok(()),
        }
    }
}

/// Bytes available to an unprivileged user on the file system of `dir`.
pub(crate) fn free_bytes(dir: &Path) -> Option<u64> {
    let path = CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain data, filled by the call; `path` is a valid
    // NUL-terminated string for its duration.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}
