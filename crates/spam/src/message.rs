//! One parse of a message into what the rules and the classifier read: the
//! headers they look at, the decoded text of every text part (HTML turned into
//! text), the links with their hosts, and the attachments' names. Parsing is
//! mail-parser's; reading is bounded by [`ReadLimits`], so a message of any
//! size or shape costs at most those bounds.

use std::sync::LazyLock;

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use memchr::memmem;

use crate::config::ReadLimits;
use crate::html::{HtmlText, html_to_text};

/// A link in the body: where it goes, and (for an HTML anchor) the host its
/// visible text shows, when that text looks like a URL or a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The host, lowercased, without port, userinfo or trailing dot.
    pub host: String,
    pub shown_host: Option<String>,
    /// Words of the path and query (lowercased, at most 8), for the
    /// classifier: `remove`, `unsubscribe`, `cgi-bin` outlive domains.
    pub path_words: Vec<String>,
}

/// Bytes of one header field's value kept in [`MessageView::header_fields`].
pub const HEADER_VALUE_BYTES: usize = 512;

/// What the rules and the classifier read from one message.
#[derive(Debug, Default, Clone)]
pub struct MessageView {
    pub subject: Option<String>,
    pub from_name: Option<String>,
    pub from_address: Option<String>,
    pub reply_to: Vec<String>,
    pub to_count: usize,
    pub cc_count: usize,
    pub has_date: bool,
    /// Seconds from the newest `Received:` hop's time to `Date:` (negative:
    /// written before it arrived); `None` unless both parse.
    pub date_skew: Option<i64>,
    pub message_id: Option<String>,
    /// Raw `Received:` values, newest first (the order on the wire).
    pub received: Vec<String>,
    /// The top-level `type/subtype`, lowercased.
    pub content_type: Option<String>,
    /// `X-Mailer`, else `User-Agent`.
    pub mailer: Option<String>,
    pub has_thread_index: bool,
    /// Names of the top-level header fields, lowercased, each once, in
    /// order (bounded by `max_parts`·4); `X-Spam-*` left out, since those
    /// are verdicts of filters, ours included, not part of the message.
    pub header_names: Vec<String>,
    /// Every top-level header field but `Received` and `X-Spam-*`, in
    /// order: the name lowercased and the raw value, clipped to
    /// [`HEADER_VALUE_BYTES`], at most `max_parts`·4 of them. Rules read
    /// some (Date's zone); the classifier reads their words, prefixed by
    /// the field's name, when `ClassifierOptions::header_words` is on.
    pub header_fields: Vec<(String, String)>,
    /// The top-level `charset` parameter, lowercased.
    pub charset: Option<String>,
    /// The `charset` parameters of the text parts, lowercased, each once.
    pub text_charsets: Vec<String>,
    /// Decoded text of text/plain parts.
    pub plain: Vec<String>,
    /// Text of text/html parts.
    pub html: Vec<HtmlText>,
    /// Text parts (plain or HTML) sent in base64: mail programs use it for
    /// text only when the text needs it, bulk mailers to hide words from
    /// filters that read the raw message.
    pub base64_text_parts: usize,
    pub links: Vec<Link>,
    pub attachment_names: Vec<String>,
    /// The raw message holds the GTUBE string (checked before any decoding,
    /// as SpamAssassin's rule sees the body).
    pub raw_has_gtube: bool,
}

impl MessageView {
    /// Reads `raw` (headers and body as received). Never fails: what does not
    /// parse is simply absent from the view.
    pub fn parse(raw: &[u8], limits: &ReadLimits) -> Self {
        let mut view = MessageView {
            raw_has_gtube: crate::rules::contains_gtube(raw),
            ..Self::default()
        };
        // mail-parser 0.11.9 can panic on a malformed multipart ("Invalid
        // part ID", found by fuzzing the store): what it cannot read is
        // scored on what is known so far, never a panic in the session.
        let Ok(Some(msg)) = std::panic::catch_unwind(|| MessageParser::default().parse(raw)) else {
            return view;
        };
        view.subject = msg.subject().map(str::to_string);
        if let Some(from) = msg.from().and_then(|a| a.first()) {
            view.from_name = from.name().map(str::to_string);
            view.from_address = from.address().map(str::to_ascii_lowercase);
        }
        view.reply_to = msg
            .reply_to()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.address())
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        view.to_count = msg.to().map_or(0, |a| a.iter().count());
        view.cc_count = msg.cc().map_or(0, |a| a.iter().count());
        view.has_date = msg.header_raw("Date").is_some();
        view.message_id = msg.header_raw("Message-ID").map(|v| v.trim().to_string());
        view.received = msg
            .headers_raw()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Received"))
            .take(limits.max_parts)
            .map(|(_, v)| v.to_string())
            .collect();
        view.date_skew = msg
            .date()
            .zip(view.received.first())
            .and_then(|(date, hop)| {
                // RFC 5321 §4.4: the hop's time follows its last ";".
                let (_, stamp) = hop.rsplit_once(';')?;
                let at = mail_parser::DateTime::parse_rfc822(stamp.trim())?;
                (date.is_valid() && at.is_valid())
                    .then(|| date.to_timestamp().saturating_sub(at.to_timestamp()))
            });
        view.content_type = msg.content_type().map(|ct| {
            let sub = ct.subtype().unwrap_or("");
            format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase()
        });
        view.mailer = msg
            .header_raw("X-Mailer")
            .or_else(|| msg.header_raw("User-Agent"))
            .map(|v| v.trim().to_string());
        view.has_thread_index = msg.header_raw("Thread-Index").is_some();
        for (name, value) in msg.headers_raw() {
            let name = name.to_ascii_lowercase();
            if view.header_fields.len() >= limits.max_parts * 4 {
                break;
            }
            if name.starts_with("x-spam") {
                continue;
            }
            if name != "received" {
                view.header_fields
                    .push((name.clone(), clip(value, HEADER_VALUE_BYTES).to_string()));
            }
            if view.header_names.len() < limits.max_parts * 4 && !view.header_names.contains(&name)
            {
                view.header_names.push(name);
            }
        }
        view.charset = msg
            .content_type()
            .and_then(|ct| ct.attribute("charset"))
            .map(str::to_ascii_lowercase);
        let mut budget = Budget {
            text: limits.max_text_bytes,
            parts: limits.max_parts,
        };
        view.read_parts(&msg, &mut budget, 0);
        view.collect_links(limits.max_links);
        view
    }

    /// Walks the MIME tree (nested messages too, to a fixed depth).
    fn read_parts(&mut self, msg: &Message<'_>, budget: &mut Budget, depth: usize) {
        for part in &msg.parts {
            if budget.parts == 0 {
                return;
            }
            budget.parts -= 1;
            if let Some(name) = part.attachment_name() {
                self.attachment_names.push(name.to_string());
            }
            if matches!(part.body, PartType::Text(_) | PartType::Html(_))
                && part
                    .content_transfer_encoding()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"))
            {
                self.base64_text_parts += 1;
            }
            if matches!(part.body, PartType::Text(_) | PartType::Html(_))
                && let Some(cs) = part.content_type().and_then(|ct| ct.attribute("charset"))
                && !self
                    .text_charsets
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(cs))
            {
                self.text_charsets.push(cs.to_ascii_lowercase());
            }
            match &part.body {
                PartType::Text(t) if budget.text > 0 => {
                    let t = clip(t, budget.text);
                    budget.text -= t.len();
                    self.plain.push(t.to_string());
                }
                PartType::Html(h) if budget.text > 0 => {
                    let h = clip(h, budget.text.saturating_mul(4));
                    let text = html_to_text(h, budget.text);
                    budget.text = budget.text.saturating_sub(text.text.len());
                    self.html.push(text);
                }
                PartType::Message(inner) if depth < 3 => self.read_parts(inner, budget, depth + 1),
                _ => {}
            }
        }
    }

    /// Links from HTML anchors and from URLs written out in any text.
    fn collect_links(&mut self, max: usize) {
        let mut links = Vec::new();
        for h in &self.html {
            for a in &h.anchors {
                if let Some(host) = url_host(&a.href) {
                    let shown = a.text.split_whitespace().find_map(url_host);
                    links.push(Link {
                        host,
                        shown_host: shown,
                        path_words: path_words(&a.href),
                    });
                }
            }
        }
        let texts = self
            .plain
            .iter()
            .map(String::as_str)
            .chain(self.html.iter().map(|h| h.text.as_str()));
        let is_sep = |c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '(' | ')');
        for t in texts {
            // The words that can be URLs are found by substring searches,
            // not by splitting the whole text into words: each word holding
            // a URL start is then read as before.
            let mut read_up_to = 0;
            for start in url_starts(t) {
                if links.len() >= max {
                    break;
                }
                if start < read_up_to {
                    continue;
                }
                let begin = t[..start]
                    .char_indices()
                    .rev()
                    .find(|&(_, c)| is_sep(c))
                    .map_or(0, |(i, c)| i + c.len_utf8());
                let end = t[start..].find(is_sep).map_or(t.len(), |i| start + i);
                read_up_to = end;
                let word = &t[begin..end];
                if let Some(host) = url_host(word) {
                    links.push(Link {
                        host,
                        shown_host: None,
                        path_words: path_words(word),
                    });
                }
            }
        }
        links.truncate(max);
        self.links = links;
    }

    /// Whether the message has an HTML body and no plain-text one.
    pub fn is_html_only(&self) -> bool {
        !self.html.is_empty() && self.plain.iter().all(|p| p.trim().is_empty())
    }
}

struct Budget {
    text: usize,
    parts: usize,
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The words after a URL's host: path segments and query keys and values.
fn path_words(url: &str) -> Vec<String> {
    let lower = url.to_ascii_lowercase();
    let rest = lower.split_once("://").map_or(lower.as_str(), |(_, r)| r);
    let Some(at) = rest.find(['/', '?']) else {
        return Vec::new();
    };
    rest[at..]
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
        .filter(|w| (2..=20).contains(&w.len()))
        .take(8)
        .map(str::to_string)
        .collect()
}

/// Where a URL can begin in `t` (what [`url_host`] accepts after
/// trimming: `http://`, `https://` or `www.`, in any case), in order.
/// Found from their rare parts, `://` and `.`, by vectorised searches
/// (an automaton over the three prefixes, case-blind, was slower: every
/// `h` and `w` of the text began a candidate).
fn url_starts(t: &str) -> Vec<usize> {
    static SCHEME_END: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"://"));
    let b = t.as_bytes();
    let after = |at: usize, p: &[u8]| at >= p.len() && b[at - p.len()..at].eq_ignore_ascii_case(p);
    let mut out: Vec<usize> = SCHEME_END
        .find_iter(b)
        .filter_map(|q| {
            if after(q, b"https") {
                Some(q - 5)
            } else if after(q, b"http") {
                Some(q - 4)
            } else {
                None
            }
        })
        .collect();
    let schemes = out.len();
    out.extend(
        memchr::memchr_iter(b'.', b)
            .filter(|&q| after(q, b"www"))
            .map(|q| q - 3),
    );
    if schemes > 0 && out.len() > schemes {
        out.sort_unstable();
    }
    out
}

/// The host of an `http(s)://` URL or a `www.` name, lowercased; `None` for
/// anything else (mailto:, relative links, words).
pub fn url_host(s: &str) -> Option<String> {
    let s = s.trim_matches(|c: char| {
        matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '[' | ']') || c.is_whitespace()
    });
    // Called for every word of the text: say no before allocating.
    let starts =
        |p: &str| s.len() >= p.len() && s.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    if !(starts("http://") || starts("https://") || starts("www.")) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("http://") {
        r
    } else if let Some(r) = lower.strip_prefix("https://") {
        r
    } else if lower.starts_with("www.") {
        &lower
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        format!("[{}]", v6.split(']').next().unwrap_or(""))
    } else {
        host_port
            .split(':')
            .next()
            .unwrap_or("")
            .trim_end_matches('.')
            .to_string()
    };
    let sane = host.len() <= 253
        && !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':' | '_'))
        // A dotless host is a local name, except one all-digit number: a
        // 32-bit IP address in decimal, which browsers accept.
        && (host.contains(['.', ':']) || host.chars().all(|c| c.is_ascii_digit()));
    sane.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn url_starts_are_where_the_three_prefixes_begin(
            t in "(http://|HTTPS://|hTtP:/|https:|www\\.|wWw\\.|ww|\\.|://|[a-z <>\"é]{0,5}){0,16}"
        ) {
            let b = t.as_bytes();
            let want: Vec<usize> = (0..b.len())
                .filter(|&i| {
                    ["http://", "https://", "www."].iter().any(|p| {
                        b.len() - i >= p.len() && b[i..i + p.len()].eq_ignore_ascii_case(p.as_bytes())
                    })
                })
                .collect();
            proptest::prop_assert_eq!(url_starts(&t), want);
        }
    }

    #[test]
    fn url_host_takes_the_authority_only() {
        assert_eq!(
            url_host("HTTP://User:pw@Example.COM:8080/a?b").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            url_host("www.example.org/path.").as_deref(),
            Some("www.example.org")
        );
        assert_eq!(
            url_host("https://[2001:db8::1]/x").as_deref(),
            Some("[2001:db8::1]")
        );
        assert_eq!(url_host("mailto:a@b.example"), None);
        assert_eq!(url_host("http://localhost/"), None);
    }

    #[test]
    fn path_words_come_after_the_host() {
        assert_eq!(
            path_words("http://x.example/cgi-bin/remove.php?id=12&a=b"),
            ["cgi-bin", "remove", "php", "id", "12"]
        );
        assert!(path_words("https://x.example").is_empty());
    }

    #[test]
    fn view_reads_headers_parts_and_links() {
        let raw = b"From: \"Ann\" <Ann@Example.org>\r\nX-Spam-Status: No\r\nTo: a@x.example, b@x.example\r\nSubject: hi\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee http://one.example/x\r\n\
--b\r\nContent-Type: application/octet-stream; name=run.exe\r\n\r\nMZ\r\n--b--\r\n";
        let v = MessageView::parse(raw, &ReadLimits::default());
        assert_eq!(v.from_name.as_deref(), Some("Ann"));
        assert_eq!(v.from_address.as_deref(), Some("ann@example.org"));
        assert_eq!(v.to_count, 2);
        assert!(!v.has_date);
        assert_eq!(v.content_type.as_deref(), Some("multipart/mixed"));
        assert_eq!(v.links[0].host, "one.example");
        assert_eq!(v.attachment_names, ["run.exe"]);
        assert_eq!(v.header_names, ["from", "to", "subject", "content-type"]);
        assert!(!v.is_html_only());
    }

    #[test]
    fn text_read_is_bounded() {
        let mut raw = b"Subject: big\r\n\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'a', 10_000));
        let limits = ReadLimits {
            max_text_bytes: 100,
            ..ReadLimits::default()
        };
        let v = MessageView::parse(&raw, &limits);
        assert!(v.plain.iter().map(String::len).sum::<usize>() <= 100);
    }
}
