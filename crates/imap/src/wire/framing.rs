//! Command framing: finds one complete command, literals included, in the
//! bytes the driver has read, and asks the driver to answer `+` before a
//! synchronizing literal's bytes may come.
//!
//! The framer holds no bytes, only offsets into the driver's buffer, which
//! must keep the current command from its first byte until the framer
//! reports it (`Framed::Command { len }`) or tells it to drop bytes
//! (`Framed::Discarding`, a `FrameError`, `literal_refused`). The buffer
//! never has to hold more than `max_command` bytes of one command, nor more
//! than `max_line` bytes of a line that is being refused.
//!
//! Literal forms (RFC 9051 §4.3, RFC 7888, RFC 3516): `{n}` synchronizing,
//! `{n+}` non-synchronizing (LITERAL+, or LITERAL- for n <= 4096), and the
//! binary `~{n}` / `~{n+}`. LITERAL- has no syntax of its own; `{n-}` is not
//! a literal and is left for the parser to refuse.

use super::chars::Tag;

/// How far non-synchronizing literals are allowed (RFC 7888).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonSyncLiterals {
    /// LITERAL+: any size up to the literal limit.
    Plus,
    /// LITERAL- (part of IMAP4rev2): at most 4096 bytes.
    Minus,
}

/// RFC 7888 §4: LITERAL- allows non-synchronizing literals up to this size.
pub const LITERAL_MINUS_MAX: u64 = 4096;

/// The default longest command line: 64 KiB, Dovecot's
/// `imap_max_line_length`. RFC 7162 §4 asks servers to take at least
/// 8192 bytes; clients such as Thunderbird send UID sets longer than that
/// on large mailboxes.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// The framer's limits. All counts are bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLimits {
    /// Longest line between literals, line ending included.
    pub max_line: usize,
    /// Largest literal (APPENDLIMIT).
    pub max_literal: u64,
    /// Largest command, lines and literals together.
    pub max_command: u64,
    /// Which non-synchronizing literals are advertised.
    pub non_sync: NonSyncLiterals,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_line: DEFAULT_MAX_LINE,
            max_literal: 64 * 1024 * 1024,
            max_command: 64 * 1024 * 1024 + 64 * 1024,
            non_sync: NonSyncLiterals::Minus,
        }
    }
}

/// A synchronizing literal was announced: the client waits for `+`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiteralRequest {
    /// The command's tag, when its first bytes form one.
    pub tag: Option<Tag>,
    /// The announced size, within the limits.
    pub size: u64,
    /// A `~{n}` literal (RFC 3516).
    pub binary: bool,
    /// Bytes of the command so far, through the announcement's line end:
    /// what the driver drops if it refuses.
    pub len: usize,
}

/// What the framer found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Framed {
    /// `buf[..len]` is one command: lines and literals, ending in its line
    /// ending. Parse it, then drop it.
    Command { len: usize },
    /// Answer `+ ...` then call [`CommandFramer::literal_accepted`], or
    /// refuse (tagged `NO`/`BAD`) and call [`CommandFramer::literal_refused`].
    NeedLiteral(LiteralRequest),
    /// Bytes of a refused command were skipped: drop `consumed` bytes,
    /// answer nothing yet, call again.
    Discarding { consumed: usize },
}

/// A command refused by the framer. Drop `consumed` bytes and answer `BAD`
/// (`NO [TOOBIG]` for a synchronizing literal over the limit, RFC 9051 §7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    pub kind: FrameErrorKind,
    /// The command's tag, when its first bytes formed one.
    pub tag: Option<Tag>,
    /// Bytes to drop from the front of the buffer.
    pub consumed: usize,
}

/// Why a command was refused while framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameErrorKind {
    /// A line between literals over `max_line`.
    LineTooLong,
    /// A literal over `max_literal` or pushing the command over
    /// `max_command` (`None`: a size that does not fit 64 bits).
    LiteralTooBig { size: Option<u64> },
    /// A non-synchronizing literal over 4096 bytes under LITERAL-
    /// (RFC 7888 §4: answer `BAD [TOOBIG]`).
    NonSyncTooBig { size: u64 },
    /// The lines of the command add up to more than `max_command`.
    CommandTooBig,
}

/// Longest tail of a refused line kept to spot a literal announcement.
const TAIL: usize = 32;

#[derive(Clone, Debug)]
enum State {
    /// Looking for the end of a line; `buf[..scanned]` holds no LF past
    /// `seg_start`, where the current line began.
    Scan { scanned: usize, seg_start: usize },
    /// Waiting for the driver to answer a `NeedLiteral`.
    Await { req: LiteralRequest, end: usize },
    /// Waiting until `buf.len() >= end` (the literal's bytes).
    Literal { end: usize },
    /// Skipping a refused command: first `remaining` literal bytes, then up
    /// to the line end, unless that line announces a non-synchronizing
    /// literal, which is skipped in turn.
    Discard {
        remaining: u64,
        tail: Vec<u8>,
        kind: FrameErrorKind,
        tag: Option<Tag>,
        literals: bool,
    },
}

/// What one scan step decided.
enum Step {
    Done(Result<Option<Framed>, FrameError>),
    /// A non-synchronizing literal was taken: go on in the loop (not by
    /// recursion, so thousands of tiny literals cannot exhaust the stack).
    Again,
}

/// Frames IMAP commands with their literals.
#[derive(Clone, Debug)]
pub struct CommandFramer {
    limits: FrameLimits,
    state: State,
}

/// A literal announcement at the end of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Announce {
    /// `None` when the digits overflow.
    size: Option<u64>,
    non_sync: bool,
    binary: bool,
}

/// Looks for `["~"] "{" digits ["+"] "}"` at the end of `line` (line ending
/// removed). RFC 9051 §9: `{` is an atom-special, so a line ending this way
/// can only be announcing a literal.
fn announced(line: &[u8]) -> Option<Announce> {
    let line = line.strip_suffix(b"}")?;
    let (line, non_sync) = match line.strip_suffix(b"+") {
        Some(l) => (l, true),
        None => (line, false),
    };
    let digits_at = line
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let digits = line.get(digits_at..)?;
    if digits.is_empty() {
        return None;
    }
    let before = line.get(..digits_at)?.strip_suffix(b"{")?;
    Some(Announce {
        size: super::cursor::parse_digits(digits),
        non_sync,
        binary: before.ends_with(b"~"),
    })
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn push_tail(tail: &mut Vec<u8>, bytes: &[u8]) {
    let keep = bytes.len().min(TAIL);
    tail.extend_from_slice(bytes.get(bytes.len() - keep..).unwrap_or_default());
    let excess = tail.len().saturating_sub(TAIL);
    tail.drain(..excess);
}

impl CommandFramer {
    pub fn new(limits: FrameLimits) -> Self {
        CommandFramer {
            limits: FrameLimits {
                max_line: limits.max_line.max(2),
                ..limits
            },
            state: State::Scan {
                scanned: 0,
                seg_start: 0,
            },
        }
    }

    fn reset(&mut self) {
        self.state = State::Scan {
            scanned: 0,
            seg_start: 0,
        };
    }

    /// Looks at the driver's buffer, which starts at the current command.
    /// `Ok(None)`: read more (nothing to drop).
    pub fn next(&mut self, buf: &[u8]) -> Result<Option<Framed>, FrameError> {
        self.step(buf, true)
    }

    /// Frames one continuation line (an AUTHENTICATE response, IDLE's
    /// `DONE`): no literals, same line limit. `Framed::Command { len }`
    /// holds the line and its ending.
    pub fn next_line(&mut self, buf: &[u8]) -> Result<Option<Framed>, FrameError> {
        self.step(buf, false)
    }

    /// The driver sent `+` for the pending synchronizing literal.
    pub fn literal_accepted(&mut self) {
        if let State::Await { end, .. } = self.state {
            self.state = State::Literal { end };
        }
    }

    /// The driver refused the pending synchronizing literal; the client
    /// will not send it, so the command ends here. Returns the bytes to
    /// drop (the `len` of the request).
    pub fn literal_refused(&mut self) -> usize {
        match &self.state {
            State::Await { req, .. } => {
                let len = req.len;
                self.reset();
                len
            }
            _ => 0,
        }
    }

    fn discard(
        &mut self,
        kind: FrameErrorKind,
        tag: Option<Tag>,
        remaining: u64,
        tail: &[u8],
        literals: bool,
    ) {
        let mut t = Vec::with_capacity(TAIL);
        push_tail(&mut t, tail);
        self.state = State::Discard {
            remaining,
            tail: t,
            kind,
            tag,
            literals,
        };
    }

    fn step(&mut self, buf: &[u8], literals: bool) -> Result<Option<Framed>, FrameError> {
        loop {
            match &mut self.state {
                State::Await { req, .. } => return Ok(Some(Framed::NeedLiteral(req.clone()))),
                State::Literal { end } => {
                    if buf.len() < *end {
                        return Ok(None);
                    }
                    let end = *end;
                    self.state = State::Scan {
                        scanned: end,
                        seg_start: end,
                    };
                }
                State::Scan { scanned, seg_start } => {
                    let (scanned, seg_start) = (*scanned, *seg_start);
                    match self.scan(buf, scanned, seg_start, literals) {
                        Step::Done(r) => return r,
                        Step::Again => {}
                    }
                }
                State::Discard {
                    remaining,
                    tail,
                    kind,
                    tag,
                    literals,
                } => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    if *remaining > 0 {
                        let n = usize::try_from(*remaining)
                            .unwrap_or(usize::MAX)
                            .min(buf.len());
                        *remaining -= n as u64;
                        return Ok(Some(Framed::Discarding { consumed: n }));
                    }
                    let Some(lf) = buf.iter().position(|&b| b == b'\n') else {
                        push_tail(tail, buf);
                        return Ok(Some(Framed::Discarding {
                            consumed: buf.len(),
                        }));
                    };
                    push_tail(tail, buf.get(..lf).unwrap_or_default());
                    let skip = if *literals {
                        announced(strip_cr(tail))
                    } else {
                        None
                    };
                    if let Some(Announce {
                        size: Some(size),
                        non_sync: true,
                        ..
                    }) = skip
                    {
                        *remaining = size;
                        tail.clear();
                        return Ok(Some(Framed::Discarding { consumed: lf + 1 }));
                    }
                    let err = FrameError {
                        kind: *kind,
                        tag: tag.take(),
                        consumed: lf + 1,
                    };
                    self.reset();
                    return Err(err);
                }
            }
        }
    }

    fn scan(&mut self, buf: &[u8], scanned: usize, seg_start: usize, literals: bool) -> Step {
        let limits = self.limits;
        let from = buf.get(scanned..).unwrap_or_default();
        let Some(p) = from.iter().position(|&b| b == b'\n') else {
            let seg_len = buf.len().saturating_sub(seg_start);
            // Without its LF yet, a line of `max_line` bytes can no longer fit.
            let kind = if seg_len >= limits.max_line {
                Some(FrameErrorKind::LineTooLong)
            } else if buf.len() as u64 >= limits.max_command {
                Some(FrameErrorKind::CommandTooBig)
            } else {
                None
            };
            if let Some(kind) = kind {
                let tail = buf.get(seg_start..).unwrap_or_default();
                self.discard(kind, Tag::at_start(buf), 0, tail, literals);
                return Step::Done(Ok(Some(Framed::Discarding {
                    consumed: buf.len(),
                })));
            }
            self.state = State::Scan {
                scanned: buf.len(),
                seg_start,
            };
            return Step::Done(Ok(None));
        };
        let lf = scanned + p;
        let end = lf + 1;
        let line = strip_cr(buf.get(seg_start..lf).unwrap_or_default());
        let ann = if literals { announced(line) } else { None };
        let tag = || Tag::at_start(buf);
        let over = if end - seg_start > limits.max_line {
            Some(FrameErrorKind::LineTooLong)
        } else if end as u64 > limits.max_command {
            Some(FrameErrorKind::CommandTooBig)
        } else {
            None
        };
        if let Some(kind) = over {
            return match ann {
                // The client sends a non-synchronizing literal regardless:
                // skip it, then the rest of the command.
                Some(Announce {
                    size: Some(size),
                    non_sync: true,
                    ..
                }) => {
                    self.discard(kind, tag(), size, b"", literals);
                    Step::Done(Ok(Some(Framed::Discarding { consumed: end })))
                }
                _ => {
                    self.reset();
                    Step::Done(Err(FrameError {
                        kind,
                        tag: tag(),
                        consumed: end,
                    }))
                }
            };
        }
        let Some(a) = ann else {
            self.reset();
            return Step::Done(Ok(Some(Framed::Command { len: end })));
        };
        let fits = a.size.and_then(|size| {
            let total = (end as u64).checked_add(size)?;
            let lit_end = usize::try_from(total).ok()?;
            (size <= limits.max_literal && total <= limits.max_command).then_some((size, lit_end))
        });
        match (fits, a.non_sync) {
            (Some((size, lit_end)), false) => {
                let req = LiteralRequest {
                    tag: tag(),
                    size,
                    binary: a.binary,
                    len: end,
                };
                self.state = State::Await {
                    req: req.clone(),
                    end: lit_end,
                };
                Step::Done(Ok(Some(Framed::NeedLiteral(req))))
            }
            (None, false) => {
                self.reset();
                Step::Done(Err(FrameError {
                    kind: FrameErrorKind::LiteralTooBig { size: a.size },
                    tag: tag(),
                    consumed: end,
                }))
            }
            (Some((size, _)), true)
                if limits.non_sync == NonSyncLiterals::Minus && size > LITERAL_MINUS_MAX =>
            {
                self.discard(
                    FrameErrorKind::NonSyncTooBig { size },
                    tag(),
                    size,
                    b"",
                    literals,
                );
                Step::Done(Ok(Some(Framed::Discarding { consumed: end })))
            }
            (Some((_, lit_end)), true) => {
                self.state = State::Literal { end: lit_end };
                Step::Again
            }
            (None, true) => match a.size {
                Some(size) => {
                    self.discard(
                        FrameErrorKind::LiteralTooBig { size: Some(size) },
                        tag(),
                        size,
                        b"",
                        literals,
                    );
                    Step::Done(Ok(Some(Framed::Discarding { consumed: end })))
                }
                // A size past 64 bits cannot be skipped: refuse at once.
                None => {
                    self.reset();
                    Step::Done(Err(FrameError {
                        kind: FrameErrorKind::LiteralTooBig { size: None },
                        tag: tag(),
                        consumed: end,
                    }))
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Ev {
        Cmd(Vec<u8>),
        Need(u64),
        Err(FrameErrorKind, Option<String>),
    }

    fn cmd(s: &[u8]) -> Ev {
        Ev::Cmd(s.to_vec())
    }

    fn err(kind: FrameErrorKind, tag: &str) -> Ev {
        Ev::Err(kind, Some(tag.to_owned()))
    }

    /// Acts as the driver: appends chunks, drains what the framer says,
    /// accepts synchronizing literals unless `refuse` is set.
    fn drive(limits: FrameLimits, refuse: bool, chunks: &[&[u8]]) -> (Vec<Ev>, Vec<u8>) {
        let mut framer = CommandFramer::new(limits);
        let mut buf = Vec::new();
        let mut evs = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                let n = match framer.next(&buf) {
                    Ok(None) => break,
                    Ok(Some(Framed::Command { len })) => {
                        evs.push(Ev::Cmd(buf[..len].to_vec()));
                        len
                    }
                    Ok(Some(Framed::NeedLiteral(r))) => {
                        evs.push(Ev::Need(r.size));
                        if refuse {
                            framer.literal_refused()
                        } else {
                            framer.literal_accepted();
                            0
                        }
                    }
                    Ok(Some(Framed::Discarding { consumed })) => {
                        assert!(consumed > 0);
                        consumed
                    }
                    Err(e) => {
                        evs.push(Ev::Err(e.kind, e.tag.map(|t| t.to_string())));
                        e.consumed
                    }
                };
                assert!(n <= buf.len());
                buf.drain(..n);
            }
        }
        (evs, buf)
    }

    fn check(limits: FrameLimits, refuse: bool, input: &[u8], want: &[Ev], rest: &[u8]) {
        let (got, left) = drive(limits, refuse, &[input]);
        assert_eq!(
            (&got[..], &left[..]),
            (want, rest),
            "whole {:?}",
            String::from_utf8_lossy(input)
        );
        for at in 0..=input.len() {
            let (a, b) = input.split_at(at);
            let (got, left) = drive(limits, refuse, &[a, b]);
            assert_eq!(
                (&got[..], &left[..]),
                (want, rest),
                "split at {at}: {input:?}"
            );
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (got, left) = drive(limits, refuse, &bytes);
        assert_eq!(
            (&got[..], &left[..]),
            (want, rest),
            "byte by byte: {input:?}"
        );
    }

    fn limits(
        max_line: usize,
        max_literal: u64,
        max_command: u64,
        non_sync: NonSyncLiterals,
    ) -> FrameLimits {
        FrameLimits {
            max_line,
            max_literal,
            max_command,
            non_sync,
        }
    }

    #[test]
    fn framing_table() {
        let d = FrameLimits::default();
        let small = limits(16, 10, 64, NonSyncLiterals::Plus);
        let minus = limits(64, 10_000, 20_000, NonSyncLiterals::Minus);
        use FrameErrorKind::*;
        // (limits, refuse sync literals, input, events, left over)
        type Case = (FrameLimits, bool, &'static [u8], Vec<Ev>, &'static [u8]);
        let cases: Vec<Case> = vec![
            (d, false, b"", vec![], b""),
            (d, false, b"a1 NOOP", vec![], b"a1 NOOP"),
            (d, false, b"a1 NOOP\r\n", vec![cmd(b"a1 NOOP\r\n")], b""),
            (d, false, b"a1 NOOP\na2 X", vec![cmd(b"a1 NOOP\n")], b"a2 X"),
            (
                d,
                false,
                b"a LOGIN {3}\r\nbob {2+}\r\npw\r\nb NOOP\r\n",
                vec![Ev::Need(3), cmd(b"a LOGIN {3}\r\nbob {2+}\r\npw\r\n"), cmd(b"b NOOP\r\n")],
                b"",
            ),
            // Literal bytes may hold line endings and braces.
            (
                d,
                false,
                b"a APPEND x {5+}\r\n{1}\r\n\r\n",
                vec![cmd(b"a APPEND x {5+}\r\n{1}\r\n\r\n")],
                b"",
            ),
            (d, false, b"a APPEND x ~{2+}\r\n\0\n\r\n", vec![cmd(b"a APPEND x ~{2+}\r\n\0\n\r\n")], b""),
            (d, false, b"a APPEND x {0}\r\n\r\n", vec![Ev::Need(0), cmd(b"a APPEND x {0}\r\n\r\n")], b""),
            // `{n-}` is no literal: the line is a command for the parser.
            (d, false, b"a X {3-}\r\n", vec![cmd(b"a X {3-}\r\n")], b""),
            // A refused synchronizing literal ends the command.
            (d, true, b"a LOGIN {3}\r\nb NOOP\r\n", vec![Ev::Need(3), cmd(b"b NOOP\r\n")], b""),
            // Over the line limit: refused at the line end, next command fine.
            (small, false, b"a1 NOOP 0123456789\r\nb NOOP\r\n", vec![err(LineTooLong, "a1"), cmd(b"b NOOP\r\n")], b""),
            (small, false, b"a1 NOOP 0123456789", vec![], b""),
            // Over the line limit with a non-synchronizing literal: skipped.
            (
                small,
                false,
                b"a1 NOOP 0123456789 {4+}\r\n\r\n\r\n tail\r\nb NOOP\r\n",
                vec![err(LineTooLong, "a1"), cmd(b"b NOOP\r\n")],
                b"",
            ),
            (
                small,
                false,
                b"a1 NOOP 01234567890123 {4+}\r\n\r\n\r\n tail {1}\r\nb NOOP\r\n",
                vec![err(LineTooLong, "a1"), cmd(b"b NOOP\r\n")],
                b"",
            ),
            // Synchronizing literal over the limit: refused at once.
            (small, false, b"a X {11}\r\nb NOOP\r\n", vec![err(LiteralTooBig { size: Some(11) }, "a"), cmd(b"b NOOP\r\n")], b""),
            (
                d,
                false,
                b"a X {99999999999999999999}\r\n",
                vec![err(LiteralTooBig { size: None }, "a")],
                b"",
            ),
            // Non-synchronizing literal over the limit: its bytes skipped.
            (
                small,
                false,
                b"a X {11+}\r\n0123456789\n\r\nb NOOP\r\n",
                vec![err(LiteralTooBig { size: Some(11) }, "a"), cmd(b"b NOOP\r\n")],
                b"",
            ),
            // LITERAL-: non-synchronizing over 4096 refused, bytes skipped.
            (
                minus,
                false,
                b"a APPEND x {4097+}\r\n",
                vec![],
                b"",
            ),
            // Whole command over max_command.
            (
                small,
                false,
                b"a X {9+}\r\n123456789 {9+}\r\n123456789 {9+}\r\n123456789 {9+}\r\n123456789\r\nb NOOP\r\n",
                vec![err(LiteralTooBig { size: Some(9) }, "a"), cmd(b"b NOOP\r\n")],
                b"",
            ),
            (small, false, b"{1}\r\n", vec![Ev::Need(1)], b"{1}\r\n"),
        ];
        for (limits, refuse, input, want, rest) in cases {
            check(limits, refuse, input, &want, rest);
        }
    }

    #[test]
    fn literal_minus_refuses_big_non_sync_and_skips_it() {
        let minus = limits(64, 10_000, 20_000, NonSyncLiterals::Minus);
        let mut input = b"a APPEND x {4097+}\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'\n', 4097));
        input.extend_from_slice(b"\r\nb NOOP\r\n");
        let (got, left) = drive(minus, false, &[&input]);
        assert_eq!(
            got,
            vec![
                err(FrameErrorKind::NonSyncTooBig { size: 4097 }, "a"),
                cmd(b"b NOOP\r\n")
            ]
        );
        assert!(left.is_empty());
        let plus = FrameLimits {
            non_sync: NonSyncLiterals::Plus,
            ..minus
        };
        let (got, _) = drive(plus, false, &[&input]);
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[0], Ev::Cmd(c) if c.len() == input.len() - 8));
    }

    #[test]
    fn many_tiny_literals_do_not_recurse() {
        let mut input = b"a X".to_vec();
        for _ in 0..100_000 {
            input.extend_from_slice(b" {0+}\r\n");
        }
        input.extend_from_slice(b"\r\n");
        let (got, _) = drive(FrameLimits::default(), false, &[&input]);
        assert_eq!(got, vec![Ev::Cmd(input.clone())]);
    }

    #[test]
    fn continuation_lines_ignore_braces() {
        let mut framer = CommandFramer::new(FrameLimits::default());
        assert_eq!(
            framer.next_line(b"DONE {3}\r\n"),
            Ok(Some(Framed::Command { len: 10 }))
        );
        let mut framer = CommandFramer::new(limits(4, 1, 10, NonSyncLiterals::Plus));
        assert_eq!(
            framer.next_line(b"ABCDE"),
            Ok(Some(Framed::Discarding { consumed: 5 }))
        );
        let e = framer.next_line(b"{1+}\r\nx").unwrap_err();
        assert_eq!((e.kind, e.consumed), (FrameErrorKind::LineTooLong, 6));
    }

    #[test]
    fn unanswered_request_is_repeated() {
        let mut framer = CommandFramer::new(FrameLimits::default());
        let first = framer.next(b"a LOGIN {3}\r\n");
        assert_eq!(framer.next(b"a LOGIN {3}\r\n"), first);
        assert_eq!(framer.literal_refused(), 13);
        assert_eq!(framer.literal_refused(), 0);
    }
}
