//! The sans-IO ManageSieve wire layer (std only): command framing with
//! literals under a line and a literal limit, the command parser, and
//! response encoding. Nothing here knows tokio, the store or auth.

pub mod command;
pub mod framing;
pub mod response;

pub use command::{Command, ParseError, ScriptName, parse_command, parse_sasl_response};
pub use framing::{Frame, Framer, Refusal};
pub use response::Code;

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the bytes and however they are split, a framed command
        /// is never longer than the limits allow, the framer never sits on
        /// more than that, and the parser never panics.
        #[test]
        fn random_bytes_frame_and_parse_without_panic(
            input in prop::collection::vec(prop::sample::select(b"{}+0123\r\n \"\\aPUTSCRIPT\0\xff".to_vec()), 0..600),
            cut in 0usize..600,
            max_line in 3usize..64,
            max_literal in 0u64..40,
        ) {
            let mut f = Framer::new(max_line, max_literal);
            let bound = 2 * max_line + 2 * max_literal as usize + 64;
            let mut buf = Vec::new();
            let cut = cut.min(input.len());
            for piece in [&input[..cut], &input[cut..]] {
                buf.extend_from_slice(piece);
                while let Some(frame) = f.next(&buf) {
                    match frame {
                        Frame::Command { len } => {
                            prop_assert!(len > 0 && len <= bound);
                            let _ = parse_command(&buf[..len]).map(|c| c.verb());
                            let _ = parse_sasl_response(&buf[..len]);
                            buf.drain(..len);
                        }
                        Frame::Discarding { consumed } | Frame::Refused { consumed, .. } => {
                            prop_assert!(consumed > 0 && consumed <= buf.len());
                            buf.drain(..consumed);
                        }
                    }
                }
                prop_assert!(buf.len() <= bound + 600);
            }
        }
    }
}
