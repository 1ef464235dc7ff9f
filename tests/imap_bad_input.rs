//! IMAP against hostile mail and demanding clients (issue 13): messages
//! nested past the MIME depth limit, delivered by anyone over port 25,
//! must not break the mailbox they land in; sequence sets as long as the
//! command line allows are served.

use crate::imap::{expect_all, fresh_py, raw_session};

#[test]
fn mail_nested_past_the_mime_depth_limit_leaves_search_sort_thread_and_fetch_ok() {
    let out = fresh_py(
        r#"
def send(raw):
    s = smtplib.SMTP("127.0.0.1", MX, timeout=30)
    s.sendmail("sender@elsewhere.test", ["ann@example.org"], raw.encode())
    s.quit()
head = "From: sender@elsewhere.test\r\nTo: ann@example.org\r\nSubject: %s\r\nMessage-ID: <%s@elsewhere.test>\r\n"
deliver("ann@example.org", "plain before")
depths = [61, 62, 64, 200, 10000]
for d in depths:
    levels = "".join("Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(d))
    send(head % ("multipart %d" % d, "m%d" % d) + levels + "\r\ndeep leaf\r\n")
for d in depths:
    send(head % ("rfc822 %d" % d, "r%d" % d) + "Content-Type: message/rfc822\r\n\r\n" * d + "\r\ninner leaf\r\n")
deliver("ann@example.org", "plain after")
n = 2 + 2 * len(depths)
c = login()
print("select", c.select("INBOX"))
print("all", c.search(None, "ALL"))
print("subject", c.search(None, "SUBJECT", "plain"))
print("text", c.search(None, "TEXT", "hello"))
print("sort", c.sort("(SUBJECT)", "UTF-8", "ALL")[0])
print("thread", c.thread("REFERENCES", "UTF-8", "ALL")[0])
typ, data = c.fetch("1:*", "(ENVELOPE BODYSTRUCTURE)")
print("fetch", typ, sum(1 for d in data if isinstance(d, bytes) and b"ENVELOPE" in d) == n)
print("first", c.fetch("1", "(ENVELOPE)")[1][0][:120])
print("last", c.fetch(str(n), "(BODY)"))
print("deepest", c.fetch("6", "(BODY[TEXT]<0.40>)")[0])
c.logout()
"#,
    );
    expect_all(
        &out,
        &[
            "select ('OK', [b'12'])",
            "all ('OK', [b'1 2 3 4 5 6 7 8 9 10 11 12'])",
            "subject ('OK', [b'1 12'])",
            "text ('OK', [b'1 12'])",
            "sort OK",
            "thread OK",
            "fetch OK True",
            "plain before",
            "last ('OK', [b'12 (BODY (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1))'])",
            "deepest OK",
        ],
    );
}

#[test]
fn sequence_sets_with_thousands_of_ranges_are_served_up_to_the_line_limit() {
    let out = raw_session(
        r#"
for i in range(10):
    deliver("ann@example.org", "m%d" % i)
r = Raw()
r.run('a1 LOGIN ann@example.org "ann password"')
r.run("a2 SELECT INBOX")
# 1,900 ranges in a 4 KB line: refused with BAD by a fixed 1,000-range cap.
# (The first session to see the messages gets them as \\Recent: RFC 3501 §2.3.2.)
many = ",".join(["1", "3", "5", "7", "9"] * 380)
r.run("a3 UID FETCH %s (FLAGS)" % many)
# 10,000 distinct ranges, a 54 KB line: within the default 64 KiB.
odd = ",".join(str(n) for n in range(1, 20000, 2))
print("line", len(odd) > 50000)
r.run("a4 UID SEARCH UID %s" % odd)
r.run("a5 LOGOUT")
"#,
    );
    expect_all(
        &out,
        &[
            "a3 | * 9 FETCH (UID 9 FLAGS (\\Recent))",
            "a3 | a3 OK",
            "line True",
            "a4 | * SEARCH 1 3 5 7 9",
            "a4 | a4 OK",
        ],
    );
    assert!(!out.contains("a3 | * 2 FETCH"), "{out}");
}

#[test]
fn mailbox_names_with_dot_dot_levels_are_refused_at_create_and_rename() {
    let out = raw_session(
        r#"
r = Raw()
r.run('a1 LOGIN ann@example.org "ann password"')
r.run('a2 CREATE "../../x"')
r.run('a3 CREATE "INBOX/../x"')
r.run('a4 CREATE "a/./b"')
r.run("a5 CREATE Work")
r.run('a6 RENAME Work "../Work"')
r.run('a7 CREATE "Work/..notes"')
r.run('a8 LIST "" "*"')
r.run("a9 LOGOUT")
"#,
    );
    expect_all(
        &out,
        &[
            "a2 | a2 NO [CANNOT]",
            "a3 | a3 NO [CANNOT]",
            "a4 | a4 NO [CANNOT]",
            "a5 | a5 OK",
            "a6 | a6 NO [CANNOT]",
            "a7 | a7 OK",
            r#"a8 | * LIST (\HasChildren) "/" Work"#,
        ],
    );
    for made in ["\"/\" ..", "\"/\" \"..", "/x", "a/.", "\"/\" a"] {
        assert!(
            !out.lines()
                .any(|l| l.starts_with("a8 | * LIST") && l.contains(made)),
            "{made:?} was created:\n{out}"
        );
    }
}
