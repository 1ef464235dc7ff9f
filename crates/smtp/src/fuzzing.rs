//! Fuzzing entry points (issue 13): the bodies of the `fuzz/` targets, kept
//! here so the same code runs under AFL and in the workspace's smoke test
//! (`tests/fuzz_smoke.rs`). Not an API: nothing in the server calls them.

use postern_store::fuzzing::chunks;

use crate::wire::{
    BareLineEndings, ChunkReader, Command, CommandFramer, DataReader, Frame, Reply, parse_command,
};

/// Small limits, so that both sides of each are reached by short inputs.
const MAX_LINE: usize = 512;
const MAX_DATA: u64 = 64 * 1024;
const MAX_DATA_LINE: usize = 1000;

/// What the driver is reading.
enum Mode {
    Commands,
    Data(DataReader),
    Chunk(ChunkReader),
}

/// The SMTP wire layer as `server.rs` drives it: the bytes arrive in the
/// pieces `chunks` cuts; commands are framed and parsed (errors encoded as
/// their replies); `DATA` switches to the DATA ingester and `BDAT n` to the
/// chunk reader, each handing back what follows; the first byte after the
/// four split bytes also picks whether bare line endings are normalised.
/// Panics (the fuzzer's finding) when a layer takes more than it was given,
/// makes no progress with a full buffer, or outgrows its limit.
pub fn session_wire(data: &[u8]) {
    let bare = if data.get(4).is_some_and(|b| b & 1 == 1) {
        BareLineEndings::Normalize
    } else {
        BareLineEndings::Reject
    };
    let mut framer = CommandFramer::new(MAX_LINE);
    let mut mode = Mode::Commands;
    let mut buf: Vec<u8> = Vec::new();
    for piece in chunks(data) {
        buf.extend_from_slice(piece);
        loop {
            let consumed = match &mut mode {
                Mode::Commands => {
                    let Some((frame, n)) = framer.next(&buf) else {
                        assert!(buf.len() < MAX_LINE, "the framer sat on a full line");
                        break;
                    };
                    assert!(n > 0, "a frame of no bytes");
                    if let Frame::Line(line) = frame {
                        assert!(line.len() < MAX_LINE, "a framed line over the limit");
                        match parse_command(line) {
                            Ok(Command::Data) => {
                                mode = Mode::Data(DataReader::new(MAX_DATA, MAX_DATA_LINE, bare));
                            }
                            Ok(Command::Bdat { size, .. }) => {
                                mode = Mode::Chunk(ChunkReader::new(size));
                            }
                            Ok(command) => {
                                let _ = command.verb();
                            }
                            Err(e) => {
                                let mut out = Vec::new();
                                e.reply().encode(&mut out);
                                assert!(out.len() <= 512, "an error reply over 512 bytes");
                            }
                        }
                    }
                    n
                }
                Mode::Data(reader) => {
                    let (n, outcome) = reader.feed(&buf);
                    let Some(outcome) = outcome else {
                        assert_eq!(n, buf.len(), "the DATA reader left bytes mid-message");
                        buf.clear();
                        break;
                    };
                    assert!(outcome.message.len() as u64 <= MAX_DATA);
                    assert!(!outcome.too_large || outcome.message.is_empty());
                    mode = Mode::Commands;
                    n
                }
                Mode::Chunk(reader) => {
                    let (bytes, done) = reader.feed(&buf);
                    let n = bytes.len();
                    if !done {
                        assert_eq!(n, buf.len(), "the chunk reader left bytes mid-chunk");
                        buf.clear();
                        break;
                    }
                    mode = Mode::Commands;
                    n
                }
            };
            assert!(consumed <= buf.len(), "consumed more than the buffer");
            buf.drain(..consumed);
        }
    }
    // Whatever text a reply carries, it goes out as one line per entry.
    let text = String::from_utf8_lossy(data).into_owned();
    let mut out = Vec::new();
    Reply::multi(250, Some((2, 0, 0)), vec![text]).encode(&mut out);
    assert!(out.ends_with(b"\r\n") && out.len() <= 512);
}
