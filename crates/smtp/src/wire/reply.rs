//! SMTP replies: the `Reply` value the session builds and its encoding to
//! bytes (RFC 5321 §4.2), with enhanced status codes (RFC 3463, RFC 2034).
//!
//! Encoding never fails and never emits something a client could misread:
//! control characters in the text become spaces, and every line is cut to
//! fit RFC 5321 §4.5.3.1.5 (512 octets with the CRLF).

use std::fmt::Write as _;

/// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets, code and CRLF
/// included, so at most 510 before the CRLF.
const MAX_LINE_WITHOUT_CRLF: usize = 510;

/// One SMTP reply, possibly of several lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code (RFC 5321 §4.2.1), 200..=599 in practice.
    pub code: u16,
    /// The enhanced status code (RFC 3463) written after the reply code on
    /// every line; `None` for replies that carry none, like EHLO's list of
    /// extensions or the greeting.
    pub status: Option<(u8, u16, u16)>,
    /// The text of each line; an empty list is sent as one line with no text.
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply with an enhanced status code: `250 2.0.0 text`.
    pub fn new(code: u16, status: (u8, u16, u16), text: impl Into<String>) -> Reply {
        debug_assert_eq!(
            u16::from(status.0),
            code / 100,
            "status class matches the code"
        );
        Reply {
            code,
            status: Some(status),
            lines: vec![text.into()],
        }
    }

    /// A reply of several lines. EHLO's reply passes `None`: its lines name
    /// extensions and must not start with a status code.
    pub fn multi(code: u16, status: Option<(u8, u16, u16)>, lines: Vec<String>) -> Reply {
        Reply {
            code,
            status,
            lines,
        }
    }

    /// Appends the wire form to `out`: `250-first\r\n250 last\r\n`
    /// (RFC 5321 §4.2: a hyphen after the code on all lines but the last).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let empty = [String::new()];
        let lines: &[String] = if self.lines.is_empty() {
            &empty
        } else {
            &self.lines
        };
        let last = lines.len() - 1;
        for (i, text) in lines.iter().enumerate() {
            let mut line = String::with_capacity(16 + text.len());
            // Writing to a String cannot fail.
            let _ = write!(line, "{:03}", self.code);
            line.push(if i == last { ' ' } else { '-' });
            if let Some((class, subject, detail)) = self.status {
                let _ = write!(line, "{class}.{subject}.{detail} ");
            }
            push_sanitised(&mut line, text);
            // RFC 5321 §4.2: `Reply-code [ SP textstring ] CRLF`; no trailing
            // space when the text is empty ("250" or "250 2.0.0").
            let trimmed = line.trim_end_matches(' ').len().max(3);
            line.truncate(trimmed);
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }

    /// 2yz and 3yz: the command was accepted (RFC 5321 §4.2.1).
    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// 4yz: try again later (RFC 5321 §4.2.1).
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5yz: do not try again as is (RFC 5321 §4.2.1).
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }
}

/// Appends `text` to `line`, control characters (CR and LF above all, which
/// would let text forge a reply line) replaced by spaces, stopping before
/// the line would pass `MAX_LINE_WITHOUT_CRLF` octets. UTF-8 is kept
/// (RFC 6531 §3.7.4 allows it); the cut falls on a character boundary.
fn push_sanitised(line: &mut String, text: &str) {
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if line.len() + c.len_utf8() > MAX_LINE_WITHOUT_CRLF {
            break;
        }
        line.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(reply: &Reply) -> String {
        let mut out = Vec::new();
        reply.encode(&mut out);
        String::from_utf8(out).expect("encoder writes UTF-8")
    }

    /// Test-only reader of what `encode` writes, for round trips.
    fn decode(wire: &str, with_status: bool) -> Reply {
        let mut code = 0;
        let mut status = None;
        let mut lines = Vec::new();
        for line in wire.split_terminator("\r\n") {
            code = line[..3].parse().expect("code");
            let mut text = line.get(4..).unwrap_or("");
            if with_status {
                let (st, rest) = text.split_once(' ').unwrap_or((text, ""));
                let mut parts = st.split('.').map(|p| p.parse::<u16>().expect("status"));
                let class = u8::try_from(parts.next().expect("class")).expect("class");
                status = Some((
                    class,
                    parts.next().expect("subject"),
                    parts.next().expect("detail"),
                ));
                text = rest;
            }
            lines.push(text.to_string());
        }
        Reply::multi(code, status, lines)
    }

    #[test]
    fn encode_table() {
        let cases: Vec<(Reply, &str)> = vec![
            (Reply::new(250, (2, 0, 0), "OK"), "250 2.0.0 OK\r\n"),
            (Reply::new(250, (2, 1, 5), ""), "250 2.1.5\r\n"),
            (
                Reply::new(550, (5, 1, 1), "No such user"),
                "550 5.1.1 No such user\r\n",
            ),
            (
                Reply::multi(
                    250,
                    None,
                    vec!["mx.example".into(), "PIPELINING".into(), "SIZE 1000".into()],
                ),
                "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
            ),
            (
                Reply::multi(451, Some((4, 3, 0)), vec!["one".into(), "two".into()]),
                "451-4.3.0 one\r\n451 4.3.0 two\r\n",
            ),
            (Reply::multi(220, None, vec![]), "220\r\n"),
            (
                Reply::multi(250, None, vec![String::new(), "x".into()]),
                "250-\r\n250 x\r\n",
            ),
            // Line breaks and other controls cannot forge a second reply.
            (
                Reply::new(550, (5, 7, 1), "bad\r\n250 2.0.0 forged"),
                "550 5.7.1 bad  250 2.0.0 forged\r\n",
            ),
            (
                Reply::new(500, (5, 5, 1), "a\0b\tc\x7f"),
                "500 5.5.1 a b c\r\n",
            ),
            (Reply::new(250, (2, 0, 0), "naïve"), "250 2.0.0 naïve\r\n"),
        ];
        for (reply, want) in cases {
            assert_eq!(encoded(&reply), want, "{reply:?}");
        }
    }

    #[test]
    fn rfc5321_appendix_d_replies() {
        // RFC 5321 Appendix D.1, the server side of the typical transaction.
        let cases: Vec<(Reply, &str)> = vec![
            (
                Reply::multi(
                    220,
                    None,
                    vec!["foo.com Simple Mail Transfer Service Ready".into()],
                ),
                "220 foo.com Simple Mail Transfer Service Ready\r\n",
            ),
            (
                Reply::multi(
                    250,
                    None,
                    ["foo.com greets bar.com", "8BITMIME", "SIZE", "DSN", "HELP"]
                        .map(String::from)
                        .to_vec(),
                ),
                "250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n",
            ),
            (
                Reply::multi(
                    354,
                    None,
                    vec!["Start mail input; end with <CRLF>.<CRLF>".into()],
                ),
                "354 Start mail input; end with <CRLF>.<CRLF>\r\n",
            ),
            (
                Reply::multi(550, None, vec!["No such user here".into()]),
                "550 No such user here\r\n",
            ),
            (
                Reply::multi(
                    221,
                    None,
                    vec!["foo.com Service closing transmission channel".into()],
                ),
                "221 foo.com Service closing transmission channel\r\n",
            ),
        ];
        for (reply, want) in cases {
            assert_eq!(encoded(&reply), want);
        }
    }

    #[test]
    fn lines_are_cut_to_512_octets_with_crlf() {
        let long = "x".repeat(2000);
        let wire = encoded(&Reply::new(550, (5, 0, 0), long.clone()));
        assert_eq!(wire.len(), 512);
        assert!(wire.ends_with("xx\r\n"));
        let wire = encoded(&Reply::multi(250, None, vec![long.clone(), long]));
        assert!(wire.split_terminator("\r\n").all(|l| l.len() == 510));
        // A cut never splits a UTF-8 character.
        let wide = "é".repeat(600);
        let wire = encoded(&Reply::new(550, (5, 0, 0), wide));
        assert!(wire.len() <= 512);
        assert!(wire.ends_with("é\r\n"));
    }

    #[test]
    fn round_trip() {
        let cases = vec![
            Reply::new(250, (2, 1, 0), "Sender OK"),
            Reply::multi(
                452,
                Some((4, 5, 3)),
                vec!["Too many".into(), "recipients".into()],
            ),
            Reply::multi(250, None, vec!["host".into(), "STARTTLS".into()]),
        ];
        for reply in cases {
            let wire = encoded(&reply);
            assert_eq!(decode(&wire, reply.status.is_some()), reply);
        }
    }

    #[test]
    fn classes() {
        let table = [
            (220, true, false, false),
            (250, true, false, false),
            (354, true, false, false),
            (421, false, true, false),
            (451, false, true, false),
            (500, false, false, true),
            (554, false, false, true),
        ];
        for (code, positive, transient, permanent) in table {
            let r = Reply::multi(code, None, vec![]);
            assert_eq!(
                (r.is_positive(), r.is_transient(), r.is_permanent()),
                (positive, transient, permanent),
                "{code}"
            );
        }
    }
}
