//! TOTP (RFC 6238) as authenticator apps speak it: HMAC-SHA-1, 30-second
//! steps from the Unix epoch, 6 digits; the base32 secret and the
//! `otpauth://` URI (Google Authenticator's key URI format, which every
//! authenticator app reads) shown at enrolment.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::Secret;

/// RFC 6238 §4.1 X: the step length in seconds (the RFC's default, and the
/// only one most apps support).
pub const STEP_SECS: u64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret: 160 bits, the length RFC 4226 §4 R6 recommends.
pub const SECRET_LEN: usize = 20;

/// A new shared secret from the CSPRNG.
pub fn generate_secret() -> Secret<Vec<u8>> {
    Secret::new((0..SECRET_LEN).map(|_| rand::random::<u8>()).collect())
}

/// RFC 4226 §5.3 HOTP: HMAC-SHA-1 of the big-endian counter, dynamically
/// truncated to 31 bits, modulo 10^digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(secret) else {
        // HMAC takes keys of any length; this arm is unreachable.
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([
        h[offset] & 0x7f,
        h[offset + 1],
        h[offset + 2],
        h[offset + 3],
    ]);
    bin % 10u32.pow(digits)
}

/// RFC 6238 §4.2: the time step of `unix_secs`.
pub fn step_at(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// The 6-digit code of `step`, zero-padded, as an app shows it.
pub fn code_at_step(secret: &[u8], step: u64) -> String {
    format!("{:06}", hotp(secret, step, DIGITS))
}

/// The step among `now - 1`, `now`, `now + 1` (RFC 6238 §5.2: one step of
/// clock drift and transmission delay allowed either way) whose code is
/// `typed`; `None` when `typed` is not 6 digits or matches none. Every
/// candidate is computed and compared whole, so the time taken does not
/// depend on which one matched.
pub fn matching_step(secret: &[u8], typed: &str, now_step: u64) -> Option<u64> {
    let typed = typed.trim();
    if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut found = None;
    for step in [now_step.saturating_sub(1), now_step, now_step + 1] {
        let code = code_at_step(secret, step);
        let same = code
            .bytes()
            .zip(typed.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 §6 base32, upper case, without padding (what apps expect).
pub fn base32(bytes: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(A[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(A[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes RFC 4648 base32 (either case, padding and spaces ignored), as a
/// user or a test reads a secret back; `None` on any other character.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !matches!(c, b'=' | b' ')) {
        let v = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buf = (buf << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn uri_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The key URI an authenticator app scans or imports:
/// `otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = uri_escape(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        uri_escape(account),
        base32(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, the SHA-1 rows: the 20-byte ASCII seed
    /// "12345678901234567890", 8-digit codes.
    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        let seed = b"12345678901234567890";
        for (time, code) in [
            (59u64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(seed, step_at(time), 8), code, "T = {time}");
        }
    }

    /// RFC 4226 Appendix D: 6-digit HOTP values for counters 0 to 9.
    #[test]
    fn rfc_4226_appendix_d_hotp_vectors() {
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, code) in want.into_iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", counter as u64, 6), code);
        }
        assert_eq!(code_at_step(b"12345678901234567890", 0), "755224");
    }

    #[test]
    fn codes_match_one_step_either_way_and_nothing_else() {
        let secret = b"12345678901234567890";
        let now = 1000;
        for (step, want) in [(999, Some(999)), (1000, Some(1000)), (1001, Some(1001))] {
            assert_eq!(
                matching_step(secret, &code_at_step(secret, step), now),
                want
            );
        }
        assert_eq!(matching_step(secret, &code_at_step(secret, 998), now), None);
        assert_eq!(
            matching_step(secret, &code_at_step(secret, 1002), now),
            None
        );
        for bad in ["", "12345", "1234567", "abcdef", "12 345"] {
            assert_eq!(matching_step(secret, bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn base32_follows_rfc_4648_test_vectors_without_padding() {
        for (input, want) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), want);
            assert_eq!(base32_decode(want).as_deref(), Some(input.as_bytes()));
        }
        assert_eq!(base32_decode("mzxw6==="), Some(b"foo".to_vec()));
        assert_eq!(base32_decode("MZ1W"), None);
    }

    #[test]
    fn otpauth_uri_escapes_the_label_and_carries_the_parameters() {
        let uri = otpauth_uri("Postern mail", "ann@example.org", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/Postern%20mail:ann%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Postern%20mail&algorithm=SHA1&digits=6&period=30"
        );
    }
}
