//! Fuzzing entry points (issue 13): the bodies of the `fuzz/` targets, kept
//! here so the same code runs under AFL and in the workspace's smoke test
//! (`tests/fuzz_smoke.rs`). Not an API: nothing in the server calls them.

use postern_store::fuzzing::chunks;

use crate::wire::{Frame, LineFramer, parse_command, response};

/// A small line limit, so over-long lines are reached by short inputs.
const MAX_LINE: usize = 255;

/// The POP3 wire layer as `server.rs` drives it: the bytes arrive in the
/// pieces `chunks` cuts, lines are framed and parsed (errors turned into
/// their `-ERR` text); then the whole input goes out as RETR and TOP
/// bodies (the fifth byte is TOP's line count), which must be
/// dot-stuffed: no line of the answer but the terminator is a lone dot.
/// Panics (the fuzzer's finding) when a layer breaks that or takes more
/// than it was given.
pub fn command_wire(data: &[u8]) {
    let mut framer = LineFramer::new(MAX_LINE);
    let mut buf: Vec<u8> = Vec::new();
    for piece in chunks(data) {
        buf.extend_from_slice(piece);
        while let Some(frame) = framer.next(&buf) {
            let n = match frame {
                Frame::Line { len } => {
                    assert!(len <= MAX_LINE, "a framed line over the limit");
                    match parse_command(&buf[..len]) {
                        Ok(command) => {
                            let _ = command.verb();
                        }
                        Err(e) => {
                            let _ = e.message();
                        }
                    }
                    len
                }
                Frame::Discarding { consumed } | Frame::TooLong { consumed } => consumed,
            };
            assert!(n > 0 && n <= buf.len(), "a frame of {n} bytes");
            buf.drain(..n);
        }
        assert!(buf.len() < MAX_LINE, "the framer sat on a full line");
    }
    let top = data.get(4).copied().map(u32::from);
    for body_lines in [None, top] {
        let mut out = Vec::new();
        response::message(&mut out, data, body_lines);
        assert!(out.ends_with(b"\r\n.\r\n") || out == b".\r\n");
        let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
        let terminator = lines.len().saturating_sub(2);
        for (i, line) in lines.iter().enumerate() {
            if i != terminator && line.first() == Some(&b'.') {
                assert!(line.starts_with(b".."), "an unstuffed line {i}");
            }
        }
    }
}
