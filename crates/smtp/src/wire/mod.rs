//! The SMTP wire layer, sans-IO: bytes in, typed values out, and replies
//! back to bytes. Nothing here reads a socket, knows the store or spawns a
//! task; every limit is a constructor argument; every parser is total (any
//! bytes give a value or a typed error, never a panic).
//!
//! The driver's loop, in command mode:
//! 1. `CommandFramer::next` on the read buffer gives a `Frame`: a `Line`
//!    for `parse_command`, `TooLong` to answer `500` (line too long), or
//!    `Discarding` (drop the bytes, read more). It never makes the driver
//!    hold more than the line limit.
//! 2. `parse_command` gives a `Command`, or a `CommandError` whose
//!    `reply()` is the answer (500/501/555); the session goes on.
//! 3. After `354`, bytes go to a `DataReader` until it returns the
//!    `DataOutcome`; after `BDAT n`, `n` bytes go to a `ChunkReader`. Both
//!    leave what follows (pipelined commands, RFC 2920) unconsumed, and the
//!    driver goes back to step 1 with it.
//! 4. `Reply::encode` writes answers.
//!
//! Files: `line.rs` (framing), `command.rs` (commands and their errors),
//! `address.rs` (paths and mailboxes), `params.rs` (ESMTP parameters),
//! `data.rs` (DATA, dot-unstuffing, the smuggling-safe end marker),
//! `bdat.rs` (BDAT chunks), `hops.rs` (Received fields, for loop
//! detection), `reply.rs` (replies).

mod address;
pub mod bdat;
pub mod client;
pub mod command;
pub mod data;
pub mod hops;
pub mod line;
mod params;
pub mod reply;

pub use bdat::ChunkReader;
pub use command::{
    Body, Command, CommandError, ForwardPath, MailParams, Mailbox, Notify, RcptParams, Ret,
    ReversePath, parse_command,
};
pub use data::{BareLineEndings, DataOutcome, DataReader};
pub use hops::HopCounter;
pub use line::{CommandFramer, Frame};
pub use reply::Reply;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a scripted driver saw: commands, errors, and messages.
    #[derive(Debug, PartialEq, Eq)]
    enum Event {
        Command(Command),
        Error(CommandError),
        TooLong,
        Message(Vec<u8>),
    }

    /// A minimal driver over the wire types: frames commands, switches to
    /// the DATA reader after DATA and to the chunk reader after BDAT.
    /// Input arrives in `chunks`.
    fn replay(chunks: &[&[u8]]) -> Vec<Event> {
        enum Mode {
            Commands,
            Data(DataReader),
            Chunk(ChunkReader, Vec<u8>),
        }
        let mut framer = CommandFramer::new(512);
        let mut mode = Mode::Commands;
        let mut buf: Vec<u8> = Vec::new();
        let mut events = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                let consumed = match &mut mode {
                    Mode::Commands => match framer.next(&buf) {
                        None => break,
                        Some((frame, n)) => {
                            match frame {
                                Frame::Line(l) => match parse_command(l) {
                                    Ok(Command::Data) => {
                                        events.push(Event::Command(Command::Data));
                                        mode = Mode::Data(DataReader::new(
                                            1 << 20,
                                            1000,
                                            BareLineEndings::Reject,
                                        ));
                                    }
                                    Ok(Command::Bdat { size, last }) => {
                                        events.push(Event::Command(Command::Bdat { size, last }));
                                        mode = Mode::Chunk(ChunkReader::new(size), Vec::new());
                                    }
                                    Ok(c) => events.push(Event::Command(c)),
                                    Err(e) => events.push(Event::Error(e)),
                                },
                                Frame::TooLong => events.push(Event::TooLong),
                                Frame::Discarding => {}
                            }
                            n
                        }
                    },
                    Mode::Data(reader) => {
                        let (n, out) = reader.feed(&buf);
                        if let Some(out) = out {
                            events.push(Event::Message(out.message));
                            mode = Mode::Commands;
                        } else if n == 0 {
                            break;
                        }
                        n
                    }
                    Mode::Chunk(reader, body) => {
                        let (bytes, done) = reader.feed(&buf);
                        let n = bytes.len();
                        body.extend_from_slice(bytes);
                        if done {
                            events.push(Event::Message(std::mem::take(body)));
                            mode = Mode::Commands;
                        } else if n == 0 {
                            break;
                        }
                        n
                    }
                };
                buf.drain(..consumed);
            }
        }
        events
    }

    fn check_replay(input: &[u8], want: &[Event]) {
        assert_eq!(replay(&[input]), want);
        for at in 0..=input.len() {
            let (a, b) = input.split_at(at);
            assert_eq!(replay(&[a, b]), want, "split at {at}");
        }
    }

    fn mb(local: &str, domain: &str) -> Mailbox {
        Mailbox {
            local: local.into(),
            domain: domain.into(),
        }
    }

    fn rcpt(local: &str, domain: &str) -> Event {
        Event::Command(Command::Rcpt {
            to: ForwardPath::Mailbox(mb(local, domain)),
            params: RcptParams::default(),
        })
    }

    #[test]
    fn rfc5321_appendix_d1_transcript_pipelined() {
        // RFC 5321 Appendix D.1, the client's side sent in one go (as with
        // PIPELINING, RFC 2920), with the QUIT right after the end marker.
        let input = b"EHLO bar.com\r\n\
            MAIL FROM:<Smith@bar.com>\r\n\
            RCPT TO:<Jones@foo.com>\r\n\
            RCPT TO:<Green@foo.com>\r\n\
            RCPT TO:<Brown@foo.com>\r\n\
            DATA\r\n\
            Blah blah blah...\r\n\
            ...etc. etc. etc.\r\n\
            .\r\n\
            QUIT\r\n";
        let want = vec![
            Event::Command(Command::Ehlo("bar.com".into())),
            Event::Command(Command::Mail {
                from: ReversePath::Mailbox(mb("Smith", "bar.com")),
                params: MailParams::default(),
            }),
            rcpt("Jones", "foo.com"),
            rcpt("Green", "foo.com"),
            rcpt("Brown", "foo.com"),
            Event::Command(Command::Data),
            // The stuffed "..." line loses one dot.
            Event::Message(b"Blah blah blah...\r\n..etc. etc. etc.\r\n".to_vec()),
            Event::Command(Command::Quit),
        ];
        check_replay(input, &want);
    }

    #[test]
    fn rfc3030_bdat_transcript() {
        // RFC 3030 §4.2-style: two chunks, the second LAST, then QUIT. The
        // chunk contents hold "\r\n.\r\n", which means nothing to BDAT.
        let input = b"MAIL FROM:<Sam@Random.com> BODY=BINARYMIME\r\n\
            RCPT TO:<Susan@Random.com>\r\n\
            BDAT 6\r\n\
            a\r\n.\r\n\
            BDAT 3 LAST\r\n\
            xyzQUIT\r\n";
        let want = vec![
            Event::Command(Command::Mail {
                from: ReversePath::Mailbox(mb("Sam", "random.com")),
                params: MailParams {
                    body: Some(Body::BinaryMime),
                    ..Default::default()
                },
            }),
            rcpt("Susan", "random.com"),
            Event::Command(Command::Bdat {
                size: 6,
                last: false,
            }),
            Event::Message(b"a\r\n.\r\n".to_vec()),
            Event::Command(Command::Bdat {
                size: 3,
                last: true,
            }),
            Event::Message(b"xyz".to_vec()),
            Event::Command(Command::Quit),
        ];
        check_replay(input, &want);
    }

    #[test]
    fn over_long_command_then_pipelined_commands_stay_in_step() {
        let mut input = b"NOOP\r\nMAIL FROM:<".to_vec();
        input.extend(std::iter::repeat_n(b'a', 2000));
        input.extend_from_slice(b"@x.org>\r\nRSET\r\n");
        check_replay(
            &input,
            &[
                Event::Command(Command::Noop),
                Event::TooLong,
                Event::Command(Command::Rset),
            ],
        );
    }

    /// Bytes with the interesting ones over-represented.
    fn wire_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => any::<u8>(),
            2 => Just(b'\r'),
            2 => Just(b'\n'),
            2 => Just(b'.'),
            1 => Just(b' '),
            1 => Just(b':'),
            1 => Just(b'<'),
            1 => Just(b'>'),
            1 => Just(b'@'),
            1 => prop::sample::select(b"MAILFROMRCPTODATBHEQUSN=+\"\\[]".to_vec()),
        ];
        prop::collection::vec(byte, 0..max)
    }

    /// Dot-stuffs a CRLF-terminated message as a client does.
    fn stuff(message: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for line in message.split_inclusive(|&b| b == b'\n') {
            if line.first() == Some(&b'.') {
                out.push(b'.');
            }
            out.extend_from_slice(line);
        }
        out.extend_from_slice(b".\r\n");
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic_and_never_overconsume(
            input in wire_bytes(3000),
            cuts in prop::collection::vec(0usize..200, 0..30),
            max_line in 2usize..80,
            max_size in 0u64..400,
            chunk_size in 0u64..100,
            normalize in any::<bool>(),
        ) {
            let mut pieces = Vec::new();
            let mut rest = input.as_slice();
            for cut in cuts {
                let (a, b) = rest.split_at(cut.min(rest.len()));
                pieces.push(a);
                rest = b;
            }
            pieces.push(rest);

            // Framer and parser, as the driver uses them.
            let mut framer = CommandFramer::new(max_line);
            let mut buf = Vec::new();
            for piece in &pieces {
                buf.extend_from_slice(piece);
                while let Some((frame, n)) = framer.next(&buf) {
                    prop_assert!(n > 0 && n <= buf.len());
                    if let Frame::Line(l) = frame {
                        prop_assert!(l.len() < max_line);
                        if let Err(e) = parse_command(l) {
                            let mut out = Vec::new();
                            e.reply().encode(&mut out);
                            prop_assert!(out.len() <= 512);
                        }
                    }
                    buf.drain(..n);
                }
                prop_assert!(buf.len() < max_line);
            }
            // Whole input as one line too, whatever it holds.
            let _ = parse_command(&input);

            // DATA reader.
            let bare = if normalize { BareLineEndings::Normalize } else { BareLineEndings::Reject };
            let mut reader = DataReader::new(max_size, max_line, bare);
            for piece in &pieces {
                let (n, out) = reader.feed(piece);
                prop_assert!(n <= piece.len());
                if let Some(out) = out {
                    prop_assert!(out.message.len() as u64 <= max_size);
                    prop_assert!(!out.too_large || out.message.is_empty());
                    break;
                }
                prop_assert_eq!(n, piece.len());
            }

            // BDAT chunk reader.
            let mut chunk = ChunkReader::new(chunk_size);
            let mut taken = 0u64;
            for piece in &pieces {
                let (bytes, done) = chunk.feed(piece);
                prop_assert!(bytes.len() <= piece.len());
                taken += bytes.len() as u64;
                prop_assert_eq!(chunk.remaining(), chunk_size - taken);
                if done {
                    break;
                }
            }

            // Reply text, whatever it holds, stays one line per entry.
            let text = String::from_utf8_lossy(&input).into_owned();
            let mut out = Vec::new();
            Reply::multi(250, Some((2, 0, 0)), vec![text.clone(), text]).encode(&mut out);
            let wire = String::from_utf8(out).expect("UTF-8 in, UTF-8 out");
            let lines: Vec<&str> = wire.split_terminator("\r\n").collect();
            prop_assert_eq!(lines.len(), 2);
            for l in lines {
                prop_assert!(l.len() <= 510 && !l.contains(['\r', '\n']));
            }
        }

        #[test]
        fn dot_stuffed_messages_come_back_unchanged(
            lines in prop::collection::vec(
                prop::collection::vec(prop_oneof![Just(b'.'), Just(b'x'), Just(b' ')], 0..6),
                0..12,
            ),
            cut in 0usize..100,
        ) {
            let mut message = Vec::new();
            for line in &lines {
                message.extend_from_slice(line);
                message.extend_from_slice(b"\r\n");
            }
            let mut input = stuff(&message);
            input.extend_from_slice(b"NEXT");
            // Cut anywhere before the marker's final LF.
            let (a, b) = input.split_at(cut.min(input.len() - 5));
            let mut reader = DataReader::new(1 << 20, 0, BareLineEndings::Reject);
            let (n1, out1) = reader.feed(a);
            prop_assert!(out1.is_none(), "ended early");
            prop_assert_eq!(n1, a.len());
            let (n2, out2) = reader.feed(b);
            let out = out2.expect("ends at the marker");
            prop_assert_eq!(b.get(n2..), Some(&b"NEXT"[..]));
            prop_assert_eq!(out.message, message);
            prop_assert!(!out.bare_line_ending);
        }
    }
}
