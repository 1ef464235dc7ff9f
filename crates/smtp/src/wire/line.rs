//! Command line framing: finds where each command line ends in the bytes
//! the driver has read, and refuses over-long lines without buffering them.
//!
//! The framer holds no bytes. The driver keeps its read buffer, calls
//! [`CommandFramer::next`] after every read until it returns `None`, and
//! drops the `consumed` bytes each call reports. Because an over-long line
//! is consumed as it arrives ([`Frame::Discarding`]), the driver never has to
//! hold more than `max_line` unconsumed bytes.

/// What the framer found at the start of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// One command line, without its line ending.
    Line(&'a [u8]),
    /// A line longer than `max_line` has ended; its bytes were discarded.
    /// Reported once per over-long line, when its LF arrives, so the reply
    /// (`500`, RFC 5321 §4.5.3.1.4) comes in order with pipelined
    /// commands and the rest of the line is never read as a command.
    TooLong,
    /// Bytes of an over-long line were discarded and its end has not arrived
    /// yet: nothing to answer, drop the bytes and read more.
    Discarding,
}

/// Splits command lines. RFC 5321 §2.3.8: lines end with CRLF. A bare LF
/// also ends a command line (lenient, as Postfix): some clients and scripts
/// send LF alone, and a command line, unlike message data, carries no
/// content a bare LF could smuggle. A bare CR is not a line end; it stays in
/// the line (the parser refuses it where it matters).
#[derive(Clone, Debug)]
pub struct CommandFramer {
    /// Longest line accepted, line ending included (RFC 5321 §4.5.3.1.4:
    /// 512 at least).
    max_line: usize,
    /// True while skipping the rest of an over-long line.
    discarding: bool,
}

impl CommandFramer {
    /// `max_line` counts the line ending, as RFC 5321 §4.5.3.1.4 does: 512
    /// allows 510 octets of command and CRLF. A value below 2 is taken as 2.
    pub fn new(max_line: usize) -> Self {
        CommandFramer {
            max_line: max_line.max(2),
            discarding: false,
        }
    }

    /// Looks at the start of `buf`. `None`: need more bytes (nothing
    /// consumed). `Some((frame, consumed))`: drop `consumed` bytes from the
    /// front of the buffer, then call again.
    pub fn next<'a>(&mut self, buf: &'a [u8]) -> Option<(Frame<'a>, usize)> {
        let lf = buf.iter().position(|&b| b == b'\n');
        if self.discarding {
            return match lf {
                Some(i) => {
                    self.discarding = false;
                    Some((Frame::TooLong, i + 1))
                }
                None if buf.is_empty() => None,
                None => Some((Frame::Discarding, buf.len())),
            };
        }
        match lf {
            Some(i) if i < self.max_line => {
                let line = buf.get(..i).unwrap_or_default();
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                Some((Frame::Line(line), i + 1))
            }
            // The whole over-long line is here already.
            Some(i) => Some((Frame::TooLong, i + 1)),
            // `max_line` bytes without an LF cannot become a line that fits.
            None if buf.len() >= self.max_line => {
                self.discarding = true;
                Some((Frame::Discarding, buf.len()))
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Got {
        Line(Vec<u8>),
        TooLong,
    }
    use Got::TooLong;

    fn line(s: &str) -> Got {
        Got::Line(s.as_bytes().to_vec())
    }

    /// Acts as the driver: appends each chunk to a buffer and drains frames,
    /// checking the framer never leaves `max` or more bytes unconsumed.
    /// Returns the frames and the bytes left over.
    fn drive(max: usize, chunks: &[&[u8]]) -> (Vec<Got>, Vec<u8>) {
        let mut framer = CommandFramer::new(max);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some((frame, n)) = framer.next(&buf) {
                assert!(n > 0 && n <= buf.len(), "consumed {n} of {}", buf.len());
                match frame {
                    Frame::Line(l) => got.push(Got::Line(l.to_vec())),
                    Frame::TooLong => got.push(TooLong),
                    Frame::Discarding => {}
                }
                buf.drain(..n);
            }
            assert!(
                buf.len() < max,
                "{} bytes buffered with max {max}",
                buf.len()
            );
        }
        (got, buf)
    }

    /// Runs one case whole, then split at every byte offset.
    fn check(max: usize, input: &[u8], want: &[Got], rest: &[u8]) {
        let (got, left) = drive(max, &[input]);
        assert_eq!(
            (&got[..], &left[..]),
            (want, rest),
            "whole {:?}",
            String::from_utf8_lossy(input)
        );
        for at in 0..=input.len() {
            let (a, b) = input.split_at(at);
            let (got, left) = drive(max, &[a, b]);
            assert_eq!(
                (&got[..], &left[..]),
                (want, rest),
                "split at {at}: {input:?}"
            );
        }
        // Byte by byte.
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (got, left) = drive(max, &bytes);
        assert_eq!(
            (&got[..], &left[..]),
            (want, rest),
            "byte by byte: {input:?}"
        );
    }

    #[test]
    fn framing_table() {
        // (max_line, input, frames, bytes left over)
        type Case = (usize, &'static [u8], Vec<Got>, &'static [u8]);
        let cases: Vec<Case> = vec![
            (512, b"", vec![], b""),
            (512, b"NOOP", vec![], b"NOOP"),
            (512, b"NOOP\r", vec![], b"NOOP\r"),
            (512, b"NOOP\r\n", vec![line("NOOP")], b""),
            (512, b"\r\n", vec![line("")], b""),
            // Bare LF ends a command line (lenient).
            (512, b"NOOP\n", vec![line("NOOP")], b""),
            (512, b"\n\n", vec![line(""), line("")], b""),
            // A bare CR stays in the line; only the CR before LF is removed.
            (512, b"NO\rOP\r\n", vec![line("NO\rOP")], b""),
            (512, b"NOOP\r\r\n", vec![line("NOOP\r")], b""),
            // Pipelining (RFC 2920): several lines in one read.
            (
                512,
                b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nrest",
                vec![line("MAIL FROM:<a@b>"), line("RCPT TO:<c@d>"), line("DATA")],
                b"rest",
            ),
            // Limits count the line ending: max 6 fits "abcd\r\n" and "abcde\n".
            (
                6,
                b"abcd\r\nabcde\n",
                vec![line("abcd"), line("abcde")],
                b"",
            ),
            (6, b"abcde\r\nok\r\n", vec![TooLong, line("ok")], b""),
            (6, b"abcdef\nok\n", vec![TooLong, line("ok")], b""),
            (
                6,
                b"0123456789012345678901234567890\r\nQUIT\r\n",
                vec![TooLong, line("QUIT")],
                b"",
            ),
            (6, b"toolongline", vec![], b""),
            (6, b"toolongline\r\nQU", vec![TooLong], b"QU"),
            (
                6,
                b"a\r\ntoolonglinetoolong\r\nb\r\ntoolong2\nc\n",
                vec![line("a"), TooLong, line("b"), TooLong, line("c")],
                b"",
            ),
            // Binary junk frames like anything else.
            (
                512,
                b"\0\xff\xfe\r\n",
                vec![Got::Line(b"\0\xff\xfe".to_vec())],
                b"",
            ),
        ];
        for (max, input, want, rest) in cases {
            check(max, input, &want, rest);
        }
    }

    #[test]
    fn too_long_is_reported_once_per_line() {
        let mut input = vec![b'x'; 5000];
        input.extend_from_slice(b"\r\nNOOP\r\n");
        check(512, &input, &[TooLong, line("NOOP")], b"");
    }

    #[test]
    fn a_line_of_exactly_max_fits_and_one_more_does_not() {
        let fits = format!("{}\r\n", "a".repeat(510));
        check(512, fits.as_bytes(), &[line(&"a".repeat(510))], b"");
        let over = format!("{}\r\n", "a".repeat(511));
        check(512, over.as_bytes(), &[TooLong], b"");
    }
}
