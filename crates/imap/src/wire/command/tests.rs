//! Tests of the command parser: tables of (command, expected value) and
//! of (bad command, error with its tag).

use super::*;
use crate::wire::datetime::Date;
use crate::wire::fetch::{Section, SectionText};
use crate::wire::search::{SearchKey, SortKey};
use crate::wire::sequence::parse_sequence_set;
use crate::wire::store::StoreAction;
use CommandBody::*;
use std::num::NonZeroU32;

fn mb(s: &str) -> MailboxName {
    MailboxName::new(s).unwrap()
}

fn set(s: &str) -> SequenceSet {
    parse_sequence_set(s.as_bytes(), 1000).unwrap()
}

fn parse(input: &str) -> Result<CommandBody, ParseError> {
    parse_command(input.as_bytes(), &ParseOptions::default()).map(|c| {
        assert_eq!(c.tag.as_str(), "a1");
        c.body
    })
}

fn program(keys: Vec<SearchKey>) -> SearchProgram {
    SearchProgram {
        charset: None,
        keys,
    }
}

#[test]
fn command_table() {
    let cases: Vec<(&str, CommandBody)> = vec![
        ("a1 CAPABILITY\r\n", Capability),
        ("a1 noop", Noop),
        ("a1 LOGOUT\n", Logout),
        ("a1 STARTTLS", StartTls),
        ("a1 NAMESPACE", Namespace),
        ("a1 IDLE", Idle),
        ("a1 CHECK", Check),
        ("a1 CLOSE", Close),
        ("a1 UNSELECT", Unselect),
        ("a1 EXPUNGE", Expunge),
        ("a1 UNAUTHENTICATE", Unauthenticate),
        (
            "a1 AUTHENTICATE plain",
            Authenticate {
                mechanism: "PLAIN".into(),
                initial: None,
            },
        ),
        (
            "a1 AUTHENTICATE PLAIN =",
            Authenticate {
                mechanism: "PLAIN".into(),
                initial: Some(SaslResponse::Empty),
            },
        ),
        (
            "a1 AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=",
            Authenticate {
                mechanism: "PLAIN".into(),
                initial: Some(SaslResponse::Base64("AGJvYgBzZWNyZXQ=".into())),
            },
        ),
        (
            "a1 LOGIN bob \"se cret\"",
            Login {
                user: b"bob".to_vec(),
                password: Password::new(b"se cret".to_vec()),
            },
        ),
        (
            "a1 LOGIN {3}\r\nbob {2+}\r\npw",
            Login {
                user: b"bob".to_vec(),
                password: Password::new(b"pw".to_vec()),
            },
        ),
        (
            "a1 ENABLE CONDSTORE qresync",
            Enable(vec!["CONDSTORE".into(), "QRESYNC".into()]),
        ),
        (
            "a1 SELECT inbox",
            Select {
                mailbox: mb("INBOX"),
                params: SelectParams::default(),
            },
        ),
        (
            "a1 EXAMINE \"Entw&APw-rfe\"",
            Examine {
                mailbox: mb("Entwürfe"),
                params: SelectParams::default(),
            },
        ),
        (
            "a1 SELECT INBOX (CONDSTORE)",
            Select {
                mailbox: mb("INBOX"),
                params: SelectParams {
                    condstore: true,
                    qresync: None,
                },
            },
        ),
        (
            "a1 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
            Select {
                mailbox: mb("INBOX"),
                params: SelectParams {
                    condstore: false,
                    qresync: Some(QResync {
                        uid_validity: NonZeroU32::new(67890007).unwrap(),
                        modseq: 20050715194045000,
                        known_uids: Some(set("41,43:211,214:541")),
                        seq_match: None,
                    }),
                },
            },
        ),
        (
            "a1 EXAMINE INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:15,19,21 1,3:5,12,17:18)))",
            Examine {
                mailbox: mb("INBOX"),
                params: SelectParams {
                    condstore: false,
                    qresync: Some(QResync {
                        uid_validity: NonZeroU32::new(67890007).unwrap(),
                        modseq: 90060115194045000,
                        known_uids: Some(set("41:211,214:541")),
                        seq_match: Some((set("1:15,19,21"), set("1,3:5,12,17:18"))),
                    }),
                },
            },
        ),
        (
            "a1 CREATE Sent (USE (\\Sent))",
            Create {
                mailbox: mb("Sent"),
                special_use: vec![SpecialUse::Sent],
            },
        ),
        (
            "a1 CREATE a/b",
            Create {
                mailbox: mb("a/b"),
                special_use: vec![],
            },
        ),
        ("a1 DELETE x", Delete(mb("x"))),
        (
            "a1 RENAME x \"y z\"",
            Rename {
                from: mb("x"),
                to: mb("y z"),
            },
        ),
        ("a1 SUBSCRIBE x", Subscribe(mb("x"))),
        ("a1 UNSUBSCRIBE x", Unsubscribe(mb("x"))),
        (
            "a1 LSUB \"\" *",
            Lsub {
                reference: String::new(),
                pattern: "*".into(),
            },
        ),
        (
            "a1 STATUS blurdybloop (UIDNEXT MESSAGES)",
            Status {
                mailbox: mb("blurdybloop"),
                items: vec![StatusAttr::UidNext, StatusAttr::Messages],
            },
        ),
        (
            "a1 APPEND saved-messages (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5}\r\nhello",
            Append {
                mailbox: mb("saved-messages"),
                messages: vec![AppendMessage {
                    flags: vec![Flag::Seen],
                    date: Some(DateTime {
                        date: Date::new(1996, 7, 17).unwrap(),
                        hour: 2,
                        minute: 44,
                        second: 25,
                        zone_minutes: -420,
                    }),
                    message: b"hello".to_vec(),
                    binary: false,
                    utf8: false,
                    catenate: None,
                }],
            },
        ),
        (
            "a1 APPEND x ~{2+}\r\n\0\n",
            Append {
                mailbox: mb("x"),
                messages: vec![AppendMessage {
                    flags: vec![],
                    date: None,
                    message: b"\0\n".to_vec(),
                    binary: true,
                    utf8: false,
                    catenate: None,
                }],
            },
        ),
        (
            "a1 APPEND x () UTF8 (~{1}\r\nz)",
            Append {
                mailbox: mb("x"),
                messages: vec![AppendMessage {
                    flags: vec![],
                    date: None,
                    message: b"z".to_vec(),
                    binary: true,
                    utf8: true,
                    catenate: None,
                }],
            },
        ),
        (
            // RFC 3502 §6.3.11: MULTIAPPEND, each message with its own flags
            // and date
            "a1 APPEND x (\\Seen) {1}\r\na \"17-Jul-1996 02:44:25 -0700\" {1+}\r\nb UTF8 (~{1}\r\nc)",
            Append {
                mailbox: mb("x"),
                messages: vec![
                    AppendMessage {
                        flags: vec![Flag::Seen],
                        date: None,
                        message: b"a".to_vec(),
                        binary: false,
                        utf8: false,
                        catenate: None,
                    },
                    AppendMessage {
                        flags: vec![],
                        date: Some(DateTime {
                            date: Date::new(1996, 7, 17).unwrap(),
                            hour: 2,
                            minute: 44,
                            second: 25,
                            zone_minutes: -420,
                        }),
                        message: b"b".to_vec(),
                        binary: false,
                        utf8: false,
                        catenate: None,
                    },
                    AppendMessage {
                        flags: vec![],
                        date: None,
                        message: b"c".to_vec(),
                        binary: true,
                        utf8: true,
                        catenate: None,
                    },
                ],
            },
        ),
        (
            // RFC 8508 §3.1
            "a1 UID REPLACE 2000 Drafts (\\Seen \\Draft) {1+}\r\nx",
            Replace {
                uid: true,
                id: NonZeroU32::new(2000).unwrap(),
                mailbox: mb("Drafts"),
                message: AppendMessage {
                    flags: vec![Flag::Seen, Flag::Draft],
                    date: None,
                    message: b"x".to_vec(),
                    binary: false,
                    utf8: false,
                    catenate: None,
                },
            },
        ),
        ("a1 UID EXPUNGE 3:5", UidExpunge(set("3:5"))),
        (
            "a1 CANCELUPDATE \"B01\" \"B02\"",
            CancelUpdate(vec!["B01".into(), "B02".into()]),
        ),
        (
            "a1 SEARCH UNSEEN",
            Search {
                uid: false,
                ret: None,
                program: program(vec![SearchKey::Unseen]),
            },
        ),
        (
            "a1 UID SEARCH RETURN (MIN MAX) CHARSET UTF-8 TEXT x",
            Search {
                uid: true,
                ret: Some(vec![SearchReturn::Min, SearchReturn::Max]),
                program: SearchProgram {
                    charset: Some("UTF-8".into()),
                    keys: vec![SearchKey::Text(b"x".to_vec())],
                },
            },
        ),
        (
            "a1 FETCH 1:* (FLAGS BODY.PEEK[HEADER])",
            Fetch {
                uid: false,
                set: set("1:*"),
                items: vec![
                    FetchAttr::Flags,
                    FetchAttr::BodySection {
                        section: Section {
                            part: vec![],
                            text: Some(SectionText::Header),
                        },
                        partial: None,
                        peek: true,
                    },
                ],
                modifiers: FetchModifiers::default(),
            },
        ),
        (
            "a1 UID FETCH 1:* FLAGS (CHANGEDSINCE 12345 VANISHED)",
            Fetch {
                uid: true,
                set: set("1:*"),
                items: vec![FetchAttr::Flags],
                modifiers: FetchModifiers {
                    changed_since: Some(12345),
                    vanished: true,
                    partial: None,
                },
            },
        ),
        (
            // RFC 8970: a lone PREVIEW followed by FETCH modifiers.
            "a1 FETCH 1 PREVIEW (CHANGEDSINCE 5)",
            Fetch {
                uid: false,
                set: set("1"),
                items: vec![FetchAttr::Preview],
                modifiers: FetchModifiers {
                    changed_since: Some(5),
                    vanished: false,
                    partial: None,
                },
            },
        ),
        (
            "a1 STORE 2:4 +FLAGS (\\Deleted)",
            Store {
                uid: false,
                set: set("2:4"),
                unchanged_since: None,
                flags: StoreFlags {
                    action: StoreAction::Add,
                    silent: false,
                    flags: vec![Flag::Deleted],
                },
            },
        ),
        (
            "a1 UID STORE $ (UNCHANGEDSINCE 0) FLAGS.SILENT \\Seen",
            Store {
                uid: true,
                set: SequenceSet::Saved,
                unchanged_since: Some(0),
                flags: StoreFlags {
                    action: StoreAction::Replace,
                    silent: true,
                    flags: vec![Flag::Seen],
                },
            },
        ),
        (
            "a1 COPY 2:4 MEETING",
            Copy {
                uid: false,
                set: set("2:4"),
                mailbox: mb("MEETING"),
            },
        ),
        (
            "a1 UID MOVE 42 Trash",
            Move {
                uid: true,
                set: set("42"),
                mailbox: mb("Trash"),
            },
        ),
        (
            "a1 UID SORT (REVERSE ARRIVAL) UTF-8 ALL",
            Sort {
                uid: true,
                ret: None,
                criteria: vec![SortCriterion {
                    reverse: true,
                    key: SortKey::Arrival,
                }],
                program: SearchProgram {
                    charset: Some("UTF-8".into()),
                    keys: vec![SearchKey::All],
                },
            },
        ),
        (
            "a1 THREAD REFERENCES US-ASCII SINCE 1-Feb-1994",
            Thread {
                uid: false,
                algorithm: ThreadAlgorithm::References,
                program: SearchProgram {
                    charset: Some("US-ASCII".into()),
                    keys: vec![SearchKey::Since(Date::new(1994, 2, 1).unwrap())],
                },
            },
        ),
        ("a1 ID NIL", Id(None)),
        (
            "a1 ID (\"name\" \"sodr\" \"version\" NIL)",
            Id(Some(vec![
                ("name".into(), Some("sodr".into())),
                ("version".into(), None),
            ])),
        ),
        ("a1 COMPRESS deflate", Compress("DEFLATE".into())),
        ("a1 GETQUOTA \"\"", GetQuota(vec![])),
        ("a1 GETQUOTAROOT INBOX", GetQuotaRoot(mb("INBOX"))),
        (
            "a1 SETQUOTA \"\" (STORAGE 512)",
            SetQuota {
                root: vec![],
                limits: vec![("STORAGE".into(), 512)],
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(parse(input), Ok(want), "{input}");
    }
}

#[test]
fn error_table() {
    let syntax = |expected, at| ParseErrorKind::Syntax { expected, at };
    let cases: Vec<(&str, Option<&str>, ParseErrorKind)> = vec![
        ("", None, syntax("tag", 0)),
        ("NOOP", None, syntax("tag", 0)),
        ("a+1 NOOP", None, syntax("tag", 0)),
        (
            "a1 FROB",
            Some("a1"),
            ParseErrorKind::Unknown("FROB".into()),
        ),
        ("a1 NOOP extra", Some("a1"), syntax("end of command", 7)),
        ("a1 ", Some("a1"), syntax("atom", 3)),
        ("a1  NOOP", Some("a1"), syntax("atom", 3)),
        ("a1 SELECT", Some("a1"), syntax("SP", 9)),
        (
            "a1 SELECT \"\"",
            Some("a1"),
            ParseErrorKind::BadMailboxName("empty name"),
        ),
        (
            "a1 SELECT &Jjo",
            Some("a1"),
            ParseErrorKind::BadMailboxName("unterminated & shift"),
        ),
        ("a1 FETCH 0 FLAGS", Some("a1"), syntax("non-zero number", 9)),
        ("a1 UID FROB 1", Some("a1"), syntax("UID command", 7)),
        (
            "a1 REPLACE 0 x {1+}\r\nx",
            Some("a1"),
            syntax("non-zero number", 11),
        ),
        // RFC 8508: one message only, no MULTIAPPEND
        (
            "a1 REPLACE 1 x {1+}\r\na {1+}\r\nb",
            Some("a1"),
            syntax("end of command", 22),
        ),
        ("a1 AUTHENTICATE PLAIN !", Some("a1"), syntax("base64", 22)),
        ("a1 ENABLE", Some("a1"), syntax("capability", 9)),
        (
            "a1 APPEND x {3}\r\nab",
            Some("a1"),
            syntax("literal bytes", 12),
        ),
        (
            "a1 APPEND x UTF8 ({1}\r\nz)",
            Some("a1"),
            syntax("literal8", 24),
        ),
        ("a1 SEARCH", Some("a1"), syntax("SP", 9)),
        (
            "a1 X {3-}\r\n",
            Some("a1"),
            ParseErrorKind::Unknown("X".into()),
        ),
    ];
    for (input, tag, kind) in cases {
        let got = parse_command(input.as_bytes(), &ParseOptions::default());
        let want = ParseError {
            tag: tag.map(|t| Tag::new(t.as_bytes()).unwrap()),
            kind,
        };
        assert_eq!(got, Err(want), "{input}");
    }
}

#[test]
fn utf8_accept_changes_mailbox_decoding() {
    let opts = ParseOptions {
        utf8_accept: true,
        ..ParseOptions::default()
    };
    let got = parse_command("a1 SELECT \"Entw&APw-rfe\"".as_bytes(), &opts).map(|c| c.body);
    assert_eq!(
        got,
        Ok(Select {
            mailbox: mb("Entw&APw-rfe"),
            params: SelectParams::default()
        })
    );
    let got = parse_command("a1 SELECT \"Entwürfe\"".as_bytes(), &opts).map(|c| c.body);
    assert_eq!(
        got,
        Ok(Select {
            mailbox: mb("Entwürfe"),
            params: SelectParams::default()
        })
    );
    assert!(
        parse_command(
            "a1 SELECT \"Entwürfe\"".as_bytes(),
            &ParseOptions::default()
        )
        .is_err()
    );
    // RFC 9051 §9: atoms are ASCII; UTF-8 names come quoted or as literals.
    assert!(parse_command("a1 SELECT Entwürfe".as_bytes(), &opts).is_err());
}

#[test]
fn limits_are_arguments() {
    let opts = ParseOptions {
        max_ranges: 2,
        max_search_depth: 2,
        ..ParseOptions::default()
    };
    let got = parse_command(b"a1 FETCH 1,2,3 FLAGS", &opts).map_err(|e| e.kind);
    assert_eq!(got, Err(ParseErrorKind::TooManyRanges { max: 2 }));
    let got = parse_command(b"a1 SEARCH NOT NOT SEEN", &opts).map_err(|e| e.kind);
    assert_eq!(got, Err(ParseErrorKind::TooDeep { max: 2 }));
    let opts = ParseOptions {
        max_append_messages: 2,
        ..ParseOptions::default()
    };
    let two = b"a1 APPEND x {1+}\r\na {1+}\r\nb";
    assert!(parse_command(two, &opts).is_ok());
    let three = b"a1 APPEND x {1+}\r\na {1+}\r\nb {1+}\r\nc";
    let got = parse_command(three, &opts).map_err(|e| e.kind);
    assert_eq!(got, Err(ParseErrorKind::TooManyMessages { max: 2 }));
}

#[test]
fn continuation_lines() {
    assert!(is_idle_done(b"DONE\r\n"));
    assert!(is_idle_done(b"done"));
    assert!(!is_idle_done(b"DONE x\r\n"));
    assert_eq!(parse_sasl_line(b"*\r\n"), Ok(None));
    assert_eq!(parse_sasl_line(b"\r\n"), Ok(Some(SaslResponse::Empty)));
    assert_eq!(
        parse_sasl_line(b"AGE=\r\n"),
        Ok(Some(SaslResponse::Base64("AGE=".into())))
    );
    assert!(parse_sasl_line(b"A B\r\n").is_err());
    assert_eq!(
        format!("{:?}", Password::new(b"x".to_vec())),
        "Password(<redacted>)"
    );
}
