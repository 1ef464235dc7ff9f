//! Shape rules: how a message is put together rather than what it says,
//! where bulk-mail programs differ from mail programs and mailing lists.
//! Text in a far-away charset, a From name or Subject encoded in base64
//! when plain ASCII would do, MIME fields without the `MIME-Version` that
//! announces them, a Message-ID without its `@`, a Date with a two-digit
//! year, a link that hides its host behind a user name, a free-mail
//! From whose mailbox name ends in a run of digits, a From name in
//! capitals, an X-Mailer no mail program writes or whose `X-MimeOLE`
//! contradicts it, HTML alone written by
//! Outlook's HTML editor or sent in the name of a mail program that always
//! adds a text alternative, and a price in the Subject.

use super::Hit;
use crate::config::SpamConfig;
use crate::message::MessageView;

/// Every shape rule that fires on `view`.
pub fn hits(view: &MessageView, config: &SpamConfig) -> Vec<Hit> {
    let mut out = Vec::new();
    if let Some(cs) = faraway_charset(view, &config.faraway_charsets) {
        out.push(Hit::new("CHARSET_FARAWAY", &cs));
    }
    let field = |name: &str| {
        view.header_fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let from_b64 = field("from").is_some_and(has_base64_word)
        && view.from_name.as_deref().is_some_and(plain_ascii);
    let subject_b64 = field("subject").is_some_and(has_base64_word)
        && view.subject.as_deref().is_some_and(plain_ascii);
    if from_b64 || subject_b64 {
        let which = if from_b64 { "From" } else { "Subject" };
        out.push(Hit::new("ENCODED_ASCII_HEADER", which));
    }
    // RFC 2045 §4: a message whose fields use MIME says so with
    // `MIME-Version: 1.0`; every MIME-writing mail program adds it.
    let mime_fields = field("content-transfer-encoding").is_some()
        || field("content-type").is_some_and(|v| {
            v.trim_start().len() >= 9 && v.trim_start()[..9].eq_ignore_ascii_case("multipart")
        });
    if mime_fields && field("mime-version").is_none() {
        out.push(Hit::new("MIME_NO_VERSION", ""));
    }
    // RFC 5322 §3.6.4: msg-id is `"<" id-left "@" id-right ">"`.
    if let Some(id) = view.message_id.as_deref().filter(|m| !m.trim().is_empty())
        && !id.contains('@')
    {
        out.push(Hit::new("MESSAGE_ID_NO_AT", id));
    }
    if field("date").is_some_and(two_digit_year) {
        out.push(Hit::new("DATE_TWO_DIGIT_YEAR", ""));
    }
    if let Some(url) = link_with_userinfo(view) {
        out.push(Hit::new("URL_USERINFO", &url));
    }
    if let Some(a) = view.from_address.as_deref()
        && freemail_digits(a, &config.freemail_domains)
    {
        out.push(Hit::new("FREEMAIL_FROM_DIGITS", a));
    }
    if let Some(name) = view.from_name.as_deref().filter(|n| shouted_name(n)) {
        out.push(Hit::new("FROM_NAME_CAPS", name));
    }
    if let Some(m) = view.mailer.as_deref().filter(|m| malformed_mailer(m)) {
        out.push(Hit::new("MAILER_MALFORMED", m));
    }
    // Outlook and Outlook Express write their HTML with MSHTML and always
    // send a text alternative beside it: HTML alone that MSHTML wrote was
    // composed there and sent by something else.
    if view.is_html_only()
        && let Some(g) = view
            .html
            .iter()
            .find_map(|h| h.generator.as_deref().filter(|g| g.starts_with("MSHTML")))
    {
        out.push(Hit::new("HTML_ONLY_MSHTML", g));
    }
    if let Some(m) = view.mailer.as_deref()
        && mimeole_contradicts(m, view.header_names.iter().any(|n| n == "x-mimeole"))
    {
        out.push(Hit::new("FORGED_OUTLOOK_MIMEOLE", m));
    }
    // The same for a message that names such a program as its mailer.
    if view.is_html_only()
        && let Some(m) = view
            .mailer
            .as_deref()
            .filter(|m| html_alternative_mailer(m))
    {
        out.push(Hit::new("HTML_ONLY_MAILER", m));
    }
    if let Some(s) = view.subject.as_deref()
        && s.as_bytes()
            .windows(2)
            .any(|w| w[0] == b'$' && w[1].is_ascii_digit())
    {
        out.push(Hit::new("SUBJECT_MONEY", ""));
    }
    out
}

/// Outlook Express for Windows and Outlook 2000/2002 build their messages
/// with Microsoft's MimeOLE and say so in `X-MimeOLE`: an X-Mailer naming
/// them without it, or `X-MimeOLE` under another program's X-Mailer,
/// comes from a program borrowing one identity or the other.
fn mimeole_contradicts(mailer: &str, has_mimeole: bool) -> bool {
    let m = mailer.trim();
    let express = m.starts_with("Microsoft Outlook Express") && !m.contains("Macintosh");
    let outlook = ["IMO", "CWS", "Build", ", Build"].iter().any(|v| {
        m.strip_prefix("Microsoft Outlook ")
            .is_some_and(|r| r.starts_with(v))
    }) || m.starts_with("Microsoft Outlook, Build");
    if express || outlook {
        return !has_mimeole;
    }
    let lower = m.to_ascii_lowercase();
    has_mimeole && !lower.contains("outlook") && !lower.contains("exchange")
}

/// Desktop mail programs whose HTML mail always carries a text/plain
/// alternative (lowercase, as found in X-Mailer or User-Agent).
const ALTERNATIVE_WRITERS: &[&str] = &[
    "outlook",
    "eudora",
    "mozilla",
    "thunderbird",
    "the bat",
    "kmail",
    "evolution",
    "pegasus",
    "sylpheed",
    "apple mail",
];

/// `mailer` names one of [`ALTERNATIVE_WRITERS`].
fn html_alternative_mailer(mailer: &str) -> bool {
    let m = mailer.to_ascii_lowercase();
    ALTERNATIVE_WRITERS.iter().any(|w| m.contains(w))
}

/// A From display name of six or more letters, all capitals (`"UK PRANK
/// CALLS"`): people and companies write their names in mixed case.
fn shouted_name(name: &str) -> bool {
    let letters = name.chars().filter(|c| c.is_alphabetic()).count();
    letters >= 6
        && name
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(|c| c.is_uppercase())
}

/// An X-Mailer no mail program writes: Outlook Express's version is always
/// `major.minor.build.build` (`6.00.2800.1106`), and bulk mailers that
/// borrow the name add to it (`5.00.2919.6900 DM`); or a single run of
/// random letters and digits (`rexfd0sUMJVQYfjVBi`).
fn malformed_mailer(mailer: &str) -> bool {
    let m = mailer.trim();
    if let Some(rest) = m.strip_prefix("Microsoft Outlook Express") {
        let rest = rest.trim();
        if rest.starts_with("Macintosh") {
            return false;
        }
        let parts: Vec<&str> = rest.split('.').collect();
        let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        return !(lens == [1, 2, 4, 4]
            && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())));
    }
    m.len() >= 12
        && m.bytes().all(|b| b.is_ascii_alphanumeric())
        && m.bytes().any(|b| b.is_ascii_lowercase())
        && m.bytes().any(|b| b.is_ascii_uppercase())
        && m.bytes().any(|b| b.is_ascii_digit())
}

/// The first far-away charset (from `list`, lowercase names) of the
/// Subject's encoded words, the top level or a text part, when the
/// Subject or the text also holds characters of a far-away script: a
/// Western message merely labelled `windows-1251` by its mail program is
/// not judged.
fn faraway_charset(view: &MessageView, list: &[String]) -> Option<String> {
    if list.is_empty() {
        return None;
    }
    let far = |cs: &str| list.iter().any(|f| f.eq_ignore_ascii_case(cs.trim()));
    let subject = view
        .header_fields
        .iter()
        .find(|(n, _)| n == "subject")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    // RFC 2047 §2: `=?charset?encoding?text?=`.
    let declared = subject
        .split("=?")
        .skip(1)
        .filter_map(|w| w.split_once('?').map(|(cs, _)| cs))
        .find(|cs| far(cs))
        .or_else(|| view.charset.as_deref().filter(|cs| far(cs)))
        .or_else(|| {
            view.text_charsets
                .iter()
                .map(String::as_str)
                .find(|cs| far(cs))
        })?;
    let texts = view
        .subject
        .iter()
        .chain(&view.plain)
        .map(String::as_str)
        .chain(view.html.iter().map(|h| h.text.as_str()));
    let mut seen = 0;
    texts
        .flat_map(str::chars)
        .any(|c| {
            seen += usize::from(far_script(c));
            seen >= FAR_SCRIPT_MIN_CHARS
        })
        .then(|| declared.to_ascii_lowercase())
}

/// Characters of a far-away script a message must show before its charset
/// counts: a name or a signature alone is not enough.
const FAR_SCRIPT_MIN_CHARS: usize = 10;

/// Cyrillic, the East Asian scripts (CJK ideographs and punctuation, kana,
/// Hangul) and the full-width forms their charsets carry.
fn far_script(c: char) -> bool {
    matches!(c,
        '\u{0400}'..='\u{052F}'
        | '\u{1100}'..='\u{11FF}'
        | '\u{3000}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}'
        | '\u{FF00}'..='\u{FFEF}')
}

/// A raw header value holding an RFC 2047 encoded word in base64 (`?B?`).
fn has_base64_word(raw: &str) -> bool {
    raw.split("=?").skip(1).any(|w| {
        let mut parts = w.splitn(3, '?');
        parts.next();
        parts.next().is_some_and(|e| e.eq_ignore_ascii_case("b"))
    })
}

/// Printable ASCII only, with some letters: text no mail program would
/// encode (RFC 2047 §1: encoded words are for text outside ASCII).
fn plain_ascii(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_alphabetic()) && s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// A Date whose year has two digits (`Tue, 03 Sep 02 10:00:00 -0700`):
/// RFC 5322 §4.3 keeps it only as obsolete syntax to read, and no mail
/// program of this century writes it.
fn two_digit_year(date: &str) -> bool {
    let value = date.split('(').next().unwrap_or("");
    let words: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    // The year is the word before the time (`hh:mm[:ss]`).
    let Some(t) = words.iter().position(|w| w.contains(':')) else {
        return false;
    };
    t >= 3 && {
        let year = words[t - 1];
        let month = words[t - 2];
        year.len() == 2
            && year.bytes().all(|b| b.is_ascii_digit())
            && month.len() == 3
            && month.bytes().all(|b| b.is_ascii_alphabetic())
    }
}

/// A link of the form `http://name@host/`: what precedes the `@` is shown
/// like a host (`http://www.bank.example@192.0.2.1/`) but is only a user
/// name the browser sends. Read from HTML anchors and from URLs in text.
fn link_with_userinfo(view: &MessageView) -> Option<String> {
    let hrefs = view
        .html
        .iter()
        .flat_map(|h| h.anchors.iter().map(|a| a.href.as_str()));
    let texts = view
        .plain
        .iter()
        .map(String::as_str)
        .chain(view.html.iter().map(|h| h.text.as_str()));
    hrefs.chain(texts).find_map(|t| {
        // `://` cannot overlap itself: every occurrence, as
        // `match_indices` gave them, by a vectorised search.
        memchr::memmem::find_iter(t.as_bytes(), b"://").find_map(|i| userinfo_at(t, i))
    })
}

/// The authority after `t[at..]`'s `://` when it holds a user name.
fn userinfo_at(t: &str, at: usize) -> Option<String> {
    let scheme_ok = t[..at]
        .rsplit(|c: char| !c.is_ascii_alphabetic())
        .next()
        .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
    let rest = &t[at + 3..];
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>'))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let (user, host) = authority.rsplit_once('@')?;
    (scheme_ok && !user.is_empty() && host.contains('.')).then(|| authority.to_string())
}

/// A From at a free-mail provider (`domains`) whose mailbox is letters
/// followed by three or more digits (`jane8841@`): the shape of accounts
/// made by the thousand.
fn freemail_digits(address: &str, domains: &[String]) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let free = domains.iter().any(|d| {
        domain.eq_ignore_ascii_case(d)
            || domain
                .strip_suffix(d.as_str())
                .is_some_and(|p| p.ends_with('.'))
    });
    let digits = local.bytes().rev().take_while(u8::is_ascii_digit).count();
    free && digits >= 3
        && local[..local.len() - digits]
            .bytes()
            .next_back()
            .is_some_and(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = "From: Ann <ann@example.org>\r\nTo: bob@example.net\r\n\
Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\nSubject: Lunch on Friday\r\n\r\nHi Bob\r\n";

    fn fired(raw: &str) -> Vec<&'static str> {
        super::super::fired(hits, raw)
    }

    #[test]
    fn a_plain_message_fires_no_shape_rule() {
        assert_eq!(fired(PLAIN), Vec::<&str>::new());
    }

    #[test]
    fn a_far_charset_fires_in_the_subject_or_a_text_part() {
        // "제목 없음 광고 안내 드립니다" (Korean, 12 Hangul syllables) in EUC-KR.
        let korean = "=?ks_c_5601-1987?B?waa48SC++MC9ILGksO0gvsizuyC15biztM+02Q==?=";
        let subject = PLAIN.replace("Lunch on Friday", korean);
        assert_eq!(fired(&subject), ["CHARSET_FARAWAY"]);
        // "Привет мир как дела" in windows-1251, in base64.
        let part = |charset: &str, body: &str| {
            format!(
                "Content-Type: multipart/alternative; boundary=b\r\nMIME-Version: 1.0\r\n{}",
                PLAIN.replace(
                    "Hi Bob\r\n",
                    &format!(
                        "--b\r\nContent-Type: text/plain; charset=\"{charset}\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n--b--\r\n"
                    )
                )
            )
        };
        let cyrillic = "z/Do4uXyIOzo8CDq4Oog5OXr4A==";
        assert_eq!(fired(&part("Windows-1251", cyrillic)), ["CHARSET_FARAWAY"]);
        // English text that its mail program labelled windows-1251 ("Hi
        // Bob, see you at noon").
        let english = "SGkgQm9iLCBzZWUgeW91IGF0IG5vb24=";
        assert_eq!(fired(&part("windows-1251", english)), Vec::<&str>::new());
        // Western charsets are not far away.
        let latin = PLAIN.replace("Lunch on Friday", "=?iso-8859-1?Q?D=E9jeuner?=");
        assert_eq!(fired(&latin), Vec::<&str>::new());
    }

    #[test]
    fn an_operator_can_turn_far_charsets_off() {
        let korean = "=?euc-kr?B?waa48SC++MC9ILGksO0gvsizuyC15biztM+02Q==?=";
        let raw = PLAIN.replace("Lunch on Friday", korean);
        let view = MessageView::parse(raw.as_bytes(), &crate::config::ReadLimits::default());
        assert_eq!(hits(&view, &SpamConfig::default()).len(), 1);
        let config = SpamConfig {
            faraway_charsets: Vec::new(),
            ..SpamConfig::default()
        };
        assert!(hits(&view, &config).is_empty());
    }

    #[test]
    fn base64_encoding_of_plain_ascii_fires() {
        // "Great offer" and "Jane" in base64.
        let subject = PLAIN.replace("Lunch on Friday", "=?utf-8?B?R3JlYXQgb2ZmZXI=?=");
        assert_eq!(fired(&subject), ["ENCODED_ASCII_HEADER"]);
        let from = PLAIN.replace("Ann <", "=?iso-8859-1?b?SmFuZQ==?= <");
        assert_eq!(fired(&from), ["ENCODED_ASCII_HEADER"]);
        // Encoded because it needs to be ("Désolé"), or quoted-printable.
        let needed = PLAIN.replace("Lunch on Friday", "=?utf-8?B?RMOpc29sw6k=?=");
        assert_eq!(fired(&needed), Vec::<&str>::new());
        let qp = PLAIN.replace("Lunch on Friday", "=?utf-8?Q?Lunch?=");
        assert_eq!(fired(&qp), Vec::<&str>::new());
    }

    #[test]
    fn mime_fields_without_mime_version_fire() {
        let bare = format!("Content-Transfer-Encoding: 7bit\r\n{PLAIN}");
        assert_eq!(fired(&bare), ["MIME_NO_VERSION"]);
        let announced = format!("MIME-Version: 1.0\r\n{bare}");
        assert_eq!(fired(&announced), Vec::<&str>::new());
        // A plain text Content-Type alone is how some old programs wrote
        // US-ASCII: not judged.
        let text = format!("Content-Type: text/plain\r\n{PLAIN}");
        assert_eq!(fired(&text), Vec::<&str>::new());
    }

    #[test]
    fn a_message_id_without_at_fires() {
        let raw = PLAIN.replace("<1@example.org>", "<20021010.123456.ABCDEF>");
        assert_eq!(fired(&raw), ["MESSAGE_ID_NO_AT"]);
    }

    #[test]
    fn a_two_digit_year_fires() {
        let raw = PLAIN.replace("6 Dec 2026", "6 Dec 26");
        assert_eq!(fired(&raw), ["DATE_TWO_DIGIT_YEAR"]);
        let no_weekday = PLAIN.replace("Sun, 6 Dec 2026", "06 Dec 26");
        assert_eq!(fired(&no_weekday), ["DATE_TWO_DIGIT_YEAR"]);
    }

    #[test]
    fn a_link_with_a_user_name_fires() {
        let raw = PLAIN.replace(
            "Hi Bob",
            "Log in at http://www.bank.example@192.0.2.1/login",
        );
        assert_eq!(fired(&raw), ["URL_USERINFO"]);
        let mail = PLAIN.replace(
            "Hi Bob",
            "Write to bob@example.net or see http://example.net/a@b",
        );
        assert_eq!(fired(&mail), Vec::<&str>::new());
    }

    #[test]
    fn a_from_name_in_capitals_fires() {
        let raw = PLAIN.replace("Ann <", "\"UK PRANK CALLS\" <");
        assert_eq!(fired(&raw), ["FROM_NAME_CAPS"]);
        for name in ["\"IBM\" <", "\"Ann O'Neil (IT)\" <"] {
            let raw = PLAIN.replace("Ann <", name);
            assert_eq!(fired(&raw), Vec::<&str>::new(), "{name}");
        }
    }

    #[test]
    fn an_x_mailer_no_program_writes_fires() {
        // With the X-MimeOLE that Outlook Express adds, so that only the
        // version is judged here.
        let with = |m: &str| {
            let ole = if m.starts_with("Microsoft Outlook") {
                "X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2800.1106\r\n"
            } else {
                ""
            };
            format!("X-Mailer: {m}\r\n{ole}{PLAIN}")
        };
        for m in [
            "Microsoft Outlook Express 5.00.2919.6900 DM",
            "Microsoft Outlook Express 6.00.2600.0000DM",
            "rexfd0sUMJVQYfjVBi",
        ] {
            assert_eq!(fired(&with(m)), ["MAILER_MALFORMED"], "{m}");
        }
        for m in [
            "Microsoft Outlook Express 6.00.2800.1106",
            "Microsoft Outlook Express Macintosh Edition - 5.01 (1630)",
            "Sylpheed version 0.8.2claws",
            "QUALCOMMEudora",
        ] {
            assert_eq!(fired(&with(m)), Vec::<&str>::new(), "{m}");
        }
    }

    #[test]
    fn html_alone_from_outlooks_editor_fires() {
        let head = PLAIN.split("\r\n\r\n").next().unwrap_or("");
        let html = "<html><head><meta content=\"MSHTML 6.00.2600.0\" name=GENERATOR></head>\
<body>Dear Sir/Madam</body></html>";
        let alone = format!("{head}\r\nContent-Type: text/html\r\n\r\n{html}\r\n");
        assert_eq!(fired(&alone), ["HTML_ONLY_MSHTML"]);
        let with_text = format!(
            "{head}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nDear Sir/Madam\r\n\
--b\r\nContent-Type: text/html\r\n\r\n{html}\r\n--b--\r\n"
        );
        assert_eq!(fired(&with_text), Vec::<&str>::new());
    }

    #[test]
    fn html_alone_in_a_mail_programs_name_fires() {
        let head = PLAIN.split("\r\n\r\n").next().unwrap_or("");
        let html = |mailer: &str| {
            format!(
                "{head}\r\nX-Mailer: {mailer}\r\nX-MimeOLE: Produced By Microsoft MimeOLE V6.00.2600.0000\r\n\
Content-Type: text/html\r\n\r\n<p>Hello</p>\r\n"
            )
        };
        assert_eq!(
            fired(&html("Microsoft Outlook Express 6.00.2600.0000")),
            ["HTML_ONLY_MAILER"]
        );
        // A newsletter tool sends HTML alone, as mail programs do not.
        let list = html("ListManager Web Interface").replace("X-MimeOLE", "X-Other");
        assert_eq!(fired(&list), Vec::<&str>::new());
    }

    #[test]
    fn outlook_without_mimeole_or_mimeole_under_another_mailer_fires() {
        let mid = "<000a01c26b3f$4e5a3be0$0100a8c0@pc>";
        let raw = |fields: &str| format!("{fields}\r\n{}", PLAIN.replace("<1@example.org>", mid));
        let oe = "X-Mailer: Microsoft Outlook Express 6.00.2800.1106";
        let ole = "X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2800.1106";
        assert_eq!(fired(&raw(oe)), ["FORGED_OUTLOOK_MIMEOLE"]);
        assert_eq!(fired(&raw(&format!("{oe}\r\n{ole}"))), Vec::<&str>::new());
        let imo = "X-Mailer: Microsoft Outlook IMO, Build 9.0.2416 (9.0.2911.0)";
        assert_eq!(fired(&raw(imo)), ["FORGED_OUTLOOK_MIMEOLE"]);
        let eudora = "X-Mailer: QUALCOMM Windows Eudora Version 5.1";
        assert_eq!(
            fired(&raw(&format!("{eudora}\r\n{ole}"))),
            ["FORGED_OUTLOOK_MIMEOLE"]
        );
        assert_eq!(fired(&raw(eudora)), Vec::<&str>::new());
    }

    #[test]
    fn a_price_in_the_subject_fires() {
        let raw = PLAIN.replace("Lunch on Friday", "Cartridges as low as $1.21 each");
        assert_eq!(fired(&raw), ["SUBJECT_MONEY"]);
        let shell = PLAIN.replace("Lunch on Friday", "Quoting $HOME in scripts");
        assert_eq!(fired(&shell), Vec::<&str>::new());
    }

    #[test]
    fn a_free_mail_from_ending_in_digits_fires() {
        let raw = PLAIN.replace("ann@example.org", "jane8841@yahoo.com");
        assert_eq!(fired(&raw), ["FREEMAIL_FROM_DIGITS"]);
        for from in [
            "jane84@yahoo.com",
            "jane8841@example.org",
            "8841@hotmail.com",
        ] {
            let raw = PLAIN.replace("ann@example.org", from);
            assert_eq!(fired(&raw), Vec::<&str>::new(), "{from}");
        }
    }
}
