//! Arguments with a grammar of their own: SELECT/EXAMINE parameters
//! (CONDSTORE, QRESYNC), APPEND, ID pairs, SASL responses and passwords.

use std::fmt;
use std::num::NonZeroU32;

use super::{
    AppendMessage, CommandBody, ID_MAX_FIELD, ID_MAX_VALUE, ParseOptions, one_mailbox, set,
};
use crate::wire::cursor::Cursor;
use crate::wire::datetime::date_time;
use crate::wire::error::{PResult, ParseErrorKind};
use crate::wire::sequence::SequenceSet;
use crate::wire::store::flag_list;

/// A password, whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub(super) Vec<u8>);

impl Password {
    pub fn new(bytes: Vec<u8>) -> Self {
        Password(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A SASL response: the initial response of AUTHENTICATE (RFC 4959) or a
/// continuation line. Base64 text, checked for its alphabet, not decoded.
#[derive(Clone, PartialEq, Eq)]
pub enum SaslResponse {
    /// `=`: an empty response.
    Empty,
    Base64(String),
}

impl fmt::Debug for SaslResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaslResponse::Empty => f.write_str("Empty"),
            SaslResponse::Base64(_) => f.write_str("Base64(<redacted>)"),
        }
    }
}

/// QRESYNC parameters of SELECT/EXAMINE (RFC 7162 §3.2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QResync {
    pub uid_validity: NonZeroU32,
    pub modseq: u64,
    pub known_uids: Option<SequenceSet>,
    /// `(known-sequence-set known-uid-set)`.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// SELECT/EXAMINE parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectParams {
    pub condstore: bool,
    pub qresync: Option<QResync>,
}

/// A line sent in answer to an AUTHENTICATE challenge: `None` when the
/// client cancelled with `*` (RFC 9051 §6.2.2), else its response.
pub fn parse_sasl_line(line: &[u8]) -> Result<Option<SaslResponse>, ParseErrorKind> {
    let mut c = Cursor::new(line);
    if c.eat(b'*') {
        c.end()?;
        return Ok(None);
    }
    let r = sasl_response(&mut c, true)?;
    c.end()?;
    Ok(Some(r))
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

/// Base64 text; `=` alone is the empty response (RFC 4959 §3) and an
/// empty line is one too on a continuation line.
pub(super) fn sasl_response(c: &mut Cursor<'_>, empty_ok: bool) -> PResult<SaslResponse> {
    let at = c.pos();
    let text = c.take_while(is_base64);
    match text {
        b"=" => Ok(SaslResponse::Empty),
        b"" if empty_ok => Ok(SaslResponse::Empty),
        b"" => Err(ParseErrorKind::Syntax {
            expected: "base64",
            at,
        }),
        t => Ok(SaslResponse::Base64(
            String::from_utf8_lossy(t).into_owned(),
        )),
    }
}

pub(super) fn id_pair(c: &mut Cursor<'_>) -> PResult<(String, Option<String>)> {
    let at = c.pos();
    let field = c.string()?;
    if field.len() > ID_MAX_FIELD {
        return Err(ParseErrorKind::Syntax {
            expected: "ID field of at most 30 bytes",
            at,
        });
    }
    c.sp()?;
    let at = c.pos();
    let value = c.nstring()?;
    if value.as_ref().is_some_and(|v| v.len() > ID_MAX_VALUE) {
        return Err(ParseErrorKind::Syntax {
            expected: "ID value of at most 1024 bytes",
            at,
        });
    }
    Ok((
        String::from_utf8_lossy(&field).into_owned(),
        value.map(|v| String::from_utf8_lossy(&v).into_owned()),
    ))
}

/// `select-params = "(" select-param *(SP select-param) ")"` with CONDSTORE
/// and QRESYNC (RFC 7162 §3.1.8, §3.2.5).
pub(super) fn select_params(c: &mut Cursor<'_>, opts: &ParseOptions) -> PResult<SelectParams> {
    let mut p = SelectParams::default();
    c.paren_list(4, |c| {
        if c.keyword("CONDSTORE") {
            p.condstore = true;
            return Ok(());
        }
        if !c.keyword("QRESYNC") {
            return Err(c.fail("CONDSTORE or QRESYNC"));
        }
        c.sp()?;
        c.expect(b'(', "(")?;
        let uid_validity = c.nz_number()?;
        c.sp()?;
        let modseq = c.number64()?;
        let mut known_uids = None;
        let mut seq_match = None;
        if c.eat(b' ') {
            if c.peek() != Some(b'(') {
                known_uids = Some(set(c, opts)?);
                if c.eat(b' ') {
                    seq_match = Some(seq_match_data(c, opts)?);
                }
            } else {
                seq_match = Some(seq_match_data(c, opts)?);
            }
        }
        c.expect(b')', ")")?;
        p.qresync = Some(QResync {
            uid_validity,
            modseq,
            known_uids,
            seq_match,
        });
        Ok(())
    })?;
    Ok(p)
}

fn seq_match_data(c: &mut Cursor<'_>, opts: &ParseOptions) -> PResult<(SequenceSet, SequenceSet)> {
    c.expect(b'(', "(")?;
    let a = set(c, opts)?;
    c.sp()?;
    let b = set(c, opts)?;
    c.expect(b')', ")")?;
    Ok((a, b))
}

/// `append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP
/// (literal / literal8 / "UTF8" SP "(" literal8 ")")`.
pub(super) fn append(c: &mut Cursor<'_>, opts: &ParseOptions) -> PResult<CommandBody> {
    let mailbox = one_mailbox(c, opts)?;
    // RFC 3502 §6.3.11: `append-message *(SP append-message)`.
    let mut messages = Vec::new();
    loop {
        if messages.len() >= opts.max_append_messages {
            return Err(ParseErrorKind::TooManyMessages {
                max: opts.max_append_messages,
            });
        }
        c.sp()?;
        messages.push(append_message(c, opts.max_catenate_parts)?);
        if c.at_end() {
            return Ok(CommandBody::Append { mailbox, messages });
        }
    }
}

/// RFC 8508 §6: `[UID SP] "REPLACE" SP (seq-number / uniqueid) SP mailbox
/// SP append-message`, after the command name.
pub(super) fn replace(c: &mut Cursor<'_>, opts: &ParseOptions, uid: bool) -> PResult<CommandBody> {
    c.sp()?;
    let id = c.nz_number()?;
    let mailbox = one_mailbox(c, opts)?;
    c.sp()?;
    let message = append_message(c, opts.max_catenate_parts)?;
    Ok(CommandBody::Replace {
        uid,
        id,
        mailbox,
        message,
    })
}

/// `[SP flag-list] [SP date-time] SP (literal / "UTF8" SP "(" literal8 ")")`
/// after its SP.
fn append_message(c: &mut Cursor<'_>, max_parts: usize) -> PResult<AppendMessage> {
    let mut flags = Vec::new();
    if c.peek() == Some(b'(') {
        flags = flag_list(c)?;
        c.sp()?;
    }
    let mut date = None;
    if c.peek() == Some(b'"') {
        date = Some(date_time(c)?);
        c.sp()?;
    }
    if c.keyword("CATENATE") {
        c.sp()?;
        let parts = crate::wire::catenate::cat_parts(c, max_parts)?;
        return Ok(AppendMessage {
            flags,
            date,
            message: Vec::new(),
            binary: false,
            utf8: false,
            catenate: Some(parts),
        });
    }
    let utf8 = c.keyword("UTF8");
    let lit = if utf8 {
        c.sp()?;
        c.expect(b'(', "(")?;
        let lit = c.literal()?;
        if !lit.binary {
            return Err(c.fail("literal8"));
        }
        c.expect(b')', ")")?;
        lit
    } else {
        c.literal()?
    };
    Ok(AppendMessage {
        flags,
        date,
        message: lit.bytes.to_vec(),
        binary: lit.binary,
        utf8,
        catenate: None,
    })
}
