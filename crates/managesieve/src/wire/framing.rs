//! Command framing: finds the next whole command at the front of the read
//! buffer, its literals included (RFC 5804 §4: a string may be a literal,
//! `{n+}` CRLF and n octets, and the command goes on after it). Nothing is
//! held past the limits: the text of one command (everything but literal
//! octets) is at most `max_line` bytes, one literal at most `max_literal`.
//! A command that breaks either is discarded as it arrives, literal
//! octets included (a non-synchronizing literal is sent whatever we say),
//! and reported once at its end, so the session answers it with one `NO`
//! and stays in step with the client.

/// What the framer found at the front of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole command of `len` bytes, from its first byte to the LF that
    /// ends it, literals included.
    Command { len: usize },
    /// The first `consumed` bytes belong to a command being discarded
    /// whose end has not arrived: drop them and read on.
    Discarding { consumed: usize },
    /// The end of a discarded command: drop `consumed` bytes and answer
    /// `why` once.
    Refused { consumed: usize, why: Refusal },
}

/// Why a command was discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Its text (literals aside) passed `max_line`.
    LineTooLong,
    /// One of its literals announced `size` octets, over `max_literal`
    /// (`u64::MAX` when the count does not fit in a u64).
    LiteralTooLarge { size: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Framing a command: `scanned` bytes of the buffer are whole lines
    /// and literals of it; `text` is how many of them were line text,
    /// `octets` how many were literal octets.
    Framing {
        scanned: usize,
        text: usize,
        octets: u64,
    },
    /// Discarding a command's lines until one ends without a literal.
    DiscardLine { why: Refusal },
    /// Discarding `left` more literal octets, then its line goes on.
    DiscardLiteral { left: u64, why: Refusal },
}

/// Bytes kept back while a discarded line's end is awaited: the longest
/// literal header, `{` twenty digits `+}` CRLF, fits.
const KEEP: usize = 32;

impl State {
    const START: State = State::Framing {
        scanned: 0,
        text: 0,
        octets: 0,
    };
}

/// Frames commands with literals under two limits.
#[derive(Clone, Debug)]
pub struct Framer {
    max_line: usize,
    max_literal: u64,
    state: State,
}

impl Framer {
    /// `max_line` counts every line of a command and their line endings;
    /// at least 3 (`X` CR LF).
    pub fn new(max_line: usize, max_literal: u64) -> Framer {
        Framer {
            max_line: max_line.max(3),
            max_literal,
            state: State::START,
        }
    }

    /// The next frame at the front of `buf`; `None` when more bytes are
    /// needed. The caller drops the bytes a frame covers before calling
    /// again, and keeps the others.
    pub fn next(&mut self, buf: &[u8]) -> Option<Frame> {
        loop {
            match self.state {
                State::Framing {
                    scanned,
                    text,
                    octets,
                } => {
                    let room = self.max_line - text.min(self.max_line);
                    let rest = &buf[scanned.min(buf.len())..];
                    let window = &rest[..rest.len().min(room)];
                    let Some(i) = window.iter().position(|&b| b == b'\n') else {
                        if rest.len() < room {
                            return None;
                        }
                        // Drop what came of the command, up to where this
                        // line passed the limit; its end is searched next.
                        self.state = State::DiscardLine {
                            why: Refusal::LineTooLong,
                        };
                        let consumed = scanned + window.len().saturating_sub(KEEP);
                        if consumed > 0 {
                            return Some(Frame::Discarding { consumed });
                        }
                        continue;
                    };
                    let end = scanned + i + 1;
                    let text = text + i + 1;
                    match literal_size(&buf[scanned..end]) {
                        None => {
                            self.reset();
                            return Some(Frame::Command { len: end });
                        }
                        // One literal is at most max_literal; all of a
                        // command's together at most max_line more (a
                        // script name sent as a literal beside a script).
                        Some(size)
                            if size > self.max_literal
                                || octets.saturating_add(size)
                                    > self.max_literal.saturating_add(self.max_line as u64) =>
                        {
                            self.state = State::DiscardLiteral {
                                left: size,
                                why: Refusal::LiteralTooLarge { size },
                            };
                            return Some(Frame::Discarding { consumed: end });
                        }
                        Some(size) => {
                            // Fits in usize: it is at most max_literal,
                            // which the driver can hold.
                            let octets = octets + size;
                            let size = usize::try_from(size).unwrap_or(usize::MAX);
                            if buf.len() - end < size {
                                // Read on. The state still points before
                                // this line, so it is searched again next
                                // time: a short search, the limit keeps
                                // lines short.
                                return None;
                            }
                            self.state = State::Framing {
                                scanned: end + size,
                                text,
                                octets,
                            };
                        }
                    }
                }
                State::DiscardLiteral { left, why } => {
                    if buf.is_empty() {
                        return None;
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DiscardLine { why }
                    } else {
                        State::DiscardLiteral { left, why }
                    };
                    if take > 0 {
                        return Some(Frame::Discarding { consumed: take });
                    }
                }
                State::DiscardLine { why } => {
                    let Some(i) = buf.iter().position(|&b| b == b'\n') else {
                        // Keep the last bytes: they may be the start of a
                        // literal's `{n+}` that the line ends with.
                        if buf.len() <= KEEP {
                            return None;
                        }
                        return Some(Frame::Discarding {
                            consumed: buf.len() - KEEP,
                        });
                    };
                    let consumed = i + 1;
                    match literal_size(&buf[..consumed]) {
                        // A later literal of the discarded command goes too.
                        Some(left) => {
                            self.state = State::DiscardLiteral { left, why };
                            return Some(Frame::Discarding { consumed });
                        }
                        None => {
                            self.reset();
                            return Some(Frame::Refused { consumed, why });
                        }
                    }
                }
            }
        }
    }

    fn reset(&mut self) {
        self.state = State::START;
    }
}

/// The octet count of the literal that ends `line` (`{n+}` or `{n}`, then
/// CRLF or LF), if it ends with one; `u64::MAX` for a count too large.
pub(crate) fn literal_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_suffix(b"}")?;
    let line = line.strip_suffix(b"+").unwrap_or(line);
    let digits_at = line
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    if digits_at == 0 || line[digits_at - 1] != b'{' || digits_at == line.len() {
        return None;
    }
    let mut n: u64 = 0;
    for &d in &line[digits_at..] {
        n = match n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
        {
            Some(n) => n,
            None => return Some(u64::MAX),
        };
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Event {
        Command(Vec<u8>),
        Refused(Refusal),
    }

    /// Frames `input` fed in two pieces cut at `cut`, as a driver would:
    /// frames taken off the front, the rest kept.
    fn frame(input: &[u8], cut: usize, max_line: usize, max_literal: u64) -> Vec<Event> {
        let mut f = Framer::new(max_line, max_literal);
        let mut buf = Vec::new();
        let mut events = Vec::new();
        for piece in [&input[..cut], &input[cut..]] {
            buf.extend_from_slice(piece);
            while let Some(frame) = f.next(&buf) {
                match frame {
                    Frame::Command { len } => {
                        events.push(Event::Command(buf[..len].to_vec()));
                        buf.drain(..len);
                    }
                    Frame::Discarding { consumed } => {
                        assert!(consumed > 0 && consumed <= buf.len());
                        buf.drain(..consumed);
                    }
                    Frame::Refused { consumed, why } => {
                        events.push(Event::Refused(why));
                        buf.drain(..consumed);
                    }
                }
            }
        }
        events
    }

    fn at_every_cut(input: &[u8], max_line: usize, max_literal: u64, want: &[Event]) {
        for cut in 0..=input.len() {
            assert_eq!(
                frame(input, cut, max_line, max_literal),
                want,
                "cut at {cut} of {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    fn cmd(s: &[u8]) -> Event {
        Event::Command(s.to_vec())
    }

    #[test]
    fn commands_with_literals_are_framed_whole() {
        let put = b"PUTSCRIPT \"a\" {6+}\r\nkeep;\n\r\n";
        let two = [put.as_slice(), b"NOOP\r\n"].concat();
        at_every_cut(&two, 64, 100, &[cmd(put), cmd(b"NOOP\r\n")]);
        // Two literals in one command, the second synchronizing.
        let rename = b"RENAMESCRIPT {1+}\r\na {3}\r\nb\r\n\r\n";
        at_every_cut(rename, 64, 100, &[cmd(rename)]);
        // A literal whose octets look like a literal header and a line end.
        let tricky = b"CHECKSCRIPT {7+}\r\n{9+}\r\n\n\r\n";
        at_every_cut(tricky, 64, 100, &[cmd(tricky)]);
    }

    #[test]
    fn an_over_long_line_is_discarded_and_reported_once() {
        let input = [b"NOOP \"".as_slice(), &[b'x'; 100], b"\"\r\nNOOP\r\n"].concat();
        at_every_cut(
            &input,
            32,
            100,
            &[Event::Refused(Refusal::LineTooLong), cmd(b"NOOP\r\n")],
        );
        // The limit counts every line of a command, literals aside.
        let input = b"RENAMESCRIPT {3+}\r\nabc {3+}\r\ndef\r\nNOOP\r\n";
        at_every_cut(
            input,
            24,
            100,
            &[Event::Refused(Refusal::LineTooLong), cmd(b"NOOP\r\n")],
        );
    }

    #[test]
    fn a_literal_over_the_limit_is_discarded_octet_by_octet() {
        let input = [
            b"PUTSCRIPT \"a\" {20+}\r\n".as_slice(),
            &[b'\n'; 20],
            b"\r\nNOOP\r\n",
        ]
        .concat();
        at_every_cut(
            &input,
            64,
            10,
            &[
                Event::Refused(Refusal::LiteralTooLarge { size: 20 }),
                cmd(b"NOOP\r\n"),
            ],
        );
        // A later literal of the same command is discarded too.
        let input = b"RENAMESCRIPT {20+}\r\n01234567890123456789 {2+}\r\nab\r\nNOOP\r\n";
        at_every_cut(
            input,
            64,
            10,
            &[
                Event::Refused(Refusal::LiteralTooLarge { size: 20 }),
                cmd(b"NOOP\r\n"),
            ],
        );
        // A count past u64.
        let input = b"PUTSCRIPT \"a\" {99999999999999999999999+}\r\n";
        assert_eq!(
            frame(input, input.len(), 64, 10),
            Vec::<Event>::new(),
            "waits, discarding"
        );
        let mut f = Framer::new(64, 10);
        assert_eq!(
            f.next(input),
            Some(Frame::Discarding {
                consumed: input.len()
            })
        );
        assert_eq!(
            f.state,
            State::DiscardLiteral {
                left: u64::MAX,
                why: Refusal::LiteralTooLarge { size: u64::MAX }
            }
        );
    }

    #[test]
    fn the_literals_of_one_command_are_bounded_together() {
        // Each literal fits, but together they pass max_literal + max_line.
        let mut input = b"RENAMESCRIPT {40+}\r\n".to_vec();
        input.extend_from_slice(&[b'a'; 40]);
        input.extend_from_slice(b" {40+}\r\n");
        input.extend_from_slice(&[b'b'; 40]);
        input.extend_from_slice(b"\r\nNOOP\r\n");
        at_every_cut(
            &input,
            32,
            40,
            &[
                Event::Refused(Refusal::LiteralTooLarge { size: 40 }),
                cmd(b"NOOP\r\n"),
            ],
        );
    }

    #[test]
    fn literal_sizes_are_read_from_line_ends() {
        assert_eq!(literal_size(b"X {12+}\r\n"), Some(12));
        assert_eq!(literal_size(b"X {12}\n"), Some(12));
        assert_eq!(literal_size(b"X {+}\r\n"), None);
        assert_eq!(literal_size(b"X {}\r\n"), None);
        assert_eq!(literal_size(b"X 12}\r\n"), None);
        assert_eq!(literal_size(b"X {12+}x\r\n"), None);
        assert_eq!(literal_size(b"{99999999999999999999}\r\n"), Some(u64::MAX));
    }
}
