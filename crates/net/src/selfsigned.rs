//! Generation and atomic storage of the self-signed certificate used when no
//! real one is configured (first start, tests, a LAN-only server).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

use crate::NetError;
use crate::file::write_atomically;

/// File name of the generated certificate inside the `SelfSigned` dir.
pub(crate) const CERT_FILE: &str = "selfsigned-cert.pem";
/// File name of the generated private key inside the `SelfSigned` dir.
pub(crate) const KEY_FILE: &str = "selfsigned-key.pem";

/// How long a generated certificate is valid: about ten years, so a server
/// that nobody touches does not start failing handshakes.
const VALIDITY_YEARS: i32 = 10;

/// Returns the (cert, key) paths inside `dir`, generating both files first
/// unless both already exist.
pub(crate) fn ensure(hostname: &str, dir: &Path) -> Result<(PathBuf, PathBuf), NetError> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    if cert_path.is_file() && key_path.is_file() {
        return Ok((cert_path, key_path));
    }
    let (cert_pem, key_pem) = generate(hostname)?;
    fs::create_dir_all(dir).map_err(|source| NetError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    // The key goes first: `ensure` regenerates unless *both* files exist, so a
    // crash between the two renames only costs a regeneration.
    write_atomically(&key_path, key_pem.as_bytes(), 0o600)?;
    write_atomically(&cert_path, cert_pem.as_bytes(), 0o644)?;
    tracing::info!(cert = %cert_path.display(), %hostname, "generated self-signed certificate");
    Ok((cert_path, key_path))
}

/// Generates an ECDSA P-256 certificate for `hostname`, `localhost`,
/// 127.0.0.1 and ::1; returns (certificate PEM, PKCS#8 key PEM).
fn generate(hostname: &str) -> Result<(String, String), NetError> {
    let err = |source| NetError::SelfSigned {
        hostname: hostname.to_owned(),
        source,
    };
    let mut names = vec![hostname.to_owned()];
    for extra in ["localhost", "127.0.0.1", "::1"] {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(extra)) {
            names.push(extra.to_owned());
        }
    }
    let mut params = CertificateParams::new(names).map_err(err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, hostname);
    dn.push(DnType::OrganizationName, "Postern self-signed");
    params.distinguished_name = dn;
    let (y, m, d) = crate::date::civil_from_days(days_since_epoch(SystemTime::now()) - 1);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    // Day 28 exists in every month, so the date is always valid.
    params.not_after = rcgen::date_time_ymd(y + VALIDITY_YEARS, m, d.min(28));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let cert = params.self_signed(&key).map_err(err)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn days_since_epoch(now: SystemTime) -> i64 {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    i64::try_from(secs / 86_400).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_not_duplicated_for_localhost() {
        let (cert, key) = generate("localhost").expect("generate");
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.contains("PRIVATE KEY"));
    }

    #[test]
    fn invalid_hostname_is_a_named_error() {
        let err = generate("bäd.example").expect_err("must fail");
        assert!(err.to_string().contains("bäd.example"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_written_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let (_, key) = ensure("mail.example.org", dir.path()).expect("ensure");
        let mode = fs::metadata(&key).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("readdir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }
}
