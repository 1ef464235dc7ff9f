//! IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051) base command examples
//! replayed as raw transcripts over TLS: each RFC example with the mailbox
//! set up so that its numbers make sense here, comparing the response kinds,
//! codes and the numbers the setup determines. The extensions' examples are
//! in imap_rfc_ext.rs and imap_rfc_sync.rs.

use crate::imap_transcript::{append, caps, login, play, seen, simple};
use crate::smtp::mail_env;

/// Every extension these tests replay, as advertised once logged in.
pub const EXTENSIONS: &str = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT \
    CHILDREN SPECIAL-USE UIDPLUS MOVE ESEARCH SEARCHRES SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT \
    THREAD=REFERENCES CONDSTORE QRESYNC UTF8=ACCEPT QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE \
    COMPRESS=DEFLATE WITHIN SAVEDATE UNAUTHENTICATE PREVIEW MULTIAPPEND REPLACE PARTIAL OBJECTID UIDONLY ESORT CONTEXT=SEARCH CONTEXT=SORT CATENATE METADATA METADATA-SERVER NOTIFY";

/// RFC 9051 §6.1, §6.2: CAPABILITY, NOOP, STARTTLS (with LOGINDISABLED
/// before it), LOGIN, LOGOUT.
#[test]
fn any_state_and_not_authenticated_examples_rfc9051_6_1_and_6_2() {
    let (env, server) = mail_env();
    let before_tls = caps("", "IMAP4rev1 STARTTLS LOGINDISABLED", "AUTH=PLAIN");
    let before_login = caps(
        "",
        "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN",
        "STARTTLS LOGINDISABLED UIDPLUS",
    );
    let after_login = caps("", EXTENSIONS, "AUTH=PLAIN LOGINDISABLED");
    let t = format!(
        r#"
@p plain
S: * OK [CAPABILITY{before_tls}] <<*>>
# §6.1.1
C: abcd CAPABILITY
S: * CAPABILITY{before_tls}
S: abcd OK <<*>>
# §6.1.2
C: a002 NOOP
S: a002 OK <<*>>
# §6.2.3: LOGINDISABLED means LOGIN is refused before TLS
C: a001 LOGIN ann@example.org "ann password"
S: a001 NO <<*>>
# §6.2.1
C: a002 STARTTLS
S: a002 OK <<*>>
C: a003 CAPABILITY
S: * CAPABILITY{before_login}
S: a003 OK <<*>>
C: a004 LOGIN ann@example.org "ann password"
S: a004 OK [CAPABILITY{after_login}] <<*>>
# §6.1.3
C: A023 LOGOUT
O: * BYE <<*>>
O: A023 OK <<*>>
@a
S: * OK [CAPABILITY{before_login}] <<*>>
C: a001 LOGIN ann@example.org "wrong password"
S: a001 NO [AUTHENTICATIONFAILED] <<*>>
C: a002 LOGIN ann@example.org "ann password"
S: a002 OK <<*>>
C: a003 CAPABILITY
S: * CAPABILITY{after_login}
S: a003 OK <<*>>
C: a004 LOGIN ann@example.org "ann password"
S: a004 BAD <<*>>
"#
    );
    play(&env, &server, &t);
}

/// RFC 9051 §6.3 / RFC 3501 §6.3: CREATE, LIST, DELETE (both examples),
/// RENAME (a hierarchy, and INBOX), SUBSCRIBE, UNSUBSCRIBE, LSUB, STATUS,
/// APPEND with a synchronizing literal.
#[test]
fn mailbox_examples_rfc3501_6_3() {
    let (env, server) = mail_env();
    let msg = simple(
        "Fred Foobar <foobar@Blurdybloop.example>",
        "afternoon meeting",
        "Mon, 7 Feb 1994 21:52:25 -0800 (PST)",
        "Hello Joe, do you think we can meet at 3:30 tomorrow?",
    );
    let t = [
        "@a\n",
        &login("ann@example.org"),
        r#"
# §6.3.3 CREATE: a trailing separator declares the name a parent
C: A003 CREATE owatagusiam/
S: A003 OK <<*>>
C: A004 CREATE owatagusiam/blurdybloop
S: A004 OK <<*>>
# §6.3.8 LIST: the empty pattern gives the delimiter and the root
C: A101 LIST "" ""
S: * LIST (\Noselect) "/" ""
S: A101 OK <<*>>
C: A102 LIST "" owatagusiam/%
S: * LIST (\HasNoChildren) "/" owatagusiam/blurdybloop
S: A102 OK <<*>>
C: A103 LIST "" %
S: * LIST (\HasNoChildren) "/" INBOX
S: * LIST (\HasChildren) "/" owatagusiam
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: * LIST (\Drafts \HasNoChildren) "/" Drafts
S: * LIST (\HasNoChildren \Trash) "/" Trash
S: * LIST (\HasNoChildren \Junk) "/" Junk
S: * LIST (\Archive \HasNoChildren) "/" Archive
S: A103 OK <<*>>
# §6.3.4 DELETE, second example: a parent with inferiors is deleted and
# becomes \Noselect (RFC 9051 lists it for `*` too; RFC 3501's example
# lists only the child there).
!C: s CREATE blurdybloop
!C: s CREATE foo/bar
C: A83 DELETE blurdybloop
S: A83 OK <<*>>
C: A84 DELETE foo
S: A84 OK <<*>>
C: A85 LIST "" foo*
S: * LIST (\HasChildren \Noselect) "/" foo
S: * LIST (\HasNoChildren) "/" foo/bar
S: A85 OK <<*>>
C: A86 LIST "" fo%
S: * LIST (\HasChildren \Noselect) "/" foo
S: A86 OK <<*>>
# first example: a \Noselect name with inferiors cannot be deleted
C: A87 DELETE foo/bar
S: A87 OK <<*>>
C: A88 LIST "" foo*
S: A88 OK <<*>>
# §6.3.5 RENAME: inferiors follow, INBOX's messages move and INBOX stays
!C: s CREATE blurdybloop
!C: s CREATE foo/bar
C: A683 RENAME blurdybloop sarasoop
S: A683 OK <<*>>
C: A684 RENAME foo zowie
S: A684 OK <<*>>
C: A685 LIST "" *
S: * LIST (\HasNoChildren) "/" INBOX
S: * LIST (\HasNoChildren) "/" owatagusiam/blurdybloop
S: * LIST (\HasChildren) "/" owatagusiam
S: * LIST (\HasNoChildren) "/" sarasoop
S: * LIST (\HasChildren) "/" zowie
S: * LIST (\HasNoChildren) "/" zowie/bar
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: * LIST (\Drafts \HasNoChildren) "/" Drafts
S: * LIST (\HasNoChildren \Trash) "/" Trash
S: * LIST (\HasNoChildren \Junk) "/" Junk
S: * LIST (\Archive \HasNoChildren) "/" Archive
S: A685 OK <<*>>
C: A686 RENAME zowie/bar sarasoop
S: A686 NO <<*>>
!C: s APPEND INBOX <<lit+:Subject: one\r\n\r\nx\r\n>>
!C: s APPEND INBOX <<lit+:Subject: two\r\n\r\nx\r\n>>
C: Z433 RENAME INBOX old-mail
S: Z433 OK <<*>>
C: Z434 LIST "" INBOX
S: * LIST (\HasNoChildren) "/" INBOX
S: Z434 OK <<*>>
C: Z435 LIST "" old-mail
S: * LIST (\HasNoChildren) "/" old-mail
S: Z435 OK <<*>>
# §6.3.10 STATUS
C: A042 STATUS old-mail (UIDNEXT MESSAGES)
S: * STATUS old-mail (<<(UIDNEXT 3 MESSAGES 2|MESSAGES 2 UIDNEXT 3)>>)
S: A042 OK <<*>>
C: A043 STATUS INBOX (MESSAGES UNSEEN)
S: * STATUS INBOX (MESSAGES 0 UNSEEN 0)
S: A043 OK <<*>>
# §6.3.6, §6.3.7, §6.3.9 (RFC 3501): SUBSCRIBE, UNSUBSCRIBE and LSUB
C: A002 SUBSCRIBE sarasoop
S: A002 OK <<*>>
C: A003 LSUB "" "sa*"
S: * LSUB (<<*>>) "/" sarasoop
S: A003 OK <<*>>
C: A004 UNSUBSCRIBE sarasoop
S: A004 OK <<*>>
C: A005 LSUB "" "sa*"
S: A005 OK <<*>>
C: A006 LIST "" "sa*"
S: * LIST (\HasNoChildren) "/" sarasoop
S: A006 OK <<*>>
# §6.3.11 APPEND with a synchronizing literal; a missing mailbox is TRYCREATE
"#,
        &format!(
            "C: A003 APPEND sarasoop (\\Seen) <<lit:{msg}>>\nS: + <<*>>\nS: A003 OK [APPENDUID <<n>> 1] <<*>>\n"
        ),
        &format!(
            "C: A004 APPEND saved-messages <<lit:{msg}>>\nS: ...\nS: A004 NO [TRYCREATE] <<*>>\n"
        ),
        &append("sarasoop", "", "", "Subject: x\\r\\n\\r\\ny\\r\\n"),
        r#"
C: A005 STATUS sarasoop (MESSAGES UNSEEN)
S: * STATUS sarasoop (MESSAGES 2 UNSEEN 1)
S: A005 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// Eleven messages for the SEARCH examples of RFC 3501 §6.4.4 and RFC 4731:
/// \Flagged on 1 (arrived 1993), 2, 5 (from Smith), 10 and 11, so
/// `FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"` finds 2, 10 and 11; \Seen on
/// 1 and 2 (the first unseen is 3); message 6 has UTF-8 in its body.
pub fn eleven_messages(mailbox: &str) -> String {
    let mut setup = String::new();
    for i in 1..=11u32 {
        let from = if i == 5 {
            "John Smith <smith@example.net>"
        } else {
            "Terry Gray <gray@example.net>"
        };
        let body = if i == 6 {
            "un caf\u{e9} cr\u{e8}me".to_string()
        } else {
            format!("message number {i}")
        };
        let msg = simple(
            from,
            &format!("message {i}"),
            &format!("Wed, {i} Jul 1996 02:44:25 -0700"),
            &body,
        );
        let internal = if i == 1 {
            "17-Jul-1993 02:44:25 -0700".to_string()
        } else {
            format!("{:02}-Jul-1996 02:44:25 -0700", i)
        };
        let mut flags = vec![];
        if [1, 2, 5, 10, 11].contains(&i) {
            flags.push("\\Flagged");
        }
        if i <= 2 {
            flags.push("\\Seen");
        }
        setup.push_str(&append(mailbox, &flags.join(" "), &internal, &msg));
    }
    setup.push_str(&seen(mailbox));
    setup
}

/// RFC 3501 §6.3.1, §6.3.2 and §6.4: SELECT, EXAMINE, SEARCH, FETCH,
/// STORE, COPY, UID, EXPUNGE, CHECK, CLOSE.
#[test]
fn selected_state_examples_rfc3501_6_4() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &eleven_messages("INBOX"),
        r#"
# §6.3.2 EXAMINE: read-only, STORE refused
C: A932 EXAMINE Sent
S: * FLAGS (\Answered \Deleted \Draft \Flagged \Seen)
S: * OK [PERMANENTFLAGS ()] <<*>>
S: * 0 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY <<n>>] <<*>>
S: * OK [UIDNEXT 1] <<*>>
S: * OK [MAILBOXID (<<M[0-9a-f]+>>)] <<*>>
?: * OK [HIGHESTMODSEQ <<n>>] <<*>>
S: A932 OK [READ-ONLY] <<*>>
C: A933 STORE 1:* +FLAGS (\Seen)
S: A933 <<(NO|BAD)>> <<*>>
# §6.3.1 SELECT
C: A142 SELECT INBOX
S: * 11 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 3] <<*>>
S: * OK [UIDVALIDITY <<uv=\d+>>] <<*>>
S: * OK [UIDNEXT 12] <<*>>
S: * OK [MAILBOXID (<<M[0-9a-f]+>>)] <<*>>
S: * FLAGS (\Answered \Deleted \Draft \Flagged \Seen)
S: * OK [PERMANENTFLAGS (\* \Answered \Deleted \Draft \Flagged \Seen)] <<*>>
# RFC 7162 §3.1.2.1 has HIGHESTMODSEQ on every SELECT; sent here once CONDSTORE is on
?: * OK [HIGHESTMODSEQ <<n>>] <<*>>
S: A142 OK [READ-WRITE] <<*>>
# §6.4.4 SEARCH
C: A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: * SEARCH 2 10 11
S: A282 OK <<*>>
C: A283 SEARCH TEXT "string not in mailbox"
S: * SEARCH
S: A283 OK <<*>>
C: A284 SEARCH CHARSET UTF-8 TEXT <<lit:crème>>
S: + <<*>>
S: * SEARCH 6
S: A284 OK <<*>>
C: A285 SEARCH CHARSET KOI8-R TEXT "x"
S: A285 NO [BADCHARSET<<( \(.*\))?>>] <<*>>
# §6.4.5 FETCH: BODY[...] sets \Seen, so FLAGS come back for 3 and 4
C: A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])
S: * 2 FETCH (FLAGS (\Flagged \Seen) BODY[HEADER.FIELDS (DATE FROM)] {<<n>>}From: Terry Gray <gray@example.net>\r\nDate: Wed, 2 Jul 1996 02:44:25 -0700\r\n\r\n)
S: * 3 FETCH (FLAGS (\Seen) BODY[HEADER.FIELDS (DATE FROM)] {<<n>>}From: Terry Gray <gray@example.net>\r\nDate: Wed, 3 Jul 1996 02:44:25 -0700\r\n\r\n)
S: * 4 FETCH (FLAGS (\Seen) BODY[HEADER.FIELDS (DATE FROM)] {<<n>>}From: Terry Gray <gray@example.net>\r\nDate: Wed, 4 Jul 1996 02:44:25 -0700\r\n\r\n)
S: A654 OK <<*>>
# §6.4.6 STORE
C: A003 STORE 2:4 +FLAGS (\Deleted)
S: * 2 FETCH (FLAGS (\Deleted \Flagged \Seen))
S: * 3 FETCH (FLAGS (\Deleted \Seen))
S: * 4 FETCH (FLAGS (\Deleted \Seen))
S: A003 OK <<*>>
# §6.4.7 COPY, with TRYCREATE for a missing mailbox
C: A002 COPY 2:4 MEETING
S: A002 NO [TRYCREATE] <<*>>
!C: s CREATE MEETING
C: A003 COPY 2:4 MEETING
S: A003 OK [COPYUID <<n>> 2:4 1:3] <<*>>
C: A004 STATUS MEETING (MESSAGES)
S: * STATUS MEETING (MESSAGES 3)
S: A004 OK <<*>>
# §6.4.8 UID: the UID comes back with every answer; n:* past the last UID
# still includes the last message
C: A999 UID FETCH 4:6 FLAGS
S: * 4 FETCH (<<(FLAGS \(\\Deleted \\Seen\) UID 4|UID 4 FLAGS \(\\Deleted \\Seen\))>>)
S: * 5 FETCH (<<(FLAGS \(\\Flagged\) UID 5|UID 5 FLAGS \(\\Flagged\))>>)
S: * 6 FETCH (<<(FLAGS \(\) UID 6|UID 6 FLAGS \(\))>>)
S: A999 OK <<*>>
C: A998 UID FETCH 559:* (UID)
S: * 11 FETCH (UID 11)
S: A998 OK <<*>>
# past the end: no UIDs there is fine, a sequence number there is an error
C: A996 UID FETCH 300:400 (FLAGS)
S: A996 OK <<*>>
C: A995 FETCH 12 (FLAGS)
S: A995 <<(BAD|NO)>> <<*>>
# §6.4.5: a partial fetch names its origin octet
C: A994 FETCH 11 (BODY.PEEK[]<0.9> BODY.PEEK[TEXT]<8.100>)
S: * 11 FETCH (BODY[]<0> {9}From: Ter BODY[TEXT]<8> {11}number 11\r\n)
S: A994 OK <<*>>
C: A997 UID STORE 11 +FLAGS.SILENT (\Answered)
S: A997 OK <<*>>
# §6.4.3 EXPUNGE: with 3, 4, 7 and 11 deleted the numbers shift as they go
!C: s STORE 2 -FLAGS.SILENT (\Deleted)
C: A201 STORE 7,11 +FLAGS.SILENT (\Deleted)
S: A201 OK <<*>>
C: A202 EXPUNGE
X: 3,4,7,11
S: A202 OK <<*>>
C: A203 FETCH 1:* (UID)
S: * 1 FETCH (UID 1)
S: * 2 FETCH (UID 2)
S: * 3 FETCH (UID 5)
S: * 4 FETCH (UID 6)
S: * 5 FETCH (UID 8)
S: * 6 FETCH (UID 9)
S: * 7 FETCH (UID 10)
S: A203 OK <<*>>
# §6.4.1 CHECK
C: FXXZ CHECK
S: FXXZ OK <<*>>
# §6.4.2 CLOSE expunges silently
!C: s STORE 1 +FLAGS.SILENT (\Deleted)
C: A341 CLOSE
S: A341 OK <<*>>
C: A342 STATUS INBOX (MESSAGES UIDNEXT)
S: * STATUS INBOX (MESSAGES 6 UIDNEXT 12)
S: A342 OK <<*>>
C: A343 FETCH 1 (FLAGS)
S: A343 BAD <<*>>
# §6.4.2: CLOSE of an EXAMINEd mailbox removes nothing
!C: s SELECT INBOX
!C: s STORE 1 +FLAGS.SILENT (\Deleted)
C: A344 EXAMINE INBOX
S: ...
S: A344 OK [READ-ONLY] <<*>>
C: A345 EXPUNGE
S: A345 NO <<*>>
# §6.3.2: reading a message in an EXAMINEd mailbox does not set \Seen
C: A345 FETCH 2 (BODY[TEXT])
S: * 2 FETCH (BODY[TEXT] {18}message number 5\r\n)
S: A345 OK <<*>>
C: A345 FETCH 2 (FLAGS)
S: * 2 FETCH (FLAGS (\Flagged))
S: A345 OK <<*>>
C: A346 CLOSE
S: A346 OK <<*>>
C: A347 STATUS INBOX (MESSAGES)
S: * STATUS INBOX (MESSAGES 6)
S: A347 OK <<*>>
# §6.3.1: a failed SELECT leaves no mailbox selected
!C: s SELECT INBOX
C: A348 SELECT nosuchbox
S: A348 NO <<*>>
C: A349 FETCH 1 (FLAGS)
S: A349 BAD <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 3501 §2.3.2 (issue 14 item 1): `\Recent` belongs to the first
/// session told of a message, and only while it stays: STATUS RECENT, `* n
/// RECENT` on SELECT and with EXISTS, FETCH FLAGS and SEARCH RECENT/NEW/OLD;
/// a second session gets none, EXAMINE shows them without taking them
/// (§6.3.2), and IMAP4rev2 sessions never see it (RFC 9051 §7.2.2).
#[test]
fn recent_belongs_to_one_session_until_it_leaves_rfc3501_2_3_2() {
    let (env, server) = mail_env();
    let msg = |s: &str| format!("Subject: {s}\\r\\n\\r\\nbody\\r\\n");
    let t = [
        "@a\n",
        &login("ann@example.org"),
        "!C: s CREATE r\n",
        &append("r", "", "", &msg("one")),
        &append("r", "", "", &msg("two")),
        r#"
C: a1 STATUS r (MESSAGES RECENT)
S: * STATUS r (MESSAGES 2 RECENT 2)
S: a1 OK <<*>>
C: a2 EXAMINE r
S: * FLAGS (<<*>>)
S: * OK [PERMANENTFLAGS ()] <<*>>
S: * 2 EXISTS
S: * 2 RECENT
S: * OK [UNSEEN 1] <<*>>
S: * OK [UIDVALIDITY <<n>>] <<*>>
S: * OK [UIDNEXT 3] <<*>>
S: * OK [MAILBOXID (<<M[0-9a-f]+>>)] <<*>>
?: * OK [HIGHESTMODSEQ <<n>>] <<*>>
S: a2 OK [READ-ONLY] <<*>>
C: a3 UNSELECT
S: a3 OK <<*>>
"#,
        "@b\n",
        &login("ann@example.org"),
        r#"
C: b1 SELECT r
S: * FLAGS (<<*>>)
S: * OK [PERMANENTFLAGS (<<*>>)] <<*>>
S: * 2 EXISTS
S: * 2 RECENT
S: * OK [UNSEEN 1] <<*>>
S: * OK [UIDVALIDITY <<n>>] <<*>>
S: * OK [UIDNEXT 3] <<*>>
S: * OK [MAILBOXID (<<M[0-9a-f]+>>)] <<*>>
?: * OK [HIGHESTMODSEQ <<n>>] <<*>>
S: b1 OK [READ-WRITE] <<*>>
C: b2 FETCH 1:* (FLAGS)
S: * 1 FETCH (FLAGS (\Recent))
S: * 2 FETCH (FLAGS (\Recent))
S: b2 OK <<*>>
C: b3 STORE 1 +FLAGS (\Seen)
S: * 1 FETCH (FLAGS (\Recent \Seen))
S: b3 OK <<*>>
C: b4 SEARCH NEW
S: * SEARCH 2
S: b4 OK <<*>>
C: b5 SEARCH RECENT
S: * SEARCH 1 2
S: b5 OK <<*>>
C: b6 SEARCH OLD
S: * SEARCH
S: b6 OK <<*>>
"#,
        r#"
@a
# b holds them: a second SELECT gets none
C: a4 SELECT r
S: * FLAGS (<<*>>)
S: * OK [PERMANENTFLAGS (<<*>>)] <<*>>
S: * 2 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 2] <<*>>
S: * OK [UIDVALIDITY <<n>>] <<*>>
S: * OK [UIDNEXT 3] <<*>>
S: * OK [MAILBOXID (<<M[0-9a-f]+>>)] <<*>>
?: * OK [HIGHESTMODSEQ <<n>>] <<*>>
S: a4 OK [READ-WRITE] <<*>>
C: a5 FETCH 1:2 (FLAGS)
S: * 1 FETCH (FLAGS (\Seen))
S: * 2 FETCH (FLAGS ())
S: a5 OK <<*>>
C: a6 SEARCH OLD
S: * SEARCH 1 2
S: a6 OK <<*>>
C: a7 APPEND r <<lit+:Subject: three\r\n\r\nbody\r\n>>
S: * 3 EXISTS
S: a7 OK [APPENDUID <<n>> 3] <<*>>
@b
# a new message is recent for the session that holds the mailbox
C: b7 NOOP
S: * 3 EXISTS
S: * 3 RECENT
S: b7 OK <<*>>
C: b8 FETCH 3 (FLAGS)
S: * 3 FETCH (FLAGS (\Recent))
S: b8 OK <<*>>
C: b9 UNSELECT
S: b9 OK <<*>>
@a
# b left: what it was told of is recent for nobody now
C: a8 STATUS r (RECENT)
S: * STATUS r (RECENT 0)
S: a8 OK <<*>>
C: a9 SELECT r
S: * 3 EXISTS
S: * 0 RECENT
S: ...
"#,
        r#"
@b
C: c1 APPEND r <<lit+:Subject: four\r\n\r\nbody\r\n>>
S: c1 OK [APPENDUID <<n>> 4] <<*>>
@a
C: c2 NOOP
S: * 4 EXISTS
S: * 1 RECENT
S: c2 OK <<*>>
C: c3 SEARCH RECENT
S: * SEARCH 4
S: c3 OK <<*>>
@c
"#,
        &login("ann@example.org"),
        r#"
C: d1 ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: d1 OK <<*>>
C: d2 EXAMINE r
N: <<*>>RECENT<<*>>
S: ...
C: d3 FETCH 4 (FLAGS)
S: * 4 FETCH (FLAGS ())
S: d3 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}
