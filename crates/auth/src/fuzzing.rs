//! Fuzzing entry points (issue 13): the bodies of the `fuzz/` targets, kept
//! here so the same code runs under AFL and in the workspace's smoke test
//! (`tests/fuzz_smoke.rs`). Not an API: nothing in the server calls them.

use crate::sasl::{
    LoginExchange, LoginStep, MAX_FIELD, decode_base64, decode_plain, write_challenge,
};

/// SASL PLAIN and LOGIN as the protocol sessions run them, on the lines
/// of `data` (split at LF): each line base64-decoded as a client response;
/// PLAIN (and the bearer messages) on the first decoded line and on the
/// raw bytes; LOGIN fed the
/// decoded lines in turn, with the first as its initial response when the
/// input's first byte is odd. Credentials that come out respect the field
/// limit; challenges re-encode.
pub fn sasl(data: &[u8]) {
    let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    let decoded: Vec<Vec<u8>> = lines
        .iter()
        .filter_map(|line| decode_base64(line).ok())
        .collect();
    for bytes in decoded.first().map(Vec::as_slice).into_iter().chain([data]) {
        if let Ok(creds) = decode_plain(bytes) {
            assert!(!creds.authcid.is_empty() && creds.authcid.len() <= MAX_FIELD);
        }
        // The bearer messages (OAUTHBEARER, XOAUTH2) on the same bytes.
        for m in crate::BearerMechanism::ALL {
            if let Ok(r) = crate::decode_bearer(m, bytes, 8192) {
                assert!(!r.token.expose().is_empty() && r.token.expose().len() <= 8192);
            }
        }
    }
    let mut login = LoginExchange::new();
    let initial = data.first().is_some_and(|b| b & 1 == 1);
    let mut responses = decoded.iter().map(Vec::as_slice);
    let mut step = login.start(if initial { responses.next() } else { None });
    for response in responses {
        match step {
            Ok(LoginStep::Challenge(challenge)) => {
                let mut out = Vec::new();
                write_challenge(challenge, &mut out);
                assert!(out.starts_with(b"+ ") && out.ends_with(b"\r\n"));
                step = login.step(response);
            }
            Ok(LoginStep::Done(creds)) => {
                assert!(!creds.authcid.is_empty() && creds.authcid.len() <= MAX_FIELD);
                break;
            }
            Err(_) => break,
        }
    }
}

/// The directory the session targets log in and resolve recipients
/// through: `domain`, `user` (id 1) with `password`, and `aliases`. Every
/// hash is argon2's cheapest (unknown users' too) and failures are never
/// delayed or locked out, so an input's failed logins cost no time and do
/// not change what later inputs of the process can do.
pub fn directory(
    domain: &str,
    user: &str,
    password: &str,
    aliases: &[(&str, &[&str])],
) -> crate::Directory {
    let hash = crate::hash_password_cheap_for_tests(&crate::Secret::new(password.to_owned()))
        .expect("a cheap hash");
    let backend = crate::MemoryBackend::new();
    backend.add_domain(domain);
    backend.add_user(user, "", &hash);
    for (source, targets) in aliases {
        backend.add_alias(source, targets);
    }
    let cfg = crate::AuthConfig {
        delay_step: std::time::Duration::ZERO,
        max_delay: std::time::Duration::ZERO,
        lockout_after: 0,
        ..crate::AuthConfig::default()
    };
    crate::Directory::new_with_dummy_hash(std::sync::Arc::new(backend), cfg, hash)
}
