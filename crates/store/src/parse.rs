//! Parse once: what IMAP needs from a message, computed when it is stored.
//!
//! One pass yields the ENVELOPE fields, the MIME tree with byte offsets
//! into the blob (so `BODY[1.2]` is a slice of the file, no re-parse), and
//! the header values SEARCH, SORT and THREAD use. The result is kept as JSON
//! in the `messages.meta` column and as plain columns for sorting.
//! Formatting into IMAP syntax is the IMAP crate's business, not this one's.
//!
//! The tree and the ENVELOPE follow Dovecot's reading of the message
//! (`mime.rs`, `address.rs`) so FETCH answers can match it byte for byte;
//! mail-parser decodes what SORT needs (dates, RFC 2047 subjects), from
//! the top-level header fields only.
//!
//! Strings hold header bytes as written. A header block that is not UTF-8
//! (raw latin-1, say) is kept byte per char (U+0000..U+00FF) and its
//! struct's `latin1` flag is set, so the bytes come back exactly.

mod address;
mod cache;
mod mime;

pub(crate) use cache::{decode_meta, encode_meta};

use mail_parser::{Address, HeaderName, Message, MessageParser};
use serde::{Deserialize, Serialize};

/// One address of an ENVELOPE list, in RFC 9051 §7.5.2 terms. A group start
/// is `{mailbox: group name, host: None}`, a group end is all `None`.
/// Broken addresses carry Dovecot's placeholders (`MISSING_DOMAIN`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EnvelopeAddress {
    /// The display name as written (quoted strings unquoted, no RFC 2047
    /// decoding), or a trailing comment of a bare addr-spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The obsolete source route (`@a,@b`), IMAP's "adl".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// The ENVELOPE of a message or of an attached message/rfc822.
/// String fields are the raw header values, folds (CRLF + white space)
/// included: the IMAP writer decides how to unfold. With duplicate fields,
/// Date/Subject/Message-ID/In-Reply-To are the last one and address lists
/// hold the addresses of all of them. Sender and Reply-To are empty when
/// absent (RFC 9051 §7.5.2 says to report From then: the writer does).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Envelope {
    pub date: Option<String>,
    pub subject: Option<String>,
    pub from: Vec<EnvelopeAddress>,
    pub sender: Vec<EnvelopeAddress>,
    pub reply_to: Vec<EnvelopeAddress>,
    pub to: Vec<EnvelopeAddress>,
    pub cc: Vec<EnvelopeAddress>,
    pub bcc: Vec<EnvelopeAddress>,
    pub in_reply_to: Option<String>,
    pub message_id: Option<String>,
    /// The header was not UTF-8: every string here is one char per byte.
    #[serde(default, skip_serializing_if = "is_false")]
    pub latin1: bool,
    /// With two or more Date (Subject) fields, the first one, which SEARCH,
    /// SORT and THREAD read as Dovecot does (RFC 5322 §3.6 allows one);
    /// `None` when there is only one. Caches written before this field
    /// existed lack it, and readers fall back to `date` (`subject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_subject: Option<String>,
}

/// How deep the MIME tree goes: a part this many levels below the message
/// (multipart children and attached messages both count a level) is kept
/// as an opaque leaf, its body unparsed, as Dovecot keeps parts past its
/// nesting limit. The one limit for the parser, the cache encoder and the
/// cache decoder (`cache.rs` proves the deepest tree decodes), and what
/// bounds the recursion of everything that walks a tree (renderers,
/// SEARCH), so a message nested 10,000 deep costs no deep stack anywhere.
pub const MAX_MIME_DEPTH: u32 = 60;

/// One node of the MIME tree. Offsets are absolute into the raw message:
/// `header_start..body_start` is the part's header, `body_start..end` its body.
/// The end excludes the line end before the next boundary (RFC 2046 §5.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MimePart {
    /// Media type and subtype as written (case kept; empty when the
    /// Content-Type value is broken); `text` / `plain` without a
    /// Content-Type, `message` / `rfc822` without one in a digest.
    pub media_type: String,
    pub subtype: String,
    /// Content-Type parameters as BODYSTRUCTURE reports them: in source
    /// order, RFC 2231 pieces joined (not decoded) after the plain ones,
    /// and `charset=us-ascii` appended to a text part that has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Content-Transfer-Encoding as written (unknown values kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<(String, Vec<(String, String)>)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub language: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub header_start: u32,
    pub body_start: u32,
    pub end: u32,
    /// LF count of the body (BODYSTRUCTURE reports it for text/* and
    /// message/rfc822).
    pub lines: u32,
    /// Children of a multipart, in order (empty when no boundary was found).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<MimePart>,
    /// The attached message of a message/rfc822 part: its envelope and its body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Box<(Envelope, MimePart)>>,
    /// The header was not UTF-8: every string here is one char per byte.
    #[serde(default, skip_serializing_if = "is_false")]
    pub latin1: bool,
    /// With two or more Date (Subject) fields, the first one, which SEARCH,
    /// SORT and THREAD read as Dovecot does (RFC 5322 §3.6 allows one);
    /// `None` when there is only one. Caches written before this field
    /// existed lack it, and readers fall back to `date` (`subject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_subject: Option<String>,
}

impl MimePart {
    /// True for multipart/* (whatever the case), children or not.
    pub fn is_multipart(&self) -> bool {
        self.media_type.eq_ignore_ascii_case("multipart")
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A stored string back to the bytes it was made from (see `latin1`).
pub fn raw_bytes(s: &str, latin1: bool) -> std::borrow::Cow<'_, [u8]> {
    if latin1 {
        std::borrow::Cow::Owned(s.chars().map(|c| c as u32 as u8).collect())
    } else {
        std::borrow::Cow::Borrowed(s.as_bytes())
    }
}

/// Header bytes to a stored string (see `latin1`).
fn text_of(b: &[u8], latin1: bool) -> String {
    if latin1 {
        b.iter().map(|&c| char::from(c)).collect()
    } else {
        String::from_utf8_lossy(b).into_owned()
    }
}

/// Everything cached for one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MessageMeta {
    pub envelope: Envelope,
    pub body: MimePart,
    /// How the cache was made: `META_VERSION` now; 0 for rows written
    /// before the Dovecot-compatible parser (mail-parser offsets, unfolded
    /// values), which a reader may refresh with `meta_of` on the blob.
    #[serde(default)]
    pub version: u32,
}

/// The `MessageMeta::version` this build writes.
pub const META_VERSION: u32 = 1;

/// The cached ENVELOPE and MIME tree of a raw message, as `deliver` and
/// `append` store them: for refreshing an old row, and for tests.
pub fn meta_of(raw: &[u8]) -> MessageMeta {
    let (body, _, envelope, _) = mime::Tree::new(raw).entity(0, false, 0);
    MessageMeta {
        envelope,
        body,
        version: META_VERSION,
    }
}

/// Columns kept outside the JSON so SQL can sort and search on them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SortFields {
    /// The Date header as seconds since the epoch (UTC), if it parses.
    pub date: Option<i64>,
    /// Subject, decoded (RFC 2047).
    pub subject: String,
    /// First address of From / To / Cc, `mailbox@host`, lowercased.
    pub from: String,
    pub to: String,
    pub cc: String,
    pub message_id: String,
    pub in_reply_to: String,
    pub references: String,
}

pub(crate) struct Parsed {
    pub meta: MessageMeta,
    pub sort: SortFields,
}

/// Parses a raw message. Never fails: whatever the bytes, the result is
/// a header and a body, as IMAP servers report them.
pub(crate) fn parse(raw: &[u8]) -> Parsed {
    let meta = meta_of(raw);
    // The sort columns are all top-level header fields: mail-parser reads
    // the header only, never the body (decoding every text part, checking
    // each body byte for UTF-8 and decoding base64 attachments cost more
    // than the rest of the parse on every delivery, APPEND and import).
    // Its header-only parse gives the root part the same fields as a full
    // parse (`header_parse_gives_the_full_parse_s_sort_fields`). It is still
    // guarded: mail-parser 0.11.9 panicked on a malformed multipart in a
    // full parse (found by fuzzing), and the sort columns are then left
    // empty rather than the delivery failing. Our own MIME tree above does
    // not depend on it.
    let parsed = std::panic::catch_unwind(|| MessageParser::default().parse_headers(raw));
    let Ok(parsed) = parsed else {
        tracing::warn!("mail-parser panicked on a message; its sort fields are left empty");
        return Parsed {
            meta,
            sort: SortFields::default(),
        };
    };
    let Some(msg) = parsed else {
        return Parsed {
            meta,
            sort: SortFields::default(),
        };
    };
    Parsed {
        meta,
        sort: sort_fields(&msg, raw),
    }
}

/// The sort columns from a parse whose root part holds the top-level
/// header fields.
fn sort_fields(msg: &Message<'_>, raw: &[u8]) -> SortFields {
    SortFields {
        date: msg.date().map(|d| d.to_timestamp()),
        subject: msg.subject().unwrap_or_default().to_string(),
        from: first_address(msg.from()),
        to: first_address(msg.to()),
        cc: first_address(msg.cc()),
        message_id: raw_header(msg, raw, HeaderName::MessageId).unwrap_or_default(),
        in_reply_to: raw_header(msg, raw, HeaderName::InReplyTo).unwrap_or_default(),
        references: raw_header(msg, raw, HeaderName::References).unwrap_or_default(),
    }
}

fn first_address(a: Option<&Address<'_>>) -> String {
    a.and_then(|a| a.first())
        .and_then(|a| a.address.as_deref())
        .unwrap_or_default()
        .to_lowercase()
}

fn raw_header(msg: &Message<'_>, raw: &[u8], name: HeaderName<'static>) -> Option<String> {
    msg.root_part()
        .headers
        .iter()
        .find(|h| h.name == name)
        .and_then(|h| raw_value(raw, h.offset_start, h.offset_end))
}

/// A header value as written, unfolded (RFC 5322 §2.2.3) and trimmed;
/// bytes that are not UTF-8 become U+FFFD.
fn raw_value(raw: &[u8], start: u32, end: u32) -> Option<String> {
    let bytes = raw.get(start as usize..end as usize)?;
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'\n' => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    let s = String::from_utf8_lossy(&out).trim().to_string();
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &[u8] = b"From: Ann <ann@example.org>\r\nTo: bob@example.net, Team: c@x.y, d@x.y;\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n  folded\r\nDate: Tue, 1 Jul 2025 10:00:00 +0200\r\nMessage-ID: <m1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nline one\r\nline two\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.org\r\nSubject: inner\r\n\r\ninner body\r\n--b1--\r\n";

    /// The sort columns as a full parse of the whole message gives them.
    fn sort_fields_of_full_parse(raw: &[u8]) -> SortFields {
        MessageParser::default()
            .parse(raw)
            .map(|m| sort_fields(&m, raw))
            .unwrap_or_default()
    }

    #[test]
    fn header_parse_gives_the_full_parse_s_sort_fields() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpus/messages");
        let mut raws: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
            .collect();
        assert!(raws.len() >= 100, "the corpus is there");
        raws.extend(
            [
                NESTED,
                b"Subject: no body\r\nFrom: a@b.c\r\n",
                b"no header at all, just text\r\n",
                b"",
                b"\r\n\r\nbody after an empty header\r\n",
                b"Subject: bare LF\nDate: Tue, 1 Jul 2025 10:00:00 +0200\nIn-Reply-To: <a@b>\nReferences: <x@y>\n  <a@b>\n\nbody\n",
                b"Content-Type: multipart/mixed; boundary=x\r\nSubject: open multipart\r\n\r\n--x\r\nContent-Type: multipart/alternative\r\n\r\n--x--",
            ]
            .map(<[u8]>::to_vec),
        );
        // Each corpus message with its body cut short, and with CRLFs
        // turned into LFs, too.
        let variants: Vec<Vec<u8>> = raws
            .iter()
            .flat_map(|r| {
                let lf: Vec<u8> = r.iter().copied().filter(|&b| b != b'\r').collect();
                [r[..r.len() * 2 / 3].to_vec(), lf]
            })
            .collect();
        raws.extend(variants);
        for raw in &raws {
            let got = parse(raw).sort;
            assert_eq!(
                got,
                sort_fields_of_full_parse(raw),
                "{}",
                String::from_utf8_lossy(&raw[..raw.len().min(200)])
            );
        }
        let dated = raws.iter().filter(|r| parse(r).sort.date.is_some()).count();
        assert!(dated > 100, "most messages have a date: {dated}");
    }

    #[test]
    fn envelope_keeps_raw_values_and_expands_groups() {
        let p = parse(NESTED);
        let e = &p.meta.envelope;
        assert_eq!(
            e.subject.as_deref(),
            Some("=?utf-8?q?caf=C3=A9?=\r\n  folded"),
            "raw, folds kept for the IMAP writer"
        );
        assert_eq!(e.message_id.as_deref(), Some("<m1@example.org>"));
        assert_eq!(e.from[0].name.as_deref(), Some("Ann"));
        assert_eq!(e.from[0].mailbox.as_deref(), Some("ann"));
        assert_eq!(e.from[0].host.as_deref(), Some("example.org"));
        assert!(e.sender.is_empty(), "absent Sender is left to the writer");
        assert!(
            e.reply_to.is_empty(),
            "absent Reply-To is left to the writer"
        );
        let group_start =
            e.to.iter()
                .position(|a| a.mailbox.as_deref() == Some("Team"));
        assert!(group_start.is_some(), "group start marker in {:?}", e.to);
        assert_eq!(
            e.to.last(),
            Some(&EnvelopeAddress::default()),
            "group end marker"
        );
        assert_eq!(p.sort.subject, "café folded");
        assert_eq!(p.sort.from, "ann@example.org");
        assert_eq!(p.sort.date, Some(1_751_356_800));
    }

    #[test]
    fn mime_offsets_slice_the_raw_message_even_when_nested() {
        let p = parse(NESTED);
        let root = &p.meta.body;
        assert_eq!(root.media_type.to_ascii_lowercase(), "multipart");
        assert_eq!(root.parts.len(), 2);
        let text = &root.parts[0];
        assert_eq!(
            &NESTED[text.body_start as usize..text.end as usize],
            b"line one\r\nline two"
        );
        assert_eq!(text.lines, 1, "LFs in the body, as Dovecot counts");
        let rfc822 = &root.parts[1];
        let (env, inner) = rfc822.message.as_deref().expect("attached message");
        assert_eq!(env.subject.as_deref(), Some("inner"));
        assert_eq!(
            &NESTED[inner.body_start as usize..inner.end as usize],
            b"inner body",
            "nested offsets are absolute"
        );
        assert_eq!(
            &NESTED[inner.header_start as usize..inner.header_start as usize + 5],
            b"From:"
        );
    }

    #[test]
    fn no_mime_headers_defaults_to_text_plain_us_ascii() {
        let raw = b"Subject: x\r\n\r\nhello\r\n";
        let p = parse(raw);
        assert_eq!(p.meta.body.media_type, "text");
        assert_eq!(p.meta.body.subtype, "plain");
        assert_eq!(
            p.meta.body.params,
            vec![("charset".into(), "us-ascii".into())]
        );
        assert_eq!(p.meta.body.lines, 1);
    }

    #[test]
    fn garbage_never_panics() {
        for raw in [
            &b""[..],
            b"\0\0\0",
            b"\r\n\r\n",
            b"Content-Type: multipart/mixed\r\n\r\n--",
            &[0xff; 300],
        ] {
            let p = parse(raw);
            let json = serde_json::to_string(&p.meta).expect("serialize");
            let back: MessageMeta = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, p.meta);
        }
    }

    /// Offsets of every part stay inside the message and in order.
    fn check_offsets(p: &MimePart, len: u32) {
        assert!(p.header_start <= p.body_start, "{p:?}");
        assert!(p.body_start <= p.end && p.end <= len, "{p:?}");
        for c in &p.parts {
            assert!(
                c.header_start >= p.body_start && c.end <= p.end,
                "{c:?} in {p:?}"
            );
            check_offsets(c, len);
        }
        if let Some(m) = &p.message {
            check_offsets(&m.1, len);
        }
    }

    #[test]
    fn every_prefix_parses_with_offsets_in_bounds() {
        for n in 0..=NESTED.len() {
            let raw = &NESTED[..n];
            check_offsets(&parse(raw).meta.body, raw.len() as u32);
        }
    }

    #[test]
    fn nested_boundary_that_extends_the_outer_one_is_matched_innermost_first() {
        let raw = b"Content-Type: multipart/mixed; boundary=f\r\n\r\n--f\r\nContent-Type: multipart/alternative; boundary=f-in\r\n\r\n--f-in\r\n\r\na\r\n--f-in\r\n\r\nb\r\n--f-in--\r\n--f\r\n\r\nc\r\n--f--\r\n";
        let b = parse(raw).meta.body;
        assert_eq!(b.parts.len(), 2);
        assert_eq!(b.parts[0].parts.len(), 2);
        let c = &b.parts[1];
        assert_eq!(&raw[c.body_start as usize..c.end as usize], b"c");
    }

    #[test]
    fn missing_close_boundary_runs_the_last_part_to_the_end() {
        let raw = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\none\r\n--x\r\n\r\ntwo\r\n";
        let b = parse(raw).meta.body;
        assert_eq!(b.parts.len(), 2);
        let last = &b.parts[1];
        assert_eq!(
            &raw[last.body_start as usize..last.end as usize],
            b"two\r\n"
        );
    }

    #[test]
    fn rfc2231_pieces_are_joined_after_plain_parameters_and_left_encoded() {
        let raw = b"Content-Type: text/plain; name*1=\"b.txt\"; name*0=\"a-\"; Format=Flowed; title*=utf-8''%C3%A9\r\n\r\n";
        let b = parse(raw).meta.body;
        let got: Vec<(&str, &str)> = b
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("Format", "Flowed"),
                ("name", "a-b.txt"),
                ("title*", "utf-8''%C3%A9"),
                ("charset", "us-ascii"),
            ]
        );
    }

    #[test]
    fn raw_latin1_header_bytes_come_back_exactly() {
        let raw = b"Subject: caf\xe9\r\nFrom: J\xfcrgen <j@x.y>\r\n\r\n";
        let e = parse(raw).meta.envelope;
        assert!(e.latin1);
        let subject = e.subject.as_deref().expect("subject");
        assert_eq!(&*raw_bytes(subject, e.latin1), b"caf\xe9");
        let name = e.from[0].name.as_deref().expect("name");
        assert_eq!(&*raw_bytes(name, e.latin1), b"J\xfcrgen");
    }

    #[test]
    fn broken_addresses_get_dovecots_placeholders() {
        let raw = b"To: Alice <alice>, <@a.example>, bare\r\n\r\n";
        let to = parse(raw).meta.envelope.to;
        let got: Vec<_> = to
            .iter()
            .map(|a| {
                (
                    a.name.as_deref(),
                    a.route.as_deref(),
                    a.mailbox.as_deref(),
                    a.host.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some("Alice"), None, Some("alice"), Some("MISSING_DOMAIN")),
                (
                    None,
                    Some("INVALID_ROUTE"),
                    Some("MISSING_MAILBOX"),
                    Some("MISSING_DOMAIN")
                ),
                (None, None, Some("bare"), Some("MISSING_DOMAIN")),
            ]
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        // 10,000 levels: neither the tree nor mail-parser's sort fields
        // recurse that deep (a stack overflow would abort the test).
        let mut raw = Vec::new();
        for i in 0..10_000 {
            raw.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n")
                    .as_bytes(),
            );
        }
        raw.extend_from_slice(b"\r\nleaf\r\n");
        let p = parse(&raw);
        check_offsets(&p.meta.body, raw.len() as u32);
        let mut part = &p.meta.body;
        for _ in 0..MAX_MIME_DEPTH {
            part = &part.parts[0];
        }
        assert!(part.is_multipart() && part.parts.is_empty(), "a leaf");
        let rfc822 = b"Content-Type: message/rfc822\r\n\r\n".repeat(10_000);
        let p = parse(&rfc822);
        check_offsets(&p.meta.body, rfc822.len() as u32);
    }
}
