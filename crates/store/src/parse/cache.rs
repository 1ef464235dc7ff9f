//! The cached meta as stored in `messages.meta` (JSON), with the depth of
//! the MIME tree bounded by `MAX_MIME_DEPTH` on the way in and out.
//!
//! serde_json refuses input nested deeper than its recursion limit, so a
//! tree the parser keeps but the decoder refuses would make a message's
//! row unreadable for good (issue 13: one message nested 62 deep broke
//! every SEARCH of its mailbox). The compile-time check below ties the
//! two: the deepest JSON the deepest tree makes fits the decoder.

use super::{MAX_MIME_DEPTH, MessageMeta, MimePart};

/// JSON nesting of a cached meta whose tree is `mime_depth` deep. The
/// `MessageMeta` object is 1 and its `body` 2; each level adds two (a
/// part's `parts` array, or its `message` tuple, then the child object).
/// The deepest values inside a part object are 3 further down (its
/// `disposition` tuple, that tuple's parameter list, a parameter pair);
/// an attached message's addresses are 4 below the part above the last
/// level, one less.
pub(super) const fn json_depth(mime_depth: u32) -> u32 {
    2 + 2 * mime_depth + 3
}

/// The deepest nesting serde_json reads with its default recursion limit
/// (128: the 128th opened array or object is refused).
const DECODER_MAX_DEPTH: u32 = 127;

const _: () = assert!(
    json_depth(MAX_MIME_DEPTH) <= DECODER_MAX_DEPTH,
    "MAX_MIME_DEPTH makes cache rows serde_json cannot read back"
);

/// The meta as its row stores it. A tree deeper than `MAX_MIME_DEPTH`
/// (the parser never makes one) is cut to leaves there first, so every
/// row written decodes.
pub(crate) fn encode_meta(meta: &mut MessageMeta) -> serde_json::Result<String> {
    clip(&mut meta.body, MAX_MIME_DEPTH);
    serde_json::to_string(meta)
}

/// A row's meta. Fails on what `encode_meta` never writes (a damaged row,
/// or one nested past the limit), which the caller re-derives from the
/// message; serde_json's recursion limit keeps a hostile row from running
/// the stack out.
pub(crate) fn decode_meta(json: &str) -> serde_json::Result<MessageMeta> {
    serde_json::from_str(json)
}

/// Makes the parts `left` levels down leaves. Recurses at most `left` deep.
fn clip(part: &mut MimePart, left: u32) {
    if left == 0 {
        part.parts.clear();
        part.message = None;
        return;
    }
    for child in &mut part.parts {
        clip(child, left - 1);
    }
    if let Some(m) = &mut part.message {
        clip(&mut m.1, left - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Envelope, EnvelopeAddress, meta_of};

    /// A part with every nested field filled (the deepest JSON a part makes).
    fn full_part() -> MimePart {
        MimePart {
            media_type: "text".into(),
            subtype: "plain".into(),
            params: vec![("charset".into(), "utf-8".into())],
            disposition: Some(("inline".into(), vec![("a".into(), "b".into())])),
            language: vec!["en".into()],
            ..MimePart::default()
        }
    }

    /// A chain `depth` levels deep, alternating multiparts and attached
    /// messages with full envelopes, every part full.
    fn chain(depth: u32) -> MimePart {
        let mut p = full_part();
        for level in (0..depth).rev() {
            let mut parent = full_part();
            if level % 2 == 0 {
                let from = EnvelopeAddress {
                    name: Some("n".into()),
                    mailbox: Some("m".into()),
                    host: Some("h".into()),
                    ..EnvelopeAddress::default()
                };
                let env = Envelope {
                    from: vec![from],
                    ..Envelope::default()
                };
                parent.message = Some(Box::new((env, p)));
            } else {
                parent.parts = vec![p];
            }
            p = parent;
        }
        p
    }

    fn depth_of(p: &MimePart) -> u32 {
        let below = p.parts.iter().chain(p.message.as_ref().map(|m| &m.1));
        below.map(|c| 1 + depth_of(c)).max().unwrap_or(0)
    }

    #[test]
    fn the_deepest_tree_the_limit_allows_round_trips() {
        for depth in [0, 1, MAX_MIME_DEPTH - 1, MAX_MIME_DEPTH] {
            let mut meta = MessageMeta {
                body: chain(depth),
                ..MessageMeta::default()
            };
            let json = encode_meta(&mut meta).expect("encode");
            assert_eq!(depth_of(&meta.body), depth, "not cut at {depth}");
            assert_eq!(decode_meta(&json).expect("decode"), meta, "{depth}");
            assert_eq!(nesting(&json), json_depth(depth), "the bound is exact");
        }
    }

    #[test]
    fn a_deeper_tree_is_cut_to_the_limit_and_decodes() {
        let mut meta = MessageMeta {
            body: chain(MAX_MIME_DEPTH + 5),
            ..MessageMeta::default()
        };
        let json = encode_meta(&mut meta).expect("encode");
        assert_eq!(depth_of(&meta.body), MAX_MIME_DEPTH);
        assert_eq!(decode_meta(&json).expect("decode"), meta);
    }

    #[test]
    fn the_decoder_refuses_the_depth_past_its_limit_without_overflowing() {
        let ok = DECODER_MAX_DEPTH as usize;
        let at = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(serde_json::from_str::<serde_json::Value>(&at(ok)).is_ok());
        assert!(serde_json::from_str::<serde_json::Value>(&at(ok + 1)).is_err());
        let hostile = format!(
            "{{\"envelope\":{{}},\"body\":{}}}",
            "{\"parts\":[".repeat(100_000)
        );
        assert!(decode_meta(&hostile).is_err());
    }

    /// Nesting of `[`/`{` outside strings.
    fn nesting(json: &str) -> u32 {
        let (mut depth, mut max, mut in_str, mut esc) = (0u32, 0u32, false, false);
        for b in json.bytes() {
            match (in_str, esc, b) {
                (true, true, _) => esc = false,
                (true, false, b'\\') => esc = true,
                (true, false, b'"') => in_str = false,
                (false, _, b'"') => in_str = true,
                (false, _, b'[' | b'{') => {
                    depth += 1;
                    max = max.max(depth);
                }
                (false, _, b']' | b'}') => depth -= 1,
                _ => {}
            }
        }
        max
    }

    /// A message `depth` multiparts deep (each level's boundary distinct)
    /// around one text part: what the e2e tests deliver over SMTP.
    fn nested_multipart(depth: usize) -> Vec<u8> {
        let mut raw = Vec::new();
        for i in 0..depth {
            raw.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n")
                    .as_bytes(),
            );
        }
        raw.extend_from_slice(b"Content-Disposition: inline; a=b\r\n\r\nleaf\r\n");
        raw
    }

    #[test]
    fn parsed_messages_at_and_past_the_limit_make_rows_that_decode() {
        for depth in [61, 62, 64, 200, 10_000] {
            for raw in [
                nested_multipart(depth),
                b"Content-Type: message/rfc822\r\n\r\n".repeat(depth),
            ] {
                let mut meta = meta_of(&raw);
                assert_eq!(depth_of(&meta.body), MAX_MIME_DEPTH, "{depth}");
                let json = encode_meta(&mut meta).expect("encode");
                assert_eq!(decode_meta(&json).expect("decode"), meta, "{depth}");
            }
        }
    }
}
