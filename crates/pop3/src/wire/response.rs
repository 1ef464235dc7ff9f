//! Responses: `+OK`/`-ERR` status lines with RFC 2449 response codes, and
//! multi-line responses with dot-stuffing (RFC 1939 §3).

/// Extended response codes (RFC 2449 §8, RFC 3206).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RespCode {
    /// The maildrop is locked by another POP3 session (RFC 2449 §8.1.1).
    InUse,
    /// Logged in too soon after the last login (RFC 2449 §8.1.2).
    LoginDelay,
    /// A temporary problem on our side: try again later (RFC 3206 §4).
    SysTemp,
    /// A problem with the credentials, or plaintext login refused
    /// (RFC 3206 §5).
    Auth,
}

impl RespCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RespCode::InUse => "IN-USE",
            RespCode::LoginDelay => "LOGIN-DELAY",
            RespCode::SysTemp => "SYS/TEMP",
            RespCode::Auth => "AUTH",
        }
    }
}

/// Appends `+OK text` CRLF (or `+OK` CRLF for empty text).
pub fn ok(out: &mut Vec<u8>, text: &str) {
    status(out, b"+OK", None, text);
}

/// Appends `-ERR [CODE] text` CRLF.
pub fn err(out: &mut Vec<u8>, code: Option<RespCode>, text: &str) {
    status(out, b"-ERR", code, text);
}

fn status(out: &mut Vec<u8>, word: &[u8], code: Option<RespCode>, text: &str) {
    out.extend_from_slice(word);
    if let Some(c) = code {
        out.extend_from_slice(b" [");
        out.extend_from_slice(c.as_str().as_bytes());
        out.push(b']');
    }
    if !text.is_empty() {
        out.push(b' ');
        // Our texts have no line breaks; make sure of it.
        out.extend(text.bytes().filter(|&b| b != b'\r' && b != b'\n'));
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends one line of a multi-line response we generate ourselves
/// (LIST, UIDL, CAPA): stuffed if it starts with a dot.
pub fn line(out: &mut Vec<u8>, text: &str) {
    if text.starts_with('.') {
        out.push(b'.');
    }
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends the terminating `.` CRLF of a multi-line response.
pub fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(b".\r\n");
}

/// Appends RETR's whole answer (RFC 1939 §7): `+OK <size> octets` (`size`
/// is what LIST says), the message as [`message`] sends it, and the
/// terminating line.
pub fn retr(out: &mut Vec<u8>, size: u64, msg: &[u8]) {
    out.reserve(32 + msg.len() + msg.len() / 64 + 8);
    ok(out, &format!("{size} octets"));
    message(out, msg, None);
}

/// Appends a message as the body of a multi-line response, and the
/// terminating line. Lines go out ended by CRLF whatever the store holds (a
/// bare LF becomes CRLF, so a client never sees a line ending we did not
/// stuff after); a line starting with `.` gets one more (RFC 1939 §3); a
/// last line without an ending gets CRLF. For a message stored with CRLF
/// endings (all SMTP mail) the octets before stuffing are exactly the
/// stored ones, so the size LIST reports is exact.
///
/// With `body_lines`, this is TOP (RFC 1939 §7): the header, the blank
/// line, and at most that many lines of the body.
pub fn message(out: &mut Vec<u8>, msg: &[u8], body_lines: Option<u32>) {
    out.reserve(msg.len() + msg.len() / 64 + 8);
    if body_lines.is_none() {
        whole(out, msg);
        end(out);
        return;
    }
    let mut rest = msg;
    let mut in_header = true;
    let mut left = body_lines;
    while !rest.is_empty() {
        if !in_header && left == Some(0) {
            break;
        }
        let (text, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &b""[..]),
        };
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(text);
        out.extend_from_slice(b"\r\n");
        if in_header {
            in_header = !text.is_empty();
        } else if let Some(n) = &mut left {
            *n -= 1;
        }
        rest = next;
    }
    end(out);
}

/// RETR's body: the same rules as the line loop of [`message`], done by
/// copying the runs between the places that need a change (a line starting
/// with a dot, a bare LF), so a CRLF message is a few large copies.
fn whole(out: &mut Vec<u8>, msg: &[u8]) {
    if msg.first() == Some(&b'.') {
        out.push(b'.');
    }
    let mut start = 0;
    let mut from = 0;
    while let Some(off) = find_lf(&msg[from..]) {
        let i = from + off;
        from = i + 1;
        if i == 0 || msg[i - 1] != b'\r' {
            out.extend_from_slice(&msg[start..i]);
            out.extend_from_slice(b"\r\n");
            start = i + 1;
        }
        if msg.get(i + 1) == Some(&b'.') {
            out.extend_from_slice(&msg[start..i + 1]);
            out.push(b'.');
            start = i + 1;
        }
    }
    out.extend_from_slice(&msg[start..]);
    match msg.last() {
        None | Some(b'\n') => {}
        Some(b'\r') => out.push(b'\n'),
        Some(_) => out.extend_from_slice(b"\r\n"),
    }
}

/// The first LF in `hay`, eight bytes at a time: a byte-at-a-time search
/// was a tenth of the server's CPU when sending mail.
fn find_lf(hay: &[u8]) -> Option<usize> {
    const LF: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ LF;
        // A zero byte of x is an LF of the chunk; the lowest flagged byte is
        // the first one (higher flags can be false, never lower ones).
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retr(msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        message(&mut out, msg, None);
        out
    }

    fn top(msg: &[u8], n: u32) -> Vec<u8> {
        let mut out = Vec::new();
        message(&mut out, msg, Some(n));
        out
    }

    /// What a client does: strip the terminator and unstuff.
    fn unstuff(resp: &[u8]) -> Vec<u8> {
        let body = resp.strip_suffix(b".\r\n").expect("terminated");
        let mut out = Vec::new();
        for line in body.split_inclusive(|&b| b == b'\n') {
            out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        }
        out
    }

    #[test]
    fn status_lines_with_and_without_codes() {
        let mut out = Vec::new();
        ok(&mut out, "2 320");
        ok(&mut out, "");
        err(&mut out, Some(RespCode::InUse), "Maildrop locked");
        err(&mut out, None, "No such\r\nmessage");
        assert_eq!(
            out,
            b"+OK 2 320\r\n+OK\r\n-ERR [IN-USE] Maildrop locked\r\n-ERR No suchmessage\r\n"
        );
    }

    #[test]
    fn dot_stuffing_and_the_terminator() {
        let table: &[(&[u8], &[u8])] = &[
            (b"", b".\r\n"),
            (b"a\r\n", b"a\r\n.\r\n"),
            (b".\r\n", b"..\r\n.\r\n"),
            (b"a\r\n.\r\nb\r\n", b"a\r\n..\r\nb\r\n.\r\n"),
            (b"..x\r\n", b"...x\r\n.\r\n"),
            (b"no ending", b"no ending\r\n.\r\n"),
            (b"bare\n.lf\n", b"bare\r\n..lf\r\n.\r\n"),
            (b"cr\rinside\r\n", b"cr\rinside\r\n.\r\n"),
            (b" .not first\r\n", b" .not first\r\n.\r\n"),
        ];
        for (msg, want) in table {
            assert_eq!(retr(msg), *want, "{:?}", String::from_utf8_lossy(msg));
        }
    }

    #[test]
    fn find_lf_finds_the_first_lf_anywhere() {
        for len in 0..40 {
            for at in 0..=len {
                let mut hay: Vec<u8> = (0..len).map(|i| b'a' + (i % 7) as u8).collect();
                // Bytes next to LF in value, and a second LF after the first.
                hay.iter_mut().step_by(3).for_each(|b| *b = 0x0b);
                if at < len {
                    hay[at] = b'\n';
                    if at + 2 < len {
                        hay[at + 2] = b'\n';
                    }
                }
                let want = hay.iter().position(|&b| b == b'\n');
                assert_eq!(find_lf(&hay), want, "len {len} at {at}");
            }
        }
    }

    #[test]
    fn retr_and_an_unlimited_top_agree_byte_for_byte() {
        for msg in [
            &b""[..],
            b".",
            b"\n",
            b"\r\n",
            b".\r\n.",
            b"a\nb\r\n.c\n.\n\n..\r\n",
            b"x\r",
            b"x\ry\r\n.\r",
            b"H: v\r\n\r\nbody\r\n.line\r\nend",
        ] {
            let mut top = Vec::new();
            message(&mut top, msg, Some(u32::MAX));
            assert_eq!(retr(msg), top, "{:?}", String::from_utf8_lossy(msg));
        }
    }

    #[test]
    fn retr_is_the_status_line_and_the_message() {
        let msg = b"A: 1\r\n\r\n.x\r\n";
        let mut out = Vec::new();
        super::retr(&mut out, 42, msg);
        assert_eq!(out, [&b"+OK 42 octets\r\n"[..], &retr(msg)].concat());
    }

    #[test]
    fn crlf_messages_round_trip_with_their_exact_size() {
        let msg = b"Subject: x\r\n\r\n.\r\n..\r\nend\r\n";
        let out = retr(msg);
        assert_eq!(unstuff(&out), msg);
    }

    #[test]
    fn top_sends_the_header_the_blank_line_and_n_body_lines() {
        let msg = b"A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n";
        assert_eq!(top(msg, 0), b"A: 1\r\nB: 2\r\n\r\n.\r\n");
        assert_eq!(top(msg, 2), b"A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n");
        assert_eq!(top(msg, 99), retr(msg));
        // No body at all: the header is the whole message.
        assert_eq!(top(b"A: 1\r\n", 3), b"A: 1\r\n.\r\n");
    }

    #[test]
    fn generated_lines_are_stuffed_too() {
        let mut out = Vec::new();
        line(&mut out, "1 .x");
        line(&mut out, ".x");
        end(&mut out);
        assert_eq!(out, b"1 .x\r\n..x\r\n.\r\n");
    }
}
