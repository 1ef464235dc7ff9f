//! Text as SEARCH, SORT and THREAD see it: the decoding and case folding
//! shared with the store's full-text index (`postern_store::search_text`,
//! re-exported here), plus envelope and address text, header values by
//! name and dates read from the Date field.

use postern_store::{Envelope, EnvelopeAddress, raw_bytes};

pub(crate) use postern_store::search_text::{
    body_text, decode_body_prefix, decode_header, fold, header_fields, unfold, utf8_or_latin1,
};

use super::MessageView;

/// A stored envelope string, decoded.
pub(crate) fn envelope_text(s: &str, env: &Envelope) -> String {
    decode_header(&raw_bytes(s, env.latin1))
}

/// The text an address header is searched as: `name <mailbox@host>` per
/// address, groups as `name: ... ;`, names decoded (what Dovecot writes
/// back from its parsed addresses before matching).
pub(crate) fn address_text(list: &[EnvelopeAddress], env: &Envelope) -> String {
    let mut out = String::new();
    for a in list {
        if !out.is_empty() {
            out.push_str(", ");
        }
        match (&a.mailbox, &a.host) {
            (Some(group), None) => {
                out.push_str(&envelope_text(group, env));
                out.push(':');
            }
            (None, None) => out.push(';'),
            (mailbox, host) => {
                if let Some(n) = &a.name {
                    out.push_str(&envelope_text(n, env));
                    out.push(' ');
                }
                out.push('<');
                if let Some(r) = &a.route {
                    out.push_str(r);
                    out.push(':');
                }
                out.push_str(&raw_text(mailbox.as_deref().unwrap_or_default(), env));
                out.push('@');
                out.push_str(&raw_text(host.as_deref().unwrap_or_default(), env));
                out.push('>');
            }
        }
    }
    out
}

fn raw_text(s: &str, env: &Envelope) -> String {
    utf8_or_latin1(&raw_bytes(s, env.latin1)).into_owned()
}

/// The values of every `name` field of a header block, decoded.
pub(crate) fn header_values(header: &[u8], name: &str) -> Vec<String> {
    header_fields(header)
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| decode_header(v))
        .collect()
}

/// The first `name` field of the message's header, raw, when the raw
/// message is at hand; otherwise the envelope's value (the last field:
/// the two differ only with duplicate fields, 096). Dovecot's SEARCH,
/// SORT and THREAD read the first.
pub(crate) fn first_field(m: &MessageView, name: &str) -> Option<Vec<u8>> {
    if let Some(raw) = m.raw {
        let b = &m.meta.body;
        let h = raw
            .get(b.header_start as usize..b.body_start as usize)
            .unwrap_or_default();
        return header_fields(h)
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.to_vec());
    }
    let env = &m.meta.envelope;
    let v = match name {
        "Date" => env.first_date.as_deref().or(env.date.as_deref()),
        "Subject" => env.first_subject.as_deref().or(env.subject.as_deref()),
        _ => None,
    };
    v.map(|v| raw_bytes(v, env.latin1).into_owned())
}

/// The decoded Subject, `None` without a Subject field.
pub(crate) fn subject_of(m: &MessageView) -> Option<String> {
    first_field(m, "Subject").map(|v| decode_header(&v))
}

/// The Date field read as written: the calendar date in the field's own
/// zone and the instant (Unix seconds). `None` when absent or unparsable.
pub(crate) fn sent_date(m: &MessageView) -> Option<(i64, i64)> {
    postern_store::sent_date_of(&first_field(m, "Date")?)
}
