//! Fuzzing entry points (issue 13): the bodies of the `fuzz/` targets, kept
//! here so the same code runs under AFL and in the workspace's smoke test
//! (`tests/fuzz_smoke.rs`). Not an API: nothing in the server calls them.

use postern_store::fuzzing::chunks;

use crate::render::{SectionSpec, binary, body_structure, envelope, partial, section};
use crate::wire::{
    CommandBody, CommandFramer, FrameLimits, Framed, NonSyncLiterals, ParseOptions, is_idle_done,
    parse_command, parse_sasl_line, utf7,
};

/// Small limits, so that both sides of each are reached by short inputs.
const LIMITS: FrameLimits = FrameLimits {
    max_line: 512,
    max_literal: 8 * 1024,
    max_command: 16 * 1024,
    non_sync: NonSyncLiterals::Minus,
};

/// How the next line is read.
#[derive(PartialEq)]
enum Mode {
    Commands,
    /// After AUTHENTICATE: one SASL line.
    Sasl,
    /// During IDLE: lines until DONE.
    Idle,
}

/// The IMAP wire layer as `server.rs` drives it: the bytes arrive in the
/// pieces `chunks` cuts; the framer frames commands with their literals,
/// every framed command is parsed, AUTHENTICATE and IDLE switch to line
/// framing as the driver does. The byte after the four split bytes picks
/// UTF8=ACCEPT, LITERAL+ or LITERAL-, and which synchronizing literals are
/// refused (bit k for the k-th, in turn). Panics (the fuzzer's finding)
/// when the framer takes more than it was given or sits on a full buffer.
pub fn command_wire(data: &[u8]) {
    let flags = data.get(4).copied().unwrap_or(0);
    let limits = FrameLimits {
        non_sync: if flags & 1 == 1 {
            NonSyncLiterals::Plus
        } else {
            NonSyncLiterals::Minus
        },
        ..LIMITS
    };
    let opts = ParseOptions {
        utf8_accept: flags & 2 == 2,
        ..ParseOptions::default()
    };
    let mut framer = CommandFramer::new(limits);
    let mut mode = Mode::Commands;
    let mut literals = 0u32;
    let mut buf: Vec<u8> = Vec::new();
    for piece in chunks(data) {
        buf.extend_from_slice(piece);
        loop {
            let framed = if mode == Mode::Commands {
                framer.next(&buf)
            } else {
                framer.next_line(&buf)
            };
            let n = match framed {
                Ok(None) => {
                    // Pending bytes stay within a command's limit.
                    assert!(
                        buf.len() as u64 <= limits.max_command + limits.max_line as u64 + 256,
                        "the framer holds {} bytes",
                        buf.len()
                    );
                    break;
                }
                Ok(Some(Framed::Command { len })) => {
                    assert!(len > 0 && len <= buf.len(), "a command past the buffer");
                    let line = &buf[..len];
                    match mode {
                        Mode::Commands => {
                            if let Ok(command) = parse_command(line, &opts) {
                                mode = match command.body {
                                    CommandBody::Authenticate { initial: None, .. } => Mode::Sasl,
                                    CommandBody::Idle => Mode::Idle,
                                    _ => Mode::Commands,
                                };
                            }
                        }
                        Mode::Sasl => {
                            let _ = parse_sasl_line(line);
                            mode = Mode::Commands;
                        }
                        Mode::Idle => {
                            if is_idle_done(line) {
                                mode = Mode::Commands;
                            }
                        }
                    }
                    len
                }
                Ok(Some(Framed::NeedLiteral(req))) => {
                    assert!(req.len <= buf.len(), "a literal request past the buffer");
                    let refuse = flags >> (literals % 8) & 1 == 1;
                    literals += 1;
                    if refuse {
                        framer.literal_refused()
                    } else {
                        framer.literal_accepted();
                        0
                    }
                }
                Ok(Some(Framed::Discarding { consumed })) => consumed,
                Err(e) => e.consumed,
            };
            assert!(n <= buf.len(), "consumed more than the buffer");
            buf.drain(..n);
        }
    }
    // Mailbox names as a client may send them.
    if let Ok(name) = utf7::decode(data) {
        assert_eq!(
            utf7::decode(utf7::encode(&name).as_bytes()).ok(),
            Some(name)
        );
    }
}

/// Section specs a client may ask for, picked by the input's first byte.
const SECTIONS: &[&str] = &[
    "",
    "HEADER",
    "TEXT",
    "1",
    "1.MIME",
    "2",
    "2.HEADER",
    "2.TEXT",
    "1.2",
    "2.1.MIME",
    "HEADER.FIELDS (FROM SUBJECT DATE)",
    "HEADER.FIELDS.NOT (TO CC)",
    "3.1.2",
    "1.1.1.1",
];

/// A message from delivery to FETCH: the store's parse and cache round
/// trip (`postern_store::fuzzing::message`), then ENVELOPE, BODY,
/// BODYSTRUCTURE, a `BODY[section]<partial>` and a `BINARY[part]` rendered
/// from the meta as a session would. The first byte picks the section,
/// the next two the partial's origin and count; the rest is the message.
pub fn message_render(data: &[u8]) {
    let (pick, raw) = data.split_at(data.len().min(3));
    let [which, origin, count] = [0, 1, 2].map(|i| pick.get(i).copied().unwrap_or(0));
    let meta = postern_store::fuzzing::message(raw);
    let _ = envelope(&meta.envelope);
    let _ = body_structure(&meta, raw, false);
    let _ = body_structure(&meta, raw, true);
    let spec = SECTIONS[usize::from(which) % SECTIONS.len()];
    let spec = SectionSpec::parse(spec).expect("the listed sections parse");
    if let Some(bytes) = section(raw, &meta, &spec) {
        let cut = partial(&bytes, u32::from(origin), Some(u32::from(count)));
        assert!(
            cut.len() <= usize::from(count),
            "a partial longer than asked"
        );
    }
    let _ = binary(raw, &meta, &spec.parts);
}
