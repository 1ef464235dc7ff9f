//! Console sessions: an opaque random id in a cookie, the session itself
//! in the store (`web_sessions`, with its idle and absolute limits), and
//! the CSRF token each session's forms carry back.
//!
//! - The id is 256 bits from the thread's CSPRNG (`rand::rng()`, ChaCha
//!   seeded from the OS), hex; the store keeps only its SHA-256.
//! - The cookie is `Secure; HttpOnly; SameSite=Strict; Path=/`: never sent
//!   over plain HTTP, unreadable by script, not sent on cross-site
//!   requests. The console is only served over TLS.
//! - The CSRF token (another 256 random bits) is per session; every POST
//!   must carry it in the `csrf` field, compared in constant time. The
//!   login form, which has no session yet, uses a double-submit token:
//!   a `postern_login` cookie and the same value in the form.
//! - A login makes a new session (never reuses an id the client sent), and
//!   so does completing the second factor: a session id seen before the
//!   login is worth nothing after it.

use hyper::HeaderMap;
use hyper::header::COOKIE;
use rand::RngCore;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "postern_session";
/// The login form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "postern_login";

/// 256 random bits as 64 hex digits.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A cookie's value from the request's `Cookie` headers (RFC 6265 §5.4:
/// `name=value` pairs separated by `; `).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name && !v.is_empty()).then(|| v.to_string())
        })
}

/// The `Set-Cookie` value for `name=value`; `max_age` 0 removes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}")
}

/// Compares two tokens in time that depends only on their lengths.
pub fn same_token(a: &str, b: &str) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn tokens_are_long_random_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("x_postern_session=no; a=1"),
        );
        h.append(COOKIE, HeaderValue::from_static("postern_session=abc; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
        let c = set_cookie(SESSION_COOKIE, "abc", 60);
        for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(c.contains(attr), "{c}");
        }
    }

    #[test]
    fn token_comparison_needs_equal_non_empty_values() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        assert!(!same_token("", ""));
    }
}
