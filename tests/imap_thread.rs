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
