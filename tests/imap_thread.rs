//! THREAD REFERENCES through the real server (issue 19): the answer from
//! the thread heads alone (a program on flags only, `search_thread.rs`)
//! equals the per-message answer (the same program with a key that sends
//! THREAD the per-message way) on a random mailbox, with messages whose
//! headers are not UTF-8 (no thread head: read from their bytes beside
//! the heads) and messages without a usable Date (INTERNALDATE instead).

use crate::imap::fresh_py;

#[test]
fn thread_from_the_heads_equals_thread_per_message_on_a_random_mailbox() {
    let out = fresh_py(
        r#"
import random
rnd = random.Random(19)
c = login()
ids = ["m%d@example.org" % i for i in range(70)]
subjects = ["plan", "Re: plan", "lunch", "Fwd: lunch", "[list] Re: plan", "", "report"]
for i in range(70):
    h = []
    if rnd.random() < 0.9:
        h.append("Message-ID: <%s>" % ids[rnd.randrange(70)] if rnd.random() < 0.1 else "Message-ID: <%s>" % ids[i])
    if i and rnd.random() < 0.6:
        refs = " ".join("<%s>" % ids[rnd.randrange(80) % 70 if rnd.random() < 0.9 else 0] for _ in range(rnd.randrange(1, 4)))
        h.append("References: " + refs)
    if rnd.random() < 0.2:
        h.append("In-Reply-To: <%s>" % ids[rnd.randrange(70)])
    if rnd.random() < 0.9:
        h.append("Subject: " + rnd.choice(subjects))
    r = rnd.random()
    if r < 0.8:
        h.append("Date: %d Jan 2024 %02d:00:00 +0000" % (rnd.randrange(1, 28), rnd.randrange(24)))
    elif r < 0.9:
        h.append("Date: not a date")
    raw = "\r\n".join(h).encode() + b"\r\n"
    if rnd.random() < 0.1:
        raw += b"X-Latin: caf\xe9\r\n"
    raw += b"\r\nbody %d\r\n" % i
    when = imaplib.Time2Internaldate(1700000000 + rnd.randrange(10**6))
    flags = "(\\Seen)" if rnd.random() < 0.5 else None
    typ, _ = c.append("INBOX", flags, when, raw)
    assert typ == "OK", typ
c.select("INBOX")
def thread(uid, keys):
    if uid:
        typ, d = c.uid("THREAD", "REFERENCES", "UTF-8", *keys.split())
    else:
        typ, d = c.thread("REFERENCES", "UTF-8", *keys.split())
    assert typ == "OK", (keys, typ, d)
    return d
for uid in (True, False):
    for fast, slow in (("ALL", "LARGER 0"), ("UNSEEN", "UNSEEN LARGER 0"), ("SEEN", "SEEN NOT SMALLER 1")):
        a, b = thread(uid, fast), thread(uid, slow)
        print("uid" if uid else "seq", fast, "same" if a == b else "DIFFERENT", a, b)
        assert a[0], (fast, a)
c.logout()
"#,
    );
    assert!(!out.contains("DIFFERENT"), "{out}");
    assert_eq!(out.matches(" same ").count(), 6, "{out}");
}

/// A THREAD whose program reads a field a thread head does not keep
/// (FROM, a HEADER) matches it against the whole header, not the head:
/// the threads hold exactly the messages SEARCH finds.
#[test]
fn thread_with_a_key_on_other_header_fields_matches_the_whole_header() {
    let out = fresh_py(
        r#"
import re
c = login()
for i in range(12):
    who = "alice" if i % 3 == 0 else "bob"
    h = ["From: %s@example.org" % who, "Message-ID: <t%d@example.org>" % i,
         "Subject: plan %d" % (i % 4), "X-Team: %s" % ("red" if i % 2 else "blue"),
         "Date: %d Jan 2024 10:00:00 +0000" % (i + 1)]
    if i >= 4:
        h.append("References: <t%d@example.org>" % (i - 4))
    raw = ("\r\n".join(h) + "\r\n\r\nbody %d\r\n" % i).encode()
    typ, _ = c.append("INBOX", None, None, raw)
    assert typ == "OK", typ
c.select("INBOX")
for keys in ("FROM alice", "HEADER X-Team red", "NOT FROM bob", "OR FROM alice HEADER X-Team blue"):
    typ, d = c.uid("THREAD", "REFERENCES", "UTF-8", *keys.split())
    assert typ == "OK", (keys, typ, d)
    threaded = sorted(int(n) for n in re.findall(rb"\d+", d[0]))
    typ, s = c.uid("SEARCH", *keys.split())
    found = sorted(int(n) for n in s[0].split())
    print(keys, "same" if threaded == found and found else "DIFFERENT", threaded, found)
c.logout()
"#,
    );
    assert!(!out.contains("DIFFERENT"), "{out}");
    assert_eq!(out.matches(" same ").count(), 4, "{out}");
}
