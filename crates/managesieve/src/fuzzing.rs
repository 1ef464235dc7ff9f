//! Fuzzing entry points (issue 13): the body of the `managesieve_wire`
//! target, kept here so the same code runs under AFL and in the
//! workspace's smoke test (`tests/fuzz_smoke.rs`). Not an API: nothing in
//! the server calls it.

use postern_store::fuzzing::chunks;

use crate::wire::{Frame, Framer, parse_command, parse_sasl_response, response};

/// Small limits, so over-long lines and literals are reached by short
/// inputs.
const MAX_LINE: usize = 255;
const MAX_LITERAL: u64 = 64;

/// The ManageSieve wire layer as `server.rs` drives it: the bytes arrive
/// in the pieces `chunks` cuts, commands are framed and parsed as
/// commands and as SASL responses; every parsed string is written back as
/// a response string and must parse again to the same bytes. Panics (the
/// fuzzer's finding) when a layer breaks that or takes more than it was
/// given.
pub fn command_wire(data: &[u8]) {
    let mut framer = Framer::new(MAX_LINE, MAX_LITERAL);
    let mut buf: Vec<u8> = Vec::new();
    for piece in chunks(data) {
        buf.extend_from_slice(piece);
        while let Some(frame) = framer.next(&buf) {
            let n = match frame {
                Frame::Command { len } => {
                    let bound = MAX_LINE + 2 * MAX_LITERAL as usize;
                    assert!(len <= bound, "a framed command of {len} bytes");
                    match parse_command(&buf[..len]) {
                        Ok(command) => {
                            let _ = command.verb();
                        }
                        Err(e) => {
                            let _ = e.to_string();
                        }
                    }
                    if let Ok(Some(s)) = parse_sasl_response(&buf[..len]) {
                        let mut again = Vec::new();
                        response::string(&mut again, &s);
                        again.extend_from_slice(b"\r\n");
                        assert_eq!(
                            parse_sasl_response(&again),
                            Ok(Some(s)),
                            "a string that does not round-trip"
                        );
                    }
                    len
                }
                Frame::Discarding { consumed } | Frame::Refused { consumed, .. } => consumed,
            };
            assert!(n > 0 && n <= buf.len(), "a frame of {n} bytes");
            buf.drain(..n);
        }
    }
}
