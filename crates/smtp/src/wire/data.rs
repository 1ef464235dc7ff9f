//! The DATA ingester (RFC 5321 §4.1.1.4, §4.5.2): takes the bytes after
//! the `354` reply, removes dot-stuffing, and stops exactly after the
//! `<CRLF>.<CRLF>` end marker so pipelined commands after it stay unread.
//!
//! Invariants:
//! - Only CR LF "." CR LF ends the data; the first CRLF may be the implicit
//!   one before the first line. `\n.\n`, `\r.\r`, `\r\n.\n`, `\n.\r\n` and
//!   other mixes never do: a server that ended on them while a relay behind
//!   it did not could be handed a second, smuggled message (SMTP smuggling,
//!   CVE-2023-51766 and relatives).
//! - Lines are delimited by real CRLF only. A bare LF or bare CR (one not
//!   part of a CRLF) is content: it sets `bare_line_ending`, and with
//!   `Normalize` it is stored as CRLF, but it never starts a line, so a "."
//!   after it is neither unstuffed nor an end marker. Consequently with
//!   `Normalize` the stored message may contain CRLF "." CRLF as plain
//!   text; whoever sends it on must dot-stuff it, as for any message.
//! - A line that starts with "." after a real CRLF loses that "." (RFC 5321
//!   §4.5.2), including a line like ".\n" (a dot and a bare LF): only a line
//!   of exactly "." CRLF is the end.
//! - The `Received:` fields of the header block are counted as the
//!   message is stored (`HopCounter`), for the loop check (RFC 5321 §6.3).
//! - Memory is bounded: at most `max_size` bytes of message are kept; past
//!   that the message is dropped, `too_large` is set, and reading goes on to
//!   the end marker so the connection stays in step.

use super::hops::HopCounter;

/// What to do with a bare CR or LF in message data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BareLineEndings {
    /// Keep the bytes as they came; the session refuses the message.
    Reject,
    /// Store each bare CR or bare LF as CRLF.
    Normalize,
}

/// The message, once the end marker has been read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataOutcome {
    /// The message after unstuffing (and normalizing, if asked); it ends
    /// with the CRLF before the end marker. Empty when `too_large`.
    pub message: Vec<u8>,
    /// The message, as stored, would have been longer than `max_size`.
    pub too_large: bool,
    /// A bare CR or bare LF was seen.
    pub bare_line_ending: bool,
    /// A line was longer than `max_line` (RFC 5321 §4.5.3.1.6).
    pub line_too_long: bool,
    /// Octets of the message as received, after unstuffing and before any
    /// normalizing; counted even when `too_large`.
    pub size: u64,
    /// `Received:` fields in the header block (RFC 5321 §6.3 loop check).
    pub received: usize,
}

/// Where the reader is relative to lines and line endings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Just after a real CRLF, or at the very start.
    LineStart,
    /// At a line start, read "." (stuffing, or the end marker).
    Dot,
    /// At a line start, read "." CR: an LF next ends the data.
    DotCr,
    /// Inside a line.
    Text,
    /// Read a CR that is not yet known to be part of a CRLF.
    Cr,
    /// The end marker was read and the outcome handed out.
    Done,
}

/// Reads one DATA body. Feed it everything read after the `354`; it reports
/// how much it took and, at the end marker, the message.
#[derive(Clone, Debug)]
pub struct DataReader {
    /// The largest message kept, in bytes as stored.
    max_size: u64,
    /// The longest line accepted, CRLF included; 0 is no limit.
    max_line: usize,
    bare: BareLineEndings,
    state: State,
    /// Octets of the current line so far, without a stuffing dot and
    /// without the line ending.
    line_len: usize,
    message: Vec<u8>,
    /// True until the message outgrows `max_size`.
    storing: bool,
    hops: HopCounter,
    outcome: DataOutcome,
}

impl DataReader {
    /// `max_line` counts the CRLF (RFC 5321 §4.5.3.1.6: 1000); 0 accepts
    /// any length.
    pub fn new(max_size: u64, max_line: usize, bare: BareLineEndings) -> Self {
        DataReader {
            max_size,
            max_line,
            bare,
            state: State::LineStart,
            line_len: 0,
            message: Vec::new(),
            storing: true,
            hops: HopCounter::new(),
            outcome: DataOutcome {
                message: Vec::new(),
                too_large: false,
                bare_line_ending: false,
                line_too_long: false,
                size: 0,
                received: 0,
            },
        }
    }

    /// Consumes input. Returns how many bytes were taken and, once the end
    /// marker has been read, the outcome. Everything is taken until the end
    /// marker; bytes after it are not. After the outcome the reader takes
    /// nothing more.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<DataOutcome>) {
        let mut i = 0;
        while let Some(rest) = input.get(i..) {
            if self.state == State::Done {
                return (i, None);
            }
            // Fast path: copy a run of ordinary bytes inside a line at once.
            if self.state == State::Text {
                let run = rest
                    .iter()
                    .position(|&b| b == b'\r' || b == b'\n')
                    .unwrap_or(rest.len());
                if run > 0 {
                    self.text(rest.get(..run).unwrap_or_default());
                    i += run;
                    continue;
                }
            }
            let Some(&b) = rest.first() else { break };
            i += 1;
            if self.step(b) {
                self.state = State::Done;
                let mut outcome = std::mem::replace(
                    &mut self.outcome,
                    DataOutcome {
                        message: Vec::new(),
                        too_large: false,
                        bare_line_ending: false,
                        line_too_long: false,
                        size: 0,
                        received: 0,
                    },
                );
                outcome.message = std::mem::take(&mut self.message);
                outcome.received = self.hops.count();
                return (i, Some(outcome));
            }
        }
        (input.len(), None)
    }

    /// Takes one byte; true when it completed the end marker.
    fn step(&mut self, b: u8) -> bool {
        match (self.state, b) {
            (State::LineStart, b'.') => self.state = State::Dot,
            (State::LineStart, _) => self.in_line(b),
            (State::Dot, b'\r') => self.state = State::DotCr,
            // RFC 5321 §4.5.2: the line starts with "." and is not just
            // ".": drop the dot, the rest is text.
            (State::Dot, _) => self.in_line(b),
            (State::DotCr, b'\n') => return true,
            // ".\r" then not LF: the dot was stuffing and the CR is bare.
            (State::DotCr, _) => {
                self.bare_ending(b'\r');
                self.in_line(b);
            }
            (State::Cr, b'\n') => {
                self.store(b"\r\n", 2);
                self.line_len = 0;
                self.state = State::LineStart;
            }
            (State::Cr, _) => {
                self.bare_ending(b'\r');
                self.in_line(b);
            }
            (State::Text, _) => self.in_line(b),
            (State::Done, _) => {}
        }
        false
    }

    /// A byte inside a line (never at a line start).
    fn in_line(&mut self, b: u8) {
        match b {
            b'\r' => self.state = State::Cr,
            b'\n' => {
                self.bare_ending(b'\n');
                self.state = State::Text;
            }
            _ => {
                self.text(&[b]);
                self.state = State::Text;
            }
        }
    }

    /// Ordinary line content (no CR or LF).
    fn text(&mut self, bytes: &[u8]) {
        self.line_len = self.line_len.saturating_add(bytes.len());
        // The limit counts the CRLF (RFC 5321 §4.5.3.1.6).
        if self.max_line != 0 && self.line_len.saturating_add(2) > self.max_line {
            self.outcome.line_too_long = true;
        }
        self.store(bytes, bytes.len());
    }

    /// A bare CR or LF: kept or stored as CRLF per policy. It also ends the
    /// line for the length limit, so a client that sends LF-only lines is
    /// not refused for one long "line" when the policy is `Normalize`.
    fn bare_ending(&mut self, b: u8) {
        self.outcome.bare_line_ending = true;
        self.line_len = 0;
        match self.bare {
            BareLineEndings::Reject => self.store(&[b], 1),
            BareLineEndings::Normalize => self.store(b"\r\n", 1),
        }
    }

    /// Counts `received` octets and keeps `bytes` while under `max_size`.
    fn store(&mut self, bytes: &[u8], received: usize) {
        self.outcome.size = self
            .outcome
            .size
            .saturating_add(u64::try_from(received).unwrap_or(u64::MAX));
        if !self.storing {
            return;
        }
        self.hops.feed(bytes);
        let new_len = self.message.len().saturating_add(bytes.len());
        if u64::try_from(new_len).unwrap_or(u64::MAX) > self.max_size {
            self.storing = false;
            self.outcome.too_large = true;
            self.message = Vec::new();
            return;
        }
        if new_len > self.message.capacity() {
            // Grow by doubling but never past `max_size`, so the buffer
            // does not reach twice the limit.
            // `new_len <= max_size` was checked above, so `new_len <= target`.
            let cap = usize::try_from(self.max_size).unwrap_or(usize::MAX);
            let doubled = self.message.capacity().saturating_mul(2).max(4096);
            let target = doubled.min(cap).max(new_len);
            self.message
                .reserve_exact(target.saturating_sub(self.message.len()));
        }
        self.message.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::BareLineEndings::{Normalize, Reject};
    use super::*;

    /// What a table row expects once the end marker is read.
    #[derive(Debug, PartialEq, Eq)]
    struct Ended {
        message: Vec<u8>,
        rest: Vec<u8>,
        bare: bool,
    }

    fn ended(message: &[u8], rest: &[u8], bare: bool) -> Option<Ended> {
        Some(Ended {
            message: message.to_vec(),
            rest: rest.to_vec(),
            bare,
        })
    }

    /// Feeds `chunks` in order as a driver would, checking every call's
    /// consumed count. Returns the outcome and the bytes not consumed.
    fn drive(reader: &mut DataReader, chunks: &[&[u8]]) -> (Option<DataOutcome>, Vec<u8>) {
        for (k, chunk) in chunks.iter().enumerate() {
            let (n, out) = reader.feed(chunk);
            assert!(n <= chunk.len());
            if let Some(out) = out {
                let mut rest = chunk.get(n..).unwrap_or_default().to_vec();
                chunks
                    .iter()
                    .skip(k + 1)
                    .for_each(|c| rest.extend_from_slice(c));
                // Spent: takes nothing more.
                assert_eq!(reader.feed(&rest).0, 0);
                return (Some(out), rest);
            }
            assert_eq!(
                n,
                chunk.len(),
                "bytes left unconsumed before the end marker"
            );
        }
        (None, Vec::new())
    }

    /// Runs one row whole, split at every offset, and byte by byte.
    fn check(bare: BareLineEndings, input: &[u8], want: &Option<Ended>) {
        let mut splits: Vec<Vec<&[u8]>> = vec![vec![input], input.chunks(1).collect()];
        for at in 0..=input.len() {
            let (a, b) = input.split_at(at);
            splits.push(vec![a, b]);
        }
        for chunks in splits {
            let mut reader = DataReader::new(1 << 20, 0, bare);
            let (out, rest) = drive(&mut reader, &chunks);
            let got = out.map(|o| {
                assert!(!o.too_large && !o.line_too_long);
                if bare == Reject {
                    assert_eq!(o.size, o.message.len() as u64);
                }
                Ended {
                    message: o.message,
                    rest,
                    bare: o.bare_line_ending,
                }
            });
            assert_eq!(&got, want, "{bare:?} {input:?} as {} chunks", chunks.len());
        }
    }

    #[test]
    fn end_marker_and_dot_unstuffing_table() {
        let cases: Vec<(&[u8], Option<Ended>)> = vec![
            // The first line has an implicit CRLF before it.
            (b".\r\n", ended(b"", b"", false)),
            (b".\r\nQUIT\r\n", ended(b"", b"QUIT\r\n", false)),
            (b"\r\n.\r\n", ended(b"\r\n", b"", false)),
            (b"a\r\n.\r\n", ended(b"a\r\n", b"", false)),
            (b"a\r\n\r\n.\r\n", ended(b"a\r\n\r\n", b"", false)),
            // Pipelined commands after the end marker are not consumed.
            (
                b"a\r\n.\r\nMAIL FROM:<>\r\nRCPT",
                ended(b"a\r\n", b"MAIL FROM:<>\r\nRCPT", false),
            ),
            // Dot-unstuffing (RFC 5321 §4.5.2).
            (b"..\r\n.\r\n", ended(b".\r\n", b"", false)),
            (b"...\r\n.\r\n", ended(b"..\r\n", b"", false)),
            (b".a\r\n.\r\n", ended(b"a\r\n", b"", false)),
            (b"a\r\n..b\r\n.\r\n", ended(b"a\r\n.b\r\n", b"", false)),
            (b"a\r\n. \r\n.\r\n", ended(b"a\r\n \r\n", b"", false)),
            (b"a.\r\nb.c\r\n.\r\n", ended(b"a.\r\nb.c\r\n", b"", false)),
            (b"a\r\n..\r\n.\r\n", ended(b"a\r\n.\r\n", b"", false)),
            // Not ended yet.
            (b"", None),
            (b"a", None),
            (b"a\r\n", None),
            (b"a\r\n.", None),
            (b"a\r\n.\r", None),
            (b"a\r\n. \r\n", None),
            (b"a\r\n.x\r\n", None),
            (b"a.\r\n", None),
        ];
        for (input, want) in &cases {
            check(Reject, input, want);
            check(Normalize, input, want);
        }
    }

    #[test]
    fn smuggling_variants_never_end_data() {
        // Each variant sits between "A" and "B"; only the real CRLF.CRLF
        // after "B" ends the data. Columns: variant, stored with Reject,
        // stored with Normalize.
        let table: Vec<(&[u8], &[u8], &[u8])> = vec![
            (b"\n.\n", b"A\n.\nB\r\n", b"A\r\n.\r\nB\r\n"),
            (b"\r.\r", b"A\r.\rB\r\n", b"A\r\n.\r\nB\r\n"),
            (b"\r\n.\n", b"A\r\n\nB\r\n", b"A\r\n\r\nB\r\n"),
            (b"\n.\r\n", b"A\n.\r\nB\r\n", b"A\r\n.\r\nB\r\n"),
            (b"\r.\r\n", b"A\r.\r\nB\r\n", b"A\r\n.\r\nB\r\n"),
            (b"\r\n.\r", b"A\r\n\rB\r\n", b"A\r\n\r\nB\r\n"),
            (b"\n.\r", b"A\n.\rB\r\n", b"A\r\n.\r\nB\r\n"),
            (b"\r.\n", b"A\r.\nB\r\n", b"A\r\n.\r\nB\r\n"),
            (b"\n\n.\n\n", b"A\n\n.\n\nB\r\n", b"A\r\n\r\n.\r\n\r\nB\r\n"),
            (b"\r\n\n.\r\n", b"A\r\n\n.\r\nB\r\n", b"A\r\n\r\n.\r\nB\r\n"),
            (b"\r\n.\r\r\n", b"A\r\n\r\r\nB\r\n", b"A\r\n\r\n\r\nB\r\n"),
        ];
        for (variant, rejected, normalized) in table {
            let mut input = b"A".to_vec();
            input.extend_from_slice(variant);
            input.extend_from_slice(b"B\r\n.\r\nQUIT\r\n");
            check(Reject, &input, &ended(rejected, b"QUIT\r\n", true));
            check(Normalize, &input, &ended(normalized, b"QUIT\r\n", true));
        }
        // A whole smuggled transaction behind "\n.\n" stays in the message.
        let input = b"Subject: hi\r\n\r\nhi\n.\nMAIL FROM:<evil@x.org>\nRCPT TO:<v@y.org>\nDATA\nspoof\n.\r\n.\r\nQUIT\r\n";
        let mut reader = DataReader::new(1 << 20, 1000, Reject);
        let (n, out) = reader.feed(input);
        let out = out.expect("ends at the real CRLF.CRLF");
        assert_eq!(input.get(n..), Some(&b"QUIT\r\n"[..]));
        assert!(out.bare_line_ending);
        assert!(out.message.ends_with(b"spoof\n.\r\n"));
    }

    #[test]
    fn normalize_counts_received_octets() {
        let mut reader = DataReader::new(1 << 20, 0, Normalize);
        let (_, out) = reader.feed(b"a\nb\r\n.\r\n");
        let out = out.expect("ended");
        assert_eq!(out.message, b"a\r\nb\r\n");
        assert_eq!(out.size, 5);
        assert!(out.bare_line_ending);
    }

    #[test]
    fn too_large_keeps_reading_to_the_end_marker() {
        let body = b"0123456789\r\n".repeat(10); // 120 octets
        let mut input = body.clone();
        input.extend_from_slice(b".\r\nMAIL FROM:<a@b.org>\r\n");
        let table: Vec<(u64, bool)> = vec![(1000, false), (120, false), (119, true), (0, true)];
        for (max, too_large) in table {
            for at in 0..=input.len() {
                let (a, b) = input.split_at(at);
                let mut reader = DataReader::new(max, 1000, Reject);
                let (out, rest) = drive(&mut reader, &[a, b]);
                let out = out.expect("ended");
                assert_eq!(out.too_large, too_large, "max {max}");
                assert_eq!(out.size, 120);
                let want: &[u8] = if too_large { b"" } else { &body };
                assert_eq!(out.message, want);
                // The connection stays in step: the next command is intact.
                assert_eq!(rest, b"MAIL FROM:<a@b.org>\r\n");
            }
        }
        // Normalizing may not push the stored message past the limit.
        let mut reader = DataReader::new(4, 0, Normalize);
        let out = reader.feed(b"a\nb\r\n.\r\n").1.expect("ended");
        assert!(out.too_large);
    }

    #[test]
    fn memory_stays_under_max_size() {
        let max = 10_000;
        let mut reader = DataReader::new(max, 0, Normalize);
        let chunk = b"x\ny\r\n".repeat(500);
        for _ in 0..100 {
            let (n, out) = reader.feed(&chunk);
            assert_eq!((n, out), (chunk.len(), None));
            assert!(
                reader.message.capacity() as u64 <= max,
                "{}",
                reader.message.capacity()
            );
        }
        let out = reader.feed(b".\r\n").1.expect("ended");
        assert!(out.too_large && out.message.is_empty());
        assert_eq!(out.size, 100 * chunk.len() as u64);
        // Under the limit, the buffer still never passes it.
        let mut reader = DataReader::new(5000, 0, Reject);
        let out = reader.feed(&b"abcd\r\n".repeat(833)).1;
        assert!(out.is_none());
        assert!(reader.message.capacity() <= 5000);
    }

    #[test]
    fn line_length_table() {
        // max_line 10 counts the CRLF; a stuffing dot does not count.
        let table: Vec<(&[u8], bool)> = vec![
            (b"12345678\r\n.\r\n", false),
            (b"123456789\r\n.\r\n", true),
            (b"..2345678\r\n.\r\n", false),
            (b"a\r\n12345678\r\n12345678\r\n.\r\n", false),
            (b"12345678\n12345678\r\n.\r\n", false),
            (b"123456789012345678901234567890\r\n.\r\n", true),
        ];
        for (input, long) in table {
            for at in 0..=input.len() {
                let (a, b) = input.split_at(at);
                let mut reader = DataReader::new(1000, 10, Normalize);
                let out = drive(&mut reader, &[a, b]).0.expect("ended");
                assert_eq!(out.line_too_long, long, "{input:?}");
            }
            let mut reader = DataReader::new(1000, 0, Normalize);
            assert!(!reader.feed(input).1.expect("ended").line_too_long);
        }
    }

    #[test]
    fn received_fields_are_counted_as_stored() {
        // (input, Received fields): counted after unstuffing, headers only.
        let table: Vec<(&[u8], usize)> = vec![
            (b".\r\n", 0),
            (b"Received: a\r\nReceived: b\r\n\r\nReceived: c\r\n.\r\n", 2),
            (b".Received: a\r\n..Received: b\r\n.\r\n", 1),
            (b"Subject: x\r\n\r\n.Received: a\r\n.\r\n", 0),
        ];
        for (input, want) in table {
            for at in 0..=input.len() {
                let (a, b) = input.split_at(at);
                let mut reader = DataReader::new(1 << 20, 1000, Reject);
                let out = drive(&mut reader, &[a, b]).0.expect("ended");
                assert_eq!(out.received, want, "{input:?} split at {at}");
            }
        }
        let mut many = b"Received: x\r\n".repeat(300);
        many.extend_from_slice(b"\r\nbody\r\n.\r\n");
        let mut reader = DataReader::new(1 << 20, 1000, Reject);
        assert_eq!(reader.feed(&many).1.expect("ended").received, 300);
    }
}
