//! Fuzzing entry points (issue 13): the bodies of the `fuzz/` targets, kept
//! here so the same code runs under AFL and in the workspace's smoke test
//! (`tests/fuzz_smoke.rs`). Not an API: nothing in the server calls them.

/// The autodiscover request scanner on a POSTed body, and the query
/// decoding and address split of the GET endpoints on the same bytes.
/// An address found is never empty (the handler answers with it).
pub fn autodiscover(data: &[u8]) {
    if let Some(email) = crate::pox::email_from_pox(data) {
        assert!(!email.is_empty(), "an empty address");
        let _ = crate::split_address(&email);
    }
    let text = String::from_utf8_lossy(data);
    if let Some(email) = crate::query_param(&text, "emailaddress") {
        let _ = crate::split_address(&email);
    }
}
