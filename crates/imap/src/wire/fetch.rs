//! FETCH attributes (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 8514 SAVEDATE,
//! RFC 8970 PREVIEW, RFC 8474 EMAILID/THREADID) and modifiers (RFC 7162 CHANGEDSINCE / VANISHED).

use std::num::NonZeroU32;

use super::cursor::Cursor;
use super::error::{PResult, ParseErrorKind};

/// Longest `HEADER.FIELDS` list accepted.
const MAX_HEADER_FIELDS: usize = 256;

/// One thing to fetch. The macros ALL, FAST and FULL are expanded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FetchAttr {
    Envelope,
    Flags,
    InternalDate,
    Rfc822Size,
    /// `BODY`: the structure without extension data.
    Body,
    BodyStructure,
    Uid,
    /// RFC 7162 §3.1.4.
    ModSeq,
    /// RFC 8514 §4.1: when the message was saved into this mailbox.
    SaveDate,
    /// RFC 8970 §3.1: `PREVIEW` or `PREVIEW (LAZY)`; we answer both alike.
    Preview,
    /// RFC 8474 §5.1.
    EmailId,
    ThreadId,
    /// `RFC822`: as `BODY[]`, sets \Seen.
    Rfc822,
    /// `RFC822.PEEK`, no RFC's but Outlook's (MS-STANOIMAP): `RFC822`
    /// without setting \Seen; answered as `RFC822`.
    Rfc822Peek,
    /// `RFC822.HEADER`: as `BODY.PEEK[HEADER]`.
    Rfc822Header,
    /// `RFC822.TEXT`: as `BODY[TEXT]`, sets \Seen.
    Rfc822Text,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    BodySection {
        section: Section,
        partial: Option<Partial>,
        peek: bool,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516).
    Binary {
        part: Vec<NonZeroU32>,
        partial: Option<Partial>,
        peek: bool,
    },
    /// `BINARY.SIZE[part]`.
    BinarySize {
        part: Vec<NonZeroU32>,
    },
}

/// `section-spec`: a part path and what of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Section {
    /// `1.2.3`; empty for the whole message.
    pub part: Vec<NonZeroU32>,
    pub text: Option<SectionText>,
}

/// `section-text`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SectionText {
    Header,
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    /// Only after a part number (RFC 9051 §6.4.5).
    Mime,
}

/// `<offset.length>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Partial {
    pub offset: u32,
    pub length: NonZeroU32,
}

/// FETCH modifiers (RFC 7162 §3.1.4.1, §3.2.6, RFC 9394 §3.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FetchModifiers {
    pub changed_since: Option<u64>,
    /// Only with UID FETCH and CHANGEDSINCE; the session checks.
    pub vanished: bool,
    /// Only this slice of the messages the set (and CHANGEDSINCE) names.
    pub partial: Option<super::partial::PartialRange>,
}

/// `("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")")`.
pub(crate) fn fetch_items(c: &mut Cursor<'_>) -> PResult<Vec<FetchAttr>> {
    use FetchAttr::*;
    if c.keyword("ALL") {
        return Ok(vec![Flags, InternalDate, Rfc822Size, Envelope]);
    }
    if c.keyword("FAST") {
        return Ok(vec![Flags, InternalDate, Rfc822Size]);
    }
    if c.keyword("FULL") {
        return Ok(vec![Flags, InternalDate, Rfc822Size, Envelope, Body]);
    }
    if c.peek() == Some(b'(') {
        return c.paren_list(1024, fetch_att);
    }
    Ok(vec![fetch_att(c)?])
}

fn fetch_att(c: &mut Cursor<'_>) -> PResult<FetchAttr> {
    use FetchAttr::*;
    let plain = [
        ("ENVELOPE", Envelope),
        ("FLAGS", Flags),
        ("INTERNALDATE", InternalDate),
        ("RFC822.SIZE", Rfc822Size),
        ("RFC822.HEADER", Rfc822Header),
        ("RFC822.TEXT", Rfc822Text),
        ("RFC822.PEEK", Rfc822Peek),
        ("RFC822", Rfc822),
        ("BODYSTRUCTURE", BodyStructure),
        ("BODY", Body),
        ("UID", Uid),
        ("MODSEQ", ModSeq),
        ("SAVEDATE", SaveDate),
        ("EMAILID", EmailId),
        ("THREADID", ThreadId),
    ];
    for (name, att) in plain {
        if c.keyword(name) {
            return Ok(att);
        }
    }
    if c.keyword("PREVIEW") {
        preview_modifiers(c)?;
        return Ok(Preview);
    }
    for (prefix, peek) in [("BODY.PEEK[", true), ("BODY[", false)] {
        if c.prefix(prefix) {
            let section = section(c)?;
            let partial = partial(c)?;
            return Ok(BodySection {
                section,
                partial,
                peek,
            });
        }
    }
    if c.prefix("BINARY.SIZE[") {
        let part = section_part_only(c)?;
        return Ok(BinarySize { part });
    }
    for (prefix, peek) in [("BINARY.PEEK[", true), ("BINARY[", false)] {
        if c.prefix(prefix) {
            let part = section_part_only(c)?;
            let partial = partial(c)?;
            return Ok(Binary {
                part,
                partial,
                peek,
            });
        }
    }
    Err(c.fail("fetch attribute"))
}

/// RFC 8970 §6: `[SP "(" preview-mod *(SP preview-mod) ")"]`, the only
/// preview-mod being LAZY. A `(` that does not open LAZY is left alone:
/// it may be the FETCH modifiers after a lone `PREVIEW` item.
fn preview_modifiers(c: &mut Cursor<'_>) -> PResult<()> {
    let opens_lazy = c
        .rest()
        .get(..6)
        .is_some_and(|h| h.eq_ignore_ascii_case(b" (LAZY"));
    if opens_lazy {
        c.sp()?;
        c.paren_list(4, |c| {
            if c.keyword("LAZY") {
                Ok(())
            } else {
                Err(c.fail("preview modifier"))
            }
        })?;
    }
    Ok(())
}

/// `section-part` then `]` (for BINARY, RFC 3516 `section-binary`).
fn section_part_only(c: &mut Cursor<'_>) -> PResult<Vec<NonZeroU32>> {
    let mut part = Vec::new();
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        part.push(c.nz_number()?);
        while c.eat(b'.') {
            part.push(c.nz_number()?);
        }
    }
    c.expect(b']', "]")?;
    Ok(part)
}

/// After `[`: `[section-spec] "]"`.
pub(crate) fn section(c: &mut Cursor<'_>) -> PResult<Section> {
    let mut part = Vec::new();
    let mut text = None;
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        part.push(c.nz_number()?);
        while c.eat(b'.') {
            if c.peek().is_some_and(|b| b.is_ascii_digit()) {
                part.push(c.nz_number()?);
            } else {
                text = Some(section_text(c, true)?);
                break;
            }
        }
    } else if c.peek() != Some(b']') {
        text = Some(section_text(c, false)?);
    }
    c.expect(b']', "]")?;
    Ok(Section { part, text })
}

fn section_text(c: &mut Cursor<'_>, after_part: bool) -> PResult<SectionText> {
    if c.prefix("HEADER.FIELDS.NOT") {
        c.sp()?;
        return Ok(SectionText::HeaderFieldsNot(header_list(c)?));
    }
    if c.prefix("HEADER.FIELDS") {
        c.sp()?;
        return Ok(SectionText::HeaderFields(header_list(c)?));
    }
    if c.prefix("HEADER") {
        return Ok(SectionText::Header);
    }
    if c.prefix("TEXT") {
        return Ok(SectionText::Text);
    }
    if after_part && c.prefix("MIME") {
        return Ok(SectionText::Mime);
    }
    Err(c.fail("section text"))
}

/// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`; names
/// are ASCII (RFC 5322 field names).
fn header_list(c: &mut Cursor<'_>) -> PResult<Vec<String>> {
    c.paren_list(MAX_HEADER_FIELDS, |c| {
        let at = c.pos();
        let name = c.astring()?;
        if name.is_empty() || !name.iter().all(|b| b.is_ascii_graphic() && *b != b':') {
            return Err(ParseErrorKind::Syntax {
                expected: "header field name",
                at,
            });
        }
        Ok(String::from_utf8_lossy(&name).into_owned())
    })
}

/// `["<" number "." nz-number ">"]`.
fn partial(c: &mut Cursor<'_>) -> PResult<Option<Partial>> {
    if !c.eat(b'<') {
        return Ok(None);
    }
    let offset = c.number()?;
    c.expect(b'.', ".")?;
    let length = c.nz_number()?;
    c.expect(b'>', ">")?;
    Ok(Some(Partial { offset, length }))
}

/// `fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"`.
/// CHANGEDSINCE 0 is taken (some clients send it; it means "all").
pub(crate) fn fetch_modifiers(c: &mut Cursor<'_>) -> PResult<FetchModifiers> {
    let mut m = FetchModifiers::default();
    c.paren_list(8, |c| {
        if c.keyword("CHANGEDSINCE") {
            c.sp()?;
            m.changed_since = Some(c.number64()?);
            Ok(())
        } else if c.keyword("VANISHED") {
            m.vanished = true;
            Ok(())
        } else if c.keyword("PARTIAL") {
            c.sp()?;
            m.partial = Some(super::partial::partial_range(c)?);
            Ok(())
        } else {
            Err(c.fail("CHANGEDSINCE, VANISHED or PARTIAL"))
        }
    })?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use FetchAttr::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    fn body(
        part: &[u32],
        text: Option<SectionText>,
        partial: Option<(u32, u32)>,
        peek: bool,
    ) -> FetchAttr {
        BodySection {
            section: Section {
                part: part.iter().map(|&n| nz(n)).collect(),
                text,
            },
            partial: partial.map(|(offset, l)| Partial {
                offset,
                length: nz(l),
            }),
            peek,
        }
    }

    #[test]
    fn fetch_items_table() {
        let fields = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases: Vec<(&str, Option<Vec<FetchAttr>>)> = vec![
            ("ALL", Some(vec![Flags, InternalDate, Rfc822Size, Envelope])),
            ("fast", Some(vec![Flags, InternalDate, Rfc822Size])),
            (
                "FULL",
                Some(vec![Flags, InternalDate, Rfc822Size, Envelope, Body]),
            ),
            ("(UID FLAGS)", Some(vec![Uid, Flags])),
            ("(savedate UID)", Some(vec![SaveDate, Uid])),
            ("(EMAILID threadid)", Some(vec![EmailId, ThreadId])),
            ("PREVIEW", Some(vec![Preview])),
            (
                "(UID PREVIEW (lazy) FLAGS)",
                Some(vec![Uid, Preview, Flags]),
            ),
            ("(PREVIEW (LAZY LAZY))", Some(vec![Preview])),
            ("(PREVIEW (LAZYX))", None),
            ("(PREVIEW (FAST))", None),
            ("PREVIEWS", None),
            ("SAVEDATES", None),
            (
                "(RFC822.SIZE RFC822 RFC822.HEADER RFC822.TEXT RFC822.peek)",
                Some(vec![
                    Rfc822Size,
                    Rfc822,
                    Rfc822Header,
                    Rfc822Text,
                    Rfc822Peek,
                ]),
            ),
            ("BODY", Some(vec![Body])),
            ("BODYSTRUCTURE", Some(vec![BodyStructure])),
            ("MODSEQ", Some(vec![ModSeq])),
            ("BODY[]", Some(vec![body(&[], None, None, false)])),
            ("body.peek[]", Some(vec![body(&[], None, None, true)])),
            (
                "BODY[]<0.2048>",
                Some(vec![body(&[], None, Some((0, 2048)), false)]),
            ),
            (
                "BODY[1.2.3]",
                Some(vec![body(&[1, 2, 3], None, None, false)]),
            ),
            (
                "BODY[1.MIME]",
                Some(vec![body(&[1], Some(SectionText::Mime), None, false)]),
            ),
            ("BODY[MIME]", None),
            (
                "BODY[2.TEXT]",
                Some(vec![body(&[2], Some(SectionText::Text), None, false)]),
            ),
            (
                "BODY.PEEK[HEADER]",
                Some(vec![body(&[], Some(SectionText::Header), None, true)]),
            ),
            (
                "BODY.PEEK[HEADER.FIELDS (From To \"Subject\")]",
                Some(vec![body(
                    &[],
                    Some(SectionText::HeaderFields(fields(&[
                        "From", "To", "Subject",
                    ]))),
                    None,
                    true,
                )]),
            ),
            (
                "BODY[1.HEADER.FIELDS.NOT (X-A)]<5.10>",
                Some(vec![body(
                    &[1],
                    Some(SectionText::HeaderFieldsNot(fields(&["X-A"]))),
                    Some((5, 10)),
                    false,
                )]),
            ),
            (
                "BINARY[1]",
                Some(vec![Binary {
                    part: vec![nz(1)],
                    partial: None,
                    peek: false,
                }]),
            ),
            (
                "BINARY.PEEK[1.2]<0.100>",
                Some(vec![Binary {
                    part: vec![nz(1), nz(2)],
                    partial: Some(Partial {
                        offset: 0,
                        length: nz(100),
                    }),
                    peek: true,
                }]),
            ),
            (
                "BINARY.SIZE[3]",
                Some(vec![BinarySize { part: vec![nz(3)] }]),
            ),
            ("BINARY[TEXT]", None),
            ("BODY[0]", None),
            ("BODY[]<0.0>", None),
            ("BODY[HEADER.FIELDS ()]", None),
            ("BODY[HEADER.FIELDS (a:b)]", None),
            ("BODY[", None),
            ("()", None),
            ("(UID", None),
            ("UIDS", None),
            ("", None),
        ];
        for (input, want) in cases {
            let mut c = Cursor::new(input.as_bytes());
            let got = fetch_items(&mut c).ok().filter(|_| c.rest().is_empty());
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn modifiers_table() {
        let cases: &[(&str, Option<FetchModifiers>)] = &[
            (
                "(CHANGEDSINCE 12345)",
                Some(FetchModifiers {
                    changed_since: Some(12345),
                    vanished: false,
                    partial: None,
                }),
            ),
            (
                "(changedsince 1 vanished)",
                Some(FetchModifiers {
                    changed_since: Some(1),
                    vanished: true,
                    partial: None,
                }),
            ),
            (
                "(VANISHED)",
                Some(FetchModifiers {
                    changed_since: None,
                    vanished: true,
                    partial: None,
                }),
            ),
            (
                "(PARTIAL -1:-30 CHANGEDSINCE 5)",
                Some(FetchModifiers {
                    changed_since: Some(5),
                    vanished: false,
                    partial: Some(super::super::partial::PartialRange {
                        last: true,
                        from: 1,
                        to: 30,
                    }),
                }),
            ),
            ("(PARTIAL 1:*)", None),
            ("(CHANGEDSINCE)", None),
            ("(FOO 1)", None),
            ("()", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                fetch_modifiers(&mut Cursor::new(input.as_bytes())).ok(),
                *want,
                "{input}"
            );
        }
    }
}
