//! The examples of issue 14's extension RFCs, replayed as raw transcripts
//! over TLS (see imap_transcript.py), one test per extension: WITHIN,
//! SAVEDATE, UNAUTHENTICATE, PREVIEW, MULTIAPPEND, REPLACE, PARTIAL,
//! OBJECTID, UIDONLY, ESORT.

use crate::imap_transcript::{append, caps, login, message, play, seen, simple};
use crate::smtp::{mail_env, mail_env_with};

/// RFC 5032 §4: `SEARCH UNSEEN YOUNGER 259200` finds the unseen messages
/// that arrived in the last three days; OLDER finds the rest, and the two
/// split the mailbox. WITHIN is advertised once logged in.
#[test]
fn within_older_and_younger_rfc5032() {
    let (env, server) = mail_env();
    let old = "01-Jan-2020 10:00:00 +0000";
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    // Messages 1-3 are years old, 4-6 arrive now; 2 and 5 are seen.
    for (i, (flags, date)) in [
        ("", old),
        ("\\Seen", old),
        ("", old),
        ("", ""),
        ("\\Seen", ""),
        ("", ""),
    ]
    .iter()
    .enumerate()
    {
        t.push_str(&append(
            "INBOX",
            flags,
            date,
            &format!("Subject: {i}\\r\\n\\r\\nx\\r\\n"),
        ));
    }
    t.push_str(&seen("INBOX"));
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "WITHIN", "")
    ));
    t.push_str(
        r#"
!C: s SELECT INBOX
C: a1 SEARCH UNSEEN YOUNGER 259200
S: * SEARCH 4 6
S: a1 OK <<*>>
C: a2 SEARCH OLDER 259200
S: * SEARCH 1 2 3
S: a2 OK <<*>>
C: a3 UID SEARCH RETURN (COUNT) YOUNGER 259200
S: * ESEARCH (TAG "a3") UID COUNT 3
S: a3 OK <<*>>
# the interval is a nz-number (RFC 5032 §5)
C: a4 SEARCH YOUNGER 0
S: a4 BAD <<*>>
C: a5 SEARCH OLDER x
S: a5 BAD <<*>>
"#,
    );
    play(&env, &server, &t);
}

/// RFC 8514 §4: FETCH SAVEDATE is when the message was saved into this
/// mailbox (APPEND, COPY), not its INTERNALDATE; SAVEDSINCE/SAVEDON/
/// SAVEDBEFORE compare its day; SAVEDATESUPPORTED matches every message.
#[test]
fn savedate_fetch_and_search_rfc8514() {
    let (env, server) = mail_env();
    let old = "07-Feb-1994 21:52:25 -0800";
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    for from in [
        "Fred <fred@example.org>",
        "Smith <smith@example.org>",
        "Joe <joe@example.org>",
    ] {
        let msg = simple(from, "meeting", "Mon, 7 Feb 1994 21:52:25 -0800", "hi");
        t.push_str(&append("INBOX", "", old, &msg));
    }
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "SAVEDATE", "")
    ));
    t.push_str(
        r#"
!C: s SELECT INBOX
# §4.1: the save date is this year's APPEND, the internal date stays 1994
C: A101 FETCH 1 (SAVEDATE INTERNALDATE)
S: * 1 FETCH (SAVEDATE "<<n>>-<<[A-Z][a-z][a-z]>>-20<<n>> <<n>>:<<n>>:<<n>> +0000" INTERNALDATE "08-Feb-1994 05:52:25 +0000")
S: A101 OK <<*>>
# §4.2, the RFC's example: SAVEDSINCE 1-Feb-1994 NOT FROM "Smith"
C: A102 SEARCH SAVEDSINCE 1-Feb-1994 NOT FROM "Smith"
S: * SEARCH 1 3
S: A102 OK <<*>>
C: A103 SEARCH SAVEDSINCE 1-Jan-2020
S: * SEARCH 1 2 3
S: A103 OK <<*>>
C: A104 SEARCH SINCE 1-Jan-2020
S: * SEARCH
S: A104 OK <<*>>
C: A105 SEARCH OR SAVEDBEFORE 1-Jan-2020 SAVEDON 7-Feb-1994
S: * SEARCH
S: A105 OK <<*>>
C: A106 UID SEARCH RETURN (COUNT) SAVEDATESUPPORTED
S: * ESEARCH (TAG "A106") UID COUNT 3
S: A106 OK <<*>>
# a copy is saved anew into its mailbox
C: A107 COPY 2 Archive
S: A107 OK <<*>>
!C: s SELECT Archive
C: A108 FETCH 1 (SAVEDATE)
S: * 1 FETCH (SAVEDATE "<<n>>-<<[A-Z][a-z][a-z]>>-20<<n>> <<n>>:<<n>>:<<n>> +0000")
S: A108 OK <<*>>
C: A109 SEARCH SAVEDSINCE 1-Jan-2020 FROM smith
S: * SEARCH 1
S: A109 OK <<*>>
C: A110 SEARCH SAVEDON 1-Feb
S: A110 BAD <<*>>
"#,
    );
    play(&env, &server, &t);
}

/// RFC 8437 §3: UNAUTHENTICATE from the selected state goes back to not
/// authenticated on the same TLS connection, closes the mailbox without
/// expunging, resets ENABLE, and another user can then log in.
#[test]
fn unauthenticate_returns_to_not_authenticated_rfc8437() {
    let (env, server) = mail_env();
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    t.push_str(&append(
        "INBOX",
        "\\Deleted",
        "",
        "Subject: 1\\r\\n\\r\\nx\\r\\n",
    ));
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "UNAUTHENTICATE", "")
    ));
    t.push_str(&format!(
        r#"
C: A1 ENABLE CONDSTORE
S: * ENABLED CONDSTORE
S: A1 OK <<*>>
!C: s SELECT INBOX
C: A2 UNAUTHENTICATE
S: A2 OK [CAPABILITY{unauth}] <<*>>
N: * <<n>> EXPUNGE
C: A3 FETCH 1 (FLAGS)
S: A3 BAD <<*>>
C: A4 SELECT INBOX
S: A4 BAD <<*>>
C: A5 UNAUTHENTICATE
S: A5 BAD <<*>>
C: A6 LOGIN bob@example.org "bob password"
S: A6 OK <<*>>
# ENABLE starts afresh for the new user
C: A7 ENABLE CONDSTORE
S: * ENABLED CONDSTORE
S: A7 OK <<*>>
C: A8 STATUS INBOX (MESSAGES)
S: * STATUS INBOX (MESSAGES 0)
S: A8 OK <<*>>
C: A9 UNAUTHENTICATE
S: A9 OK <<*>>
C: A10 LOGIN ann@example.org "ann password"
S: A10 OK <<*>>
# no expunge happened when ann's INBOX was left
C: A11 STATUS INBOX (MESSAGES)
S: * STATUS INBOX (MESSAGES 1)
S: A11 OK <<*>>
"#,
        unauth = caps("", "IMAP4rev1 AUTH=PLAIN", "UNAUTHENTICATE NAMESPACE")
    ));
    play(&env, &server, &t);
}

/// RFC 8437: after UNAUTHENTICATE the user no longer holds the connection:
/// with one connection per user allowed, another one may log in.
#[test]
fn unauthenticate_gives_back_the_users_connection_slot() {
    let (env, server) = mail_env_with("[imap]\nmax_connections_per_user = 1\n");
    let t = r#"
@a
C: a1 LOGIN ann@example.org "ann password"
S: a1 OK <<*>>
@b
C: b1 LOGIN ann@example.org "ann password"
S: b1 NO [LIMIT] <<*>>
@a
C: a2 UNAUTHENTICATE
S: a2 OK <<*>>
@b
C: b2 LOGIN ann@example.org "ann password"
S: b2 OK <<*>>
"#;
    play(&env, &server, t);
}

/// RFC 8970 §3 and §4: FETCH PREVIEW (and PREVIEW (LAZY)) answer a short
/// plain-text extract: white space squeezed, HTML without markup, the
/// plain alternative preferred, "" with no text part, at most 256
/// characters; UTF-8 text goes as a literal until UTF8=ACCEPT.
#[test]
fn preview_fetch_rfc8970() {
    let (env, server) = mail_env();
    let long = "word ".repeat(100);
    let msgs = [
        simple(
            "a@example.org",
            "1",
            "Mon, 7 Feb 1994 21:52:25 -0800",
            "Preview text!",
        ),
        message(
            &["Subject: 2", "Content-Type: text/html"],
            "<html><head><style>p {}</style></head><body><p>Hello\\r\\n  <b>there</b> &amp; welcome</p></body></html>",
        ),
        message(
            &[
                "Subject: 3",
                "Content-Type: multipart/alternative; boundary=b",
            ],
            "--b\\r\\nContent-Type: text/html\\r\\n\\r\\n<p>html</p>\\r\\n--b\\r\\nContent-Type: text/plain\\r\\n\\r\\nthe plain one\\r\\n--b--",
        ),
        message(&["Subject: 4", "Content-Type: image/png"], "iVBORw0KGgo="),
        message(&["Subject: 5"], &long),
        message(
            &["Subject: 6", "Content-Type: text/plain; charset=utf-8"],
            "Grüße",
        ),
    ];
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    for m in &msgs {
        t.push_str(&append("INBOX", "", "", m));
    }
    let words = "word ".repeat(60);
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "PREVIEW", "")
    ));
    t.push_str(&format!(
        r#"
!C: s SELECT INBOX
# §3.2, the RFC's example
C: A1 FETCH 1 (PREVIEW)
S: * 1 FETCH (PREVIEW "Preview text!")
S: A1 OK <<*>>
# §4: LAZY may answer NIL when not ready; ours always is
C: A2 FETCH 1:5 (UID PREVIEW (LAZY))
S: * 1 FETCH (UID 1 PREVIEW "Preview text!")
S: * 2 FETCH (UID 2 PREVIEW "Hello there & welcome")
S: * 3 FETCH (UID 3 PREVIEW "the plain one")
S: * 4 FETCH (UID 4 PREVIEW "")
S: * 5 FETCH (UID 5 PREVIEW "{cut}")
S: A2 OK <<*>>
C: A3 FETCH 6 PREVIEW
S: * 6 FETCH (PREVIEW {{7}}Grüße)
S: A3 OK <<*>>
C: A4 ENABLE UTF8=ACCEPT
S: * ENABLED UTF8=ACCEPT
S: A4 OK <<*>>
C: A5 FETCH 6 PREVIEW
S: * 6 FETCH (PREVIEW "Grüße")
S: A5 OK <<*>>
C: A6 FETCH 1 (PREVIEW (FUZZY))
S: A6 BAD <<*>>
"#,
        cut = &words[..256].trim_end(),
    ));
    play(&env, &server, &t);
}

/// RFC 3502 §6.3.11: one APPEND stores several messages, each with its
/// own flags and date, in one commit (APPENDUID names them all); when any
/// cannot be stored (quota), a zero-length literal cancels, or the
/// mailbox does not exist, none is stored. `max_append_messages` and the
/// command size (APPENDLIMIT plus a few lines) bound the command.
#[test]
fn multiappend_is_all_or_nothing_rfc3502() {
    let (env, server) = mail_env_with(
        "[imap]\nmax_line = 1000\nmax_append_messages = 3\n[limits]\nmax_message_size = 4096",
    );
    env.ok(&[
        "user",
        "quota",
        "ann@example.org",
        "--set",
        "1M",
        "--messages",
        "3",
    ]);
    let m1 = simple(
        "Fred Foobar <foobar@Blurdybloop.example.COM>",
        "afternoon meeting",
        "Mon, 7 Feb 1994 21:52:25 -0800 (PST)",
        "Hello Joe, do you think we can meet at 3:30 tomorrow?",
    );
    let m2 = simple(
        "Joe Mooch <mooch@OWaTaGu.example.net>",
        "Re: afternoon meeting",
        "Mon, 7 Feb 1994 22:43:04 -0800 (PST)",
        "3:30 is fine with me.",
    );
    let big = "x".repeat(3000);
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "MULTIAPPEND", "")
    ));
    t.push_str(&format!(
        r#"
# §6.3.11, the RFC's example: two messages, synchronizing literals
C: A003 APPEND Drafts (\Seen) <<lit:{m1}>> (\Seen) " 7-Feb-1994 22:43:04 -0800" <<lit:{m2}>>
S: + <<*>>
S: + <<*>>
S: A003 OK [APPENDUID <<v=\d+>> 1:2] <<*>>
C: A004 APPEND bogusname (\Seen) <<lit+:{m1}>> <<lit+:{m2}>>
S: A004 NO [TRYCREATE] <<*>>
# the quota allows one more message: the second fails, so neither stays
C: A005 APPEND Drafts <<lit+:{m1}>> <<lit+:{m2}>>
S: A005 NO [OVERQUOTA] <<*>>
# a zero-length message literal cancels the whole command
C: A006 APPEND Drafts <<lit+:{m1}>> <<lit+:>>
S: A006 NO <<*>>
C: A007 APPEND Drafts <<lit+:x>> <<lit+:y>> <<lit+:z>> <<lit+:w>>
S: A007 NO [LIMIT] <<*>>
# three messages of 3000 bytes pass APPENDLIMIT one by one, not together
C: A008 APPEND Drafts <<lit:{big}>> <<lit:{big}>> <<lit:{big}>>
S: + <<*>>
S: + <<*>>
S: A008 NO [TOOBIG] <<*>>
C: A009 STATUS Drafts (MESSAGES UIDNEXT)
S: * STATUS Drafts (MESSAGES 2 UIDNEXT 3)
S: A009 OK <<*>>
!C: s EXAMINE Drafts
C: A010 FETCH 1:* (FLAGS INTERNALDATE)
S: * 1 FETCH (FLAGS (\Recent \Seen) INTERNALDATE "<<*>>")
S: * 2 FETCH (FLAGS (\Recent \Seen) INTERNALDATE "08-Feb-1994 06:43:04 +0000")
S: A010 OK <<*>>
"#
    ));
    play(&env, &server, &t);
}

/// RFC 8508 §3: REPLACE stores the new message (APPENDUID in an untagged
/// OK) and expunges the old one in one step, into the same mailbox or
/// another; when the new one cannot be stored the old one stays.
#[test]
fn replace_swaps_a_message_in_one_step_rfc8508() {
    let (env, server) = mail_env();
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    for i in 1..=4 {
        t.push_str(&append(
            "Drafts",
            "\\Draft",
            "",
            &format!("Subject: draft {i}\\r\\n\\r\\nx\\r\\n"),
        ));
    }
    let draft = simple(
        "Fred Foobar <foobar@Blurdybloop.example.COM>",
        "afternoon meeting",
        "Mon, 7 Feb 1994 21:52:25 -0800 (PST)",
        "Hello Joe, do you think we can meet at 3:30 tomorrow?",
    );
    t.push_str(&seen("Drafts"));
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "REPLACE", "")
    ));
    t.push_str(&format!(
        r#"
!C: s EXAMINE Drafts
C: A001 REPLACE 4 Drafts <<lit+:{draft}>>
S: A001 NO [READ-ONLY] <<*>>
!C: s SELECT Drafts
# §3.1, the RFC's first example
C: A003 REPLACE 4 Drafts (\Seen \Draft) <<lit:{draft}>>
S: + <<*>>
S: * OK [APPENDUID <<v=\d+>> 5] <<*>>
# the store expunged first, so the EXPUNGE comes before the EXISTS (the
# RFC's example has them the other way, which the numbers then follow)
O: * 4 EXPUNGE
O: * 4 EXISTS
?: * 1 RECENT
S: A003 OK <<*>>
# §3.1, the second: UID REPLACE into another mailbox
C: B004 UID REPLACE 5 Archive (\Seen) <<lit+:{draft}>>
S: * OK [APPENDUID <<n>> 1] <<*>>
S: * 4 EXPUNGE
S: B004 OK <<*>>
# the new message cannot be stored: the old one stays
C: B005 REPLACE 1 Nowhere <<lit+:{draft}>>
S: B005 NO [TRYCREATE] <<*>>
C: B006 UID REPLACE 99 Drafts <<lit+:{draft}>>
S: B006 NO [NONEXISTENT] <<*>>
C: B007 REPLACE 9 Drafts <<lit+:{draft}>>
S: B007 BAD <<*>>
C: B008 FETCH 1:* (UID FLAGS)
S: * 1 FETCH (UID 1 FLAGS (\Draft))
S: * 2 FETCH (UID 2 FLAGS (\Draft))
S: * 3 FETCH (UID 3 FLAGS (\Draft))
S: B008 OK <<*>>
C: B009 STATUS Archive (MESSAGES)
S: * STATUS Archive (MESSAGES 1)
S: B009 OK <<*>>
"#
    ));
    play(&env, &server, &t);
}

/// RFC 8508 §3.4: the replaced message does not count against the quota
/// its replacement is checked with (a full mailbox can still replace a
/// draft), and a replacement over quota leaves the old message in place.
#[test]
fn replace_at_quota_and_over_it_rfc8508() {
    let (env, server) = mail_env();
    env.ok(&[
        "user",
        "quota",
        "ann@example.org",
        "--set",
        "1K",
        "--messages",
        "2",
    ]);
    let small = "Subject: d\\r\\n\\r\\nx\\r\\n";
    let big = format!("Subject: d\\r\\n\\r\\n{}\\r\\n", "y".repeat(2000));
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    t.push_str(&append("Drafts", "", "", small));
    t.push_str(&append("Drafts", "", "", small));
    t.push_str(&format!(
        r#"
!C: s SELECT Drafts
C: a1 REPLACE 2 Drafts <<lit+:Subject: e\r\n\r\nnew text\r\n>>
S: * OK [APPENDUID <<n>> 3] <<*>>
S: * 2 EXPUNGE
S: * 2 EXISTS
?: * <<n>> RECENT
S: a1 OK <<*>>
C: a2 REPLACE 2 Drafts <<lit+:{big}>>
S: a2 NO [OVERQUOTA] <<*>>
C: a3 FETCH 1:* (UID)
S: * 1 FETCH (UID 1)
S: * 2 FETCH (UID 3)
S: a3 OK <<*>>
"#
    ));
    play(&env, &server, &t);
}

/// RFC 9394 §3: SEARCH RETURN (PARTIAL first:last) answers one page of the
/// results, counted from the first or (negative) the last, NIL past the
/// end, with COUNT still of them all; a UID FETCH (PARTIAL) fetches one
/// page of the messages its set names.
#[test]
fn partial_pages_search_and_fetch_rfc9394() {
    let (env, server) = mail_env();
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    for i in 1..=12 {
        let flags = match i {
            2 | 5 | 9 => "\\Deleted",
            11 => "$Junk",
            _ => "",
        };
        t.push_str(&append(
            "INBOX",
            flags,
            "",
            &format!("Subject: {i}\\r\\n\\r\\nx\\r\\n"),
        ));
    }
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "PARTIAL", "")
    ));
    t.push_str(
        r#"
!C: s SELECT INBOX
# §3.1: the first page, then the last one (UNDELETED is 1,3,4,6,7,8,10,11,12)
C: A01 UID SEARCH RETURN (PARTIAL 1:5) UNDELETED
S: * ESEARCH (TAG "A01") UID PARTIAL (1:5 1,3:4,6:7)
S: A01 OK <<*>>
C: A02 UID SEARCH RETURN (PARTIAL -1:-3) UNDELETED UNKEYWORD $Junk
S: * ESEARCH (TAG "A02") UID PARTIAL (-1:-3 8,10,12)
S: A02 OK <<*>>
C: A03 UID SEARCH RETURN (PARTIAL 200:100) UNDELETED
S: * ESEARCH (TAG "A03") UID PARTIAL (100:200 NIL)
S: A03 OK <<*>>
C: A04 SEARCH RETURN (COUNT PARTIAL 6:10) UNDELETED
S: * ESEARCH (TAG "A04") COUNT 9 PARTIAL (6:10 8,10:12)
S: A04 OK <<*>>
# one PARTIAL, never with ALL; ranges have no 0 and no *
C: A05 SEARCH RETURN (PARTIAL 1:5 ALL) UNDELETED
S: A05 BAD <<*>>
C: A06 SEARCH RETURN (PARTIAL 0:5) ALL
S: A06 BAD <<*>>
C: A07 SEARCH RETURN (PARTIAL -1:5) ALL
S: A07 BAD <<*>>
# SAVE keeps the page that was returned
C: A08 UID SEARCH RETURN (SAVE PARTIAL 2:3) UNDELETED
S: * ESEARCH (TAG "A08") UID PARTIAL (2:3 3:4)
S: A08 OK <<*>>
C: A09 UID FETCH $ (UID)
S: * 3 FETCH (UID 3)
S: * 4 FETCH (UID 4)
S: A09 OK <<*>>
# §3.2: the last two messages of 1:*
C: A10 UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)
S: * 11 FETCH (UID 11 FLAGS ($Junk \Recent))
S: * 12 FETCH (UID 12 FLAGS (\Recent))
S: A10 OK <<*>>
C: A11 FETCH 2:* (UID) (PARTIAL 2:3)
S: * 3 FETCH (UID 3)
S: * 4 FETCH (UID 4)
S: A11 OK <<*>>
"#,
    );
    play(&env, &server, &t);
}

/// RFC 8474: MAILBOXID in CREATE's OK, SELECT and STATUS, kept by RENAME
/// and new for a re-created name; EMAILID kept by COPY and MOVE, new for a
/// second APPEND of the same bytes; THREADID shared by a reply naming its
/// root; SEARCH EMAILID / THREADID.
#[test]
fn objectid_mailbox_email_and_thread_ids_rfc8474() {
    let (env, server) = mail_env();
    let root = message(&["Subject: plan", "Message-ID: <root@example.org>"], "a");
    let reply = message(
        &[
            "Subject: Re: plan",
            "Message-ID: <reply@example.org>",
            "In-Reply-To: <root@example.org>",
            "References: <root@example.org>",
        ],
        "b",
    );
    let other = message(&["Subject: other", "Message-ID: <other@example.org>"], "c");
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    for m in [&root, &reply, &other, &root] {
        t.push_str(&append("INBOX", "", "", m));
    }
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "OBJECTID", "")
    ));
    t.push_str(
        r#"
# §4.1: CREATE answers the new MAILBOXID
C: 3 create foo
S: 3 OK [MAILBOXID (<<f=M[0-9a-f]+>>)] <<*>>
C: 4 create bar
S: 4 OK [MAILBOXID (<<b=M[0-9a-f]+>>)] <<*>>
N: 4 OK [MAILBOXID (<<$f>>)] <<*>>
C: 5 create foo
S: 5 NO <<*>>
# §4.2: RENAME keeps it
C: 6 status foo (mailboxid)
S: * STATUS foo (MAILBOXID (<<$f>>))
S: 6 OK <<*>>
C: 7 rename foo renamed
S: 7 OK <<*>>
C: 8 status renamed (mailboxid messages)
S: * STATUS renamed (MAILBOXID (<<$f>>) MESSAGES 0)
S: 8 OK <<*>>
# a deleted name created again is another mailbox
C: 9 delete renamed
S: 9 OK <<*>>
C: 10 create renamed
S: 10 OK [MAILBOXID (<<M[0-9a-f]+>>)] <<*>>
N: 10 OK [MAILBOXID (<<$f>>)] <<*>>
# §4.1: SELECT names it too
C: 27 select INBOX
S: * OK [MAILBOXID (<<i=M[0-9a-f]+>>)] <<*>>
S: ...
S: 27 OK <<*>>
# §5: EMAILID and THREADID; the same bytes appended twice are two emails
C: 28 fetch 1:4 (emailid threadid)
S: * 1 FETCH (EMAILID (<<e1=E[0-9a-f]+>>) THREADID (<<t1=T[0-9a-f]+>>))
S: * 2 FETCH (EMAILID (<<e2=E[0-9a-f]+>>) THREADID (<<$t1>>))
S: * 3 FETCH (EMAILID (<<e3=E[0-9a-f]+>>) THREADID (<<t3=T[0-9a-f]+>>))
S: * 4 FETCH (EMAILID (<<e4=E[0-9a-f]+>>) THREADID (<<$t1>>))
N: * 4 FETCH (EMAILID (<<$e1>>) <<*>>
N: * 3 FETCH (EMAILID (<<*>>) THREADID (<<$t1>>))
S: 28 OK <<*>>
# §6: SEARCH EMAILID and THREADID
C: 29 search emailid <<$e2>>
S: * SEARCH 2
S: 29 OK <<*>>
C: 30 uid search threadid <<$t1>>
S: * SEARCH 1 2 4
S: 30 OK <<*>>
C: 31 search threadid T0000
S: * SEARCH
S: 31 OK <<*>>
C: 32 search emailid "E1"
S: 32 BAD <<*>>
# MOVE and COPY keep EMAILID and THREADID
C: 33 move 2 bar
S: * OK [COPYUID <<*>>] <<*>>
S: * 2 EXPUNGE
S: 33 OK <<*>>
C: 34 copy 1 bar
S: 34 OK <<*>>
C: 35 select bar
S: * OK [MAILBOXID (<<$b>>)] <<*>>
S: ...
S: 35 OK <<*>>
C: 36 fetch 1:2 (emailid threadid)
S: * 1 FETCH (EMAILID (<<$e2>>) THREADID (<<$t1>>))
S: * 2 FETCH (EMAILID (<<$e1>>) THREADID (<<$t1>>))
S: 36 OK <<*>>
"#,
    );
    play(&env, &server, &t);
}

/// RFC 9586: once UIDONLY is enabled, commands naming messages by number
/// are `BAD [UIDREQUIRED]`, FETCH data comes as `* uid UIDFETCH (...)`
/// (solicited or not), expunges as VANISHED, and SELECT sends no UNSEEN.
#[test]
fn uidonly_speaks_in_uids_only_rfc9586() {
    let (env, server) = mail_env();
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    for i in 1..=4 {
        t.push_str(&append(
            "INBOX",
            "",
            "",
            &format!("Subject: {i}\\r\\n\\r\\nx\\r\\n"),
        ));
    }
    t.push_str(&seen("INBOX"));
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "UIDONLY", "")
    ));
    t.push_str(
        r#"
@b
!C: s LOGIN ann@example.org "ann password"
!C: s SELECT INBOX
@a
C: 2 ENABLE UIDONLY
S: * ENABLED UIDONLY
S: 2 OK <<*>>
C: 3 SELECT INBOX
S: ...
N: * OK [UNSEEN <<n>>] <<*>>
S: 3 OK <<*>>
C: 4 UID FETCH 1:* (FLAGS)
S: * 1 UIDFETCH (FLAGS ())
S: * 2 UIDFETCH (FLAGS ())
S: * 3 UIDFETCH (FLAGS ())
S: * 4 UIDFETCH (FLAGS ())
S: 4 OK <<*>>
# §3.2: message numbers are refused
C: 5 FETCH 1 (FLAGS)
S: 5 BAD [UIDREQUIRED] <<*>>
C: 6 SEARCH ALL
S: 6 BAD [UIDREQUIRED] <<*>>
C: 7 UID SEARCH 1:2
S: 7 BAD [UIDREQUIRED] <<*>>
C: 8 COPY 1 Archive
S: 8 BAD [UIDREQUIRED] <<*>>
C: 9 UID SEARCH UID 2:*
S: * SEARCH 2 3 4
S: 9 OK <<*>>
# §3.3, §3.4: STORE answers UIDFETCH, EXPUNGE goes out as VANISHED
C: 10 UID STORE 1 +FLAGS (\Deleted)
S: * 1 UIDFETCH (FLAGS (\Deleted))
S: 10 OK <<*>>
C: 11 EXPUNGE
S: * VANISHED 1
S: 11 OK <<*>>
C: 12 UID MOVE 2 Archive
S: * OK [COPYUID <<*>>] <<*>>
S: * VANISHED 2
S: 12 OK <<*>>
# changes made elsewhere come the same way
@b
!C: s STORE 3 +FLAGS (\Flagged)
@a
C: 13 NOOP
S: * 3 UIDFETCH (FLAGS (\Flagged))
N: * <<n>> FETCH <<*>>
S: 13 OK <<*>>
"#,
    );
    play(&env, &server, &t);
}

/// RFC 5267 §3: SORT RETURN (...) answers with ESEARCH, MIN and MAX being
/// the first and last in sort order and ALL (and PARTIAL's page) listed in
/// sort order, ranges only where ascending runs allow.
#[test]
fn esort_answers_in_sort_order_rfc5267() {
    let (env, server) = mail_env();
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    for (i, year) in [2021, 2019, 2020, 2022].iter().enumerate() {
        t.push_str(&append(
            "INBOX",
            if i == 0 { "\\Seen" } else { "" },
            "",
            &simple(
                "a@example.org",
                &format!("m{i}"),
                &format!("Mon, 1 Mar {year} 10:00:00 +0000"),
                "x",
            ),
        ));
    }
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "ESORT", "")
    ));
    t.push_str(
        r#"
!C: s SELECT INBOX
# §3.2, the RFC's examples (dates order the messages 2, 3, 1, 4)
C: A282 SORT RETURN (MIN COUNT) (DATE) UTF-8 SINCE 1-Feb-1994
S: * ESEARCH (TAG "A282") MIN 2 COUNT 4
S: A282 OK <<*>>
C: A283 SORT RETURN (ALL) (DATE) UTF-8 ALL
S: * ESEARCH (TAG "A283") ALL 2:3,1,4
S: A283 OK <<*>>
C: A284 SORT (DATE) UTF-8 ALL
S: * SORT 2 3 1 4
S: A284 OK <<*>>
C: A285 UID SORT RETURN (MAX ALL) (REVERSE DATE) UTF-8 UNSEEN
S: * ESEARCH (TAG "A285") UID MAX 2 ALL 4,3,2
S: A285 OK <<*>>
C: A286 SORT RETURN () (DATE) UTF-8 ALL
S: * ESEARCH (TAG "A286") ALL 2:3,1,4
S: A286 OK <<*>>
# RFC 9394: PARTIAL pages the sorted list
C: A287 SORT RETURN (PARTIAL 2:3 COUNT) (DATE) UTF-8 ALL
S: * ESEARCH (TAG "A287") PARTIAL (2:3 3,1) COUNT 4
S: A287 OK <<*>>
C: A288 SORT RETURN (SAVE PARTIAL -1:-2) (DATE) UTF-8 ALL
S: * ESEARCH (TAG "A288") PARTIAL (-1:-2 1,4)
S: A288 OK <<*>>
C: A289 UID SEARCH UID $
S: * SEARCH 1 4
S: A289 OK <<*>>
"#,
    );
    play(&env, &server, &t);
}
