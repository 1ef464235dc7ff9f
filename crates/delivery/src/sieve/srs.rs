//! The Sender Rewriting Scheme, so mail we forward (an alias to an outside
//! address, Sieve `redirect`) passes SPF at the next hop: the envelope
//! sender becomes an address of our domain that encodes the original one
//! with a timestamp and a keyed hash, and a bounce to it is decoded and
//! sent back to the original sender. Forms (after Shevek's scheme):
//!
//! - `SRS0=HHHHHHHH=TT=example.net=alice@our.domain` for a first hop;
//! - `SRS1=HHHHHHHH=first.hop==HHHH=TT=example.net=alice@our.domain` when
//!   what we forward already is an SRS0 address of another forwarder (the
//!   bounce goes back to that forwarder, which holds the key).
//!
//! The hash is HMAC-SHA-256 under a key kept in the data directory
//! (`srs.key`, 32 random bytes, created 0600 on first use), cut to 8 hex
//! digits: lowercase, so a hop that folds case cannot break it. TT is the
//! day number modulo 1024 in base 32; an address older than the allowed
//! age, or whose hash does not match, is refused.

use std::path::Path;

use sha2::{Digest, Sha256};

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The key and the age allowed for a bounce.
#[derive(Clone)]
pub struct Srs {
    key: [u8; 32],
    max_age_days: u64,
}

impl std::fmt::Debug for Srs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Srs").field("key", &"<redacted>").finish()
    }
}

/// Why an SRS address was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrsError {
    /// Not of the form, or the hash does not match: forged.
    Forged,
    /// Older than the allowed age.
    Expired,
}

impl std::fmt::Display for SrsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SrsError::Forged => "invalid SRS address",
            SrsError::Expired => "expired SRS address",
        })
    }
}

/// Whether `local` (a local part) is in SRS form; such addresses of our
/// domains are decoded rather than looked up as users.
pub fn is_srs(local: &str) -> bool {
    let l = local.as_bytes();
    l.len() > 5
        && l[..3].eq_ignore_ascii_case(b"srs")
        && matches!(l[3], b'0' | b'1')
        && matches!(l[4], b'=' | b'-' | b'+')
}

impl Srs {
    pub fn new(key: [u8; 32], max_age_days: u64) -> Self {
        Self { key, max_age_days }
    }

    /// Reads the key in `data_dir`, creating it (0600) on first use.
    pub fn load_or_create(data_dir: &Path, max_age_days: u64) -> std::io::Result<Self> {
        let path = data_dir.join("srs.key");
        match std::fs::read(&path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} is not 32 bytes", path.display()),
                    )
                })?;
                Ok(Self::new(key, max_age_days))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                write_private(&path, &key)?;
                Ok(Self::new(key, max_age_days))
            }
            Err(e) => Err(e),
        }
    }

    /// The envelope sender to forward `sender` with, as an address at
    /// `domain` (ours). The null sender stays null (a bounce is never
    /// forwarded with a return path), and one of ours is left alone.
    pub fn forward(&self, sender: &str, domain: &str) -> String {
        self.forward_at(sender, domain, today())
    }

    fn forward_at(&self, sender: &str, domain: &str, day: u64) -> String {
        let Some((local, sdomain)) = sender.rsplit_once('@') else {
            return sender.to_string();
        };
        if sender.is_empty() || sdomain.eq_ignore_ascii_case(domain) {
            return sender.to_string();
        }
        if is_srs(local) && local.as_bytes()[3] == b'0' {
            // Someone else's SRS0: point back at them (SRS1), keeping
            // their part whole so they can decode it.
            let rest = &local[5..];
            let hash = self.hash(&[sdomain, rest]);
            return format!("SRS1={hash}={sdomain}=={rest}@{domain}");
        }
        if is_srs(local) && local.as_bytes()[3] == b'1' {
            // Already SRS1: keep the first hop, re-sign for us.
            if let Some((_, rest)) = local[5..].split_once('=')
                && let Some((first, orig)) = rest.split_once("==")
            {
                let hash = self.hash(&[first, orig]);
                return format!("SRS1={hash}={first}=={orig}@{domain}");
            }
        }
        let tt = timestamp(day);
        let hash = self.hash(&[&tt, sdomain, local]);
        format!("SRS0={hash}={tt}={sdomain}={local}@{domain}")
    }

    /// The address a bounce to SRS local part `local` goes to.
    pub fn reverse(&self, local: &str) -> Result<String, SrsError> {
        self.reverse_at(local, today())
    }

    fn reverse_at(&self, local: &str, day: u64) -> Result<String, SrsError> {
        if !is_srs(local) {
            return Err(SrsError::Forged);
        }
        let rest = &local[5..];
        if local.as_bytes()[3] == b'1' {
            let (hash, rest) = rest.split_once('=').ok_or(SrsError::Forged)?;
            let (first, orig) = rest.split_once("==").ok_or(SrsError::Forged)?;
            if !self.hash(&[first, orig]).eq_ignore_ascii_case(hash) {
                return Err(SrsError::Forged);
            }
            // Back to the first forwarder's SRS0 address.
            return Ok(format!("SRS0={orig}@{first}"));
        }
        let mut parts = rest.splitn(4, '=');
        let (Some(hash), Some(tt), Some(sdomain), Some(slocal)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SrsError::Forged);
        };
        if slocal.is_empty() || sdomain.is_empty() {
            return Err(SrsError::Forged);
        }
        if !self.hash(&[tt, sdomain, slocal]).eq_ignore_ascii_case(hash) {
            return Err(SrsError::Forged);
        }
        let then = decode_timestamp(tt).ok_or(SrsError::Forged)?;
        let age = (day % 1024 + 1024 - then) % 1024;
        if age > self.max_age_days {
            return Err(SrsError::Expired);
        }
        Ok(format!("{slocal}@{sdomain}"))
    }

    /// HMAC-SHA-256 (RFC 2104) of the parts, case-folded (a hop may fold
    /// the local part's case), as 8 hex digits.
    fn hash(&self, parts: &[&str]) -> String {
        let mut inner = Sha256::new();
        let mut outer = Sha256::new();
        let (mut ipad, mut opad) = ([0x36u8; 64], [0x5cu8; 64]);
        for (i, k) in self.key.iter().enumerate() {
            ipad[i] ^= k;
            opad[i] ^= k;
        }
        inner.update(ipad);
        for p in parts {
            inner.update(p.to_ascii_lowercase().as_bytes());
            inner.update([0]);
        }
        outer.update(opad);
        outer.update(inner.finalize());
        outer.finalize()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn today() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0)
}

/// The day modulo 1024 as two base-32 letters.
fn timestamp(day: u64) -> String {
    let d = (day % 1024) as usize;
    [BASE32[d >> 5] as char, BASE32[d & 31] as char]
        .iter()
        .collect()
}

fn decode_timestamp(tt: &str) -> Option<u64> {
    let b = tt.as_bytes();
    if b.len() != 2 {
        return None;
    }
    let val = |c: u8| BASE32.iter().position(|x| *x == c.to_ascii_lowercase());
    Some((val(b[0])? * 32 + val(b[1])?) as u64)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srs() -> Srs {
        Srs::new([7; 32], 21)
    }

    #[test]
    fn srs0_round_trips_and_ignores_case() {
        let s = srs();
        let fwd = s.forward_at("Alice@Example.NET", "example.org", 20_000);
        assert!(fwd.starts_with("SRS0="), "{fwd}");
        assert!(fwd.ends_with("=Example.NET=Alice@example.org"), "{fwd}");
        let local = fwd.rsplit_once('@').expect("at").0;
        assert_eq!(
            s.reverse_at(local, 20_001).expect("valid"),
            "Alice@Example.NET"
        );
        assert_eq!(
            s.reverse_at(&local.to_ascii_lowercase(), 20_001)
                .expect("folded"),
            "alice@example.net"
        );
    }

    #[test]
    fn forged_and_expired_addresses_are_refused() {
        let s = srs();
        let fwd = s.forward_at("alice@example.net", "example.org", 20_000);
        let local = fwd.rsplit_once('@').expect("at").0;
        assert_eq!(s.reverse_at(local, 20_030), Err(SrsError::Expired));
        let forged = local.replacen("alice", "mallory", 1);
        assert_eq!(s.reverse_at(&forged, 20_000), Err(SrsError::Forged));
        let other_key = Srs::new([8; 32], 21);
        assert_eq!(other_key.reverse_at(local, 20_000), Err(SrsError::Forged));
        assert_eq!(s.reverse_at("SRS0=x", 20_000), Err(SrsError::Forged));
        // Across the 1024-day wrap the age still counts right.
        let fwd = s.forward_at("a@example.net", "example.org", 1023);
        let local = fwd.rsplit_once('@').expect("at").0;
        assert!(s.reverse_at(local, 1025).is_ok());
    }

    #[test]
    fn null_and_own_senders_are_not_rewritten_and_srs0_becomes_srs1() {
        let s = srs();
        assert_eq!(s.forward_at("", "example.org", 1), "");
        assert_eq!(
            s.forward_at("bob@example.org", "example.org", 1),
            "bob@example.org"
        );
        let theirs = "SRS0=abcd=xy=example.net=alice@forwarder.example";
        let fwd = s.forward_at(theirs, "example.org", 1);
        assert!(fwd.starts_with("SRS1="), "{fwd}");
        let local = fwd.rsplit_once('@').expect("at").0;
        assert_eq!(
            s.reverse_at(local, 1).expect("valid"),
            "SRS0=abcd=xy=example.net=alice@forwarder.example"
        );
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = Srs::load_or_create(dir.path(), 21).expect("create");
        let b = Srs::load_or_create(dir.path(), 21).expect("read");
        assert_eq!(a.key, b.key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("srs.key"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
