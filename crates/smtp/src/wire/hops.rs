//! Hop counting for mail loop detection (RFC 5321 §6.3): the number of
//! `Received:` fields in a message's header block, counted as the message
//! bytes go by, so neither DATA nor BDAT needs a second pass over the
//! message.
//!
//! Only the header block is read: counting stops at the first empty line,
//! so a long body costs nothing. A line ends at LF (with or without CR) so
//! BDAT content, which is taken as is, is read the same way. Field names
//! are case-insensitive and may have spaces before the colon (RFC 5322
//! §4.5.3's obsolete syntax), so `RECEIVED :` counts too; a continuation
//! line (one starting with a space or tab) never does.

/// The name being counted, lower case.
const NAME: &[u8] = b"received";

/// Where the counter is in the header block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a line.
    LineStart,
    /// At a line start, read a CR: an LF next ends the header block.
    EmptyCr,
    /// Matched this many bytes of `NAME` at the start of a line.
    Name(usize),
    /// Matched all of `NAME`, then maybe spaces; a colon next counts.
    AfterName,
    /// The rest of a line that is not (or no longer can be) a Received field.
    Skip,
    /// The header block ended; nothing more is read.
    Body,
}

/// Counts `Received:` fields in a header block fed in pieces of any size.
#[derive(Clone, Debug)]
pub struct HopCounter {
    state: State,
    count: usize,
}

impl Default for HopCounter {
    fn default() -> Self {
        HopCounter::new()
    }
}

impl HopCounter {
    pub fn new() -> Self {
        HopCounter {
            state: State::LineStart,
            count: 0,
        }
    }

    /// The `Received:` fields seen so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Reads the next bytes of the message (as stored: unstuffed).
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state = match (self.state, b) {
                (State::Body, _) => return,
                (State::LineStart, b'\n') | (State::EmptyCr, b'\n') => State::Body,
                (State::LineStart, b'\r') => State::EmptyCr,
                (State::LineStart, _) | (State::EmptyCr, _) => self.name(0, b),
                (State::Name(n), _) => self.name(n, b),
                (State::AfterName, b' ' | b'\t') => State::AfterName,
                (State::AfterName, b':') => {
                    self.count = self.count.saturating_add(1);
                    State::Skip
                }
                (_, b'\n') => State::LineStart,
                (State::AfterName, _) | (State::Skip, _) => State::Skip,
            };
        }
    }

    /// Byte `b` where `n` bytes of the name have matched.
    fn name(&self, n: usize, b: u8) -> State {
        if b == b'\n' {
            return State::LineStart;
        }
        match NAME.get(n) {
            Some(&c) if b.eq_ignore_ascii_case(&c) => {
                if n + 1 == NAME.len() {
                    State::AfterName
                } else {
                    State::Name(n + 1)
                }
            }
            _ => State::Skip,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_fields_in_the_header_block_table() {
        let table: Vec<(&[u8], usize)> = vec![
            (b"", 0),
            (b"Received: a\r\n", 1),
            (b"Received: a\r\nReceived: b\r\n\r\n", 2),
            // Case and spaces before the colon (RFC 5322 §4.5.3).
            (b"received: a\r\nRECEIVED :b\r\nReceived\t: c\r\n\r\n", 3),
            // Folded continuation lines are the same field.
            (b"Received: from a\r\n\tby b\r\n Received: c\r\n\r\n", 1),
            // Other fields, and names that only start alike.
            (
                b"Subject: Received: x\r\nReceivedX: y\r\nReceive: z\r\n\r\n",
                0,
            ),
            (
                b"X-Received: a\r\nReceived-SPF: pass\r\nReceived\r\n\r\n",
                0,
            ),
            // The body is not headers.
            (b"Received: a\r\n\r\nReceived: b\r\nReceived: c\r\n", 1),
            (b"\r\nReceived: b\r\n", 0),
            // LF-only lines, as BDAT may carry them.
            (b"Received: a\nReceived: b\n\nReceived: c\n", 2),
            // A CR inside a line is not an end of line.
            (b"Subject: x\rReceived: y\r\n\r\n", 0),
            // A line of a lone CR is not empty: the header block goes on.
            (b"Received: a\r\n\r\r\nReceived: b\r\n", 2),
        ];
        for (input, want) in table {
            for at in 0..=input.len() {
                let (a, b) = input.split_at(at);
                let mut c = HopCounter::new();
                c.feed(a);
                c.feed(b);
                assert_eq!(
                    c.count(),
                    want,
                    "{:?} split at {at}",
                    String::from_utf8_lossy(input)
                );
            }
            let mut c = HopCounter::new();
            input.chunks(1).for_each(|b| c.feed(b));
            assert_eq!(c.count(), want, "byte by byte");
        }
    }

    #[test]
    fn three_hundred_hops_are_counted_and_a_body_is_not_read() {
        let mut c = HopCounter::new();
        for i in 0..300 {
            c.feed(format!("Received: from hop{i}.test by hop{i}.test; x\r\n").as_bytes());
        }
        c.feed(b"Subject: loop\r\n\r\n");
        assert_eq!(c.count(), 300);
        c.feed(&b"Received: x\r\n".repeat(1000));
        assert_eq!(c.count(), 300);
    }
}
