//! ENVELOPE (RFC 9051 §7.5.2): date, subject, from, sender, reply-to, to,
//! cc, bcc, in-reply-to, message-id, from the cached raw header values.

use postern_store::{Envelope, EnvelopeAddress, raw_bytes};

use super::{nstring, nstring_nolf, string_for_humans};

/// The parenthesised ENVELOPE value.
pub fn envelope(env: &Envelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_envelope(&mut out, env);
    out
}

pub(crate) fn write_envelope(out: &mut Vec<u8>, env: &Envelope) {
    let l = env.latin1;
    let b = |s: &Option<String>| s.as_deref().map(|s| raw_bytes(s, l).into_owned());
    out.push(b'(');
    nstring_nolf(out, b(&env.date).as_deref());
    out.push(b' ');
    match b(&env.subject) {
        Some(s) => string_for_humans(out, &s),
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    addresses(out, &env.from, l);
    out.push(b' ');
    // RFC 9051 §7.5.2: absent Sender and Reply-To are reported as From.
    let sender = if env.sender.is_empty() {
        &env.from
    } else {
        &env.sender
    };
    addresses(out, sender, l);
    out.push(b' ');
    let reply_to = if env.reply_to.is_empty() {
        &env.from
    } else {
        &env.reply_to
    };
    addresses(out, reply_to, l);
    for list in [&env.to, &env.cc, &env.bcc] {
        out.push(b' ');
        addresses(out, list, l);
    }
    out.push(b' ');
    nstring_nolf(out, b(&env.in_reply_to).as_deref());
    out.push(b' ');
    nstring_nolf(out, b(&env.message_id).as_deref());
    out.push(b')');
}

fn addresses(out: &mut Vec<u8>, list: &[EnvelopeAddress], latin1: bool) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        let b = |s: &Option<String>| s.as_deref().map(|s| raw_bytes(s, latin1).into_owned());
        out.push(b'(');
        match b(&a.name) {
            Some(n) => string_for_humans(out, &n),
            None => out.extend_from_slice(b"NIL"),
        }
        out.push(b' ');
        nstring(out, b(&a.route).as_deref());
        out.push(b' ');
        nstring(out, b(&a.mailbox).as_deref());
        out.push(b' ');
        nstring(out, b(&a.host).as_deref());
        out.push(b')');
    }
    out.push(b')');
}
