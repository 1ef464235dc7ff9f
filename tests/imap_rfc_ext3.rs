//! The examples of issue 14's extension RFCs, continued from
//! imap_rfc_ext2.rs: PARTIAL, OBJECTID, UIDONLY, ESORT, CONTEXT=SEARCH and
//! CONTEXT=SORT, CATENATE, METADATA and METADATA-SERVER, NOTIFY.

use crate::imap_transcript::{append, caps, login, message, play, seen, simple};
use crate::smtp::{mail_env, mail_env_with};

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

/// RFC 5267 §4: SEARCH and SORT RETURN (UPDATE) keep their result up to
/// date while the mailbox stays selected: changes from another session
/// arrive as ADDTO / REMOVEFROM (position 0 for SEARCH, the place in the
/// order for SORT), at NOOP and during IDLE; CANCELUPDATE ends one;
/// past `max_search_contexts`, and with PARTIAL, the answer is NOUPDATE.
#[test]
fn context_search_and_sort_updates_rfc5267() {
    let (env, server) = mail_env_with("[imap]\nmax_search_contexts = 2\n");
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    for (i, subject) in ["delta", "bravo", "echo", "charlie", "foxtrot"]
        .iter()
        .enumerate()
    {
        let flags = if i == 1 { "\\Flagged" } else { "" };
        t.push_str(&append(
            "INBOX",
            flags,
            "",
            &format!("Subject: {subject}\\r\\n\\r\\nx\\r\\n"),
        ));
    }
    t.push_str(&seen("INBOX"));
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "CONTEXT=SEARCH CONTEXT=SORT", "")
    ));
    t.push_str(
        r#"
@b
!C: s LOGIN ann@example.org "ann password"
!C: s SELECT INBOX
@a
!C: s SELECT INBOX
C: B01 UID SEARCH RETURN (UPDATE) FLAGGED
S: * ESEARCH (TAG "B01") UID ALL 2
S: B01 OK <<*>>
C: C01 UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 FLAGGED
S: * ESEARCH (TAG "C01") UID ALL 2
S: C01 OK <<*>>
# a third context is one too many here; a PARTIAL one is never updated
C: D01 SEARCH RETURN (COUNT UPDATE) ALL
S: * ESEARCH (TAG "D01") COUNT 5
S: * NO [NOUPDATE "D01"] <<*>>
S: D01 OK <<*>>
@b
!C: s STORE 4 +FLAGS (\Flagged)
@a
C: A02 NOOP
S: * 4 FETCH (FLAGS (\Flagged) UID 4)
S: * ESEARCH (TAG "B01") UID ADDTO (0 4)
S: * ESEARCH (TAG "C01") UID ADDTO (2 4)
S: A02 OK <<*>>
@b
!C: s STORE 2 -FLAGS (\Flagged)
@a
C: A03 NOOP
S: * 2 FETCH (FLAGS () UID 2)
S: * ESEARCH (TAG "B01") UID REMOVEFROM (0 2)
S: * ESEARCH (TAG "C01") UID REMOVEFROM (1 2)
S: A03 OK <<*>>
C: A04 CANCELUPDATE "B01"
S: A04 OK <<*>>
C: A05 IDLE
S: + <<*>>
@b
!C: s STORE 1 +FLAGS (\Flagged)
@a
W: * ESEARCH (TAG "C01") UID ADDTO (2 1)
S: * 1 FETCH (FLAGS (\Flagged) UID 1)
C: DONE
S: A05 OK <<*>>
N: * ESEARCH (TAG "B01") <<*>>
C: A06 SEARCH RETURN (PARTIAL 1:2 UPDATE) ALL
S: * ESEARCH (TAG "A06") PARTIAL (1:2 1:2)
S: * NO [NOUPDATE "A06"] <<*>>
S: A06 OK <<*>>
# contexts end with the mailbox
!C: s UNSELECT
!C: s SELECT INBOX
@b
!C: s STORE 5 +FLAGS (\Flagged)
@a
C: A07 NOOP
S: * 5 FETCH (FLAGS (\Flagged) UID 5)
N: * ESEARCH <<*>>
S: A07 OK <<*>>
"#,
    );
    play(&env, &server, &t);
}

/// RFC 4469 §5: APPEND ... CATENATE builds a message from text and from
/// parts of a stored message named by IMAP URLs; a URL that names nothing
/// (wrong UIDVALIDITY, no such UID) is `NO [BADURL ...]` and stores
/// nothing.
#[test]
fn catenate_builds_a_message_from_urls_and_text_rfc4469() {
    let (env, server) = mail_env();
    let draft = message(
        &[
            "Subject: draft",
            "Content-Type: multipart/mixed; boundary=b",
        ],
        "--b\\r\\nContent-Type: text/plain\\r\\n\\r\\nfirst part\\r\\n--b\\r\\nContent-Type: text/plain\\r\\n\\r\\nsecond part\\r\\n--b--",
    );
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    t.push_str(&append("Drafts", "", "", &draft));
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "CATENATE", "")
    ));
    t.push_str(
        r#"
C: s1 STATUS Drafts (UIDVALIDITY)
S: * STATUS Drafts (UIDVALIDITY <<v=\d+>>)
S: s1 OK <<*>>
# §5, the RFC's example shape: the header and part 1 of the draft again,
# with text between
C: A003 APPEND Drafts (\Seen \Draft $MDNSent) CATENATE (URL "/Drafts;UIDVALIDITY=<<$v>>/;UID=1/;section=HEADER" TEXT <<lit:--b\r\n>> URL "/Drafts;UIDVALIDITY=<<$v>>/;UID=1/;section=1.MIME" URL "/Drafts;UIDVALIDITY=<<$v>>/;UID=1/;section=1" TEXT <<lit:\r\n--b--\r\n>>)
S: + <<*>>
S: + <<*>>
S: A003 OK [APPENDUID <<$v>> 2] <<*>>
!C: s SELECT Drafts
C: A004 FETCH 2 (FLAGS BODY.PEEK[1] BODY.PEEK[HEADER.FIELDS (SUBJECT)] RFC822.SIZE)
S: * 2 FETCH (FLAGS (<<[^)]*>>) BODY[1] {10}first part BODY[HEADER.FIELDS (SUBJECT)] {18}Subject: draft\r\n\r\n RFC822.SIZE 113)
S: A004 OK <<*>>
# a URL relative to the selected mailbox, and a PARTIAL range
C: A005 APPEND Drafts CATENATE (TEXT <<lit+:Subject: x\r\n\r\n>> URL ";UID=1/;SECTION=2/;PARTIAL=0.6")
S: * 3 EXISTS
?: * <<n>> RECENT
S: A005 OK [APPENDUID <<$v>> 3] <<*>>
C: A006 FETCH 3 (BODY.PEEK[TEXT])
S: * 3 FETCH (BODY[TEXT] {6}second)
S: A006 OK <<*>>
# URLs that name nothing: nothing is stored
C: A007 APPEND Drafts CATENATE (TEXT <<lit+:x>> URL "/Drafts;UIDVALIDITY=1/;UID=1")
S: A007 NO [BADURL /Drafts;UIDVALIDITY=1/;UID=1] <<*>>
C: A008 APPEND Drafts CATENATE (URL "/Drafts/;UID=99")
S: A008 NO [BADURL /Drafts/;UID=99] <<*>>
C: A009 APPEND Drafts CATENATE (URL "/Nowhere/;UID=1")
S: A009 NO [BADURL /Nowhere/;UID=1] <<*>>
C: A010 STATUS Drafts (MESSAGES)
S: * STATUS Drafts (MESSAGES 3)
S: A010 OK <<*>>
"#,
    );
    play(&env, &server, &t);
}

/// RFC 5464 §4: SETMETADATA and GETMETADATA on a mailbox and on the server
/// (`""`): literal values, NIL removing, DEPTH and MAXSIZE (LONGENTRIES),
/// the size and count limits (`NO [METADATA MAXSIZE n]`, TOOMANY); RENAME
/// keeps a mailbox's entries, DELETE drops them.
#[test]
fn metadata_on_mailboxes_and_the_server_rfc5464() {
    let (env, server) = mail_env_with("[imap]\nmetadata_max_size = 64\nmetadata_max_entries = 5\n");
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "METADATA METADATA-SERVER", "")
    ));
    t.push_str(
        r#"
# §4.3: set, with a literal; §4.2: get
C: a1 SETMETADATA INBOX (/private/comment <<lit:My new comment across\r\ntwo lines.>>)
S: + <<*>>
S: a1 OK <<*>>
C: a2 SETMETADATA "" (/shared/comment "Shared comment")
S: a2 OK <<*>>
C: a3 GETMETADATA "" /shared/comment
S: * METADATA "" (/shared/comment "Shared comment")
S: a3 OK <<*>>
C: a4 GETMETADATA INBOX (/shared/comment /private/Comment)
S: * METADATA INBOX (/private/comment {33}My new comment across\r\ntwo lines.)
S: a4 OK <<*>>
# §4.2.1: MAXSIZE leaves out what is longer and says how long
C: a5 GETMETADATA (MAXSIZE 10) INBOX /private/comment
S: a5 OK [METADATA LONGENTRIES 33] <<*>>
# §4.2.2: DEPTH
C: a6 SETMETADATA INBOX (/private/filters/values/small "small" /private/filters/values/big/x "deep")
S: a6 OK <<*>>
C: a7 GETMETADATA (DEPTH 1) INBOX /private/filters/values
S: * METADATA INBOX (/private/filters/values/small "small")
S: a7 OK <<*>>
C: a8 GETMETADATA (DEPTH infinity) INBOX /private/filters
S: * METADATA INBOX (/private/filters/values/big/x "deep" /private/filters/values/small "small")
S: a8 OK <<*>>
# §4.3: NIL removes; limits
C: a9 SETMETADATA INBOX (/private/filters/values/small NIL)
S: a9 OK <<*>>
C: a11 SETMETADATA INBOX (/private/x <<lit+:0123456789012345678901234567890123456789012345678901234567890123456789>>)
S: a11 NO [METADATA MAXSIZE 64] <<*>>
C: a12 SETMETADATA INBOX (/private/a "1" /private/b "2" /private/c "3")
S: a12 NO [METADATA TOOMANY] <<*>>
C: a13 GETMETADATA INBOX (/private/a /private/b)
S: a13 OK <<*>>
C: a14 SETMETADATA INBOX (/comment "x")
S: a14 BAD <<*>>
C: a15 GETMETADATA Nowhere /private/comment
S: a15 NO [NONEXISTENT] <<*>>
# RENAME keeps the entries, DELETE drops them
!C: s CREATE Work
!C: s SETMETADATA Work (/private/comment "work")
!C: s RENAME Work Job
C: a16 GETMETADATA Job /private/comment
S: * METADATA Job (/private/comment "work")
S: a16 OK <<*>>
!C: s DELETE Job
!C: s CREATE Job
C: a17 GETMETADATA Job /private/comment
S: a17 OK <<*>>
"#,
    );
    play(&env, &server, &t);
}

/// RFC 5465: NOTIFY SET watches other mailboxes on one connection: their
/// changes come as STATUS (at once with STATUS, at NOOP, during IDLE),
/// only for the events asked for; unsupported events are BADEVENT; a
/// deleted watched mailbox is a LIST \NonExistent; NOTIFY NONE stops.
#[test]
fn notify_reports_other_mailboxes_rfc5465() {
    let (env, server) = mail_env();
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    t.push_str(&format!(
        "C: c1 CAPABILITY\nS: {}\nS: c1 OK <<*>>\n",
        caps("* CAPABILITY", "NOTIFY", "")
    ));
    t.push_str(
        r#"
!C: s CREATE Temp
@b
!C: s LOGIN ann@example.org "ann password"
@a
!C: s SELECT INBOX
C: a1 NOTIFY SET (personal (MailboxMetadataChange))
S: a1 NO [BADEVENT (<<*>>)] <<*>>
C: a2 NOTIFY SET STATUS (selected (MessageNew MessageExpunge FlagChange)) (mailboxes (Archive Temp) (MessageNew MessageExpunge))
S: * STATUS Archive (MESSAGES 0 UIDNEXT 1 UIDVALIDITY <<n>> UNSEEN 0)
S: * STATUS Temp (MESSAGES 0 UIDNEXT 1 UIDVALIDITY <<n>> UNSEEN 0)
S: a2 OK <<*>>
@b
!C: s APPEND Archive <<lit+:Subject: 1\r\n\r\nx\r\n>>
@a
C: a3 NOOP
S: * STATUS Archive (MESSAGES 1 UIDNEXT 2 UIDVALIDITY <<n>> UNSEEN 1)
S: a3 OK <<*>>
# during IDLE, and the selected mailbox as ever
C: a4 IDLE
S: + <<*>>
@b
!C: s APPEND Temp <<lit+:Subject: 2\r\n\r\nx\r\n>>
@a
W: * STATUS Temp (MESSAGES 1 UIDNEXT 2 UIDVALIDITY <<n>> UNSEEN 1)
@b
!C: s APPEND INBOX <<lit+:Subject: 3\r\n\r\nx\r\n>>
@a
W: * 1 EXISTS
?: * 1 RECENT
C: DONE
?: * 1 RECENT
S: a4 OK <<*>>
# FlagChange was not asked for Archive
@b
!C: s SELECT Archive
!C: s STORE 1 +FLAGS (\Seen)
@a
C: a5 NOOP
N: * STATUS <<*>>
S: a5 OK <<*>>
# a watched mailbox deleted
@b
!C: s UNSELECT
!C: s DELETE Temp
@a
C: a6 NOOP
S: * LIST (\NonExistent) "/" Temp
S: a6 OK <<*>>
C: a7 NOTIFY NONE
S: a7 OK <<*>>
@b
!C: s APPEND Archive <<lit+:Subject: 4\r\n\r\nx\r\n>>
@a
C: a8 NOOP
N: * STATUS <<*>>
S: a8 OK <<*>>
"#,
    );
    play(&env, &server, &t);
}

/// RFC 5465 §5.2, §5.4, §5.5: MailboxName brings a LIST for a created,
/// renamed (with OLDNAME) and deleted mailbox, SubscriptionChange one for
/// each (un)subscription; a mailbox created into a watched filter is
/// watched from then on; MessageNew's fetch attributes come with each new
/// message of the selected mailbox; malformed groups are BAD (§5).
#[test]
fn notify_mailbox_names_subscriptions_and_new_message_fetch_rfc5465() {
    let (env, server) = mail_env();
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    t.push_str(
        r#"
@b
!C: s LOGIN ann@example.org "ann password"
@a
!C: s SELECT INBOX
C: a1 NOTIFY SET (selected (MessageNew (UID RFC822.SIZE) MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))
S: a1 OK <<*>>
@b
!C: s CREATE Lists
@a
C: a2 NOOP
S: * LIST () "/" Lists
S: * STATUS Lists (MESSAGES 0 UIDNEXT 1 UIDVALIDITY <<n>> UNSEEN 0)
S: a2 OK <<*>>
@b
!C: s APPEND Lists <<lit+:Subject: 1\r\n\r\nx\r\n>>
@a
C: a3 NOOP
S: * STATUS Lists (MESSAGES 1 UIDNEXT 2 UIDVALIDITY <<n>> UNSEEN 1)
S: a3 OK <<*>>
@b
!C: s RENAME Lists Mailing
@a
C: a4 NOOP
S: * LIST () "/" Mailing ("OLDNAME" (Lists))
?: * STATUS Mailing (MESSAGES 1 UIDNEXT 2 UIDVALIDITY <<n>> UNSEEN 1)
S: a4 OK <<*>>
@b
!C: s APPEND Mailing <<lit+:Subject: 2\r\n\r\nx\r\n>>
@a
C: a5 NOOP
S: * STATUS Mailing (MESSAGES 2 UIDNEXT 3 UIDVALIDITY <<n>> UNSEEN 2)
S: a5 OK <<*>>
@b
!C: s SUBSCRIBE Mailing
@a
C: a6 NOOP
S: * LIST (\Subscribed) "/" Mailing
S: a6 OK <<*>>
@b
!C: s UNSUBSCRIBE Mailing
!C: s DELETE Mailing
@a
C: a7 NOOP
S: * LIST () "/" Mailing
S: * LIST (\NonExistent) "/" Mailing
S: a7 OK <<*>>
@b
!C: s APPEND INBOX <<lit+:Subject: 3\r\n\r\nxyz\r\n>>
@a
C: a8 NOOP
S: * 1 EXISTS
?: * 1 RECENT
S: * 1 FETCH (UID 1 RFC822.SIZE 19)
S: a8 OK <<*>>
C: a9 NOTIFY SET (personal (MessageNew))
S: a9 BAD <<*>>
C: a10 NOTIFY SET (personal (MessageNew (UID) MessageExpunge))
S: a10 BAD <<*>>
C: a11 NOTIFY SET (selected (MailboxName))
S: a11 BAD <<*>>
C: a12 NOTIFY SET (personal (FlagChange))
S: a12 BAD <<*>>
"#,
    );
    play(&env, &server, &t);
}
