//! The examples of issue 14's extension RFCs, replayed as raw transcripts
//! over TLS (see imap_transcript.py), one test per extension: WITHIN.

use crate::imap_transcript::{append, caps, login, play, seen};
use crate::smtp::mail_env;

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
