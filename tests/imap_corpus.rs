//! IMAP against Dovecot's answers, over the wire: the shared corpus is
//! APPENDed through imaplib with each message's INTERNALDATE, then every
//! FETCH command of the golden file is replayed on a raw TLS socket and its
//! untagged response compared byte for byte (literals included). Also
//! COMPRESS=DEFLATE: a round trip, and pipelined batches answered in full.

use crate::smtp::mail_env;
use crate::support::{self, Env, Server, root};

fn run_py(env: &Env, server: &Server, script: &str) -> String {
    let corpus = root().join("../shared/corpus");
    assert!(
        corpus.join("golden/dovecot-2.3.19.json").is_file(),
        "the shared corpus is missing at {}",
        corpus.display()
    );
    support::python(env, server, script, &[("CORPUS", &corpus)])
}

const CLIENT: &str = r#"
import os, ssl, socket, json, hashlib, imaplib, zlib
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
PORT = int(os.environ["IMAPS_PORT"])
class Raw:
    """A raw IMAP client that returns exact response bytes, literals included."""
    def __init__(self):
        self.s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", PORT), timeout=30), server_hostname="localhost")
        self.buf = b""; self.n = 0
        self.line()
    def fill(self):
        d = self.s.recv(65536)
        if not d: raise EOFError("closed")
        self.buf += d
    def line(self):
        while b"\r\n" not in self.buf: self.fill()
        i = self.buf.index(b"\r\n") + 2
        l, self.buf = self.buf[:i], self.buf[i:]
        return l
    def exact(self, n):
        while len(self.buf) < n: self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d
    def cmd(self, text):
        self.n += 1; tag = b"c%d" % self.n
        self.s.sendall(tag + b" " + text + b"\r\n")
        resp = b""
        while True:
            l = self.line()
            while l.endswith(b"}\r\n") and b"{" in l:
                n = int(l[l.rindex(b"{") + 1:-3]); l = l + self.exact(n) + self.line()
            if l.startswith(tag + b" "): return resp, l[len(tag) + 1:]
            resp += l
"#;

#[test]
fn every_fetch_of_the_corpus_matches_dovecot_over_the_wire() {
    let (env, server) = mail_env();
    let script = format!(
        "{CLIENT}\n{}",
        r#"
g = json.load(open(os.path.join(os.environ["CORPUS"], "golden/dovecot-2.3.19.json")))
c = imaplib.IMAP4_SSL("127.0.0.1", PORT, ssl_context=ctx, timeout=30)
c.login("ann@example.org", "ann password")
c.create("corpus")
for m in g["messages"]:
    raw = open(os.path.join(os.environ["CORPUS"], "messages", m["file"]), "rb").read()
    typ, _ = c.append("corpus", None, '"%s"' % m["internaldate_appended"], raw)
    assert typ == "OK", m["file"]
c.logout()
r = Raw()
r.cmd(b'LOGIN "ann@example.org" "ann password"')
r.cmd(b"SELECT corpus")
compared = same = 0
for m in g["messages"]:
    for f in m["fetches"]:
        resp, status = r.cmd(f["command"].encode("latin-1"))
        want = f["response"]
        compared += 1
        if isinstance(want, dict):
            ok = len(resp) == want["length"] and hashlib.sha256(resp).hexdigest() == want["sha256"]
        else:
            ok = resp == want.encode("latin-1")
        ok = ok and status.startswith(b"OK")
        if ok: same += 1
        else: print("DIFF", m["file"], f["command"], "\n  want", repr(want)[:300], "\n  got ", repr(resp)[:300], status)
print("compared", compared, "identical", same)
"#
    );
    let out = run_py(&env, &server, &script);
    let summary = out
        .lines()
        .find(|l| l.starts_with("compared"))
        .unwrap_or("");
    assert_eq!(summary, "compared 1028 identical 1028", "{out}");
}

#[test]
fn compress_deflate_round_trip() {
    let (env, server) = mail_env();
    let script = format!(
        "{CLIENT}\n{}",
        r#"
r = Raw()
r.cmd(b'LOGIN "ann@example.org" "ann password"')
print("caps", r.cmd(b"CAPABILITY")[0])
print("compress", r.cmd(b"COMPRESS DEFLATE")[1])
co = zlib.compressobj(wbits=-15); de = zlib.decompressobj(wbits=-15)
def zcmd(tag, text):
    r.s.sendall(co.compress(tag + b" " + text + b"\r\n") + co.flush(zlib.Z_SYNC_FLUSH))
    out = b""
    while not any(l.startswith(tag + b" ") for l in out.split(b"\r\n")):
        out += de.decompress(r.s.recv(65536))
    return out
print("select", zcmd(b"z1", b"SELECT INBOX"))
print("list", zcmd(b"z2", b'LIST "" *'))
print("again", zcmd(b"z3", b"COMPRESS DEFLATE"))
print("logout", zcmd(b"z4", b"LOGOUT"))
"#
    );
    let out = run_py(&env, &server, &script);
    for want in [
        "COMPRESS=DEFLATE",
        " ESEARCH SEARCHRES SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES ",
        " CONDSTORE QRESYNC ",
        "compress b'OK DEFLATE active\\r\\n'",
        "z1 OK [READ-WRITE]",
        r#"(\\HasNoChildren \\Sent) "/" Sent"#,
        "z3 NO [COMPRESSIONACTIVE]",
        "z4 OK",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

/// Issue 21: mbsync sends a sync's FETCH commands together in one
/// compressed chunk and then waits; commands left inside the decompressor
/// used to wait for a socket read that never came (46 of 56 answered, then
/// silence). Here: 60 pipelined commands in one sync-flushed chunk, then a
/// 10 kB repetitive APPEND, each answered in full within the socket timeout.
#[test]
fn compress_deflate_answers_a_pipelined_batch_and_a_big_append_in_full() {
    let (env, server) = mail_env();
    let script = format!(
        "{CLIENT}\n{}",
        r#"
r = Raw()
r.s.settimeout(10)
r.cmd(b'LOGIN "ann@example.org" "ann password"')
r.cmd(b"COMPRESS DEFLATE")
co = zlib.compressobj(wbits=-15); de = zlib.decompressobj(wbits=-15)
pending = b""
def until_tagged(tags):
    global pending
    seen = set()
    try:
        while len(seen) < len(tags):
            pending += de.decompress(r.s.recv(65536))
            *lines, pending = pending.split(b"\r\n")
            for l in lines:
                t = l.split(b" ", 1)[0]
                if t in tags: seen.add(t)
    except socket.timeout:
        pass
    return seen
for i in range(5):
    msg = b"From: a@b.test\r\nSubject: m%d\r\n\r\nbody %d\r\n" % (i, i)
    r.s.sendall(co.compress(b"a%d APPEND INBOX {%d+}\r\n" % (i, len(msg)) + msg + b"\r\n") + co.flush(zlib.Z_SYNC_FLUSH))
print("appends", len(until_tagged({b"a%d" % i for i in range(5)})))
batch = b"s SELECT INBOX\r\n" + b"".join(b"f%d UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE MESSAGE-ID)])\r\n" % i for i in range(59))
r.s.sendall(co.compress(batch) + co.flush(zlib.Z_SYNC_FLUSH))
print("batch answered", len(until_tagged({b"s"} | {b"f%d" % i for i in range(59)})))
big = b"From: a@b.test\r\nSubject: big\r\n\r\n" + (b"0123456789abcdef" * 640 + b"\r\n")
r.s.sendall(co.compress(b"b1 APPEND INBOX {%d+}\r\n" % len(big) + big + b"\r\nb2 UID FETCH 6 (RFC822.SIZE)\r\n") + co.flush(zlib.Z_SYNC_FLUSH))
print("big answered", len(until_tagged({b"b1", b"b2"})))
"#
    );
    let out = run_py(&env, &server, &script);
    for want in ["appends 5", "batch answered 60", "big answered 2"] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

/// The commands Thunderbird sends at first connect and at sync (its IMAP
/// module's documented behaviour), and Outlook's; every one must succeed.
#[test]
fn thunderbird_and_outlook_shaped_sessions_succeed() {
    let (env, server) = mail_env();
    let script = format!(
        "{CLIENT}\n{}",
        r#"
import base64
def ok(r, text):
    resp, status = r.cmd(text)
    assert status.startswith(b"OK"), (text, resp, status)
    return resp
tb = Raw()
ok(tb, b"CAPABILITY")
ok(tb, b"AUTHENTICATE PLAIN " + base64.b64encode(b"\0ann@example.org\0ann password"))
ok(tb, b'ID ("name" "Thunderbird" "version" "128.0")')
ok(tb, b"ENABLE CONDSTORE")
ok(tb, b"NAMESPACE")
resp = ok(tb, b'LIST (SPECIAL-USE) "" "*"')
assert b"\\Sent" in resp and b"\\Trash" in resp, resp
ok(tb, b'LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)')
ok(tb, b'LSUB "" "*"')
ok(tb, b'STATUS "Sent" (UIDNEXT MESSAGES UNSEEN RECENT)')
ok(tb, b'APPEND "Sent" (\\Seen) {27+}\r\nSubject: sent copy\r\n\r\nhi\r\n')
ok(tb, b'SELECT "INBOX" (CONDSTORE)')
ok(tb, b"UID FETCH 1:* (FLAGS)")
ok(tb, b"UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])")
ok(tb, b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)")
print("thunderbird ok")
ol = Raw()
ok(ol, b'LOGIN "ann@example.org" "ann password"')
ok(ol, b"CAPABILITY")
ok(ol, b'LIST "" "*"')
ok(ol, b'LIST "" ""')
ok(ol, b'SELECT "INBOX"')
ok(ol, b"UID SEARCH UNDELETED")
ok(ol, b"UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER])")
ok(ol, b"UID STORE 1:* +FLAGS.SILENT (\\Seen)")
ok(ol, b"EXPUNGE")
ok(ol, b'EXAMINE "Sent"')
ok(ol, b"UID FETCH 1 (BODY.PEEK[])")
ok(ol, b"LOGOUT")
print("outlook ok")
"#
    );
    let out = run_py(&env, &server, &script);
    assert!(
        out.contains("thunderbird ok") && out.contains("outlook ok"),
        "{out}"
    );
}
