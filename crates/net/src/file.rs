//! Writing a small file (a key, a certificate, an account) so that neither
//! a reader nor a crash ever sees half of it, and a key is never readable
//! by others, not even briefly. Shared by the self-signed certificate, the
//! ACME keeper and the DKIM keys.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::NetError;

/// Writes `data` to a temporary file beside `path` created with `mode`
/// (Unix), fsyncs it, renames it over `path`, and fsyncs the directory so
/// the rename itself survives a crash.
pub fn write_atomically(path: &Path, data: &[u8], mode: u32) -> Result<(), NetError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let werr = |p: &Path| {
        let p = p.to_path_buf();
        move |source| NetError::Write { path: p, source }
    };
    // A stale temp file from a crash may have other permissions: start fresh.
    let _ = fs::remove_file(&tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp).map_err(werr(&tmp))?;
    file.write_all(data).map_err(werr(&tmp))?;
    file.sync_all().map_err(werr(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(werr(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(werr(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_stale_temp_file_does_not_lend_its_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key.pem");
        let stale = dir.path().join(".key.pem.tmp");
        fs::write(&stale, b"half").expect("stale");
        fs::set_permissions(&stale, fs::Permissions::from_mode(0o644)).expect("chmod");
        write_atomically(&path, b"secret", 0o600).expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"secret");
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!stale.exists());
    }
}
