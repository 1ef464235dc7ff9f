//! CATENATE (RFC 4469): an APPEND message built from text literals and
//! IMAP URLs (RFC 5092) naming messages or parts of them in the user's
//! own mailboxes.

use std::num::NonZeroU32;

use super::cursor::Cursor;
use super::error::{PResult, ParseErrorKind};
use super::fetch::{Partial, Section, section};

/// One piece of a CATENATE message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatPart {
    Text(Vec<u8>),
    /// The URL as sent (for `BADURL`); resolved by the session.
    Url(String),
}

/// What a URL part names: a message of a mailbox of the user, or a part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImapUrl {
    /// `None`: the selected mailbox (a URL starting at `;UID=`).
    pub mailbox: Option<String>,
    pub uidvalidity: Option<u32>,
    pub uid: NonZeroU32,
    pub section: Option<Section>,
    pub partial: Option<Partial>,
}

/// `"CATENATE" SP "(" cat-part *(SP cat-part) ")"` after `CATENATE`'s SP:
/// `cat-part = "TEXT" SP literal / "URL" SP astring`.
pub(crate) fn cat_parts(c: &mut Cursor<'_>, max: usize) -> PResult<Vec<CatPart>> {
    c.paren_list(max, |c| {
        if c.keyword("TEXT") {
            c.sp()?;
            // RFC 4469 §5: `TEXT` takes a literal (a literal8 under BINARY).
            let lit = c.literal()?;
            Ok(CatPart::Text(lit.bytes.to_vec()))
        } else if c.keyword("URL") {
            c.sp()?;
            let at = c.pos();
            let url = c.astring()?;
            String::from_utf8(url)
                .map(CatPart::Url)
                .map_err(|_| ParseErrorKind::Syntax {
                    expected: "URL",
                    at,
                })
        } else {
            Err(c.fail("TEXT or URL"))
        }
    })
}

/// Percent-decoding (RFC 3986 §2.1); `None` for a broken escape or text
/// that does not decode to UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// An IMAP URL (RFC 5092 §6) down to what CATENATE needs: absolute
/// (`imap://user@host/` then the path), server-relative (`/mailbox...`)
/// or mailbox-relative (`;UID=...`), then `;UIDVALIDITY=`, `/;UID=`,
/// `/;SECTION=`, `/;PARTIAL=`. `None` for anything else.
pub fn parse_url(url: &str) -> Option<ImapUrl> {
    let path = match url.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("imap://") => {
            let rest = &url[7..];
            &rest[rest.find('/')?..]
        }
        _ => url,
    };
    let (mailbox, rest) = if let Some(p) = path.strip_prefix('/') {
        let end = p.find([';', '/']).unwrap_or(p.len());
        (Some(percent_decode(&p[..end])?), &p[end..])
    } else {
        (None, path)
    };
    let mut uidvalidity = None;
    let mut uid = None;
    let mut sect = None;
    let mut partial = None;
    for piece in rest.split('/').filter(|p| !p.is_empty()) {
        for param in piece.split(';').filter(|p| !p.is_empty()) {
            let (k, v) = param.split_once('=')?;
            let v = percent_decode(v)?;
            match k.to_ascii_uppercase().as_str() {
                "UIDVALIDITY" => uidvalidity = Some(v.parse().ok()?),
                "UID" => uid = NonZeroU32::new(v.parse().ok()?),
                "SECTION" => {
                    let text = format!("{v}]");
                    let mut c = Cursor::new(text.as_bytes());
                    sect = Some(section(&mut c).ok().filter(|_| c.rest().is_empty())?);
                }
                "PARTIAL" => {
                    let (o, l) = v.split_once('.').unwrap_or((&v, ""));
                    let length = if l.is_empty() {
                        NonZeroU32::new(u32::MAX)?
                    } else {
                        NonZeroU32::new(l.parse().ok()?)?
                    };
                    partial = Some(Partial {
                        offset: o.parse().ok()?,
                        length,
                    });
                }
                _ => return None,
            }
        }
    }
    Some(ImapUrl {
        mailbox: mailbox.filter(|m| !m.is_empty()),
        uidvalidity,
        uid: uid?,
        section: sect,
        partial,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fetch::SectionText;

    #[test]
    fn urls_of_rfc4469_and_rfc5092_parse() {
        let u = parse_url("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME").expect("url");
        assert_eq!(u.mailbox.as_deref(), Some("Drafts"));
        assert_eq!(u.uidvalidity, Some(385759045));
        assert_eq!(u.uid.get(), 20);
        let s = u.section.expect("section");
        assert_eq!(s.part.iter().map(|p| p.get()).collect::<Vec<_>>(), [1]);
        assert_eq!(s.text, Some(SectionText::Mime));
        let u = parse_url("imap://ann@example.org/a%20b/;UID=3/;SECTION=HEADER/;PARTIAL=0.10")
            .expect("absolute");
        assert_eq!(u.mailbox.as_deref(), Some("a b"));
        assert_eq!(u.uidvalidity, None);
        assert_eq!(u.partial.map(|p| (p.offset, p.length.get())), Some((0, 10)));
        let u = parse_url(";UID=7").expect("relative");
        assert_eq!((u.mailbox, u.uid.get()), (None, 7));
        for bad in [
            "/INBOX",
            "/INBOX/;UID=0",
            "/INBOX/;UID=x",
            "/INBOX/;UID=1/;SECTION=1.FOO",
            "/INBOX/;UID=1/;FOO=1",
            "/IN%ZZBOX/;UID=1",
            "imap://host",
        ] {
            assert_eq!(parse_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn cat_parts_take_text_literals_and_urls() {
        let mut c = Cursor::new(b"(TEXT {2}\r\nab URL \"/INBOX/;UID=1\")");
        assert_eq!(
            cat_parts(&mut c, 10),
            Ok(vec![
                CatPart::Text(b"ab".to_vec()),
                CatPart::Url("/INBOX/;UID=1".into())
            ])
        );
        assert!(cat_parts(&mut Cursor::new(b"(FOO x)"), 10).is_err());
        assert!(cat_parts(&mut Cursor::new(b"()"), 10).is_err());
        let many = b"(URL a URL b URL c)";
        assert!(cat_parts(&mut Cursor::new(many), 2).is_err());
    }
}
