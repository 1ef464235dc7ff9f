//! The client side of the wire, sans-IO: reading a server's replies (RFC
//! 5321 §4.2, multi-line with `-`), the EHLO keywords, xtext for DSN
//! parameters (RFC 3461 §4) and dot-stuffing of message data (§4.5.2).
//!
//! A server's reply is input we do not control: every line is bounded, a
//! malformed line is an error value, nothing panics.

use super::reply::Reply;

/// Longest reply line we read, CRLF included. RFC 5321 §4.5.3.1.5 says
/// 512; real servers send longer EHLO lines now and then, so allow more.
pub const MAX_REPLY_LINE: usize = 4096;
/// Most lines in one reply (EHLO lists are the longest in practice).
pub const MAX_REPLY_LINES: usize = 200;

/// What `ReplyReader::next` found in the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum ReplyFrame {
    /// A whole reply; `usize` bytes of the buffer were used.
    Reply(Reply, usize),
    /// More bytes are needed.
    Incomplete,
    /// The server sent something that is not a reply.
    Malformed(String),
}

/// Parses replies from the front of a buffer. Status codes (RFC 3463) are
/// taken off the text when every line carries the same one.
#[derive(Debug, Default)]
pub struct ReplyReader;

impl ReplyReader {
    pub fn next(buf: &[u8]) -> ReplyFrame {
        let mut pos = 0;
        let mut code: Option<u16> = None;
        let mut lines: Vec<String> = Vec::new();
        loop {
            let rest = &buf[pos..];
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                if rest.len() > MAX_REPLY_LINE {
                    return ReplyFrame::Malformed("reply line too long".into());
                }
                return ReplyFrame::Incomplete;
            };
            if nl + 1 > MAX_REPLY_LINE {
                return ReplyFrame::Malformed("reply line too long".into());
            }
            let mut line = &rest[..nl];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            pos += nl + 1;
            if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
                return ReplyFrame::Malformed(format!(
                    "not a reply line: {:?}",
                    String::from_utf8_lossy(&line[..line.len().min(80)])
                ));
            }
            let c = u16::from(line[0] - b'0') * 100
                + u16::from(line[1] - b'0') * 10
                + u16::from(line[2] - b'0');
            if !(200..600).contains(&c) {
                return ReplyFrame::Malformed(format!("reply code {c} out of range"));
            }
            if code.is_some_and(|prev| prev != c) {
                return ReplyFrame::Malformed("reply code changes within a reply".into());
            }
            code = Some(c);
            let (more, text) = match line.get(3) {
                None => (false, &b""[..]),
                Some(b'-') => (true, &line[4..]),
                Some(b' ') => (false, &line[4..]),
                Some(_) => {
                    return ReplyFrame::Malformed("no separator after the reply code".into());
                }
            };
            lines.push(String::from_utf8_lossy(text).into_owned());
            if lines.len() > MAX_REPLY_LINES {
                return ReplyFrame::Malformed("too many reply lines".into());
            }
            if !more {
                return ReplyFrame::Reply(split_status(c, lines), pos);
            }
        }
    }
}

/// Takes an enhanced status code off every line when all lines start with
/// the same one of the reply's class (RFC 2034 §3).
fn split_status(code: u16, lines: Vec<String>) -> Reply {
    let parse = |l: &str| -> Option<((u8, u16, u16), usize)> {
        let word = l.split(' ').next()?;
        let mut it = word.split('.');
        let class: u8 = it.next()?.parse().ok()?;
        let subject: u16 = it.next()?.parse().ok()?;
        let detail: u16 = it.next()?.parse().ok()?;
        if it.next().is_some() || u16::from(class) != code / 100 {
            return None;
        }
        Some(((class, subject, detail), word.len()))
    };
    let first = lines.first().and_then(|l| parse(l)).map(|(s, _)| s);
    match first {
        Some(st) if lines.iter().all(|l| parse(l).is_some_and(|(s, _)| s == st)) => {
            let lines = lines
                .into_iter()
                .map(|l| {
                    let n = parse(&l).map(|(_, n)| n).unwrap_or(0);
                    l[n..].trim_start().to_string()
                })
                .collect();
            Reply::multi(code, Some(st), lines)
        }
        _ => Reply::multi(code, None, lines),
    }
}

/// A reply as one line of text for logs and bounces: `550 5.1.1 text`.
pub fn reply_text(r: &Reply) -> String {
    let mut s = r.code.to_string();
    if let Some((a, b, c)) = r.status {
        s.push_str(&format!(" {a}.{b}.{c}"));
    }
    for l in &r.lines {
        s.push(' ');
        s.push_str(l);
    }
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(1000)
        .collect()
}

/// The extensions a server offered in its EHLO reply (RFC 5321 §4.1.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    pub starttls: bool,
    pub pipelining: bool,
    /// SIZE with its limit; `Some(0)` is SIZE without a limit.
    pub size: Option<u64>,
    pub eightbitmime: bool,
    pub smtputf8: bool,
    pub dsn: bool,
    pub chunking: bool,
    pub binarymime: bool,
    pub auth_plain: bool,
    pub auth_login: bool,
}

impl Extensions {
    /// Reads the lines after the first (the greeting line names the server).
    pub fn parse(reply: &Reply) -> Extensions {
        let mut e = Extensions::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(kw) = words.next() else { continue };
            match kw.to_ascii_uppercase().as_str() {
                "STARTTLS" => e.starttls = true,
                "PIPELINING" => e.pipelining = true,
                "SIZE" => e.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "8BITMIME" => e.eightbitmime = true,
                "SMTPUTF8" => e.smtputf8 = true,
                "DSN" => e.dsn = true,
                "CHUNKING" => e.chunking = true,
                "BINARYMIME" => e.binarymime = true,
                "AUTH" => {
                    for m in words {
                        match m.to_ascii_uppercase().as_str() {
                            "PLAIN" => e.auth_plain = true,
                            "LOGIN" => e.auth_login = true,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        e
    }
}

/// xtext (RFC 3461 §4): `+` and `=`, controls, space and non-ASCII become `+XX`.
pub fn xtext(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

/// The message as DATA sends it: lines starting with `.` get another
/// (RFC 5321 §4.5.2), a missing final CRLF is added, then `.CRLF`.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 5);
    let mut at_line_start = true;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !message.is_empty() && !message.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(s: &str) -> Reply {
        match ReplyReader::next(s.as_bytes()) {
            ReplyFrame::Reply(r, n) => {
                assert_eq!(n, s.len());
                r
            }
            other => panic!("{s:?}: {other:?}"),
        }
    }

    #[test]
    fn replies_single_multi_and_with_status() {
        let r = reply("250 2.1.0 Ok\r\n");
        assert_eq!((r.code, r.status), (250, Some((2, 1, 0))));
        assert_eq!(r.lines, ["Ok"]);
        let r = reply("250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
        assert_eq!(r.status, None);
        assert_eq!(r.lines.len(), 3);
        let e = Extensions::parse(&r);
        assert!(e.pipelining);
        assert_eq!(e.size, Some(1000));
        let r = reply("550-5.1.1 no\r\n550 5.1.1 such user\r\n");
        assert_eq!(r.status, Some((5, 1, 1)));
        assert_eq!(reply_text(&r), "550 5.1.1 no such user");
        assert_eq!(reply("220\r\n").lines, [""]);
        // A status of the wrong class is text.
        assert_eq!(reply("450 5.0.0 x\r\n").status, None);
    }

    #[test]
    fn partial_and_bad_input() {
        assert_eq!(ReplyReader::next(b"250-a\r\n250 b"), ReplyFrame::Incomplete);
        assert_eq!(ReplyReader::next(b""), ReplyFrame::Incomplete);
        for bad in ["hello\r\n", "250-a\r\n251 b\r\n", "999 x\r\n", "250x\r\n"] {
            assert!(
                matches!(ReplyReader::next(bad.as_bytes()), ReplyFrame::Malformed(_)),
                "{bad:?}"
            );
        }
        let long = vec![b'2'; MAX_REPLY_LINE + 10];
        assert!(matches!(ReplyReader::next(&long), ReplyFrame::Malformed(_)));
    }

    #[test]
    fn pipelined_replies_come_one_at_a_time() {
        let buf = b"250 2.1.0 Ok\r\n550 5.1.1 No\r\n";
        let ReplyFrame::Reply(a, n) = ReplyReader::next(buf) else {
            panic!()
        };
        let ReplyFrame::Reply(b, _) = ReplyReader::next(&buf[n..]) else {
            panic!()
        };
        assert_eq!((a.code, b.code), (250, 550));
    }

    #[test]
    fn xtext_and_dot_stuffing() {
        assert_eq!(xtext("a+b=c d"), "a+2Bb+3Dc+20d");
        assert_eq!(
            dot_stuff(b".a\r\nb\r\n..c\r\n"),
            b"..a\r\nb\r\n...c\r\n.\r\n"
        );
        assert_eq!(dot_stuff(b"x"), b"x\r\n.\r\n");
    }

    proptest::proptest! {
        #[test]
        fn reader_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = ReplyReader::next(&bytes);
        }
    }
}
