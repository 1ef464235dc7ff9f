//! The examples of issue 14's extension RFCs, replayed as raw transcripts
//! over TLS (see imap_transcript.py), one test per extension: WITHIN,
//! SAVEDATE, UNAUTHENTICATE, PREVIEW, MULTIAPPEND, REPLACE. The rest are
//! in imap_rfc_ext3.rs.

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
