//! Parse once: what IMAP needs from a message, computed when it is stored.
//!
//! One mail-parser pass yields the ENVELOPE fields, the MIME tree with byte
//! offsets into the blob (so `BODY[1.2]` is a slice of the file, no re-parse),
//! and the header values SEARCH, SORT and THREAD use. The result is kept as
//! JSON in the `messages.meta` column and as plain columns for sorting.
//! Formatting into IMAP syntax is the IMAP crate's business, not this one's.

use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MessagePart, PartType,
};
use serde::{Deserialize, Serialize};

/// One address of an ENVELOPE list, in RFC 9051 §7.5.2 terms. A group start
/// is `{mailbox: group name, host: None}`, a group end is all `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EnvelopeAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// The ENVELOPE of a message or of an attached message/rfc822.
/// String fields are the raw header values, unfolded.
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
}

/// One node of the MIME tree. Offsets are absolute into the raw message:
/// `header_start..body_start` is the part's header, `body_start..end` its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MimePart {
    /// Media type and subtype as written, e.g. `text` / `plain`; defaults
    /// per RFC 2045 §5.2 (`text/plain`, or `message/rfc822` in a digest).
    pub media_type: String,
    pub subtype: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
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
    /// Lines in the body (text/* and message/rfc822 report this in BODYSTRUCTURE).
    pub lines: u32,
    /// Children of a multipart, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<MimePart>,
    /// The attached message of a message/rfc822 part: its envelope and its body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Box<(Envelope, MimePart)>>,
}

/// Everything cached for one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MessageMeta {
    pub envelope: Envelope,
    pub body: MimePart,
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

/// Parses a raw message. Never fails: a message mail-parser cannot make sense
/// of is cached as one `text/plain` body, which is what IMAP servers report.
pub(crate) fn parse(raw: &[u8]) -> Parsed {
    let Some(msg) = MessageParser::default().parse(raw) else {
        let end = u32::try_from(raw.len()).unwrap_or(u32::MAX);
        return Parsed {
            meta: MessageMeta {
                envelope: Envelope::default(),
                body: MimePart {
                    media_type: "text".into(),
                    subtype: "plain".into(),
                    end,
                    lines: count_lines(raw),
                    ..MimePart::default()
                },
            },
            sort: SortFields::default(),
        };
    };
    let envelope = envelope_of(&msg, raw);
    let body = part_tree(&msg, 0, raw, false, 0);
    let sort = SortFields {
        date: msg.date().map(|d| d.to_timestamp()),
        subject: msg.subject().unwrap_or_default().to_string(),
        from: first_address(msg.from()),
        to: first_address(msg.to()),
        cc: first_address(msg.cc()),
        message_id: raw_header(&msg, raw, HeaderName::MessageId).unwrap_or_default(),
        in_reply_to: raw_header(&msg, raw, HeaderName::InReplyTo).unwrap_or_default(),
        references: raw_header(&msg, raw, HeaderName::References).unwrap_or_default(),
    };
    Parsed {
        meta: MessageMeta { envelope, body },
        sort,
    }
}

/// Nested message/rfc822 deeper than this is cached as an opaque part.
const MAX_DEPTH: u32 = 32;

fn part_tree(msg: &Message<'_>, id: u32, raw: &[u8], in_digest: bool, depth: u32) -> MimePart {
    let Some(part) = msg.parts.get(id as usize) else {
        return MimePart::default();
    };
    let mut out = describe(part, raw, in_digest);
    match &part.body {
        PartType::Multipart(children) => {
            let digest = out.subtype.eq_ignore_ascii_case("digest");
            if depth < MAX_DEPTH {
                out.parts = children
                    .iter()
                    .map(|c| part_tree(msg, *c, raw, digest, depth + 1))
                    .collect();
            }
        }
        PartType::Message(inner) if depth < MAX_DEPTH => {
            out.lines = count_lines(body_slice(&out, raw));
            let env = envelope_of(inner, raw);
            let body = part_tree(inner, 0, raw, false, depth + 1);
            out.message = Some(Box::new((env, body)));
        }
        _ => {}
    }
    out
}

fn body_slice<'a>(p: &MimePart, raw: &'a [u8]) -> &'a [u8] {
    raw.get(p.body_start as usize..p.end as usize)
        .unwrap_or_default()
}

fn describe(part: &MessagePart<'_>, raw: &[u8], in_digest: bool) -> MimePart {
    let mut out = MimePart {
        header_start: part.offset_header,
        body_start: part.offset_body,
        end: part.offset_end,
        ..MimePart::default()
    };
    let mut have_type = false;
    for h in &part.headers {
        match (&h.name, &h.value) {
            (HeaderName::ContentType, HeaderValue::ContentType(ct)) => {
                have_type = true;
                out.media_type = ct.c_type.to_string();
                out.subtype = ct.c_subtype.as_deref().unwrap_or_default().to_string();
                out.params = attributes(ct.attributes.as_deref());
            }
            (HeaderName::ContentDisposition, HeaderValue::ContentType(cd)) => {
                out.disposition =
                    Some((cd.c_type.to_string(), attributes(cd.attributes.as_deref())));
            }
            (HeaderName::ContentTransferEncoding, _) => {
                out.encoding = raw_value(raw, h.offset_start, h.offset_end);
            }
            (HeaderName::ContentId, _) => out.id = raw_value(raw, h.offset_start, h.offset_end),
            (HeaderName::ContentDescription, _) => {
                out.description = raw_value(raw, h.offset_start, h.offset_end)
            }
            (HeaderName::ContentLanguage, _) => {
                out.language = raw_value(raw, h.offset_start, h.offset_end)
                    .map(|v| {
                        v.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default();
            }
            (HeaderName::ContentLocation, _) => {
                out.location = raw_value(raw, h.offset_start, h.offset_end)
            }
            (HeaderName::Other(n), _) if n.eq_ignore_ascii_case("Content-MD5") => {
                out.md5 = raw_value(raw, h.offset_start, h.offset_end)
            }
            _ => {}
        }
    }
    if !have_type || out.subtype.is_empty() {
        // RFC 2045 §5.2 default; RFC 2046 §5.1.5 for digest children.
        let (t, s) = if in_digest {
            ("message", "rfc822")
        } else {
            ("text", "plain")
        };
        out.media_type = t.into();
        out.subtype = s.into();
        if !have_type && !in_digest {
            out.params = vec![("charset".into(), "us-ascii".into())];
        }
    }
    if out.media_type.eq_ignore_ascii_case("text") {
        out.lines = count_lines(body_slice(&out, raw));
    }
    out
}

fn attributes(a: Option<&[mail_parser::Attribute<'_>]>) -> Vec<(String, String)> {
    a.unwrap_or_default()
        .iter()
        .map(|a| (a.name.to_string(), a.value.to_string()))
        .collect()
}

fn envelope_of(msg: &Message<'_>, raw: &[u8]) -> Envelope {
    let root = msg.root_part();
    let raw_of = |name: HeaderName<'static>| -> Option<String> {
        root.headers
            .iter()
            .find(|h| h.name == name)
            .and_then(|h| raw_value(raw, h.offset_start, h.offset_end))
    };
    let addrs = |name: HeaderName<'static>| -> Vec<EnvelopeAddress> {
        root.headers
            .iter()
            .find(|h| h.name == name)
            .and_then(|h| h.value.as_address())
            .map(envelope_addresses)
            .unwrap_or_default()
    };
    let from = addrs(HeaderName::From);
    let sender = addrs(HeaderName::Sender);
    let reply_to = addrs(HeaderName::ReplyTo);
    Envelope {
        date: raw_of(HeaderName::Date),
        subject: raw_of(HeaderName::Subject),
        // RFC 9051 §7.5.2: Sender and Reply-To default to From.
        sender: if sender.is_empty() {
            from.clone()
        } else {
            sender
        },
        reply_to: if reply_to.is_empty() {
            from.clone()
        } else {
            reply_to
        },
        from,
        to: addrs(HeaderName::To),
        cc: addrs(HeaderName::Cc),
        bcc: addrs(HeaderName::Bcc),
        in_reply_to: raw_of(HeaderName::InReplyTo),
        message_id: raw_of(HeaderName::MessageId),
    }
}

fn envelope_addresses(a: &Address<'_>) -> Vec<EnvelopeAddress> {
    fn one(a: &mail_parser::Addr<'_>) -> EnvelopeAddress {
        let (mailbox, host) = match a.address.as_deref() {
            Some(addr) => match addr.rsplit_once('@') {
                Some((m, h)) => (Some(m.to_string()), Some(h.to_string())),
                None => (Some(addr.to_string()), None),
            },
            None => (None, None),
        };
        EnvelopeAddress {
            name: a.name.as_deref().map(String::from),
            mailbox,
            host,
        }
    }
    match a {
        Address::List(list) => list.iter().map(one).collect(),
        Address::Group(groups) => {
            let mut out = Vec::new();
            for g in groups {
                match &g.name {
                    Some(name) => {
                        out.push(EnvelopeAddress {
                            mailbox: Some(name.to_string()),
                            ..EnvelopeAddress::default()
                        });
                        out.extend(g.addresses.iter().map(one));
                        out.push(EnvelopeAddress::default());
                    }
                    None => out.extend(g.addresses.iter().map(one)),
                }
            }
            out
        }
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

fn count_lines(body: &[u8]) -> u32 {
    let n = body.iter().filter(|&&b| b == b'\n').count();
    let extra = usize::from(!body.is_empty() && !body.ends_with(b"\n"));
    u32::try_from(n + extra).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &[u8] = b"From: Ann <ann@example.org>\r\nTo: bob@example.net, Team: c@x.y, d@x.y;\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n  folded\r\nDate: Tue, 1 Jul 2025 10:00:00 +0200\r\nMessage-ID: <m1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nline one\r\nline two\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.org\r\nSubject: inner\r\n\r\ninner body\r\n--b1--\r\n";

    #[test]
    fn envelope_keeps_raw_values_and_expands_groups() {
        let p = parse(NESTED);
        let e = &p.meta.envelope;
        assert_eq!(e.subject.as_deref(), Some("=?utf-8?q?caf=C3=A9?=  folded"));
        assert_eq!(e.message_id.as_deref(), Some("<m1@example.org>"));
        assert_eq!(e.from[0].name.as_deref(), Some("Ann"));
        assert_eq!(e.from[0].mailbox.as_deref(), Some("ann"));
        assert_eq!(e.from[0].host.as_deref(), Some("example.org"));
        assert_eq!(e.sender, e.from, "Sender defaults to From");
        assert_eq!(e.reply_to, e.from, "Reply-To defaults to From");
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
        assert_eq!(text.lines, 2);
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
}
