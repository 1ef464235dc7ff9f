//! IMAP end to end with Python's imaplib against the real binary: login
//! rules, the mailbox list, mail delivered over SMTP read back with FETCH,
//! flags, APPEND/COPY/MOVE with UIDPLUS codes, two sessions kept in sync
//! (one in IDLE), and bad input answered without losing the connection.

use std::process::Command;

use crate::smtp::mail_env;
use crate::support::{Env, Server};

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

fn port(server: &Server, name: &str) -> String {
    server
        .addr(name)
        .rsplit_once(':')
        .map(|(_, p)| p.to_string())
        .expect("port")
}

fn py(env: &Env, server: &Server, script: &str) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(format!("{PRELUDE}\n{script}"))
        .env("CERT", env.cert())
        .env("IMAPS_PORT", port(server, "imaps"))
        .env("IMAP_PORT", port(server, "imap"))
        .env("SMTP_PORT", port(server, "smtp"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn expect_all(out: &str, wants: &[&str]) {
    for w in wants {
        assert!(out.contains(w), "missing {w:?} in:\n{out}");
    }
}

#[test]
fn login_needs_tls_and_the_right_password_and_lists_the_default_mailboxes() {
    let (env, server) = mail_env();
    let out = py(
        &env,
        &server,
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
    let (env, server) = mail_env();
    let out = py(
        &env,
        &server,
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
            "fetch 1 (UID 1 FLAGS () RFC822.SIZE",
            r#"ENVELOPE ("#,
            r#"ENVELOPE (NIL "first message" ((NIL NIL "sender" "elsewhere.test"))"#,
            "peek b'Subject: first message\\r\\n\\r\\n'",
            "after peek [b'1 (FLAGS ())']",
            "text b'body one\\r\\n'",
            r#"after body [b'1 (FLAGS (\\Seen))']"#,
            r#"bs [b'2 (BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL))']"#,
            r#"store [b'2 (FLAGS (\\Flagged $Label1))']"#,
            "create OK",
            r#"list [b'(\\HasChildren) "/" Projects', b'(\\HasNoChildren) "/" Projects/Alpha']"#,
            "copy OK [b'[COPYUID ",
            "status [b'Projects/Alpha (MESSAGES 2 UNSEEN 1 UIDNEXT 3)']",
            "move OK",
            "left [b'1 (UID 2)']",
            "append OK [b'[APPENDUID ",
            r#"(FLAGS (\\Seen \\Draft) INTERNALDATE "14-Nov-2023 22:13:20 +0000" BODY[] {53}"#,
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
    let (env, server) = mail_env();
    let out = py(
        &env,
        &server,
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
            r#"b'* 1 FETCH (FLAGS (\\Flagged) UID 1)\r\n'"#,
            "b'* 1 EXPUNGE\\r\\n'",
            "OK IDLE terminated",
        ],
    );
}

#[test]
fn bad_commands_wrong_states_and_big_literals_are_refused_and_the_connection_lives() {
    let (env, server) = mail_env();
    let out = py(
        &env,
        &server,
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
    let (env, server) = mail_env();
    let out = py(
        &env,
        &server,
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
