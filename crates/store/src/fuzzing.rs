//! Fuzzing entry points (issue 13): the bodies of the `fuzz/` targets, kept
//! here so the same code runs under AFL and in the workspace's smoke test
//! (`tests/fuzz_smoke.rs`). Not an API: nothing in the server calls them.

use crate::parse::{MessageMeta, parse};

/// Cuts `data` into the pieces a network read might give: the first four
/// bytes pick the piece lengths (1..=256, used in turn), the rest is the
/// stream. Protocol entry points feed their framers this way, so a fuzzer
/// explores split points as well as contents.
pub fn chunks(data: &[u8]) -> Vec<&[u8]> {
    let (sizes, mut rest) = data.split_at(data.len().min(4));
    let mut out = Vec::new();
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes
            .get(i % sizes.len().max(1))
            .map_or(1, |&b| usize::from(b) + 1);
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        out.push(piece);
        rest = tail;
        i += 1;
    }
    out
}

/// A delivered message's parse and cache round trip: `parse` (the cached
/// meta and the sort columns), the meta encoded as the `messages` row
/// stores it and decoded as a read does, which must give it back.
/// Returns the meta, for the IMAP crate's render target.
pub fn message(raw: &[u8]) -> MessageMeta {
    let mut meta = parse(raw).meta;
    // As the store writes and reads the `meta` column.
    let json = crate::parse::encode_meta(&mut meta).expect("a parsed meta always serializes");
    let back = crate::parse::decode_meta(&json).expect("the cache reads back what it wrote");
    assert_eq!(back, meta, "the cache round trip changed the meta");
    back
}
