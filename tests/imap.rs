//! IMAP end to end with Python's imaplib against the real binary: login
//! rules, the mailbox list, mail delivered over SMTP read back with FETCH,
//! flags, APPEND/COPY/MOVE with UIDPLUS codes, two sessions kept in sync
//! (one in IDLE), and bad input answered without losing the connection.

use crate::smtp::{mail_env, mail_env_with};
use crate::support::{self, Env, Server};

const PRELUDE: &str = r#"
import os, imaplib, smtplib, ssl, socket, time
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
IMAPS = int(os.environ["IMAPS_PORT"]); IMAP = int(os.environ["IMAP_PORT"]); MX = int(os.environ["SMTP_PORT"])
def login(user="ann@example.org", pw="ann password"):
    c = imaplib.IMAP4_SSL("127.0.0.1", IMAPS, ssl_context=ctx, timeout=10)
    c.login(user, pw)
    return c
def deliver(to, subject, body="hello"):
    s = smtplib.SMTP("127.0.0.1", MX, timeout=10)
    s.sendmail("sender@elsewhere.test", [to], ("From: sender@elsewhere.test\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@elsewhere.test>\r\n\r\n%s\r\n" % (to, subject, subject.replace(" ", "."), body)).encode())
    s.quit()
"#;

pub fn py(env: &Env, server: &Server, script: &str) -> String {
    support::python(env, server, &format!("{PRELUDE}\n{script}"), &[])
}

pub fn expect_all(out: &str, wants: &[&str]) {
    for w in wants {
        assert!(out.contains(w), "missing {w:?} in:\n{out}");
    }
}

#[test]
fn login_needs_tls_and_the_right_password_and_lists_the_default_mailboxes() {
    let out = fresh_py(
        r#"
p = imaplib.IMAP4("127.0.0.1", IMAP, timeout=10)
print("plain caps", p.capabilities)
try:
    p.login("ann@example.org", "ann password"); print("plaintext login accepted")
except imaplib.IMAP4.error as e:
    print("plaintext login refused", e)
p.starttls(ssl_context=ctx)
p.login("ann@example.org", "ann password"); print("starttls login ok")
p.logout()
c = imaplib.IMAP4_SSL("127.0.0.1", IMAPS, ssl_context=ctx, timeout=10)
try:
    c.login("ann@example.org", "wrong"); print("wrong accepted")
except imaplib.IMAP4.error as e:
    print("wrong refused", e)
c.login("ann@example.org", "ann password")
typ, data = c.list()
for line in data: print("list", line.decode())
print("namespace", c.namespace())
c.logout()
"#,
    );
    expect_all(
        &out,
        &[
            "'LOGINDISABLED'",
            "'STARTTLS'",
            "plaintext login refused",
            "starttls login ok",
            "wrong refused",
            "AUTHENTICATIONFAILED",
            r#"list (\HasNoChildren) "/" INBOX"#,
            r#"list (\HasNoChildren \Sent) "/" Sent"#,
            r#"list (\HasNoChildren \Drafts) "/" Drafts"#,
            r#"list (\HasNoChildren \Trash) "/" Trash"#,
            r#"list (\HasNoChildren \Junk) "/" Junk"#,
            r#"list (\HasNoChildren \Archive) "/" Archive"#,
            r#"namespace ('OK', [b'(("" "/")) NIL NIL'])"#,
        ],
    );
}

#[test]
fn mail_delivered_over_smtp_is_read_flagged_copied_moved_and_expunged() {
    let out = fresh_py(
        r#"
deliver("ann@example.org", "first message", "body one")
deliver("ann@example.org", "second message", "body two")
c = login()
typ, data = c.select("INBOX"); print("select", typ, data)
typ, data = c.fetch("1:*", "(UID FLAGS RFC822.SIZE ENVELOPE)")
for d in data: print("fetch", d.decode() if isinstance(d, bytes) else d)
typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"); print("peek", data[0][1])
typ, data = c.fetch("1", "(FLAGS)"); print("after peek", data)
typ, data = c.fetch("1", "(BODY[TEXT])"); print("text", data[0][1])
typ, data = c.fetch("1", "(FLAGS)"); print("after body", data)
typ, data = c.fetch("2", "(BODYSTRUCTURE)"); print("bs", data)
typ, data = c.store("2", "+FLAGS", "(\\Flagged $Label1)"); print("store", data)
typ, data = c.create("Projects/Alpha"); print("create", typ)
typ, data = c.list('""', "Projects*"); print("list", data)
typ, data = c.copy("1:2", "Projects/Alpha"); print("copy", typ, data)
typ, data = c.status("Projects/Alpha", "(MESSAGES UNSEEN UIDNEXT)"); print("status", data)
typ, data = c.uid("MOVE", "1", "Archive"); print("move", typ, data)
typ, data = c.fetch("1:*", "(UID)"); print("left", data)
typ, data = c.append("Drafts", "(\\Draft \\Seen)", imaplib.Time2Internaldate(1700000000), b"From: ann@example.org\r\nSubject: draft\r\n\r\nunfinished\r\n")
print("append", typ, data)
c.select("Drafts")
typ, data = c.fetch("1", "(FLAGS INTERNALDATE BODY[])"); print("draft", data)
c.select("INBOX")
c.store("1", "+FLAGS", "(\\Deleted)")
typ, data = c.expunge(); print("expunge", data)
typ, data = c.select("INBOX"); print("reselect", data)
typ, data = c.rename("Projects/Alpha", "Projects/Beta"); print("rename", typ)
typ, data = c.delete("Projects/Beta"); print("delete", typ)
typ, data = c.status("Archive", "(MESSAGES)"); print("archive", data)
c.logout()
"#,
    );
    expect_all(
        &out,
        &[
            "select OK [b'2']",
            // RFC 3501 §2.3.2: this session is the first told of them.
            r"fetch 1 (UID 1 FLAGS (\Recent) RFC822.SIZE",
            r#"ENVELOPE ("#,
            r#"ENVELOPE (NIL "first message" ((NIL NIL "sender" "elsewhere.test"))"#,
            "peek b'Subject: first message\\r\\n\\r\\n'",
            r"after peek [b'1 (FLAGS (\\Recent))']",
            "text b'body one\\r\\n'",
            r#"after body [b'1 (FLAGS (\\Recent \\Seen))']"#,
            r#"bs [b'2 (BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL))']"#,
            r#"store [b'2 (FLAGS (\\Recent \\Flagged $Label1))']"#,
            "create OK",
            r#"list [b'(\\HasChildren) "/" Projects', b'(\\HasNoChildren) "/" Projects/Alpha']"#,
            "copy OK [b'[COPYUID ",
            "status [b'Projects/Alpha (MESSAGES 2 UNSEEN 1 UIDNEXT 3)']",
            "move OK",
            "left [b'1 (UID 2)']",
            "append OK [b'[APPENDUID ",
            r#"(FLAGS (\\Recent \\Seen \\Draft) INTERNALDATE "14-Nov-2023 22:13:20 +0000" BODY[] {53}"#,
            "expunge [b'1']",
            "reselect [b'0']",
            "rename OK",
            "delete OK",
            "archive [b'Archive (MESSAGES 1)']",
        ],
    );
}

#[test]
fn a_session_in_idle_sees_new_mail_flags_and_expunges_from_others() {
    let out = fresh_py(
        r#"
a = login(); a.select("INBOX")
b = login(); b.select("INBOX")
tag = a._new_tag().decode()
a.send(("%s IDLE\r\n" % tag).encode())
print("idle", a.readline())
a.sock.settimeout(10)
def until(pred):
    lines = []
    for _ in range(20):
        l = a.readline(); lines.append(l)
        if pred(l): break
    return lines
deliver("ann@example.org", "while idling")
print("exists", until(lambda l: b"EXISTS" in l))
b.noop()
b.store("1", "+FLAGS", "(\\Flagged)")
print("flags", until(lambda l: b"FETCH" in l))
b.store("1", "+FLAGS", "(\\Deleted)"); b.expunge()
print("expunge", until(lambda l: b"EXPUNGE" in l))
a.send(b"DONE\r\n")
print("done", until(lambda l: l.startswith(tag.encode())))
a.logout(); b.logout()
"#,
    );
    expect_all(
        &out,
        &[
            "idle b'+ idling\\r\\n'",
            "b'* 1 EXISTS\\r\\n'",
            // a selected first: the new message is recent there (RFC 3501 §2.3.2)
            "b'* 1 RECENT\\r\\n'",
            r#"b'* 1 FETCH (FLAGS (\\Recent \\Flagged) UID 1)\r\n'"#,
            "b'* 1 EXPUNGE\\r\\n'",
            "OK IDLE terminated",
        ],
    );
}

#[test]
fn bad_commands_wrong_states_and_big_literals_are_refused_and_the_connection_lives() {
    let out = fresh_py(
        r#"
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", IMAPS), timeout=10), server_hostname="localhost")
f = s.makefile("rb")
def cmd(line):
    s.sendall(line + b"\r\n")
    out = []
    while True:
        l = f.readline(); out.append(l)
        if not l or not l.startswith(b"*") and not l.startswith(b"+"): break
        if l.startswith(b"+"): break
    return out
print("greeting", f.readline())
print("select before login", cmd(b"a1 SELECT INBOX"))
print("unknown", cmd(b"a2 FROBNICATE"))
print("big literal before login", cmd(b"a3 LOGIN {100000}"))
print("login", cmd(b'a4 LOGIN "ann@example.org" "ann password"'))
print("fetch unselected", cmd(b"a5 FETCH 1 FLAGS"))
print("bad set", cmd(b"a6 SELECT INBOX"))
print("zero", cmd(b"a7 FETCH 0 FLAGS"))
print("empty", cmd(b"a8 FETCH 1:* FLAGS"))
print("other user", cmd(b"a9 SELECT ../bob@example.org/INBOX"))
print("noop", cmd(b"a10 NOOP"))
"#,
    );
    expect_all(
        &out,
        &[
            "greeting b'* OK [CAPABILITY IMAP4rev1",
            "select before login [b'a1 BAD",
            "unknown [b'a2 BAD",
            "big literal before login [b'a3 NO [TOOBIG]",
            "login [b'a4 OK [CAPABILITY",
            "fetch unselected [b'a5 BAD",
            "zero [b'a7 BAD",
            "empty [b'a8 OK",
            "other user [b'a9 NO",
            "noop [b'a10 OK",
        ],
    );
}

#[test]
fn search_esearch_saved_results_sort_and_thread_answer_over_delivered_mail() {
    let out = fresh_py(
        r#"
deliver("ann@example.org", "banana split", "yellow fruit")
deliver("ann@example.org", "apple pie", "red fruit and a banana")
deliver("ann@example.org", "Re: apple pie", "more pie")
c = login(); c.select("INBOX")
c.store("2", "+FLAGS", "(\\Flagged)")
print("subject", c.search(None, "SUBJECT", "banana"))
print("body", c.search(None, "BODY", "banana"))
print("flagged", c.uid("SEARCH", "FLAGGED"))
print("or", c.search(None, "OR", "FLAGGED", "SUBJECT", "split"))
print("not", c.search(None, "NOT", "FLAGGED"))
print("esearch", c._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT ALL)", "BODY", "fruit"), c.untagged_responses.pop("ESEARCH", None))
c._simple_command("SEARCH", "RETURN", "(SAVE)", "SUBJECT", "apple")
print("saved", c.fetch("$", "(UID)"))
print("sort", c.sort("(SUBJECT)", "UTF-8", "ALL"))
print("thread", c.thread("ORDEREDSUBJECT", "UTF-8", "ALL"))
print("badcharset", c._simple_command("SEARCH", "CHARSET", "KOI8-X", "ALL"))
"#,
    );
    expect_all(
        &out,
        &[
            "subject ('OK', [b'1'])",
            "body ('OK', [b'2'])",
            "flagged ('OK', [b'2'])",
            "or ('OK', [b'1 2'])",
            "not ('OK', [b'1 3'])",
            "[b'(TAG \"",
            ") MIN 1 MAX 2 COUNT 2 ALL 1:2']",
            "saved ('OK', [b'2 (UID 2)', b'3 (UID 3)'])",
            "sort ('OK', [b'2 3 1'])",
            "thread ('OK', [b'(1)(2 3)'])",
            "BADCHARSET",
        ],
    );
}

#[test]
fn enable_answers_with_what_it_turned_on() {
    let out = fresh_py(
        r#"
c = login()
print("caps", c.capability())
print("enable", c._simple_command("ENABLE", "CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "X-NOPE"), c.untagged_responses.pop("ENABLED", None))
print("again", c._simple_command("ENABLE", "CONDSTORE"), c.untagged_responses.pop("ENABLED", None))
c.logout()
"#,
    );
    expect_all(
        &out,
        &[
            "CONDSTORE QRESYNC UTF8=ACCEPT QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE",
            "enable ('OK', [b'ENABLE completed']) [b'CONDSTORE QRESYNC UTF8=ACCEPT']",
            "again ('OK', [b'ENABLE completed']) [b'']",
        ],
    );
}

#[test]
fn condstore_select_fetch_changedsince_store_unchangedsince_and_search_modseq() {
    let out = fresh_py(
        r#"
for i in range(3): deliver("ann@example.org", "msg %d" % i)
c = login()
print("plain select", c.select("INBOX"), c.untagged_responses.pop("HIGHESTMODSEQ", None) is not None)
typ, data = c._simple_command("SELECT", "INBOX", "(CONDSTORE)")
hms = int(c.untagged_responses.pop("HIGHESTMODSEQ")[0])
print("condstore select", typ, hms > 0)
c.state = "SELECTED"
typ, data = c.fetch("1:*", "(MODSEQ)"); print("modseq", [d.decode() for d in data])
typ, data = c.store("2", "+FLAGS", "(\\Seen)"); print("store", data)
typ, data = c.fetch("1:*", "(FLAGS) (CHANGEDSINCE %d)" % hms); print("changedsince", data)
typ, data = c._simple_command("STORE", "1,2", "(UNCHANGEDSINCE %d)" % hms, "+FLAGS", "(\\Answered)")
print("unchangedsince", typ, data, c.untagged_responses.pop("FETCH", None))
typ, data = c._simple_command("UID", "STORE", "3", "(UNCHANGEDSINCE 0)", "+FLAGS.SILENT", "(\\Flagged)")
print("uid unchangedsince 0", typ, data)
typ, data = c.search(None, "MODSEQ", str(hms + 1)); print("search modseq", data)
typ, data = c.search(None, "MODSEQ", "999999"); print("search none", data)
c.logout()
"#,
    );
    expect_all(
        &out,
        &[
            // RFC 7162 §3.1.2.1: HIGHESTMODSEQ with every SELECT.
            "plain select ('OK', [b'3']) True",
            "condstore select OK True",
            "modseq ['1 (MODSEQ (",
            r"store [b'2 (FLAGS (\\Seen) UID 2 MODSEQ (",
            r"changedsince [b'2 (FLAGS (\\Seen) MODSEQ (",
            "unchangedsince OK [b'[MODIFIED 2] STORE completed']",
            r"[b'1 (FLAGS (\\Answered) UID 1 MODSEQ (",
            "uid unchangedsince 0 OK [b'[MODIFIED 3] STORE completed']",
            "search modseq [b'1 2 (MODSEQ ",
            "search none [b'']",
        ],
    );
    // Only message 2 changed after the SELECT's HIGHESTMODSEQ.
    let line = out
        .lines()
        .find(|l| l.starts_with("changedsince"))
        .expect("changedsince line");
    assert!(!line.contains("b'1 (") && !line.contains("b'3 ("), "{line}");
}

#[test]
fn qresync_reselect_gets_vanished_earlier_and_changed_flags() {
    let out = fresh_py(
        r#"
for i in range(3): deliver("ann@example.org", "msg %d" % i)
a = login()
a.enable("QRESYNC")
a.select("INBOX")
hms = int(a.untagged_responses.pop("HIGHESTMODSEQ")[0])
uidvalidity = int(a.untagged_responses.pop("UIDVALIDITY")[0])
a.logout()
b = login(); b.select("INBOX")
b.store("1", "+FLAGS", "(\\Flagged)")
b.store("2", "+FLAGS", "(\\Deleted)"); b.expunge()
b.logout()
a = login()
try:
    a._simple_command("SELECT", "INBOX", "(QRESYNC (%d %d))" % (uidvalidity, hms)); print("qresync without enable accepted")
except imaplib.IMAP4.error as e:
    print("qresync without enable refused", e)
a.enable("QRESYNC")
typ, data = a._simple_command("SELECT", "INBOX", "(QRESYNC (%d %d 1:3))" % (uidvalidity, hms))
print("resync", typ, a.untagged_responses.pop("VANISHED", None), a.untagged_responses.pop("FETCH", None))
typ, data = a._simple_command("SELECT", "Sent")
print("closed", a.untagged_responses.pop("CLOSED", None))
typ, data = a._simple_command("SELECT", "INBOX", "(QRESYNC (%d %d))" % (uidvalidity + 1, hms))
print("wrong uidvalidity", typ, a.untagged_responses.pop("VANISHED", None))
a.state = "SELECTED"
typ, data = a.uid("FETCH", "1:*", "(FLAGS) (CHANGEDSINCE %d VANISHED)" % hms)
print("uid fetch vanished", data, a.untagged_responses.pop("VANISHED", None))
a.logout()
"#,
    );
    expect_all(
        &out,
        &[
            "qresync without enable refused",
            r"resync OK [b'(EARLIER) 2'] [b'1 (UID 1 FLAGS (\\Flagged) MODSEQ (",
            "closed [b'']",
            "wrong uidvalidity OK None",
            r"uid fetch vanished [b'1 (UID 1 FLAGS (\\Flagged) MODSEQ (",
            "[b'(EARLIER) 2']",
        ],
    );
}

#[test]
fn a_qresync_session_hears_vanished_instead_of_expunge_and_modseq_with_flags() {
    let out = fresh_py(
        r#"
for i in range(3): deliver("ann@example.org", "msg %d" % i)
a = login(); a.enable("QRESYNC"); a.select("INBOX")
b = login(); b.select("INBOX")
b.store("1", "+FLAGS", "(\\Deleted)"); b.expunge()
b.store("2", "+FLAGS", "(\\Flagged)")
a.noop()
print("a hears", a.untagged_responses.pop("VANISHED", None), a.untagged_responses.pop("EXPUNGE", None), a.untagged_responses.pop("FETCH", None))
a.store("1", "+FLAGS", "(\\Deleted)"); a.untagged_responses.clear()
typ, data = a._simple_command("EXPUNGE")
print("own expunge", typ, data, a.untagged_responses.pop("VANISHED", None), a.untagged_responses.pop("EXPUNGE", None))
b.noop()
print("b hears", b.untagged_responses.pop("VANISHED", None), b.untagged_responses.pop("EXPUNGE", None))
a.logout(); b.logout()
"#,
    );
    expect_all(
        &out,
        &[
            // a selected first, so the messages are \Recent there (RFC 3501 §2.3.2)
            r"a hears [b'1'] None [b'2 (FLAGS (\\Recent \\Flagged) UID 3 MODSEQ (",
            "own expunge OK [b'[HIGHESTMODSEQ ",
            "[b'2'] None",
            "b hears None [b'1']",
        ],
    );
}

#[test]
fn getquotaroot_reports_the_users_quota_and_setquota_is_refused() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "ann password\n");
    env.ok_with(&["user", "add", "bob@example.org"], "bob password\n");
    env.ok(&[
        "user",
        "quota",
        "ann@example.org",
        "--set",
        "1M",
        "--messages",
        "2",
    ]);
    let server = env.serve();
    let out = py(
        &env,
        &server,
        r#"
deliver("ann@example.org", "one")
c = login()
msg = b"From: ann@example.org\r\nSubject: x\r\n\r\nbody\r\n"
print("append", c.append("Drafts", None, None, msg)[0])
try:
    print("over", c.append("Drafts", None, None, msg))
except imaplib.IMAP4.error as e:
    print("over refused", e)
typ, data = c.getquotaroot("INBOX"); print("root", typ, data)
typ, data = c.getquota('""'); print("quota", typ, data)
typ, data = c._simple_command("SETQUOTA", '""', "(STORAGE 5)"); print("set", typ, data)
c.logout()
d = login("bob@example.org", "bob password")
typ, data = d.getquotaroot("INBOX"); print("unlimited", typ, data)
d.logout()
"#,
    );
    expect_all(
        &out,
        &[
            "append OK",
            "OVERQUOTA",
            r#"root OK [[b'INBOX ""'], [b'"" (STORAGE 1 1024 MESSAGE 2 2)']]"#,
            r#"quota OK [b'"" (STORAGE 1 1024 MESSAGE 2 2)']"#,
            "set NO [b'[CANNOT] Quotas are set by the administrator']",
            "unlimited OK [[b'INBOX'], [None]]",
        ],
    );
}

#[test]
fn mailbox_names_are_utf8_after_enable_utf8_accept_and_modified_utf7_before() {
    let out = fresh_py(
        r#"
a = login()
print("create utf7", a.create("Caf&AOk-")[0])
b = login()
print("enable", b.enable("UTF8=ACCEPT"))
print("create utf8", b.create('"Über"')[0])
typ, data = b.list('""', "*"); print("utf8 list", [d.decode("utf-8") for d in data])
print("select utf8", b.select('"Café"')[0])
typ, data = a.list('""', "*"); print("utf7 list", [d.decode() for d in data])
typ, data = a.status("&ANw-ber", "(MESSAGES)"); print("utf7 status", data)
a.logout(); b.logout()
"#,
    );
    expect_all(
        &out,
        &[
            "create utf7 OK",
            "enable ('OK', [b'ENABLE completed'])",
            "create utf8 OK",
            r#"(\\HasNoChildren) "/" "Café""#,
            r#"(\\HasNoChildren) "/" "Über""#,
            "select utf8 OK",
            r#"(\\HasNoChildren) "/" Caf&AOk-"#,
            r#"(\\HasNoChildren) "/" &ANw-ber"#,
            "utf7 status [b'&ANw-ber (MESSAGES 0)']",
        ],
    );
}

#[test]
fn a_user_past_the_connection_limit_gets_no_limit_until_one_logs_out() {
    let (env, server) = mail_env_with("[imap]\nmax_connections_per_user = 1\n");
    let out = py(
        &env,
        &server,
        r#"
a = login()
b = imaplib.IMAP4_SSL("127.0.0.1", IMAPS, ssl_context=ctx, timeout=10)
try:
    b.login("ann@example.org", "ann password"); print("second login accepted")
except imaplib.IMAP4.error as e:
    print("second refused", e)
bob = login("bob@example.org", "bob password"); print("other user ok")
a.logout()
import time
for _ in range(50):
    try:
        c = login(); print("after logout ok"); break
    except imaplib.IMAP4.error:
        time.sleep(0.1)
"#,
    );
    expect_all(
        &out,
        &[
            "second refused",
            "[LIMIT]",
            "other user ok",
            "after logout ok",
        ],
    );
}

#[test]
fn a_silent_connection_is_logged_out_before_login() {
    let (env, server) = mail_env_with("[imap]\nlogin_timeout_secs = 1\n");
    let out = py(
        &env,
        &server,
        r#"
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", IMAPS), timeout=10), server_hostname="localhost")
f = s.makefile("rb")
print("greeting", f.readline()[:4])
print("bye", f.readline())
print("closed", f.readline() == b"")
"#,
    );
    expect_all(
        &out,
        &["greeting b'* OK'", "bye b'* BYE Autologout", "closed True"],
    );
}

/// A raw session over TLS for exact answers: `run("a1 CMD")` prints every
/// line of the answer, up to the tagged one.
const RAW: &str = r#"
class Raw:
    def __init__(self):
        self.s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", IMAPS), timeout=10), server_hostname="localhost")
        self.f = self.s.makefile("rb")
        self.f.readline()
    def run(self, line):
        tag = line.split(" ", 1)[0]
        self.s.sendall(line.encode() + b"\r\n")
        got = []
        while True:
            l = self.f.readline().decode().rstrip("\r\n")
            got.append(l)
            if l.startswith(tag + " ") or not l:
                break
        for l in got: print(tag, "|", l)
        return got
"#;

/// Runs a script (after `PRELUDE`) against a fresh server with ann's account.
pub fn fresh_py(script: &str) -> String {
    let (env, server) = mail_env();
    py(&env, &server, script)
}

/// Runs a `Raw` script against a fresh server with ann's account.
pub fn raw_session(script: &str) -> String {
    fresh_py(&format!("{RAW}\n{script}"))
}

#[test]
fn imap4rev2_once_enabled_answers_search_with_esearch_and_select_with_a_list_line() {
    let out = raw_session(
        r#"
deliver("ann@example.org", "first")
deliver("ann@example.org", "second")
r = Raw()
r.run('a1 LOGIN ann@example.org "ann password"')
r.run("a2 CAPABILITY")
r.run("a3 ENABLE IMAP4rev2")
r.run("a4 SELECT INBOX")
r.run("a5 SEARCH SUBJECT second")
r.run("a6 UID SEARCH SUBJECT nothing-like-this")
r.run("a7 SEARCH RETURN (COUNT) ALL")
r.run('a8 CREATE "Ünïcode/Child"')
r.run('a9 LIST "" "Ü*"')
r.run("b1 SELECT Sent")
r.run("b2 ENABLE IMAP4rev2")
r.run("b3 LOGOUT")
"#,
    );
    expect_all(
        &out,
        &[
            "a2 | * CAPABILITY IMAP4rev1 IMAP4rev2 ",
            "a3 | * ENABLED IMAP4rev2",
            "a4 | * 2 EXISTS",
            r#"a4 | * LIST () "/" INBOX"#,
            "a4 | a4 OK [READ-WRITE]",
            r#"a5 | * ESEARCH (TAG "a5") ALL 2"#,
            r#"a6 | * ESEARCH (TAG "a6") UID"#,
            r#"a7 | * ESEARCH (TAG "a7") COUNT 2"#,
            "a8 | a8 OK",
            r#"a9 | * LIST (\HasChildren) "/" "Ünïcode""#,
            r#"a9 | * LIST (\HasNoChildren) "/" "Ünïcode/Child""#,
            "b1 | * OK [CLOSED]",
            "b2 | * ENABLED",
        ],
    );
    for gone in ["RECENT", "[UNSEEN", "* SEARCH", "&AN"] {
        assert!(
            !out.contains(gone),
            "{gone:?} in an IMAP4rev2 session:\n{out}"
        );
    }
    assert!(
        !out.contains("b2 | * ENABLED IMAP4rev2"),
        "enabled twice:\n{out}"
    );
}

#[test]
fn imap4rev1_sessions_keep_recent_unseen_and_search_responses() {
    let out = raw_session(
        r#"
deliver("ann@example.org", "first")
r = Raw()
r.run('a1 LOGIN ann@example.org "ann password"')
r.run("a2 SELECT INBOX")
r.run("a3 SEARCH ALL")
r.run("a4 SELECT Sent")
r.run("a5 LOGOUT")
"#,
    );
    expect_all(
        &out,
        &[
            // RFC 3501 §2.3.2: the first session told of a message has it as \Recent.
            "a2 | * 1 RECENT",
            "a2 | * OK [UNSEEN 1]",
            "a3 | * SEARCH 1",
            "a4 | a4 OK [READ-WRITE]",
        ],
    );
    assert!(
        !out.contains("* LIST"),
        "a LIST line in an IMAP4rev1 SELECT:\n{out}"
    );
    assert!(
        !out.contains("[CLOSED]"),
        "CLOSED without QRESYNC or IMAP4rev2:\n{out}"
    );
}

#[test]
fn list_shows_missing_parents_and_recursivematch_childinfo() {
    let out = raw_session(
        r#"
r = Raw()
r.run('a1 LOGIN ann@example.org "ann password"')
r.run("a2 CREATE Work/Projects/2026")
r.run("a3 DELETE Work/Projects")
r.run("a4 SUBSCRIBE Work/Projects/2026")
r.run('a5 LIST "" "Work/%"')
r.run('a6 LIST () "" "Work/%"')
r.run('a7 LIST (SUBSCRIBED RECURSIVEMATCH) "" "Work/%"')
r.run('a8 LIST (SUBSCRIBED) "" "*"')
r.run('a9 LSUB "" "Work/%"')
r.run('b1 LIST "" "Work/*" RETURN (STATUS (MESSAGES))')
r.run("b2 LOGOUT")
"#,
    );
    expect_all(
        &out,
        &[
            "a3 | a3 OK",
            r#"a5 | * LIST (\Noselect \HasChildren) "/" Work/Projects"#,
            r#"a6 | * LIST (\NonExistent \HasChildren) "/" Work/Projects"#,
            r#"a7 | * LIST (\NonExistent \HasChildren) "/" Work/Projects ("CHILDINFO" ("SUBSCRIBED"))"#,
            r#"a8 | * LIST (\HasNoChildren \Subscribed) "/" Work/Projects/2026"#,
            r#"a9 | * LSUB (\Noselect \HasChildren) "/" Work/Projects"#,
            r#"b1 | * STATUS Work/Projects/2026 (MESSAGES 0)"#,
        ],
    );
    // The placeholder has no STATUS; SUBSCRIBED without RECURSIVEMATCH
    // lists only the subscribed mailbox.
    assert!(!out.contains("STATUS Work/Projects ("), "{out}");
    assert!(!out.contains("a8 | * LIST (\\NonExistent"), "{out}");
}
