//! The sans-IO POP3 wire layer (std only): line framing with a length
//! limit, the command parser, and response encoding with dot-stuffing.
//! Nothing here knows tokio, the store or auth.

pub mod command;
pub mod line;
pub mod response;

pub use command::{Command, CommandError, MsgNum, Password, parse_command, trim_eol};
pub use line::{Frame, LineFramer};
pub use response::RespCode;

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the bytes and however they are split, the framer never
        /// holds a line longer than its limit and the parser never panics.
        #[test]
        fn random_bytes_frame_and_parse_without_panic(
            input in prop::collection::vec(any::<u8>(), 0..600),
            cut in 0usize..600,
            max in 3usize..64,
        ) {
            let mut f = LineFramer::new(max);
            let mut buf = Vec::new();
            let cut = cut.min(input.len());
            for piece in [&input[..cut], &input[cut..]] {
                buf.extend_from_slice(piece);
                while let Some(frame) = f.next(&buf) {
                    match frame {
                        Frame::Line { len } => {
                            prop_assert!(len <= max);
                            let _ = parse_command(&buf[..len]);
                            buf.drain(..len);
                        }
                        Frame::Discarding { consumed } | Frame::TooLong { consumed } => {
                            prop_assert!(consumed > 0);
                            buf.drain(..consumed);
                        }
                    }
                }
                prop_assert!(buf.len() < max.max(1) + 600);
            }
        }

        /// RETR's copying encoder says exactly what the line loop (TOP with
        /// no limit) says, for any mix of dots, CRs and LFs.
        #[test]
        fn retr_and_top_encoders_agree(msg in prop::collection::vec(prop::sample::select(b"a.\r\n".to_vec()), 0..40)) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            response::message(&mut a, &msg, None);
            response::message(&mut b, &msg, Some(u32::MAX));
            prop_assert_eq!(a, b);
        }

        /// The same for arbitrary bytes (the LF search reads eight at a time).
        #[test]
        fn retr_and_top_encoders_agree_on_any_bytes(msg in prop::collection::vec(any::<u8>(), 0..300)) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            response::message(&mut a, &msg, None);
            response::message(&mut b, &msg, Some(u32::MAX));
            prop_assert_eq!(a, b);
        }

        /// Dot-stuffed CRLF messages come back exactly after unstuffing.
        #[test]
        fn stuffing_round_trips_crlf_messages(lines in prop::collection::vec("[.a-z ]{0,8}", 0..12)) {
            let msg: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\r\n").into_bytes()).collect();
            let mut out = Vec::new();
            response::message(&mut out, &msg, None);
            let body = out.strip_suffix(b".\r\n").expect("terminated");
            let mut back = Vec::new();
            for l in body.split_inclusive(|&b| b == b'\n') {
                prop_assert!(l != b".\r\n", "an unstuffed terminator inside");
                back.extend_from_slice(l.strip_prefix(b".").unwrap_or(l));
            }
            prop_assert_eq!(back, msg);
        }
    }
}
