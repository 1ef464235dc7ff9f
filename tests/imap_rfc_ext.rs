//! The examples of the extension RFCs Postern advertises, replayed as raw
//! transcripts over TLS (see imap_transcript.py): LITERAL+, SASL-IR, ID,
//! ENABLE, NAMESPACE, IDLE, UNSELECT, CHILDREN, SPECIAL-USE, UIDPLUS, MOVE,
//! ESEARCH, SEARCHRES, SORT, SORT=DISPLAY, THREAD, LIST-EXTENDED, LIST-STATUS,
//! CREATE-SPECIAL-USE, BINARY and STATUS=SIZE.

use crate::imap_rfc::eleven_messages;
use crate::imap_transcript::{append, login, message, play, seen, simple};
use crate::smtp::mail_env;

/// `\0ann@example.org\0ann password` in base64 (SASL PLAIN, RFC 4616).
const ANN_PLAIN: &str = "AGFubkBleGFtcGxlLm9yZwBhbm4gcGFzc3dvcmQ=";

/// RFC 7888 (LITERAL+), RFC 4959 (SASL-IR), RFC 2971 (ID), RFC 5161
/// (ENABLE), RFC 2342 (NAMESPACE).
#[test]
fn literal_plus_sasl_ir_id_enable_and_namespace_examples() {
    let (env, server) = mail_env();
    let t = format!(
        r#"
@a
# RFC 2971 §4: ID works before login; the server may answer NIL or its own list
C: a023 ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")
S: * ID <<(NIL|\(("[^"]*" ("[^"]*"|NIL) ?)+\))>>
S: a023 OK <<*>>
C: a024 ID NIL
S: * ID <<*>>
S: a024 OK <<*>>
# RFC 5161 §3.1: ENABLE only once authenticated
C: t0 ENABLE CONDSTORE
S: t0 <<(BAD|NO)>> <<*>>
# RFC 4959 §3 without an initial response: an empty challenge, then the response
C: A01 AUTHENTICATE PLAIN
S: + <<*>>
C: *
S: A01 BAD <<*>>
C: A02 AUTHENTICATE PLAIN
S: + <<*>>
C: {ANN_PLAIN}
S: A02 OK <<*>>
# RFC 2342 §5
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) NIL NIL
S: A001 OK <<*>>
# RFC 5161 §4: unknown extensions are ignored, only CONDSTORE is enabled
C: t2 ENABLE CONDSTORE X-GOOD-IDEA
S: * ENABLED CONDSTORE
S: t2 OK <<*>>
C: t3 ENABLE CONDSTORE
S: * ENABLED<<( CONDSTORE)?>>
S: t3 OK <<*>>
C: A002 LOGOUT
S: * BYE <<*>>
S: A002 OK <<*>>
# RFC 4959 §3 with an initial response in the command
@b
C: A01 AUTHENTICATE PLAIN {ANN_PLAIN}
S: A01 OK <<*>>
# RFC 7888 §3: non-synchronizing literals go without waiting for "+"
C: A003 APPEND Drafts <<lit+:Subject: draft\r\n\r\nbody\r\n>>
S: A003 OK [APPENDUID <<n>> 1] <<*>>
C: A004 STATUS <<lit+:Drafts>> (MESSAGES)
S: * STATUS Drafts (MESSAGES 1)
S: A004 OK <<*>>
@c
C: A001 LOGIN <<lit+:ann@example.org>> <<lit+:ann password>>
S: A001 OK <<*>>
@d
C: A001 AUTHENTICATE PLAIN AGFubkBleGFtcGxlLm9yZwB3cm9uZw==
S: A001 NO [AUTHENTICATIONFAILED] <<*>>
# AUTH=LOGIN (draft-murchison-sasl-login): user name and password prompts
C: A002 AUTHENTICATE LOGIN
S: + VXNlcm5hbWU6
C: YW5uQGV4YW1wbGUub3Jn
S: + UGFzc3dvcmQ6
C: YW5uIHBhc3N3b3Jk
S: A002 OK <<*>>
"#
    );
    play(&env, &server, &t);
}

/// RFC 2177 §3: a client in IDLE hears of new mail, flag changes and
/// expunges made by another session at once, and DONE ends the IDLE.
#[test]
fn idle_hears_other_sessions_rfc2177() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &append("INBOX", "", "", "Subject: 1\\r\\n\\r\\nx\\r\\n"),
        &append("INBOX", "", "", "Subject: 2\\r\\n\\r\\nx\\r\\n"),
        &append("INBOX", "", "", "Subject: 3\\r\\n\\r\\nx\\r\\n"),
        &seen("INBOX"),
        "!C: s SELECT INBOX\n@b\n",
        &login("ann@example.org"),
        "!C: s SELECT INBOX\n",
        r#"
@a
C: A001 IDLE
S: + <<*>>
@b
C: b1 APPEND INBOX <<lit+:Subject: 4\r\n\r\nx\r\n>>
S: * 4 EXISTS
S: b1 OK <<*>>
@a
W: * 4 EXISTS
W: * 1 RECENT
@b
C: b2 STORE 1 +FLAGS.SILENT (\Flagged)
S: b2 OK <<*>>
@a
W: * 1 FETCH (FLAGS (\Flagged)<<( UID 1)?>>)
C: DONE
S: A001 OK <<*>>
C: A002 NOOP
S: A002 OK <<*>>
C: A003 IDLE
S: + <<*>>
@b
C: b3 STORE 2 +FLAGS.SILENT (\Deleted)
S: b3 OK <<*>>
C: b4 EXPUNGE
S: * 2 EXPUNGE
S: b4 OK <<*>>
@a
W: * 2 EXPUNGE
?: * 2 FETCH (FLAGS (\Deleted)<<( UID 2)?>>)
C: DONE
S: A003 OK <<*>>
C: A004 FETCH 1:* (UID)
S: * 1 FETCH (UID 1)
S: * 2 FETCH (UID 3)
S: * 3 FETCH (UID 4)
S: A004 OK <<*>>
# RFC 3501 §7.4.1 (RFC 9051 §7.5.1): no EXPUNGE while answering FETCH,
# STORE or SEARCH; the next NOOP brings it
@b
!C: s STORE 1 +FLAGS.SILENT (\Deleted)
!C: s EXPUNGE
@a
C: A006 FETCH 3 (UID)
S: * 3 FETCH (UID 4)
N: * <<n>> EXPUNGE
S: ...
S: A006 OK <<*>>
C: A007 STORE 3 +FLAGS (\Seen)
S: * 3 FETCH (FLAGS (\Recent \Seen))
N: * <<n>> EXPUNGE
S: ...
S: A007 OK <<*>>
# (message 1 is gone: RFC 2180 §4.1 lets SEARCH leave it out)
C: A008 SEARCH ALL
S: * SEARCH <<(1 )?>>2 3
N: * <<n>> EXPUNGE
S: ...
S: A008 OK <<*>>
C: A009 NOOP
S: * 1 EXPUNGE
?: * <<n>> FETCH <<*>>
S: A009 OK <<*>>
C: A010 FETCH 1:* (UID)
S: * 1 FETCH (UID 3)
S: * 2 FETCH (UID 4)
S: A010 OK <<*>>
C: A005 DONE
S: A005 BAD <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 3691 (UNSELECT), RFC 3348 (CHILDREN), RFC 6154 (SPECIAL-USE).
#[test]
fn unselect_children_and_special_use_examples() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &append("INBOX", "\\Deleted", "", "Subject: 1\\r\\n\\r\\nx\\r\\n"),
        r#"
# RFC 3691 §3: UNSELECT leaves the selected state without expunging
!C: s SELECT INBOX
C: A342 UNSELECT
S: A342 OK <<*>>
N: * <<n>> EXPUNGE
C: A343 FETCH 1 (FLAGS)
S: A343 BAD <<*>>
C: A344 UNSELECT
S: A344 BAD <<*>>
C: A345 STATUS INBOX (MESSAGES)
S: * STATUS INBOX (MESSAGES 1)
S: A345 OK <<*>>
# RFC 3348 §3/§4: \HasChildren and \HasNoChildren
!C: s CREATE Fruit/Apple
!C: s CREATE Fruit/Banana
!C: s CREATE Vegetable
C: ABC01 LIST "" %
S: * LIST (\HasNoChildren) "/" INBOX
S: * LIST (\HasChildren) "/" Fruit
S: * LIST (\HasNoChildren) "/" Vegetable
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: * LIST (\Drafts \HasNoChildren) "/" Drafts
S: * LIST (\HasNoChildren \Trash) "/" Trash
S: * LIST (\HasNoChildren \Junk) "/" Junk
S: * LIST (\Archive \HasNoChildren) "/" Archive
S: ABC01 OK <<*>>
C: ABC02 LIST "" Fruit/%
S: * LIST (\HasNoChildren) "/" Fruit/Apple
S: * LIST (\HasNoChildren) "/" Fruit/Banana
S: ABC02 OK <<*>>
# RFC 6154 §5.1: the special-use attributes in a plain LIST
C: t1 LIST "" "%"
S: * LIST (\HasNoChildren) "/" INBOX
S: * LIST (\HasChildren) "/" Fruit
S: * LIST (\HasNoChildren) "/" Vegetable
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: * LIST (\Drafts \HasNoChildren) "/" Drafts
S: * LIST (\HasNoChildren \Trash) "/" Trash
S: * LIST (\HasNoChildren \Junk) "/" Junk
S: * LIST (\Archive \HasNoChildren) "/" Archive
S: t1 OK <<*>>
# RFC 6154 §5.2: only the special-use mailboxes (LIST-EXTENDED selection)
C: t2 LIST (SPECIAL-USE) "" "*"
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: * LIST (\Drafts \HasNoChildren) "/" Drafts
S: * LIST (\HasNoChildren \Trash) "/" Trash
S: * LIST (\HasNoChildren \Junk) "/" Junk
S: * LIST (\Archive \HasNoChildren) "/" Archive
S: t2 OK <<*>>
C: t3 LIST "" "S%" RETURN (SPECIAL-USE)
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: t3 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 4315 §3 and §2.1: APPENDUID, COPYUID with non-contiguous source
/// UIDs, UID EXPUNGE removing only the named deleted messages.
#[test]
fn uidplus_examples_rfc4315() {
    let (env, server) = mail_env();
    let mut setup = String::new();
    for i in 1..=5 {
        setup.push_str(&append(
            "INBOX",
            "",
            "",
            &format!("Subject: {i}\\r\\n\\r\\nx\\r\\n"),
        ));
    }
    let msg = simple(
        "Fred Foobar <foobar@example.org>",
        "afternoon meeting",
        "Mon, 7 Feb 1994 21:52:25 -0800",
        "Hello Joe",
    );
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &setup,
        &seen("INBOX"),
        r#"
!C: s CREATE meeting
!C: s SELECT INBOX
!C: s STORE 3 +FLAGS.SILENT (\Deleted)
!C: s EXPUNGE
"#,
        &format!(
            "C: A003 APPEND meeting (\\Seen) <<lit:{msg}>>\nS: + <<*>>\nS: A003 OK [APPENDUID <<uvm=\\d+>> 1] <<*>>\n"
        ),
        r#"
C: A004 COPY 2:4 meeting
S: A004 OK [COPYUID <<$uvm>> 2,4:5 2:4] <<*>>
C: A005 STATUS meeting (MESSAGES UIDNEXT)
S: * STATUS meeting (MESSAGES 4 UIDNEXT 5)
S: A005 OK <<*>>
C: A006 UID COPY 1 meeting
S: A006 OK [COPYUID <<$uvm>> 1 5] <<*>>
# §2.1: every message is \Deleted, UID EXPUNGE removes only UIDs 2 to 4
!C: s STORE 1:* +FLAGS.SILENT (\Deleted)
C: A007 UID EXPUNGE 2:4
X: 2,3
S: A007 OK <<*>>
C: A008 UID FETCH 1:* (FLAGS)
S: * 1 FETCH (UID 1 FLAGS (\Deleted))
S: * 2 FETCH (UID 5 FLAGS (\Deleted))
S: A008 OK <<*>>
C: A009 UID EXPUNGE 9:10
S: A009 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 6851 §4: MOVE and UID MOVE answer COPYUID in an untagged OK before
/// the expunges (VANISHED under QRESYNC); the messages are in the target.
#[test]
fn move_examples_rfc6851() {
    let (env, server) = mail_env();
    let mut setup = String::new();
    for i in 1..=6 {
        setup.push_str(&append(
            "INBOX",
            "",
            "",
            &format!("Subject: {i}\\r\\n\\r\\nx\\r\\n"),
        ));
    }
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &setup,
        r#"
!C: s CREATE foo
C: a0 STATUS foo (UIDVALIDITY)
S: * STATUS foo (UIDVALIDITY <<uvf=\d+>>)
S: a0 OK <<*>>
!C: s SELECT INBOX
# §4.1
C: a UID MOVE 2:3 foo
O: * OK [COPYUID <<$uvf>> 2:3 1:2] <<*>>
O: * <<n>> EXPUNGE
X: 2,3
S: a OK <<*>>
# §4.3: by sequence number
C: b MOVE 1 foo
O: * OK [COPYUID <<$uvf>> 1 3] <<*>>
O: * 1 EXPUNGE
S: b OK <<*>>
C: c MOVE 1 nosuchbox
S: c NO [TRYCREATE] <<*>>
C: d STATUS foo (MESSAGES)
S: * STATUS foo (MESSAGES 3)
S: d OK <<*>>
C: e FETCH 1:* (UID)
S: * 1 FETCH (UID 4)
S: * 2 FETCH (UID 5)
S: * 3 FETCH (UID 6)
S: e OK <<*>>
# §4.2: with QRESYNC the removal is VANISHED
@q
"#,
        &login("ann@example.org"),
        r#"
!C: s ENABLE QRESYNC
!C: s SELECT INBOX
C: f UID MOVE 5 foo
O: * OK [COPYUID <<$uvf>> 5 4] <<*>>
O: * VANISHED 5
S: f OK <<*>>
@a
C: g NOOP
S: * 2 EXPUNGE
S: g OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 4731 §3.1 (ESEARCH) and RFC 5182 §2.4 (SEARCHRES) examples over the
/// eleven messages of the RFC 3501 SEARCH example.
#[test]
fn esearch_and_searchres_examples() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &eleven_messages("INBOX"),
        r#"
!C: s SELECT INBOX
# RFC 4731 §3.1
C: A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: * ESEARCH (TAG "A282") MIN 2 COUNT 3
S: A282 OK <<*>>
C: A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: * ESEARCH (TAG "A283") ALL 2,10:11
S: A283 OK <<*>>
C: A284 SEARCH RETURN (MIN MAX) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: * ESEARCH (TAG "A284") MIN 2 MAX 11
S: A284 OK <<*>>
C: A285 UID SEARCH RETURN (MIN MAX) 1:5000
S: * ESEARCH (TAG "A285") UID MIN 1 MAX 11
S: A285 OK <<*>>
C: A286 SEARCH RETURN (MIN MAX ALL) TEXT "no such text"
S: * ESEARCH (TAG "A286")
S: A286 OK <<*>>
C: A287 SEARCH RETURN (COUNT) TEXT "no such text"
S: * ESEARCH (TAG "A287") COUNT 0
S: A287 OK <<*>>
# RFC 5182 §2.4: SAVE alone answers no ESEARCH; $ is the saved result
C: A301 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: A301 OK <<*>>
C: A302 FETCH $ (UID FLAGS)
S: * 2 FETCH (UID 2 FLAGS (\Flagged \Seen))
S: * 10 FETCH (UID 10 FLAGS (\Flagged))
S: * 11 FETCH (UID 11 FLAGS (\Flagged))
S: A302 OK <<*>>
C: A303 SEARCH $ SEEN
S: * SEARCH 2
S: A303 OK <<*>>
# with MIN and MAX, $ holds only those two
C: A304 SEARCH RETURN (SAVE MIN MAX) FLAGGED
S: * ESEARCH (TAG "A304") MIN 1 MAX 11
S: A304 OK <<*>>
C: A305 FETCH $ (UID)
S: * 1 FETCH (UID 1)
S: * 11 FETCH (UID 11)
S: A305 OK <<*>>
C: A306 UID SEARCH RETURN (SAVE) DELETED
S: A306 OK <<*>>
C: A307 FETCH $ (UID)
S: A307 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 5256 (SORT, THREAD=ORDEREDSUBJECT, THREAD=REFERENCES) and RFC 5957
/// (SORT=DISPLAY) over six messages whose orders differ by criterion.
#[test]
fn sort_display_and_thread_examples() {
    let (env, server) = mail_env();
    // (From, Subject, Date, extra headers) for messages 1..6.
    let msgs: [(&str, &str, &str, &[&str]); 6] = [
        (
            "\"Zoe Adams\" <adams@example.net>",
            "Re: apples",
            "Fri, 3 Mar 2000 10:00:00 +0000",
            &[
                "Message-ID: <m1@x>",
                "In-Reply-To: <m3@x>",
                "References: <m3@x>",
            ],
        ),
        (
            "\"Bob Young\" <young@example.net>",
            "Bananas",
            "Wed, 1 Mar 2000 10:00:00 +0000",
            &["Message-ID: <m2@x>"],
        ),
        (
            "\"Carl Xu\" <xu@example.net>",
            "apples",
            "Thu, 2 Mar 2000 10:00:00 +0000",
            &["Message-ID: <m3@x>"],
        ),
        (
            "\"Al Zimmer\" <zimmer@example.net>",
            "Re: [fruit] Bananas",
            "Sat, 4 Mar 2000 10:00:00 +0000",
            &["Message-ID: <m4@x>", "References: <m2@x>"],
        ),
        (
            "\"Dee Brown\" <brown@example.net>",
            "cherries",
            "Sun, 5 Mar 2000 10:00:00 +0000",
            &["Message-ID: <m5@x>"],
        ),
        (
            "\"Eve Cole\" <cole@example.net>",
            "something else",
            "Mon, 6 Mar 2000 10:00:00 +0000",
            &["Message-ID: <m6@x>", "References: <m3@x>"],
        ),
    ];
    let mut setup = String::new();
    for (i, (from, subject, date, extra)) in msgs.iter().enumerate() {
        let mut headers = vec![
            format!("From: {from}"),
            "To: ann@example.org".to_string(),
            format!("Subject: {subject}"),
            format!("Date: {date}"),
        ];
        headers.extend(extra.iter().map(|h| h.to_string()));
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let internal = format!("{:02}-Mar-2000 12:00:00 +0000", i + 1);
        setup.push_str(&append("INBOX", "", &internal, &message(&headers, "x")));
    }
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &setup,
        r#"
!C: s SELECT INBOX
# RFC 5256 §3 (base subjects: apples 1 3, bananas 2 4, cherries 5, something else 6)
C: A282 SORT (SUBJECT) UTF-8 SINCE 2-Mar-2000
S: * SORT 3 2 4 5 6
S: A282 OK <<*>>
C: A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL
S: * SORT 1 3 4 2 5 6
S: A283 OK <<*>>
C: A284 SORT (SUBJECT) US-ASCII TEXT "not in mailbox"
S: * SORT
S: A284 OK <<*>>
C: A285 SORT (DATE) UTF-8 ALL
S: * SORT 2 3 1 4 5 6
S: A285 OK <<*>>
C: A286 SORT (REVERSE ARRIVAL) UTF-8 ALL
S: * SORT 6 5 4 3 2 1
S: A286 OK <<*>>
C: A287 SORT (FROM) UTF-8 ALL
S: * SORT 1 5 6 3 2 4
S: A287 OK <<*>>
C: A288 UID SORT (DATE) UTF-8 1:3
S: * SORT 2 3 1
S: A288 OK <<*>>
C: A289 SORT (DATE) KOI8-R ALL
S: A289 NO [BADCHARSET<<( \(.*\))?>>] <<*>>
# RFC 5957 §3: DISPLAYFROM sorts by display name, not mailbox
C: A290 SORT (DISPLAYFROM) UTF-8 ALL
S: * SORT 4 2 3 5 6 1
S: A290 OK <<*>>
# RFC 5256 §4: ORDEREDSUBJECT groups by base subject, REFERENCES by parents
C: A291 THREAD ORDEREDSUBJECT UTF-8 ALL
S: * THREAD (2 4)(3 1)(5)(6)
S: A291 OK <<*>>
C: A292 THREAD ORDEREDSUBJECT US-ASCII TEXT "gewp"
S: * THREAD
S: A292 OK <<*>>
C: A293 UID THREAD REFERENCES UTF-8 ALL
S: * THREAD (2 4)(3 (1)(6))(5)
S: A293 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 5258 (LIST-EXTENDED), RFC 5819 (LIST-STATUS), RFC 6154 §3
/// (CREATE-SPECIAL-USE), RFC 3516 (BINARY) and RFC 8438 (STATUS=SIZE).
#[test]
fn list_extended_list_status_create_special_use_binary_and_status_size() {
    let (env, server) = mail_env();
    let b64 = message(
        &[
            "From: ann@example.org",
            "Subject: b64",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=us-ascii",
            "Content-Transfer-Encoding: base64",
        ],
        "SGVsbG8gd29ybGQ=",
    );
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &append("INBOX", "\\Seen", "", &b64),
        r#"
!C: s CREATE Fruit/Apple
!C: s SUBSCRIBE Fruit/Apple
# RFC 5258 §5: selection and return options, several patterns
C: A01 LIST "" ("INBOX" "Sent") RETURN (CHILDREN SPECIAL-USE)
S: * LIST (\HasNoChildren) "/" INBOX
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: A01 OK <<*>>
C: A02 LIST (SUBSCRIBED) "" "Fruit*"
S: * LIST (\HasNoChildren \Subscribed) "/" Fruit/Apple
S: A02 OK <<*>>
C: A03 LIST (SUBSCRIBED RECURSIVEMATCH) "" "Fr%"
S: * LIST (<<(\\HasChildren)?>>) "/" Fruit ("CHILDINFO" ("SUBSCRIBED"))
S: A03 OK <<*>>
C: A04 LIST "" "no such%" RETURN (CHILDREN)
S: A04 OK <<*>>
# RFC 5819 §3: a STATUS after each selectable mailbox's LIST
C: A05 LIST "" "%" RETURN (STATUS (MESSAGES UNSEEN))
S: * LIST (\HasNoChildren) "/" INBOX
S: * STATUS INBOX (MESSAGES 1 UNSEEN 0)
S: * LIST (\HasChildren) "/" Fruit
S: * STATUS Fruit (MESSAGES 0 UNSEEN 0)
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: * STATUS Sent (MESSAGES 0 UNSEEN 0)
S: * LIST (\Drafts \HasNoChildren) "/" Drafts
S: * STATUS Drafts (MESSAGES 0 UNSEEN 0)
S: * LIST (\HasNoChildren \Trash) "/" Trash
S: * STATUS Trash (MESSAGES 0 UNSEEN 0)
S: * LIST (\HasNoChildren \Junk) "/" Junk
S: * STATUS Junk (MESSAGES 0 UNSEEN 0)
S: * LIST (\Archive \HasNoChildren) "/" Archive
S: * STATUS Archive (MESSAGES 0 UNSEEN 0)
S: A05 OK <<*>>
# RFC 6154 §3: CREATE with a use; an unknown use creates nothing
C: t1 CREATE MySpecial (USE (\Drafts))
S: t1 OK <<*>>
C: t2 LIST "" MySpecial
S: * LIST (\Drafts \HasNoChildren) "/" MySpecial
S: t2 OK <<*>>
C: t3 CREATE MyOther (USE (\Foo))
S: t3 NO [USEATTR] <<*>>
C: t4 LIST "" MyOther
S: t4 OK <<*>>
# RFC 3516 §4: BINARY decodes the transfer encoding
!C: s SELECT INBOX
C: B01 FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1] RFC822.SIZE)
S: * 1 FETCH (BINARY.SIZE[1] 11 BINARY[1] {11}Hello world RFC822.SIZE <<sz=\d+>>)
S: B01 OK <<*>>
C: B02 FETCH 1 (BODY.PEEK[1])
S: * 1 FETCH (BODY[1] {18}SGVsbG8gd29ybGQ=\r\n)
S: B02 OK <<*>>
# RFC 8438 §3: SIZE is the sum of the messages' RFC822.SIZE
C: Z01 STATUS INBOX (SIZE MESSAGES)
S: * STATUS INBOX (<<(SIZE \d+ MESSAGES 1|MESSAGES 1 SIZE \d+)>>)
S: Z01 OK <<*>>
C: Z02 STATUS INBOX (SIZE)
S: * STATUS INBOX (SIZE <<$sz>>)
S: Z02 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}
