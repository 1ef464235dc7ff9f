//! DKIM keys per domain, in the data directory: `dkim/<domain>/` holds one
//! private key file per selector (`<selector>.ed25519` PKCS#8 DER,
//! `<selector>.rsa` PKCS#1 DER, mode 0600) and `active`, the selectors mail
//! is signed with now (one Ed25519 and one RSA-2048: RFC 8463 §1 advises
//! signing with both while verifiers catch up). Rotation makes a new pair
//! and switches `active`; old keys stay so their DNS records can be left
//! in place until mail signed with them has been delivered.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::dkim::generate::DkimKeyPair;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algo {
    Ed25519,
    Rsa,
}

impl Algo {
    fn ext(self) -> &'static str {
        match self {
            Algo::Ed25519 => "ed25519",
            Algo::Rsa => "rsa",
        }
    }
    /// The `k=` tag of the DNS record (RFC 6376 §3.6.1, RFC 8463 §4).
    pub fn k(self) -> &'static str {
        match self {
            Algo::Ed25519 => "ed25519",
            Algo::Rsa => "rsa",
        }
    }
}

/// One key: its selector, algorithm, and the private key bytes.
#[derive(Clone)]
pub struct DkimKey {
    pub selector: String,
    pub algo: Algo,
    private: Vec<u8>,
}

impl std::fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimKey")
            .field("selector", &self.selector)
            .field("algo", &self.algo)
            .finish_non_exhaustive()
    }
}

fn dir_of(data_dir: &Path, domain: &str) -> PathBuf {
    data_dir.join("dkim").join(domain.to_ascii_lowercase())
}

/// Wraps a PKCS#1 RSAPublicKey in a SubjectPublicKeyInfo (RFC 5280 §4.1,
/// rsaEncryption), the form RFC 6376 §3.6.1 publishes in `p=`.
fn spki_of_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    fn der_len(n: usize, out: &mut Vec<u8>) {
        if n < 0x80 {
            out.push(n as u8);
        } else {
            let bytes: Vec<u8> = n
                .to_be_bytes()
                .into_iter()
                .skip_while(|&b| b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend_from_slice(&bytes);
        }
    }
    // AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }
    const ALG: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bit_string = vec![0x03];
    der_len(pkcs1.len() + 1, &mut bit_string);
    bit_string.push(0);
    bit_string.extend_from_slice(pkcs1);
    let mut out = vec![0x30];
    der_len(ALG.len() + bit_string.len(), &mut out);
    out.extend_from_slice(&ALG);
    out.extend_from_slice(&bit_string);
    out
}

impl DkimKey {
    /// The public key as published in `p=`, base64.
    pub fn public_b64(&self) -> Result<String, String> {
        let raw = match self.algo {
            Algo::Ed25519 => Ed25519Key::from_pkcs8_der(&self.private)
                .map_err(|e| e.to_string())?
                .public_key(),
            Algo::Rsa => spki_of_pkcs1(
                &RsaKey::<Sha256>::from_key_der(pkcs1(&self.private))
                    .map_err(|e| e.to_string())?
                    .public_key(),
            ),
        };
        Ok(base64::engine::general_purpose::STANDARD.encode(raw))
    }

    /// The TXT record's value (`v=DKIM1; k=…; p=…`).
    pub fn txt(&self) -> Result<String, String> {
        Ok(format!(
            "v=DKIM1; k={}; p={}",
            self.algo.k(),
            self.public_b64()?
        ))
    }

    pub fn ed25519(&self) -> Option<Ed25519Key> {
        (self.algo == Algo::Ed25519)
            .then(|| Ed25519Key::from_pkcs8_der(&self.private).ok())
            .flatten()
    }

    pub fn rsa(&self) -> Option<RsaKey<Sha256>> {
        (self.algo == Algo::Rsa)
            .then(|| RsaKey::<Sha256>::from_key_der(pkcs1(&self.private)).ok())
            .flatten()
    }
}

/// Today as `YYYYMMDD` (UTC), for new selectors.
pub fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64 / 86_400)
        .unwrap_or(0);
    let (y, m, d) = postern_net::civil_from_days(days);
    format!("{y:04}{m:02}{d:02}")
}

fn pkcs1(der: &[u8]) -> rustls_pki_types::PrivateKeyDer<'_> {
    rustls_pki_types::PrivateKeyDer::Pkcs1(rustls_pki_types::PrivatePkcs1KeyDer::from(der))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    postern_net::write_atomically(path, bytes, 0o600).map_err(|e| e.to_string())
}

/// Makes a new Ed25519 and RSA-2048 pair for `domain` and makes them the
/// active ones. Selectors are `p<YYYYMMDD>e` / `p<YYYYMMDD>r` (with a
/// counter when several are made the same day). Returns the new keys.
pub fn rotate(data_dir: &Path, domain: &str, today: &str) -> Result<Vec<DkimKey>, String> {
    let dir = dir_of(data_dir, domain);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut base = format!("p{today}");
    let mut n = 1;
    while dir.join(format!("{base}e.ed25519")).exists() || dir.join(format!("{base}r.rsa")).exists()
    {
        n += 1;
        base = format!("p{today}n{n}");
    }
    let ed = DkimKeyPair::generate_ed25519().map_err(|e| e.to_string())?;
    let rsa = DkimKeyPair::generate_rsa(2048).map_err(|e| e.to_string())?;
    let keys = vec![
        DkimKey {
            selector: format!("{base}e"),
            algo: Algo::Ed25519,
            private: ed.private_key().to_vec(),
        },
        DkimKey {
            selector: format!("{base}r"),
            algo: Algo::Rsa,
            private: rsa.private_key().to_vec(),
        },
    ];
    for k in &keys {
        let p = dir.join(format!("{}.{}", k.selector, k.algo.ext()));
        write_private(&p, &k.private)?;
    }
    let active: String = keys.iter().map(|k| format!("{}\n", k.selector)).collect();
    let p = dir.join("active");
    write_private(&p, active.as_bytes())?;
    Ok(keys)
}

fn load_selector(dir: &Path, selector: &str) -> Option<DkimKey> {
    for algo in [Algo::Ed25519, Algo::Rsa] {
        let p = dir.join(format!("{selector}.{}", algo.ext()));
        if let Ok(private) = std::fs::read(&p) {
            return Some(DkimKey {
                selector: selector.to_string(),
                algo,
                private,
            });
        }
    }
    None
}

/// The keys `domain` signs with now (none if it has no keys).
pub fn active(data_dir: &Path, domain: &str) -> Vec<DkimKey> {
    let dir = dir_of(data_dir, domain);
    let Ok(text) = std::fs::read_to_string(dir.join("active")) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .filter_map(|s| load_selector(&dir, s))
        .collect()
}

/// Every key of `domain`, active or retired, by selector.
pub fn all(data_dir: &Path, domain: &str) -> Vec<DkimKey> {
    let dir = dir_of(data_dir, domain);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut selectors: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let (sel, ext) = name.rsplit_once('.')?;
            matches!(ext, "ed25519" | "rsa").then(|| sel.to_string())
        })
        .collect();
    selectors.sort();
    selectors.dedup();
    selectors
        .iter()
        .filter_map(|s| load_selector(&dir, s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate_makes_two_active_keys_and_keeps_the_old_ones() {
        let d = tempfile::tempdir().expect("tmp");
        let first = rotate(d.path(), "Example.org", "20261125").expect("rotate");
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].selector, "p20261125e");
        assert!(
            first[0]
                .txt()
                .expect("txt")
                .starts_with("v=DKIM1; k=ed25519; p=")
        );
        let rsa = first[1].txt().expect("txt");
        // SPKI of a 2048-bit key is 294 bytes: 392 base64 characters.
        assert!(rsa.starts_with("v=DKIM1; k=rsa; p=MIIBIjAN"), "{rsa}");
        let again = rotate(d.path(), "example.org", "20261125").expect("rotate");
        assert_eq!(again[0].selector, "p20261125n2e");
        let active: Vec<String> = active(d.path(), "example.org")
            .into_iter()
            .map(|k| k.selector)
            .collect();
        assert_eq!(active, ["p20261125n2e", "p20261125n2r"]);
        assert_eq!(all(d.path(), "example.org").len(), 4);
        assert!(active_signers_work(d.path()));
    }

    fn active_signers_work(dir: &Path) -> bool {
        let keys = active(dir, "example.org");
        keys[0].ed25519().is_some() && keys[1].rsa().is_some()
    }
}
