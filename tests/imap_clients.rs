//! Client-like IMAP sessions over raw TLS: the commands Thunderbird and
//! Outlook send at first connect and at sync, in their own spelling
//! (Thunderbird's lower-case verbs and header field list from its IMAP logs;
//! Outlook's LOGIN, LIST/LSUB, UID SEARCH UNDELETED, header-then-body UID
//! FETCHes, "Sent Items"/"Deleted Items", NOOP polling and its obsolete
//! RFC822.PEEK), with mail delivered over SMTP. A second connection then
//! checks what the user sees: the messages are there, flags stuck, moved
//! mail is in Trash and gone from INBOX, sent mail is in Sent.

use crate::imap_transcript::{caps, login, play};
use crate::smtp::mail_env;

/// `\0ann@example.org\0ann password` in base64 (SASL PLAIN, RFC 4616).
const ANN_PLAIN: &str = "AGFubkBleGFtcGxlLm9yZwBhbm4gcGFzc3dvcmQ=";

/// The header fields Thunderbird asks for when it lists a folder.
const TB_FIELDS: &str = "From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To";

/// A pattern for the FETCH answer to Thunderbird's header request: the
/// literal holds the subject line among the other fields.
fn tb_headers(seq: u32, uid: u32, flags: &str, subject: &str) -> String {
    format!(
        "S: * {seq} FETCH (UID {uid} RFC822.SIZE <<n>> FLAGS ({flags}) BODY[HEADER.FIELDS (<<[^)]*>>)] {{<<n>>}}From: Sender <sender@elsewhere.test>\\r\\nTo: ann@example.org\\r\\nSubject: {subject}\\r\\nDate: <<[^\\\\]*>>\\r\\nMessage-ID: <{subject}@elsewhere.test>\\r\\n\\r\\n)\n"
    )
}

#[test]
fn thunderbird_first_connect_sync_idle_move_and_sent_copy() {
    let (env, server) = mail_env();
    let after_login = caps("", "IMAP4rev1 IDLE CONDSTORE QRESYNC MOVE UIDPLUS", "");
    let sent = "From: ann@example.org\\r\\nTo: bob@example.org\\r\\nSubject: lunch\\r\\nMessage-ID: <lunch@example.org>\\r\\n\\r\\nNoon?\\r\\n";
    let t = [
        r#"
!SMTP: ann@example.org first
!SMTP: ann@example.org second
!SMTP: ann@example.org third
# a phone saw these first, so they are not \Recent below (RFC 3501 §2.3.2)
@phone
!C: s LOGIN ann@example.org "ann password"
!C: s SELECT INBOX
!C: s UNSELECT
@tb
C: 1 capability
S: * CAPABILITY IMAP4rev1 <<*>>
S: 1 OK <<*>>
C: 2 ID ("name" "Thunderbird" "version" "128.5.0")
S: * ID <<*>>
S: 2 OK <<*>>
C: 3 authenticate PLAIN
S: + <<*>>
"#,
        &format!("C: {ANN_PLAIN}\nS: 3 OK [CAPABILITY{after_login}] <<*>>\n"),
        r#"
C: 4 namespace
S: * NAMESPACE (("" "/")) NIL NIL
S: 4 OK <<*>>
C: 5 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: 5 OK <<*>>
C: 6 list (SUBSCRIBED) "" "*"
S: * LIST (\HasNoChildren \Subscribed) "/" INBOX
S: * LIST (\HasNoChildren \Sent \Subscribed) "/" Sent
S: * LIST (\Drafts \HasNoChildren \Subscribed) "/" Drafts
S: * LIST (\HasNoChildren \Subscribed \Trash) "/" Trash
S: * LIST (\HasNoChildren \Junk \Subscribed) "/" Junk
S: * LIST (\Archive \HasNoChildren \Subscribed) "/" Archive
S: 6 OK <<*>>
C: 7 lsub "" "*"
S: * LSUB (<<*>>) "/" INBOX
S: * LSUB (<<*>>) "/" Sent
S: * LSUB (<<*>>) "/" Drafts
S: * LSUB (<<*>>) "/" Trash
S: * LSUB (<<*>>) "/" Junk
S: * LSUB (<<*>>) "/" Archive
S: 7 OK <<*>>
C: 8 list "" "*"
S: * LIST (\HasNoChildren) "/" INBOX
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: * LIST (\Drafts \HasNoChildren) "/" Drafts
S: * LIST (\HasNoChildren \Trash) "/" Trash
S: * LIST (\HasNoChildren \Junk) "/" Junk
S: * LIST (\Archive \HasNoChildren) "/" Archive
S: 8 OK <<*>>
C: 9 select "INBOX" (CONDSTORE)
S: * 3 EXISTS
S: * OK [UIDVALIDITY <<uv=\d+>>] <<*>>
S: * OK [HIGHESTMODSEQ <<hms=\d+>>] <<*>>
S: ...
S: 9 OK [READ-WRITE] <<*>>
C: 10 getquotaroot "INBOX"
S: * QUOTAROOT INBOX<<*>>
S: ...
S: 10 OK <<*>>
C: 11 UID fetch 1:* (FLAGS)
S: * 1 FETCH (UID 1 FLAGS ())
S: * 2 FETCH (UID 2 FLAGS ())
S: * 3 FETCH (UID 3 FLAGS ())
S: 11 OK <<*>>
"#,
        &format!("C: 12 UID fetch 1:3 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS ({TB_FIELDS})])\n"),
        &tb_headers(1, 1, "", "first"),
        &tb_headers(2, 2, "", "second"),
        &tb_headers(3, 3, "", "third"),
        r#"S: 12 OK <<*>>
# the user opens message 2, then Thunderbird marks it read
C: 13 UID fetch 2 (UID RFC822.SIZE BODY.PEEK[])
S: * 2 FETCH (UID 2 RFC822.SIZE <<n>> BODY[] {<<n>>}<<*>>Subject: second\r\n<<*>>\r\n\r\nHello from SMTP\r\n)
S: 13 OK <<*>>
C: 14 uid store 2 +Flags (\Seen)
S: * 2 FETCH (FLAGS (\Seen) UID 2 MODSEQ (<<n>>))
S: 14 OK <<*>>
# a keyword new to the mailbox comes with the new FLAGS (RFC 3501 §7.2.6)
C: 15 uid store 3 +Flags (\Flagged NonJunk)
S: * FLAGS (\Answered \Deleted \Draft \Flagged \Seen NonJunk)
S: * OK [PERMANENTFLAGS (\* \Answered \Deleted \Draft \Flagged \Seen NonJunk)] <<*>>
S: * 3 FETCH (FLAGS (\Flagged NonJunk) UID 3 MODSEQ (<<n>>))
S: 15 OK <<*>>
# new mail while idling
C: 16 IDLE
S: + <<*>>
!SMTP: ann@example.org fourth
W: * 4 EXISTS
W: * 1 RECENT
C: DONE
S: 16 OK <<*>>
C: 17 UID fetch 4:* (FLAGS)
S: * 4 FETCH (UID 4 FLAGS (\Recent))
S: 17 OK <<*>>
"#,
        &format!("C: 18 UID fetch 4 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS ({TB_FIELDS})])\n"),
        &tb_headers(4, 4, "\\Recent", "fourth"),
        r#"S: 18 OK <<*>>
C: 19 STATUS "Sent" (UIDNEXT MESSAGES UNSEEN RECENT)
S: * STATUS Sent (UIDNEXT 1 MESSAGES 0 UNSEEN 0 RECENT 0)
S: 19 OK <<*>>
# Delete (move to Trash) and Archive (copy, \Deleted, UID EXPUNGE)
C: 20 uid move 1 "Trash"
S: * OK [COPYUID <<n>> 1 1] <<*>>
S: * VANISHED 1
S: 20 OK <<*>>
C: 21 UID copy 3 "Archive"
S: 21 OK [COPYUID <<n>> 3 1] <<*>>
C: 22 uid store 3 +Flags (\Deleted)
S: * 2 FETCH (FLAGS (\Deleted \Flagged NonJunk) UID 3 MODSEQ (<<n>>))
S: 22 OK <<*>>
C: 23 UID expunge 3
S: * VANISHED 3
S: 23 OK <<*>>
"#,
        &format!(
            "C: 24 append \"Sent\" (\\Seen) <<lit:{sent}>>\nS: + <<*>>\nS: 24 OK [APPENDUID <<n>> 1] <<*>>\n"
        ),
        r#"
C: 25 noop
S: 25 OK <<*>>
C: 26 logout
S: * BYE <<*>>
S: 26 OK <<*>>
# what the user sees from another device
@check
"#,
        &login("ann@example.org"),
        r#"
C: c1 select "Trash"
S: * 1 EXISTS
S: ...
S: c1 OK <<*>>
C: c2 fetch 1 (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])
S: * 1 FETCH (FLAGS (\Recent) BODY[HEADER.FIELDS (Subject)] {<<n>>}Subject: first\r\n\r\n)
S: c2 OK <<*>>
C: c3 select "INBOX"
S: * 2 EXISTS
S: ...
S: c3 OK <<*>>
C: c4 fetch 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])
S: * 1 FETCH (UID 2 FLAGS (\Seen) BODY[HEADER.FIELDS (Subject)] {<<n>>}Subject: second\r\n\r\n)
S: * 2 FETCH (UID 4 FLAGS () BODY[HEADER.FIELDS (Subject)] {<<n>>}Subject: fourth\r\n\r\n)
S: c4 OK <<*>>
C: c5 select "Archive"
S: * 1 EXISTS
S: ...
S: c5 OK <<*>>
C: c6 fetch 1 (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])
S: * 1 FETCH (FLAGS (\Flagged \Recent NonJunk) BODY[HEADER.FIELDS (Subject)] {<<n>>}Subject: third\r\n\r\n)
S: c6 OK <<*>>
C: c7 select "Sent"
S: * 1 EXISTS
S: ...
S: c7 OK <<*>>
C: c8 fetch 1 (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])
S: * 1 FETCH (FLAGS (\Recent \Seen) BODY[HEADER.FIELDS (Subject)] {<<n>>}Subject: lunch\r\n\r\n)
S: c8 OK <<*>>
# Thunderbird comes back: QRESYNC from the state it saw at its first SELECT
@tb2
"#,
        &format!("C: 1 authenticate PLAIN {ANN_PLAIN}\nS: 1 OK <<*>>\n"),
        r#"
C: 2 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: 2 OK <<*>>
C: 3 select "INBOX" (QRESYNC (<<$uv>> <<$hms>>))
S: * 2 EXISTS
S: * VANISHED (EARLIER) 1,3
S: * 1 FETCH (UID 2 FLAGS (\Seen) MODSEQ (<<n>>))
S: * 2 FETCH (UID 4 FLAGS () MODSEQ (<<n>>))
S: ...
S: 3 OK [READ-WRITE] <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

#[test]
fn outlook_first_connect_sync_poll_delete_and_sent_items() {
    let (env, server) = mail_env();
    let sent = "From: ann@example.org\\r\\nTo: bob@example.org\\r\\nSubject: report\\r\\nMessage-ID: <report@example.org>\\r\\n\\r\\nAttached.\\r\\n";
    let t = [
        r#"
!SMTP: ann@example.org first
!SMTP: ann@example.org second
!SMTP: ann@example.org third
# a phone saw these first, so they are not \Recent below (RFC 3501 §2.3.2)
@phone
!C: s LOGIN ann@example.org "ann password"
!C: s SELECT INBOX
!C: s UNSELECT
@ol
C: 1 CAPABILITY
S: * CAPABILITY IMAP4rev1 <<*>>
S: 1 OK <<*>>
C: 2 LOGIN "ann@example.org" "ann password"
S: 2 OK <<*>>
C: 3 CAPABILITY
S: * CAPABILITY IMAP4rev1 <<*>>
S: 3 OK <<*>>
C: 4 LIST "" ""
S: * LIST (\Noselect) "/" ""
S: 4 OK <<*>>
C: 5 LIST "" "*"
S: * LIST (<<*>>) "/" INBOX
S: * LIST (<<*>>) "/" Sent
S: * LIST (<<*>>) "/" Drafts
S: * LIST (<<*>>) "/" Trash
S: * LIST (<<*>>) "/" Junk
S: * LIST (<<*>>) "/" Archive
S: 5 OK <<*>>
C: 6 LSUB "" "*"
S: ...
S: 6 OK <<*>>
# Outlook makes its own folders and subscribes to them
C: 7 CREATE "Sent Items"
S: 7 OK <<*>>
C: 8 SUBSCRIBE "Sent Items"
S: 8 OK <<*>>
C: 9 CREATE "Deleted Items"
S: 9 OK <<*>>
C: 10 SUBSCRIBE "Deleted Items"
S: 10 OK <<*>>
C: 11 SELECT "INBOX"
S: * 3 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] <<*>>
S: ...
S: 11 OK [READ-WRITE] <<*>>
C: 12 UID SEARCH UNDELETED
S: * SEARCH 1 2 3
S: 12 OK <<*>>
C: 13 UID FETCH 1:3 (UID FLAGS)
S: * 1 FETCH (UID 1 FLAGS ())
S: * 2 FETCH (UID 2 FLAGS ())
S: * 3 FETCH (UID 3 FLAGS ())
S: 13 OK <<*>>
C: 14 UID FETCH 1:3 (UID RFC822.SIZE FLAGS INTERNALDATE BODY.PEEK[HEADER])
S: * 1 FETCH (UID 1 RFC822.SIZE <<n>> FLAGS () INTERNALDATE "<<[^"]+>>" BODY[HEADER] {<<n>>}<<*>>Subject: first\r\n<<*>>)
S: * 2 FETCH (UID 2 RFC822.SIZE <<n>> FLAGS () INTERNALDATE "<<[^"]+>>" BODY[HEADER] {<<n>>}<<*>>Subject: second\r\n<<*>>)
S: * 3 FETCH (UID 3 RFC822.SIZE <<n>> FLAGS () INTERNALDATE "<<[^"]+>>" BODY[HEADER] {<<n>>}<<*>>Subject: third\r\n<<*>>)
S: 14 OK <<*>>
C: 15 UID FETCH 1 (UID RFC822.SIZE BODY.PEEK[])
S: * 1 FETCH (UID 1 RFC822.SIZE <<n>> BODY[] {<<n>>}<<*>>Subject: first\r\n<<*>>Hello from SMTP\r\n)
S: 15 OK <<*>>
# Outlook downloads bodies with the obsolete RFC822.PEEK (RFC 1730), as
# Microsoft's MS-STANOIMAP documents and go-imap issue 657 shows
C: 16 UID fetch 2 (UID RFC822.SIZE RFC822.peek)
S: * 2 FETCH (UID 2 RFC822.SIZE <<n>> RFC822 {<<n>>}<<*>>Subject: second\r\n<<*>>)
S: 16 OK <<*>>
C: 17 UID STORE 1 +FLAGS.SILENT (\Seen)
S: 17 OK <<*>>
C: 18 UID STORE 3 +FLAGS (\Answered)
S: * 3 FETCH (FLAGS (\Answered) UID 3)
S: 18 OK <<*>>
# polling: new mail shows at the next NOOP
C: 19 NOOP
S: 19 OK <<*>>
!SMTP: ann@example.org fourth
C: 20 NOOP
S: * 4 EXISTS
S: * 1 RECENT
S: 20 OK <<*>>
C: 21 UID FETCH 4:* (UID RFC822.SIZE FLAGS INTERNALDATE BODY.PEEK[HEADER])
S: * 4 FETCH (UID 4 RFC822.SIZE <<n>> FLAGS (\Recent) INTERNALDATE "<<[^"]+>>" BODY[HEADER] {<<n>>}<<*>>Subject: fourth\r\n<<*>>)
S: 21 OK <<*>>
# Delete: copy to Deleted Items, mark \Deleted, purge
C: 22 UID COPY 2 "Deleted Items"
S: 22 OK [COPYUID <<n>> 2 1] <<*>>
C: 23 UID STORE 2 +FLAGS.SILENT (\Deleted)
S: 23 OK <<*>>
C: 24 EXPUNGE
S: * 2 EXPUNGE
S: 24 OK <<*>>
C: 25 UID SEARCH UNDELETED
S: * SEARCH 1 3 4
S: 25 OK <<*>>
"#,
        &format!(
            "C: 26 APPEND \"Sent Items\" (\\Seen) <<lit:{sent}>>\nS: + <<*>>\nS: 26 OK [APPENDUID <<n>> 1] <<*>>\n"
        ),
        r#"
C: 27 STATUS "Deleted Items" (MESSAGES UNSEEN)
S: * STATUS "Deleted Items" (MESSAGES 1 UNSEEN 1)
S: 27 OK <<*>>
C: 28 IDLE
S: + <<*>>
C: DONE
S: 28 OK <<*>>
C: 29 LOGOUT
S: * BYE <<*>>
S: 29 OK <<*>>
# what the user sees from another device
@check
"#,
        &login("ann@example.org"),
        r#"
C: c1 select INBOX
S: * 3 EXISTS
S: ...
S: c1 OK <<*>>
C: c2 fetch 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])
S: * 1 FETCH (UID 1 FLAGS (\Seen) BODY[HEADER.FIELDS (Subject)] {<<n>>}Subject: first\r\n\r\n)
S: * 2 FETCH (UID 3 FLAGS (\Answered) BODY[HEADER.FIELDS (Subject)] {<<n>>}Subject: third\r\n\r\n)
S: * 3 FETCH (UID 4 FLAGS () BODY[HEADER.FIELDS (Subject)] {<<n>>}Subject: fourth\r\n\r\n)
S: c2 OK <<*>>
C: c3 select "Deleted Items"
S: * 1 EXISTS
S: ...
S: c3 OK <<*>>
C: c4 fetch 1 (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])
S: * 1 FETCH (FLAGS (\Recent) BODY[HEADER.FIELDS (Subject)] {<<n>>}Subject: second\r\n\r\n)
S: c4 OK <<*>>
C: c5 select "Sent Items"
S: * 1 EXISTS
S: ...
S: c5 OK <<*>>
C: c6 fetch 1 (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])
S: * 1 FETCH (FLAGS (\Recent \Seen) BODY[HEADER.FIELDS (Subject)] {<<n>>}Subject: report\r\n\r\n)
S: c6 OK <<*>>
C: c7 LSUB "" "*Items"
S: * LSUB (<<*>>) "/" "Deleted Items"
S: * LSUB (<<*>>) "/" "Sent Items"
S: c7 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}

/// Apple Mail's habits (from its IMAP logs): ID with its name and OS,
/// NAMESPACE and the hierarchy delimiter asked first, LIST-STATUS to fill
/// the sidebar counts in one go, CONDSTORE at SELECT with CHANGEDSINCE
/// resyncs, whole headers and BODYSTRUCTURE with a partial body fetch,
/// silent flag stores, UID EXPUNGE after \Deleted, APPEND of the sent copy.
#[test]
fn apple_mail_sidebar_counts_condstore_resync_partial_fetch_and_uid_expunge() {
    let (env, server) = mail_env();
    let sent = "From: ann@example.org\\r\\nTo: bob@example.org\\r\\nSubject: hi bob\\r\\n\\r\\nHello\\r\\n";
    let t = [
        r#"
!SMTP: ann@example.org first
!SMTP: ann@example.org second
!SMTP: ann@example.org third
@mac
C: 1.1 CAPABILITY
S: * CAPABILITY IMAP4rev1 <<*>>
S: 1.1 OK <<*>>
C: 1.2 ID ("name" "Mac OS X Mail" "version" "16.0 (3774.600.62)" "os" "Mac OS X" "os-version" "14.5 (23F79)" "vendor" "Apple Inc.")
S: * ID <<*>>
S: 1.2 OK <<*>>
C: 2.1 AUTHENTICATE PLAIN
S: + <<*>>
"#,
        &format!("C: {ANN_PLAIN}\nS: 2.1 OK <<*>>\n"),
        r#"
C: 3.1 NAMESPACE
S: * NAMESPACE (("" "/")) NIL NIL
S: 3.1 OK <<*>>
C: 4.1 LIST "" ""
S: * LIST (\Noselect) "/" ""
S: 4.1 OK <<*>>
C: 5.1 LIST "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN UIDNEXT HIGHESTMODSEQ))
S: * LIST (\Archive \HasNoChildren) "/" Archive
S: * STATUS Archive (MESSAGES 0 UNSEEN 0 UIDNEXT 1 HIGHESTMODSEQ <<n>>)
S: * LIST (\Drafts \HasNoChildren) "/" Drafts
S: * STATUS Drafts (MESSAGES 0 UNSEEN 0 UIDNEXT 1 HIGHESTMODSEQ <<n>>)
S: * LIST (\HasNoChildren) "/" INBOX
S: * STATUS INBOX (MESSAGES 3 UNSEEN 3 UIDNEXT 4 HIGHESTMODSEQ <<n>>)
S: * LIST (\HasNoChildren \Junk) "/" Junk
S: * STATUS Junk (MESSAGES 0 UNSEEN 0 UIDNEXT 1 HIGHESTMODSEQ <<n>>)
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: * STATUS Sent (MESSAGES 0 UNSEEN 0 UIDNEXT 1 HIGHESTMODSEQ <<n>>)
S: * LIST (\HasNoChildren \Trash) "/" Trash
S: * STATUS Trash (MESSAGES 0 UNSEEN 0 UIDNEXT 1 HIGHESTMODSEQ <<n>>)
S: 5.1 OK <<*>>
C: 6.1 SELECT INBOX (CONDSTORE)
S: * 3 EXISTS
S: * OK [HIGHESTMODSEQ <<hms=\d+>>] <<*>>
S: ...
S: 6.1 OK [READ-WRITE] <<*>>
C: 7.1 UID FETCH 1:3 (INTERNALDATE UID RFC822.SIZE FLAGS BODYSTRUCTURE BODY.PEEK[HEADER])
S: * 1 FETCH (INTERNALDATE "<<*>>" UID 1 RFC822.SIZE <<n>> FLAGS (\Recent) BODYSTRUCTURE ("text" "plain" <<*>>) BODY[HEADER] {<<n>>}<<*>>Subject: first\r\n<<*>>\r\n\r\n)
S: * 2 FETCH (INTERNALDATE "<<*>>" UID 2 RFC822.SIZE <<n>> FLAGS (\Recent) BODYSTRUCTURE ("text" "plain" <<*>>) BODY[HEADER] {<<n>>}<<*>>Subject: second\r\n<<*>>\r\n\r\n)
S: * 3 FETCH (INTERNALDATE "<<*>>" UID 3 RFC822.SIZE <<n>> FLAGS (\Recent) BODYSTRUCTURE ("text" "plain" <<*>>) BODY[HEADER] {<<n>>}<<*>>Subject: third\r\n<<*>>\r\n\r\n)
S: 7.1 OK <<*>>
# the preview pane: the first bytes of the body only
C: 8.1 UID FETCH 2 (BODY.PEEK[1]<0.5>)
S: * 2 FETCH (UID 2 BODY[1]<0> {5}Hello)
S: 8.1 OK <<*>>
# RFC 7162 §3.1.4: with CONDSTORE on, a silent store still reports the
# new MODSEQ
C: 9.1 UID STORE 2 +FLAGS.SILENT (\Seen)
S: * 2 FETCH (UID 2 MODSEQ (<<n>>))
S: 9.1 OK <<*>>
# another device changes a flag; Apple Mail resyncs with CHANGEDSINCE
@phone
!C: o0 LOGIN ann@example.org "ann password"
!C: o1 SELECT INBOX
!C: o2 STORE 1 +FLAGS (\Flagged)
@mac
"#,
        "C: 10.1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE <<$hms>>)\n",
        r#"S: * 1 FETCH (UID 1 FLAGS (\Flagged \Recent) MODSEQ (<<n>>))
S: * 2 FETCH (UID 2 FLAGS (\Recent \Seen) MODSEQ (<<n>>))
S: 10.1 OK <<*>>
# delete: \Deleted then UID EXPUNGE of that message only
C: 11.1 UID STORE 3 +FLAGS.SILENT (\Deleted)
S: * 3 FETCH (UID 3 MODSEQ (<<n>>))
S: 11.1 OK <<*>>
C: 12.1 UID EXPUNGE 3
S: * 3 EXPUNGE
S: 12.1 OK <<*>>
"#,
        &format!(
            "C: 13.1 APPEND \"Sent\" (\\Seen) <<lit:{sent}>>\nS: + <<*>>\nS: 13.1 OK [APPENDUID <<n>> 1] <<*>>\n"
        ),
        r#"
C: 14.1 STATUS INBOX (MESSAGES UNSEEN HIGHESTMODSEQ)
S: * STATUS INBOX (MESSAGES 2 UNSEEN 1 HIGHESTMODSEQ <<n>>)
S: 14.1 OK <<*>>
C: 15.1 LOGOUT
S: * BYE <<*>>
S: 15.1 OK <<*>>
"#,
    ]
    .concat();
    play(&env, &server, &t);
}
