//! Deviations from the RFCs (and from what clients expect) that an IMAP
//! conformance run found (issue 14), each replayed as a raw transcript over
//! TLS (see imap_transcript.py) that failed before its fix.

use crate::imap_transcript::{append, login, message, numbered, play};
use crate::smtp::mail_env;

/// RFC 4731 §3.2: with MIN and/or MAX (and neither ALL nor COUNT) the
/// MODSEQ of an ESEARCH answer is that of the MIN message, the MAX
/// message, or the higher of the two; otherwise the highest of all matches.
#[test]
fn esearch_modseq_with_min_max_is_that_of_those_messages_rfc4731_3_2() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &numbered(5),
        r#"
!C: s SELECT INBOX (CONDSTORE)
C: f1 FETCH 1:5 (MODSEQ)
S: * 1 FETCH (MODSEQ (<<m1=\d+>>))
S: * 2 FETCH (MODSEQ (<<m2=\d+>>))
S: * 3 FETCH (MODSEQ (<<n>>))
S: * 4 FETCH (MODSEQ (<<m4=\d+>>))
S: * 5 FETCH (MODSEQ (<<m5=\d+>>))
S: f1 OK <<*>>
# message 3 becomes the one changed last, so its MODSEQ is the highest
C: f2 STORE 3 +FLAGS (\Flagged)
S: * 3 FETCH (FLAGS (\Flagged) UID 3 MODSEQ (<<m3=\d+>>))
S: f2 OK <<*>>
C: e1 SEARCH RETURN (MIN) MODSEQ 1
S: * ESEARCH (TAG "e1") MIN 1 MODSEQ <<$m1>>
S: e1 OK <<*>>
C: e2 SEARCH RETURN (MAX) MODSEQ 1
S: * ESEARCH (TAG "e2") MAX 5 MODSEQ <<$m5>>
S: e2 OK <<*>>
C: e3 SEARCH RETURN (MIN MAX) MODSEQ 1
S: * ESEARCH (TAG "e3") MIN 1 MAX 5 MODSEQ <<$m5>>
S: e3 OK <<*>>
C: e4 UID SEARCH RETURN (MIN MAX) UID 2:4 MODSEQ 1
S: * ESEARCH (TAG "e4") UID MIN 2 MAX 4 MODSEQ <<$m4>>
S: e4 OK <<*>>
C: e5 SEARCH RETURN (MIN SAVE) 1,2 MODSEQ 1
S: * ESEARCH (TAG "e5") MIN 1 MODSEQ <<$m1>>
S: e5 OK <<*>>
# with COUNT or ALL, every match counts
C: e6 SEARCH RETURN (MIN COUNT) MODSEQ 1
S: * ESEARCH (TAG "e6") MIN 1 COUNT 5 MODSEQ <<$m3>>
S: e6 OK <<*>>
C: e7 SEARCH RETURN (ALL) MODSEQ 1
S: * ESEARCH (TAG "e7") ALL 1:5 MODSEQ <<$m3>>
S: e7 OK <<*>>
C: e8 SEARCH RETURN (MIN MAX) 2 MODSEQ 1
S: * ESEARCH (TAG "e8") MIN 2 MAX 2 MODSEQ <<$m2>>
S: e8 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 3501 §6.3.9 (and RFC 9051 §6.3.7): DELETE must not remove the
/// name from the subscriptions, which are names, not mailboxes; LIST
/// (SUBSCRIBED) then shows it `\NonExistent` (RFC 5258 §3), LSUB as
/// `\Noselect`, and a mailbox created again under the name is subscribed.
/// RFC 9051 §6.3.8: UNSUBSCRIBE of a name not subscribed is not an error.
#[test]
fn delete_keeps_the_subscription_rfc3501_6_3_9() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        r#"
!C: s CREATE gone
!C: s SUBSCRIBE gone
C: d1 DELETE gone
S: d1 OK <<*>>
C: d2 LIST (SUBSCRIBED) "" "gone"
S: * LIST (<<(\\HasNoChildren )?>>\NonExistent \Subscribed) "/" gone
S: d2 OK <<*>>
C: d3 LSUB "" "gone"
S: * LSUB (<<(\\HasNoChildren )?>>\Noselect) "/" gone
S: d3 OK <<*>>
C: d4 LIST "" "gone"
S: d4 OK <<*>>
C: d5 LIST "" "gone" RETURN (SUBSCRIBED)
S: d5 OK <<*>>
# the subscription is the name's: the new mailbox is subscribed
!C: s CREATE gone
C: d6 LIST "" "gone" RETURN (SUBSCRIBED)
S: * LIST (\HasNoChildren \Subscribed) "/" gone
S: d6 OK <<*>>
!C: s DELETE gone
C: d7 UNSUBSCRIBE gone
S: d7 OK <<*>>
C: d8 LIST (SUBSCRIBED) "" "gone"
S: d8 OK <<*>>
!C: s ENABLE IMAP4rev2
C: d9 UNSUBSCRIBE never-subscribed
S: d9 OK <<*>>
C: d10 UNSUBSCRIBE Sent
S: d10 OK <<*>>
C: d11 UNSUBSCRIBE Sent
S: d11 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 5256 §3 step 1C: a message's own References give its parent; the
/// parent presumed from another message's References is thrown away
/// first, even when the new link is then refused because it would loop.
#[test]
fn thread_references_drops_a_presumed_parent_rfc5256_3() {
    let (env, server) = mail_env();
    // (Message-ID, References, Date, Subject): message 3 is the oldest.
    let msgs = [
        ("<a@b>", "", "Wed, 3 Jan 2024 10:00:00 +0000", "one"),
        (
            "<b@b>",
            "<a@b> <c@b>",
            "Tue, 2 Jan 2024 10:00:00 +0000",
            "two",
        ),
        ("<c@b>", "<b@b>", "Mon, 1 Jan 2024 10:00:00 +0000", "three"),
    ];
    let mut setup = String::new();
    for (id, refs, date, subject) in msgs {
        let mut headers = vec![
            format!("Message-ID: {id}"),
            format!("Subject: {subject}"),
            format!("Date: {date}"),
        ];
        if !refs.is_empty() {
            headers.push(format!("References: {refs}"));
        }
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        setup.push_str(&append("INBOX", "", "", &message(&headers, "x")));
    }
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &setup,
        r#"
!C: s SELECT INBOX
C: t1 THREAD REFERENCES UTF-8 ALL
S: * THREAD (3 2)(1)
S: t1 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 9051 §9 (CHAR8) and §7.5.2: a `{n}` literal never holds NUL. A
/// part holding NUL that a client APPENDs in a `~{n}` literal is stored
/// base64-encoded (RFC 3516 §4.4), so BODY[] stays a plain literal and
/// BINARY[] gives back the client's bytes, in `~{n}` as they hold NUL
/// (RFC 3516 §4.3); parts without NUL keep their bytes. A NUL that is
/// stored elsewhere (a header) goes out as 0x80 in `{n}`.
#[test]
fn nul_never_goes_out_in_a_plain_literal_rfc9051_9_rfc3516_4() {
    let (env, server) = mail_env();
    let mixed = "MIME-Version: 1.0\\r\\nContent-Type: multipart/mixed; boundary=xx\\r\\n\\r\\n\
        --xx\\r\\nContent-Type: text/plain\\r\\n\\r\\nhello\\r\\n\
        --xx\\r\\nContent-Type: application/octet-stream\\r\\nContent-Transfer-Encoding: binary\\r\\n\\r\\n\
        ab\0cd\0ef\\r\\n--xx--\\r\\n";
    let header_nul = "Subject: x\\r\\nX-Junk: a\0b\\r\\n\\r\\nbody\\r\\n";
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &format!("C: b1 APPEND INBOX <<lit8+:{mixed}>>\nS: b1 OK [APPENDUID <<n>> 1] <<*>>\n"),
        &format!("C: b2 APPEND INBOX <<lit8+:{header_nul}>>\nS: b2 OK [APPENDUID <<n>> 2] <<*>>\n"),
        "!C: s SELECT INBOX\n",
        r#"
C: f1 FETCH 1 (BODY.PEEK[1] BINARY.PEEK[1])
S: * 1 FETCH (BODY[1] {5}hello BINARY[1] {5}hello)
S: f1 OK <<*>>
C: f2 FETCH 1 (BODY.PEEK[2])
S: * 1 FETCH (BODY[2] {12}YWIAY2QAZWY=)
S: f2 OK <<*>>
C: f3 FETCH 1 (BODY.PEEK[2.MIME])
S: * 1 FETCH (BODY[2.MIME] {<<n>>}Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n)
S: f3 OK <<*>>
"#,
        "C: f4 FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])\n",
        "S: * 1 FETCH (BINARY[2] ~{8}ab\0cd\0ef BINARY.SIZE[2] 8)\nS: f4 OK <<*>>\n",
        r#"
C: f5 FETCH 2 (BODY.PEEK[HEADER] BODY.PEEK[])
N: <<.*\x00.*>>
S: * 2 FETCH (BODY[HEADER] {<<n>>}Subject: x\r\nX-Junk: a<<\ufffd>>b\r\n\r\n BODY[] {<<n>>}Subject: x\r\nX-Junk: a<<\ufffd>>b\r\n\r\nbody\r\n)
S: f5 OK <<*>>
C: f6 FETCH 2 (BINARY.PEEK[])
S: * 2 FETCH (BINARY[] ~{<<n>>}Subject: x\r\nX-Junk: a<<\x00>>b\r\n\r\nbody\r\n)
S: f6 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// Issue 14 item 8, where the RFCs allow either and clients expect one:
/// CREATE does not subscribe (RFC 9051 §6.3.4 leaves it to the client;
/// a new user's folders are subscribed); a name that parses but is not
/// valid modified UTF-7 (RFC 3501 §5.1.3) is `NO`, not `BAD`.
#[test]
fn create_does_not_subscribe_and_a_bad_utf7_name_is_no() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        r#"
C: c1 CREATE newbox
S: c1 OK <<*>>
C: c2 CREATE parent/child
S: c2 OK <<*>>
C: c3 LIST (SUBSCRIBED) "" "*"
S: * LIST (\HasNoChildren \Subscribed) "/" INBOX
S: * LIST (\HasNoChildren \Sent \Subscribed) "/" Sent
S: * LIST (\Drafts \HasNoChildren \Subscribed) "/" Drafts
S: * LIST (\HasNoChildren \Subscribed \Trash) "/" Trash
S: * LIST (\HasNoChildren \Junk \Subscribed) "/" Junk
S: * LIST (\Archive \HasNoChildren \Subscribed) "/" Archive
S: c3 OK <<*>>
C: c4 LSUB "" "*"
S: * LSUB (<<*>>) "/" <<(INBOX|Sent|Drafts|Trash|Junk|Archive)>>
S: * LSUB (<<*>>) "/" <<(INBOX|Sent|Drafts|Trash|Junk|Archive)>>
S: * LSUB (<<*>>) "/" <<(INBOX|Sent|Drafts|Trash|Junk|Archive)>>
S: * LSUB (<<*>>) "/" <<(INBOX|Sent|Drafts|Trash|Junk|Archive)>>
S: * LSUB (<<*>>) "/" <<(INBOX|Sent|Drafts|Trash|Junk|Archive)>>
S: * LSUB (<<*>>) "/" <<(INBOX|Sent|Drafts|Trash|Junk|Archive)>>
S: c4 OK <<*>>
C: u1 SELECT "&Jjo"
S: u1 NO <<*>>
C: u2 EXAMINE "x&"
S: u2 NO <<*>>
C: u3 STATUS "&Jjo" (MESSAGES)
S: u3 NO <<*>>
C: u4 LIST "" "&Jjo"
S: u4 NO <<*>>
# still BAD: a command that does not parse
C: u5 SELECT
S: u5 BAD <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 6851 §3.3 leaves MOVE into the mailbox the messages are in to the
/// server; it works as COPY and EXPUNGE would (new UIDs at the end).
#[test]
fn move_into_the_same_mailbox_gives_new_uids_rfc6851_3_3() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &numbered(2),
        r#"
!C: s SELECT INBOX
C: a0 STATUS INBOX (UIDVALIDITY)
S: * STATUS INBOX (UIDVALIDITY <<uv=\d+>>)
S: a0 OK <<*>>
C: m1 MOVE 1 INBOX
O: * OK [COPYUID <<$uv>> 1 3] <<*>>
O: * 1 EXPUNGE
S: * 2 EXISTS
# the new copy is recent to the session that owns the mailbox's recent
# messages (RFC 3501 §2.3.2): this one, since it selected first
S: * 1 RECENT
S: m1 OK <<*>>
C: m2 FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])
S: * 1 FETCH (UID 2 BODY[HEADER.FIELDS (SUBJECT)] {14}Subject: 2\r\n\r\n)
S: * 2 FETCH (UID 3 BODY[HEADER.FIELDS (SUBJECT)] {14}Subject: 1\r\n\r\n)
S: m2 OK <<*>>
C: m3 UID MOVE 2:3 INBOX
O: * OK [COPYUID <<$uv>> 2:3 4:5] <<*>>
X: 1,2
S: * 2 EXISTS
S: * 2 RECENT
S: m3 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 3501 §7.2.6 / RFC 9051 §7.3.5: when a STORE brings a keyword the
/// mailbox had not had, every session with it selected (the storing one
/// too) gets the new `* FLAGS` and `PERMANENTFLAGS` before the FETCH.
#[test]
fn a_new_keyword_sends_flags_to_every_session_rfc3501_7_2_6() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &numbered(2),
        "!C: s SELECT INBOX\n@b\n",
        &login("ann@example.org"),
        r#"
!C: s SELECT INBOX
@a
C: k1 STORE 1 +FLAGS ($Label1)
O: * FLAGS ($Label1 \Answered \Deleted \Draft \Flagged \Seen)
O: * OK [PERMANENTFLAGS ($Label1 \* \Answered \Deleted \Draft \Flagged \Seen)] <<*>>
O: * 1 FETCH (FLAGS ($Label1))
S: k1 OK <<*>>
@b
C: k2 NOOP
O: * FLAGS ($Label1 \Answered \Deleted \Draft \Flagged \Seen)
O: * OK [PERMANENTFLAGS ($Label1 \* \Answered \Deleted \Draft \Flagged \Seen)] <<*>>
O: * 1 FETCH (FLAGS ($Label1) UID 1)
S: k2 OK <<*>>
# a keyword the mailbox already has brings no FLAGS
@a
C: k3 STORE 2 +FLAGS ($Label1)
S: * 2 FETCH (FLAGS ($Label1))
S: k3 OK <<*>>
@b
C: k4 NOOP
S: * 2 FETCH (FLAGS ($Label1) UID 2)
S: k4 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}
