//! The examples of RFC 7162 (CONDSTORE, QRESYNC), RFC 6855 (UTF8=ACCEPT),
//! RFC 9208 (QUOTA), RFC 7889 (APPENDLIMIT) and RFC 4978 (COMPRESS=DEFLATE)
//! replayed as raw transcripts over TLS (see imap_transcript.py).

use crate::imap_transcript::{append, login, numbered, play};
use crate::smtp::{mail_env, mail_env_with};

/// RFC 7162 §3.1: HIGHESTMODSEQ on SELECT (CONDSTORE), MODSEQ in FETCH,
/// STORE UNCHANGEDSINCE (success and MODIFIED), FETCH CHANGEDSINCE, SEARCH
/// MODSEQ, STATUS HIGHESTMODSEQ, MODSEQ in another session's flag change.
#[test]
fn condstore_examples_rfc7162_3_1() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &numbered(5),
        r#"
# §3.1.8: SELECT with CONDSTORE enables it and reports HIGHESTMODSEQ
C: A142 SELECT INBOX (CONDSTORE)
S: * FLAGS (\Answered \Deleted \Draft \Flagged \Seen)
S: * OK [PERMANENTFLAGS (\* \Answered \Deleted \Draft \Flagged \Seen)] <<*>>
S: * 5 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] <<*>>
S: * OK [UIDVALIDITY <<n>>] <<*>>
S: * OK [UIDNEXT 6] <<*>>
S: * OK [MAILBOXID (<<M[0-9a-f]+>>)] <<*>>
S: * OK [HIGHESTMODSEQ <<hms=\d+>>] <<*>>
S: A142 OK [READ-WRITE] <<*>>
# §3.1.4.2: MODSEQ per message
C: a1 FETCH 1:* (MODSEQ)
S: * 1 FETCH (MODSEQ (<<n>>))
S: * 2 FETCH (MODSEQ (<<n>>))
S: * 3 FETCH (MODSEQ (<<n>>))
S: * 4 FETCH (MODSEQ (<<n>>))
S: * 5 FETCH (MODSEQ (<<m5=\d+>>))
S: a1 OK <<*>>
# §3.1.3 example 1: every message unchanged, so the store succeeds, and
# .SILENT still answers the new MODSEQ (with the UID for UID STORE)
C: a103 UID STORE 4,2 (UNCHANGEDSINCE <<$hms>>) +FLAGS.SILENT (\Deleted)
S: * 2 FETCH (<<(UID 2 MODSEQ \(\d+\)|MODSEQ \(\d+\) UID 2)>>)
S: * 4 FETCH (<<(UID 4 MODSEQ \(\d+\)|MODSEQ \(\d+\) UID 4)>>)
S: a103 OK <<*>>
# §3.1.3 example 2: message 4 changed since, MODIFIED names it; 1 and 3
# are stored
C: d105 STORE 1,3,4 (UNCHANGEDSINCE <<$hms>>) +FLAGS.SILENT (\Flagged)
S: * 1 FETCH (<<(UID 1 )?>>MODSEQ (<<n>>))
S: * 3 FETCH (<<(UID 3 )?>>MODSEQ (<<n>>))
S: d105 OK [MODIFIED 4] <<*>>
# §3.1: a FETCH asking for neither UID nor MODSEQ gets neither
C: d106 FETCH 1:4 (FLAGS)
S: * 1 FETCH (FLAGS (\Flagged))
S: * 2 FETCH (FLAGS (\Deleted))
S: * 3 FETCH (FLAGS (\Flagged))
S: * 4 FETCH (FLAGS (\Deleted))
S: d106 OK <<*>>
# §3.1.4.1: CHANGEDSINCE returns only what changed after the given value
C: s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE <<$hms>>)
S: * 1 FETCH (UID 1 FLAGS (\Flagged) MODSEQ (<<n>>))
S: * 2 FETCH (UID 2 FLAGS (\Deleted) MODSEQ (<<n>>))
S: * 3 FETCH (UID 3 FLAGS (\Flagged) MODSEQ (<<n>>))
S: * 4 FETCH (UID 4 FLAGS (\Deleted) MODSEQ (<<n>>))
S: s100 OK <<*>>
# §3.1.5: SEARCH MODSEQ answers the highest mod-sequence of the matches
C: a SEARCH MODSEQ <<$m5>>
S: * SEARCH 1 2 3 4 5 (MODSEQ <<hm=\d+>>)
S: a OK <<*>>
C: b SEARCH FLAGGED MODSEQ 1
S: * SEARCH 1 3 (MODSEQ <<n>>)
S: b OK <<*>>
C: c SEARCH MODSEQ 99999999
S: * SEARCH
S: c OK <<*>>
# §3.1.6: STATUS HIGHESTMODSEQ
C: A042 STATUS INBOX (UIDNEXT MESSAGES HIGHESTMODSEQ)
S: * STATUS INBOX (UIDNEXT 6 MESSAGES 5 HIGHESTMODSEQ <<$hm>>)
S: A042 OK <<*>>
# §3.1: once CONDSTORE is on, every FETCH caused by a flag change (here
# another session's) carries UID and MODSEQ
@b
"#,
        &login("ann@example.org"),
        r#"
!C: s SELECT INBOX
C: b1 STORE 5 +FLAGS (\Seen)
S: * 5 FETCH (FLAGS (\Seen))
S: b1 OK <<*>>
# a FETCH of MODSEQ enables CONDSTORE in this session too, and the first
# enabling command reports HIGHESTMODSEQ (§3.1)
C: b2 FETCH 5 (MODSEQ)
S: * OK [HIGHESTMODSEQ <<n>>] <<*>>
S: * 5 FETCH (MODSEQ (<<n>>))
S: b2 OK <<*>>
C: b3 STORE 5 +FLAGS (\Answered)
S: * 5 FETCH (FLAGS (\Answered \Seen) UID 5 MODSEQ (<<n>>))
S: b3 OK <<*>>
@a
C: e NOOP
S: * 5 FETCH (FLAGS (\Answered \Seen) UID 5 MODSEQ (<<n>>))
S: e OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 7162 §3.2: ENABLE QRESYNC, SELECT (QRESYNC ...) after changes made
/// while away (VANISHED (EARLIER) and the changed flags), [CLOSED], FETCH
/// CHANGEDSINCE with VANISHED, EXPUNGE as VANISHED, and a stale UIDVALIDITY.
#[test]
fn qresync_examples_rfc7162_3_2() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &numbered(5),
        r#"
C: A02 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: A02 OK <<*>>
C: A03 SELECT INBOX
S: * OK [UIDVALIDITY <<uv=\d+>>] <<*>>
S: * OK [HIGHESTMODSEQ <<hms=\d+>>] <<*>>
S: ...
S: A03 OK [READ-WRITE] <<*>>
C: A04 LOGOUT
S: ...
S: A04 OK <<*>>
# while the client is away: 2 flagged, 3 and 5 expunged, a new message 6
@b
"#,
        &login("ann@example.org"),
        r#"
!C: s SELECT INBOX
!C: s STORE 2 +FLAGS (\Flagged)
!C: s STORE 3,5 +FLAGS (\Deleted)
!C: s EXPUNGE
!C: s APPEND INBOX <<lit+:Subject: 6\r\n\r\nbody 6\r\n>>
!C: s LOGOUT
@c
"#,
        &login("ann@example.org"),
        r#"
C: A02 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: A02 OK <<*>>
# §3.2.5.2 example: the known UIDs 1:5, what vanished and what changed
C: A03 SELECT INBOX (QRESYNC (<<$uv>> <<$hms>> 1:5))
S: * FLAGS (\Answered \Deleted \Draft \Flagged \Seen)
S: * OK [PERMANENTFLAGS (\* \Answered \Deleted \Draft \Flagged \Seen)] <<*>>
S: * 4 EXISTS
S: * 0 RECENT
?: * OK [UNSEEN 1] <<*>>
S: * OK [UIDVALIDITY <<$uv>>] <<*>>
S: * OK [UIDNEXT 7] <<*>>
S: * OK [MAILBOXID (<<M[0-9a-f]+>>)] <<*>>
S: * OK [HIGHESTMODSEQ <<hms2=\d+>>] <<*>>
S: * VANISHED (EARLIER) 3,5
S: * 2 FETCH (UID 2 FLAGS (\Flagged) MODSEQ (<<n>>))
S: * 4 FETCH (UID 6 FLAGS () MODSEQ (<<n>>))
S: A03 OK [READ-WRITE] <<*>>
# §3.2.6: FETCH with CHANGEDSINCE and VANISHED
C: A04 UID FETCH 1:* (FLAGS) (CHANGEDSINCE <<$hms>> VANISHED)
S: * VANISHED (EARLIER) 3,5
S: * 2 FETCH (UID 2 FLAGS (\Flagged) MODSEQ (<<n>>))
S: * 4 FETCH (UID 6 FLAGS () MODSEQ (<<n>>))
S: A04 OK <<*>>
# §3.2.10: with QRESYNC on, expunges are VANISHED
!C: s STORE 1 +FLAGS.SILENT (\Deleted)
C: A05 EXPUNGE
S: * VANISHED 1
N: * <<n>> EXPUNGE
S: A05 OK <<*>>
# §3.2.11: selecting another mailbox first closes this one
C: A06 SELECT Trash (QRESYNC (1 1))
O: * OK [CLOSED] <<*>>
O: * FLAGS <<*>>
S: * OK [PERMANENTFLAGS <<*>>] <<*>>
S: * 0 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY <<n>>] <<*>>
S: * OK [UIDNEXT 1] <<*>>
S: * OK [MAILBOXID (<<M[0-9a-f]+>>)] <<*>>
S: * OK [HIGHESTMODSEQ <<n>>] <<*>>
S: A06 OK [READ-WRITE] <<*>>
# §3.2.5: a stale UIDVALIDITY gets a plain SELECT, no VANISHED or FETCH
C: A07 SELECT INBOX (QRESYNC (1 1 1:9))
O: * OK [CLOSED] <<*>>
S: * FLAGS <<*>>
S: * OK [PERMANENTFLAGS <<*>>] <<*>>
S: * 3 EXISTS
S: * 0 RECENT
?: * OK [UNSEEN 1] <<*>>
S: * OK [UIDVALIDITY <<$uv>>] <<*>>
S: * OK [UIDNEXT 7] <<*>>
S: * OK [MAILBOXID (<<M[0-9a-f]+>>)] <<*>>
S: * OK [HIGHESTMODSEQ <<n>>] <<*>>
S: A07 OK [READ-WRITE] <<*>>
# §3.2.5: QRESYNC parameters before ENABLE QRESYNC are refused
@d
"#,
        &login("ann@example.org"),
        r#"
C: A01 SELECT INBOX (QRESYNC (<<$uv>> <<$hms>>))
S: A01 BAD <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 6855 §3-§4: ENABLE UTF8=ACCEPT switches mailbox names from modified
/// UTF-7 to UTF-8, and APPEND takes a UTF8 (~{n}) message.
#[test]
fn utf8_accept_examples_rfc6855() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        r#"
C: a1 CREATE Gr&APYA3w-e
S: a1 OK <<*>>
C: a2 LIST "" Gr*
S: * LIST (\HasNoChildren) "/" Gr&APYA3w-e
S: a2 OK <<*>>
C: a3 ENABLE UTF8=ACCEPT
S: * ENABLED UTF8=ACCEPT
S: a3 OK <<*>>
C: a4 LIST "" Gr*
S: * LIST (\HasNoChildren) "/" <<"?>>Größe<<"?>>
S: a4 OK <<*>>
C: a5 CREATE "Ünïcødé"
S: a5 OK <<*>>
C: a6 APPEND "Größe" UTF8 (<<lit8:From: Jörg <jörg@example.org>\r\nSubject: Grüße\r\n\r\nHallo\r\n>>)
S: + <<*>>
S: a6 OK [APPENDUID <<n>> 1] <<*>>
C: a7 SELECT "Größe"
S: ...
S: * 1 EXISTS
S: a7 OK <<*>>
# UTF-8 may come quoted or as a literal
C: a8 FETCH 1 (ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])
S: * 1 FETCH (ENVELOPE (NIL <<("|\{\d+\})>>Grüße<<"?>> ((<<("|\{\d+\})>>Jörg<<"?>> NIL <<("|\{\d+\})>>jörg<<"?>> "example.org")) <<*>>) BODY[HEADER.FIELDS (SUBJECT)] {<<n>>}Subject: Grüße\r\n\r\n)
S: a8 OK <<*>>
C: a9 SEARCH CHARSET UTF-8 SUBJECT "Grüße"
S: * SEARCH 1
S: a9 OK <<*>>
C: b1 STATUS "Ünïcødé" (MESSAGES)
S: * STATUS "Ünïcødé" (MESSAGES 0)
S: b1 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// RFC 9208 (QUOTA: GETQUOTAROOT, GETQUOTA, OVERQUOTA, STATUS DELETED and
/// DELETED-STORAGE), RFC 7889 (APPENDLIMIT: the capability, STATUS, TOOBIG
/// before the literal is sent), RFC 4978 (COMPRESS=DEFLATE).
#[test]
fn quota_appendlimit_and_compress_examples() {
    let (env, server) = mail_env_with("[limits]\nmax_message_size = 4096");
    env.ok(&[
        "user",
        "quota",
        "ann@example.org",
        "--set",
        "1M",
        "--messages",
        "3",
    ]);
    let big = "x".repeat(5000);
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &append("INBOX", "", "", "Subject: 1\\r\\n\\r\\nbody 1\\r\\n"),
        &append(
            "INBOX",
            "\\Deleted",
            "",
            "Subject: 2\\r\\n\\r\\nbody 2\\r\\n",
        ),
        &format!(
            "C: a0 CAPABILITY\nS: {}\nS: a0 OK <<*>>\n",
            crate::imap_transcript::caps(
                "* CAPABILITY",
                "QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE APPENDLIMIT=4096 COMPRESS=DEFLATE",
                ""
            )
        ),
        r#"
# RFC 9208 §4.3.1 and §4.3.2 (GETQUOTAROOT, GETQUOTA); STORAGE is in KiB
C: G0002 GETQUOTAROOT INBOX
S: * QUOTAROOT INBOX "<<root=[^"]*>>"
S: * QUOTA "<<$root>>" (<<(STORAGE [01] 1024 MESSAGE 2 3|MESSAGE 2 3 STORAGE [01] 1024)>>)
S: G0002 OK <<*>>
C: G0001 GETQUOTA "<<$root>>"
S: * QUOTA "<<$root>>" (<<(STORAGE [01] 1024 MESSAGE 2 3|MESSAGE 2 3 STORAGE [01] 1024)>>)
S: G0001 OK <<*>>
C: G0003 GETQUOTA "no such root"
S: G0003 NO <<*>>
# §5.1, §5.2: DELETED and (with RES-STORAGE) DELETED-STORAGE in STATUS
C: S01 STATUS INBOX (MESSAGES DELETED)
S: * STATUS INBOX (MESSAGES 2 DELETED 1)
S: S01 OK <<*>>
C: S02 STATUS INBOX (DELETED-STORAGE)
S: * STATUS INBOX (DELETED-STORAGE <<n>>)
S: S02 OK <<*>>
# §4.2: the message count limit is 3, a fourth APPEND is OVERQUOTA
!C: s APPEND INBOX <<lit+:Subject: 3\r\n\r\nbody 3\r\n>>
C: A004 APPEND INBOX <<lit:Subject: 4\r\n\r\nbody 4\r\n>>
S: ...
S: A004 NO [OVERQUOTA] <<*>>
C: A005 STATUS INBOX (MESSAGES)
S: * STATUS INBOX (MESSAGES 3)
S: A005 OK <<*>>
# RFC 7889 §3: APPENDLIMIT in STATUS, TOOBIG without a "+" for a literal past it
C: L01 STATUS INBOX (APPENDLIMIT)
S: * STATUS INBOX (APPENDLIMIT 4096)
S: L01 OK <<*>>
# (room for one more message: the \Deleted one goes)
!C: s SELECT INBOX
!C: s UNSELECT
!C: s SELECT INBOX
!C: s EXPUNGE
"#,
        &format!("C: L02 APPEND INBOX <<lit:{big}>>\nS: L02 NO [TOOBIG] <<*>>\n"),
        r#"
C: L03 NOOP
S: L03 OK <<*>>
# RFC 4978 §3: after the OK both directions are deflated; a second COMPRESS
# is refused with COMPRESSIONACTIVE
C: C01 COMPRESS DEFLATE
S: C01 OK <<*>>
C: C02 FETCH 1 (BODY.PEEK[])
S: * 1 FETCH (BODY[] {<<n>>}Subject: 1\r\n\r\nbody 1\r\n)
S: C02 OK <<*>>
C: C03 COMPRESS DEFLATE
S: C03 NO [COMPRESSIONACTIVE] <<*>>
C: C04 APPEND INBOX <<lit:Subject: 5\r\n\r\nbody 5\r\n>>
S: + <<*>>
S: * 3 EXISTS
S: * 1 RECENT
S: C04 OK [APPENDUID <<n>> <<n>>] <<*>>
C: C05 LOGOUT
S: * BYE <<*>>
S: C05 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// FETCH (UID FLAGS), a SEARCH on flags and SORT (DATE) over it answer
/// from a compact pass over the store (issue 19), about the session's own
/// view (RFC 9051 §7.5.1): a message another session expunged is not
/// reported and keeps its sequence number's place, one delivered since is
/// not reported before its EXISTS.
#[test]
fn flag_fetch_search_and_date_sort_answer_the_sessions_view() {
    let (env, server) = mail_env();
    let t = [
        "@a\n",
        &login("ann@example.org"),
        &numbered(4),
        r#"
C: a0 ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: a0 OK <<*>>
C: a1 SELECT INBOX
S: ...
C: a2 STORE 1 +FLAGS.SILENT (\Seen)
S: a2 OK <<*>>
@b
"#,
        &login("ann@example.org"),
        r#"
C: b1 SELECT INBOX
S: ...
C: b2 STORE 2 +FLAGS.SILENT (\Deleted)
S: b2 OK <<*>>
C: b3 EXPUNGE
S: * 2 EXPUNGE
S: b3 OK <<*>>
"#,
        &append("INBOX", "", "", "Subject: five\\r\\n\\r\\nbody\\r\\n"),
        r#"
@a
C: a3 FETCH 1:* (UID FLAGS)
S: * 1 FETCH (UID 1 FLAGS (\Seen))
S: * 3 FETCH (UID 3 FLAGS ())
S: * 4 FETCH (UID 4 FLAGS ())
N: * 2 FETCH <<*>>
N: * 5 FETCH <<*>>
S: ...
# the FETCH announced 5 (after its lines); 2 holds its place until an
# EXPUNGE may be sent
C: a4 SEARCH UNSEEN
S: * ESEARCH (TAG "a4") ALL 3:5
N: * 2 EXPUNGE
S: ...
C: a5 UID SORT (DATE) UTF-8 UNSEEN
S: * SORT 3 4 5
S: ...
C: a6 UID SORT (DATE) UTF-8 ALL
S: * SORT 1 3 4 5
S: ...
C: a8 UID SEARCH UNSEEN
S: * ESEARCH (TAG "a8") UID ALL 3:5
S: a8 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}
