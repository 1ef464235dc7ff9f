//! The IMAP wire layer, sans-IO: bytes in, typed commands out, and typed
//! responses back to bytes. Nothing here reads a socket, knows the store
//! or spawns a task; every limit is a constructor or parser argument;
//! every parser is total (any bytes give a value or a typed error, never a
//! panic).
//!
//! The driver's loop:
//! 1. [`CommandFramer::next`] on the read buffer gives a [`Framed`]:
//!    `Command { len }` (parse `buf[..len]`, then drop it), `NeedLiteral`
//!    (answer `+` and call `literal_accepted`, or refuse and call
//!    `literal_refused`), or `Discarding` (drop bytes of a refused
//!    command). A [`FrameError`] is answered `BAD` (or `NO [TOOBIG]`)
//!    after dropping its `consumed` bytes.
//! 2. [`parse_command`] with the session's [`ParseOptions`] gives a
//!    [`Command`] or a [`ParseError`] with the tag when it was readable
//!    (`TAG BAD ...`, else `* BAD ...`).
//! 3. During IDLE and AUTHENTICATE the driver frames lines with
//!    [`CommandFramer::next_line`] and reads them with [`is_idle_done`] and
//!    [`parse_sasl_line`].
//! 4. [`response`] writes strings, names, flags, sets and status lines.
//!
//! Choices where the RFCs leave room:
//! - A bare LF ends a line as CRLF does (lenient, as in the SMTP crate).
//! - LITERAL- has no syntax of its own: `{n+}` over 4096 bytes is refused
//!   and skipped (RFC 7888 §4); `{n-}` is not a literal.
//! - With UTF8=ACCEPT names are taken as UTF-8 and `&` is literal; without
//!   it names must be canonical modified UTF-7 (one spelling per name).
//! - `CHANGEDSINCE 0` is accepted; search strings stay bytes for the
//!   session to decode with the CHARSET.
//!
//! Files: `framing.rs`, `cursor.rs` (lexical rules), `chars.rs` (character
//! classes, [`Tag`]), `command/` (commands and their own arguments),
//! `sequence.rs`, `search.rs` (+ SORT/THREAD), `fetch.rs`, `store.rs`
//! (flags), `list.rs` (+ STATUS items, special use), `mailbox.rs`,
//! `utf7.rs`, `datetime.rs`, `response.rs`, `error.rs`.

pub mod catenate;
pub mod chars;
pub mod command;
mod cursor;
pub mod datetime;
pub mod error;
pub mod fetch;
pub mod framing;
pub mod list;
pub mod mailbox;
pub mod metadata;
pub mod notify;
pub mod partial;
pub mod response;
pub mod search;
pub mod sequence;
pub mod store;
pub mod utf7;

pub use catenate::{CatPart, ImapUrl, parse_url};
pub use chars::Tag;
pub use command::{
    AppendMessage, Command, CommandBody, ParseOptions, Password, QResync, SaslResponse,
    SelectParams, is_idle_done, parse_command, parse_sasl_line,
};
pub use datetime::{Date, DateTime, format_internal_date};
pub use error::{ParseError, ParseErrorKind};
pub use fetch::{FetchAttr, FetchModifiers, Partial, Section, SectionText};
pub use framing::{
    CommandFramer, DEFAULT_MAX_LINE, FrameError, FrameErrorKind, FrameLimits, Framed,
    LiteralRequest, NonSyncLiterals,
};
pub use list::{ListCommand, ListReturn, ListSelect, SpecialUse, StatusAttr};
pub use mailbox::MailboxName;
pub use metadata::{MetaDepth, MetaOptions};
pub use notify::{EventGroup, NotifyCommand, NotifyFilter};
pub use partial::PartialRange;
pub use response::{Code, Status, StatusResponse};
pub use search::{SearchKey, SearchProgram, SearchReturn, SortCriterion, SortKey, ThreadAlgorithm};
pub use sequence::{
    Ranges, SeqBound, SeqRange, SequenceSet, max_ranges_for_line, parse_sequence_set,
};
pub use store::{Flag, StoreAction, StoreFlags};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a scripted driver saw.
    #[derive(Debug, PartialEq, Eq)]
    enum Event {
        Continue,
        Command(Command),
        Bad(Option<Tag>),
        Refused(FrameErrorKind),
    }

    /// A minimal driver: frames, accepts synchronizing literals, parses.
    fn replay(chunks: &[&[u8]], limits: FrameLimits) -> Vec<Event> {
        let mut framer = CommandFramer::new(limits);
        let opts = ParseOptions::default();
        let mut buf = Vec::new();
        let mut events = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                let n = match framer.next(&buf) {
                    Ok(None) => break,
                    Ok(Some(Framed::Command { len })) => {
                        events.push(match parse_command(&buf[..len], &opts) {
                            Ok(c) => Event::Command(c),
                            Err(e) => Event::Bad(e.tag),
                        });
                        len
                    }
                    Ok(Some(Framed::NeedLiteral(_))) => {
                        events.push(Event::Continue);
                        framer.literal_accepted();
                        0
                    }
                    Ok(Some(Framed::Discarding { consumed })) => consumed,
                    Err(e) => {
                        events.push(Event::Refused(e.kind));
                        e.consumed
                    }
                };
                buf.drain(..n);
            }
        }
        events
    }

    fn check_replay(input: &[u8], limits: FrameLimits) -> Vec<Event> {
        let whole = replay(&[input], limits);
        for at in 0..=input.len() {
            let (a, b) = input.split_at(at);
            assert_eq!(replay(&[a, b], limits), whole, "split at {at}");
        }
        whole
    }

    fn body(e: &Event) -> Option<&CommandBody> {
        match e {
            Event::Command(c) => Some(&c.body),
            _ => None,
        }
    }

    #[test]
    fn rfc9051_section8_transcript() {
        let input = b"a001 login mrc secret\r\n\
            a002 select inbox\r\n\
            a003 fetch 12 full\r\n\
            a004 fetch 12 body[header]\r\n\
            a005 store 12 +flags \\deleted\r\n\
            a006 logout\r\n";
        let events = check_replay(input, FrameLimits::default());
        assert_eq!(events.len(), 6);
        let tags: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::Command(c) => Some(c.tag.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(tags, ["a001", "a002", "a003", "a004", "a005", "a006"]);
        assert!(
            matches!(body(&events[1]), Some(CommandBody::Select { mailbox, .. }) if mailbox.is_inbox())
        );
        assert_eq!(body(&events[5]), Some(&CommandBody::Logout));
    }

    #[test]
    fn literals_pipelined_with_errors_stay_in_step() {
        let limits = FrameLimits {
            max_line: 64,
            ..FrameLimits::default()
        };
        let mut input =
            b"A003 APPEND saved-messages (\\Seen) {22}\r\nSubject: hi\r\n\r\nhello\r\n\r\n\
            b1 LOGIN {3+}\r\nbob {6}\r\nsecret\r\n\
            b2 FROB\r\n\
            * NOOP\r\n\
            b3 NOOP "
                .to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend_from_slice(b"\r\nb4 NOOP\r\n");
        let events = check_replay(&input, limits);
        assert_eq!(events.len(), 8, "{events:?}");
        assert_eq!(events[0], Event::Continue);
        assert!(
            matches!(body(&events[1]), Some(CommandBody::Append { messages, .. }) if messages[0].message == b"Subject: hi\r\n\r\nhello\r\n")
        );
        assert_eq!(events[2], Event::Continue);
        assert!(
            matches!(body(&events[3]), Some(CommandBody::Login { user, .. }) if user == b"bob")
        );
        assert_eq!(events[4], Event::Bad(Tag::new(b"b2")));
        assert_eq!(events[5], Event::Bad(None));
        assert_eq!(events[6], Event::Refused(FrameErrorKind::LineTooLong));
        assert_eq!(body(&events[7]), Some(&CommandBody::Noop));
    }

    /// Bytes with IMAP's interesting ones over-represented.
    fn wire_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => any::<u8>(),
            2 => Just(b'\r'),
            2 => Just(b'\n'),
            2 => Just(b' '),
            1 => prop::sample::select(b"{}~+-0123456789()[]<>.\"\\*%$&:,".to_vec()),
            3 => prop::sample::select(b"a1 FETCHBODY.PEEKSEARCHORNOTUIDSTORE+FLAGSLISTAPPENDSELECT".to_vec()),
        ];
        prop::collection::vec(byte, 0..max)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic_and_never_overconsume(
            input in wire_bytes(2000),
            cuts in prop::collection::vec(0usize..200, 0..20),
            max_line in 2usize..120,
            max_literal in 0u64..300,
            max_command in 0u64..1000,
            plus in any::<bool>(),
            refuse in any::<bool>(),
            utf8_accept in any::<bool>(),
        ) {
            let limits = FrameLimits {
                max_line,
                max_literal,
                max_command,
                non_sync: if plus { NonSyncLiterals::Plus } else { NonSyncLiterals::Minus },
            };
            let opts = ParseOptions { utf8_accept, max_ranges: 5, max_search_depth: 4, max_append_messages: 3, max_catenate_parts: 3 };
            let mut pieces = Vec::new();
            let mut rest = input.as_slice();
            for cut in cuts {
                let (a, b) = rest.split_at(cut.min(rest.len()));
                pieces.push(a);
                rest = b;
            }
            pieces.push(rest);
            let mut framer = CommandFramer::new(limits);
            let mut buf = Vec::new();
            for piece in &pieces {
                buf.extend_from_slice(piece);
                for _ in 0..10_000 {
                    let n = match framer.next(&buf) {
                        Ok(None) => break,
                        Ok(Some(Framed::Command { len })) => {
                            prop_assert!(len > 0 && len <= buf.len());
                            prop_assert!(len as u64 <= max_command);
                            let _ = parse_command(&buf[..len], &opts);
                            len
                        }
                        Ok(Some(Framed::NeedLiteral(r))) => {
                            prop_assert!(r.size <= max_literal && r.len <= buf.len());
                            if refuse { framer.literal_refused() } else { framer.literal_accepted(); 0 }
                        }
                        Ok(Some(Framed::Discarding { consumed })) => consumed,
                        Err(e) => e.consumed,
                    };
                    prop_assert!(n <= buf.len());
                    buf.drain(..n);
                }
                prop_assert!(buf.len() as u64 <= max_command.max(max_line as u64) + piece.len() as u64);
            }
            let _ = parse_command(&input, &opts);
            let _ = is_idle_done(&input);
            let _ = parse_sasl_line(&input);
            let _ = parse_sequence_set(&input, 5);
            let _ = utf7::decode(&input);
            let _ = MailboxName::from_wire(&input, utf8_accept);
        }

        #[test]
        fn utf7_round_trips(name in any::<String>()) {
            let wire = utf7::encode(&name);
            prop_assert!(wire.bytes().all(|b| (0x20..0x7f).contains(&b)));
            prop_assert_eq!(utf7::decode(wire.as_bytes()), Ok(name));
        }

        #[test]
        fn strings_round_trip(s in prop::collection::vec(any::<u8>(), 0..40), utf8 in any::<bool>()) {
            let mut out = Vec::new();
            response::astring(&mut out, &s, utf8);
            out.extend_from_slice(b" x");
            let wire = [b"a1 LOGIN ".as_slice(), &out, b"\r\n"].concat();
            match parse_command(&wire, &ParseOptions::default()) {
                Ok(Command { body: CommandBody::Login { user, .. }, .. }) if !s.contains(&0) => {
                    prop_assert_eq!(user, s)
                }
                other => prop_assert!(s.contains(&0), "{other:?}"),
            }
        }

        #[test]
        fn id_sets_round_trip(ids in prop::collection::vec(1u32..200, 1..50)) {
            let text = response::id_set(ids.iter().copied()).expect("non-empty");
            let set = parse_sequence_set(text.as_bytes(), 1000).expect("parses");
            for n in 1..200 {
                prop_assert_eq!(set.contains(n, 200), ids.contains(&n));
            }
        }
    }
}
