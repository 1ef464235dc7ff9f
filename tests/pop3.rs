//! POP3 end to end with Python's poplib against the real binary: logins
//! over STLS and implicit TLS (USER/PASS, AUTH PLAIN with an initial
//! response), the exact bytes SMTP delivered, DELE + QUIT seen by IMAP
//! sessions, nothing removed without QUIT, IN-USE, UIDLs across a restart,
//! IMAP expunges during a session, a 1,000-message maildrop pipelined, and
//! a 5,000-message one over `max_messages` listed in pieces.
//! Bad input over the wire is in `pop3_bad_input.rs`.

use crate::smtp::{mail_env, mail_env_with};
use crate::support::{self, Env, Server};

pub const PRELUDE: &str = r#"
import os, poplib, imaplib, smtplib, ssl, socket, base64, time
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
POP3 = int(os.environ["POP3_PORT"]); POP3S = int(os.environ["POP3S_PORT"])
IMAPS = int(os.environ["IMAPS_PORT"]); MX = int(os.environ["SMTP_PORT"])
def pop(user="ann@example.org", pw="ann password"):
    p = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
    p.user(user); p.pass_(pw)
    return p
def imap(user="ann@example.org", pw="ann password"):
    c = imaplib.IMAP4_SSL("127.0.0.1", IMAPS, ssl_context=ctx, timeout=10)
    c.login(user, pw)
    return c
def deliver(to, subject, body="hello"):
    s = smtplib.SMTP("127.0.0.1", MX, timeout=10)
    s.sendmail("sender@elsewhere.test", [to], ("From: sender@elsewhere.test\r\nTo: %s\r\nSubject: %s\r\n\r\n%s\r\n" % (to, subject, body)).encode())
    s.quit()
def err(f, *a):
    try:
        r = f(*a); return "accepted %r" % (r,)
    except poplib.error_proto as e:
        return e.args[0].decode()
def pop_after_drop():
    # The server notices a drop when it reads EOF; until then the lock holds.
    deadline = time.monotonic() + 10
    while True:
        try:
            return pop()
        except poplib.error_proto as e:
            if b"[IN-USE]" not in e.args[0] or time.monotonic() > deadline: raise
            time.sleep(0.05)
def plain(user, pw):
    return base64.b64encode(("\0%s\0%s" % (user, pw)).encode()).decode()
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
fn login_over_stls_and_implicit_tls_with_user_pass_and_auth_plain() {
    let (env, server) = mail_env();
    let out = py(
        &env,
        &server,
        r#"
p = poplib.POP3("127.0.0.1", POP3, timeout=10)
print("greeting", p.getwelcome().decode())
print("plain capa", sorted(p.capa()))
print("plain user:", err(p.user, "ann@example.org"))
print("plain auth:", err(p._shortcmd, "AUTH PLAIN " + plain("ann@example.org", "ann password")))
p.stls(context=ctx)
print("tls capa", sorted(p.capa()))
p.user("ann@example.org"); print("stls pass", p.pass_("ann password").decode())
print("stat", p.stat())
p.quit()
p = poplib.POP3("127.0.0.1", POP3, timeout=10)
p.stls(context=ctx)
print("stls auth", p._shortcmd("AUTH PLAIN " + plain("ann@example.org", "ann password")).decode())
p.quit()
p = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
print("pop3s capa", sorted(p.capa()))
p.user("ann@example.org"); print("wrong:", err(p.pass_, "wrong"))
print("pop3s auth", p._shortcmd("AUTH PLAIN " + plain("ann@example.org", "ann password")).decode())
p.quit()
p = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
p.user("ann@example.org"); print("pop3s pass", p.pass_("ann password").decode())
p.quit()
# AUTH PLAIN without an initial response: "+ " then the credentials.
p = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
p._putcmd("AUTH PLAIN"); print("challenge", p._getline()[0])
p._putcmd(plain("ann@example.org", "ann password")); print("after challenge", p._getresp().decode())
p.quit()
"#,
    );
    expect_all(
        &out,
        &[
            "greeting +OK mail.test Postern POP3 server ready",
            "'STLS'",
            "plain user: -ERR [AUTH] Plaintext authentication disallowed",
            "plain auth: -ERR [AUTH] Plaintext authentication disallowed",
            "tls capa ['AUTH-RESP-CODE', 'EXPIRE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'SASL', 'TOP', 'UIDL', 'USER']",
            "stls pass +OK Logged in, 0 messages (0 octets)",
            "stat (0, 0)",
            "stls auth +OK Logged in",
            "pop3s capa ['AUTH-RESP-CODE', 'EXPIRE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'SASL', 'TOP', 'UIDL', 'USER']",
            "wrong: -ERR [AUTH] Authentication failed",
            "pop3s auth +OK Logged in",
            "pop3s pass +OK Logged in",
            "challenge b'+ '",
            "after challenge +OK Logged in",
        ],
    );
    let plain_capa = out
        .lines()
        .find(|l| l.starts_with("plain capa"))
        .expect("capa line");
    assert!(
        !plain_capa.contains("'USER'") && !plain_capa.contains("'SASL'"),
        "{plain_capa}"
    );
}

#[test]
fn stat_list_uidl_top_and_retr_give_exactly_what_smtp_delivered() {
    let (env, server) = mail_env();
    let out = py(
        &env,
        &server,
        r#"
deliver("ann@example.org", "first", "one line")
deliver("ann@example.org", "second", "para\r\n.starts with a dot\r\n..two dots\r\n.\r\nlast")
deliver("ann@example.org", "third", "\r\n".join(["x" * 99] * 50))
c = imap(); c.select("INBOX")
typ, data = c.status("INBOX", "(UIDVALIDITY)"); uv = int(data[0].decode().split()[-1].strip(")"))
stored = {}
for n in (1, 2, 3):
    typ, d = c.fetch(str(n), "(UID BODY.PEEK[])")
    uid = int(d[0][0].decode().split("UID ")[1].split()[0])
    stored[n] = (uid, d[0][1])
c.logout()
p = pop()
n, total = p.stat()
print("stat", n, total == sum(len(b) for _, b in stored.values()))
resp, lines, _ = p.list()
for l in lines:
    num, size = map(int, l.split()); print("list", num, size == len(stored[num][1]))
resp, lines, _ = p.uidl()
for l in lines:
    num, u = l.decode().split(); print("uidl", num, u == "%08X%08X" % (stored[int(num)][0], uv))
for num in (1, 2, 3):
    resp, lines, octets = p.retr(num)
    body = b"\r\n".join(lines) + b"\r\n"
    print("retr", num, body == stored[num][1], octets == len(stored[num][1]), resp.decode())
print("trace", stored[2][1].startswith(b"Return-Path: <sender@elsewhere.test>\r\nReceived: "))
print("dots", b"\r\n.starts with a dot\r\n..two dots\r\n.\r\nlast\r\n" in stored[2][1])
resp, lines, octets = p.top(2, 2)
head, body = stored[2][1].split(b"\r\n\r\n", 1)
print("top", lines == head.split(b"\r\n") + [b""] + body.split(b"\r\n")[:2])
resp, lines, octets = p.top(1, 0)
print("top0", lines[-1] == b"" and b"Subject: first" in lines)
p.quit()
"#,
    );
    expect_all(
        &out,
        &[
            "stat 3 True",
            "list 1 True",
            "list 2 True",
            "list 3 True",
            "uidl 1 True",
            "uidl 2 True",
            "uidl 3 True",
            "retr 1 True True +OK",
            "retr 2 True True +OK",
            "retr 3 True True +OK",
            "trace True",
            "dots True",
            "top True",
            "top0 True",
        ],
    );
}

#[test]
fn dele_and_quit_expunge_in_imap_sessions_and_a_dropped_connection_deletes_nothing() {
    let (env, server) = mail_env();
    let out = py(
        &env,
        &server,
        r#"
for i in range(1, 5): deliver("ann@example.org", "m%d" % i)
idle = imap(); idle.select("INBOX")
idle.send(b"i1 IDLE\r\n"); print("idle", idle.readline().decode().strip())
noop = imap(); noop.select("INBOX")
# A connection that drops after DELE removes nothing.
p = pop(); p.dele(1); p.dele(2); p.sock.shutdown(socket.SHUT_RDWR); p.close()
p = pop_after_drop()
print("after drop", p.stat()[0])
print("dele", p.dele(1).decode(), p.dele(3).decode())
print("quit", p.quit().decode())
idle.sock.settimeout(10)
got = []
while len(got) < 2:
    got.append(idle.readline().decode().strip())
print("idle saw", got)
idle.send(b"DONE\r\n"); print("done", idle.readline().decode().strip())
typ, data = noop.noop(); print("noop saw", noop.untagged_responses.get("EXPUNGE"))
typ, data = noop.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print("left", [d[1].decode().strip() for d in data if isinstance(d, tuple)])
p = pop(); print("pop left", p.stat()[0]); p.quit()
"#,
    );
    expect_all(
        &out,
        &[
            "idle + idling",
            "after drop 4",
            "dele +OK Message 1 deleted +OK Message 3 deleted",
            "quit +OK Bye: 2 messages removed, 2 left",
            "idle saw ['* 3 EXPUNGE', '* 1 EXPUNGE']",
            "done i1 OK",
            "noop saw [b'3', b'1']",
            "left ['Subject: m2', 'Subject: m4']",
            "pop left 2",
        ],
    );
}

#[test]
fn a_second_login_is_in_use_while_imap_keeps_working() {
    let (env, server) = mail_env();
    let out = py(
        &env,
        &server,
        r#"
deliver("ann@example.org", "one")
a = pop()
b = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
b.user("ann@example.org"); print("second:", err(b.pass_, "ann password"))
print("still in authorization:", err(b.stat))
c = imap(); typ, data = c.select("INBOX"); print("imap", typ, data); c.logout()
print("bob", pop("bob@example.org", "bob password").stat())
a.quit()
b.user("ann@example.org"); print("after quit", b.pass_("ann password").decode()); b.quit()
"#,
    );
    expect_all(
        &out,
        &[
            "second: -ERR [IN-USE] Maildrop is in use by another POP3 session",
            "still in authorization: -ERR Not logged in",
            "imap OK [b'1']",
            "bob (0, 0)",
            "after quit +OK Logged in, 1 messages",
        ],
    );
}

#[test]
fn uidls_are_the_same_after_a_restart() {
    let (env, server) = mail_env();
    let script = r#"
p = pop(); print("uidl", [l.decode() for l in p.uidl()[1]]); p.quit()
"#;
    py(
        &env,
        &server,
        r#"
for i in range(3): deliver("ann@example.org", "m%d" % i)
p = pop(); p.dele(2); p.quit()
deliver("ann@example.org", "m3")
"#,
    );
    let before = py(&env, &server, script);
    let (status, _, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
    let server = env.serve();
    let after = py(&env, &server, script);
    assert!(before.contains("uidl ['1 "), "{before}");
    assert_eq!(before, after);
    // The deleted message's UIDL is not given to the new one.
    let uids: Vec<&str> = before
        .trim()
        .trim_start_matches("uidl [")
        .trim_end_matches(']')
        .split(", ")
        .map(|s| s.trim_matches('\'').split(' ').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(uids.len(), 3, "{before}");
    assert!(uids[0].starts_with("00000001"), "{before}");
    assert!(uids[1].starts_with("00000003"), "{before}");
    assert!(uids[2].starts_with("00000004"), "{before}");
}

#[test]
fn messages_expunged_by_imap_during_a_session_give_a_clear_err_and_the_rest_works() {
    let (env, server) = mail_env();
    let out = py(
        &env,
        &server,
        r#"
for i in range(1, 4): deliver("ann@example.org", "m%d" % i)
p = pop()
c = imap(); c.select("INBOX"); c.store("2", "+FLAGS", "(\\Deleted)"); print("expunge", c.expunge()); c.logout()
print("stat", p.stat())
print("retr 2:", err(p.retr, 2))
print("top 2:", err(p.top, 2, 0))
print("retr 1", p.retr(1)[0].decode().startswith("+OK"))
print("retr 3", b"Subject: m3" in p.retr(3)[1])
print("dele", p.dele(2).decode(), p.dele(3).decode())
print("quit", p.quit().decode())
p = pop(); print("left", p.stat()[0], [l for l in p.retr(1)[1] if l.startswith(b"Subject")]); p.quit()
"#,
    );
    expect_all(
        &out,
        &[
            "expunge ('OK', [b'2'])",
            "stat (3,",
            "retr 2: -ERR Message 2 was removed by another session",
            "top 2: -ERR Message 2 was removed by another session",
            "retr 1 True",
            "retr 3 True",
            "quit +OK Bye: 1 messages removed, 1 left",
            "left 1 [b'Subject: m1']",
        ],
    );
}

/// Imports `n` small messages (`Subject: n1` ... `n{n}`, each with a
/// dot-stuffing line) into ann's INBOX with the CLI.
fn import_numbered(env: &Env, n: usize) {
    let mbox = env.dir.path().join(format!("numbered-{n}.mbox"));
    let mut text = String::new();
    for i in 1..=n {
        text.push_str(&format!(
            "From sender@elsewhere.test Mon Jan  6 10:00:00 2025\nFrom: sender@elsewhere.test\nSubject: n{i}\n\nbody {i}\n.dot line\n\n"
        ));
    }
    std::fs::write(&mbox, text).expect("mbox");
    let mbox = mbox.to_str().expect("utf8");
    let out = env.ok(&["mailbox", "import", "ann@example.org", "--mbox", mbox]);
    assert!(out.contains(&format!("imported {n} messages")), "{out}");
}

#[test]
fn a_maildrop_over_max_messages_lists_its_oldest_in_pieces_and_the_rest_after_dele() {
    // 5,000 messages with `max_messages = 4000`: the snapshot holds the
    // oldest 4,000, and their UIDL answer (about 92 KB) is more than one
    // of the driver's 64 KiB pieces, so it is sent piece by piece; the
    // client must still get every line once, in order, then the `.`.
    let (env, server) = mail_env_with("[pop3]\nmax_messages = 4000\n");
    import_numbered(&env, 5000);
    let out = py(
        &env,
        &server,
        r#"
p = pop()
print("stat", p.stat())
resp, lines, _ = p.list()
print("list", resp.decode(), len(lines), [int(l.split()[0]) for l in lines] == list(range(1, 4001)))
resp, lines, _ = p.uidl()
u = [l.split()[1] for l in lines]
print("uidl", len(lines), len(set(u)), [int(l.split()[0]) for l in lines] == list(range(1, 4001)))
print("first", b"Subject: n1\r\n" in b"\r\n".join(p.retr(1)[1]) + b"\r\n")
print("last", b"Subject: n4000\r\n" in b"\r\n".join(p.retr(4000)[1]) + b"\r\n")
print("past", err(p.list, 4001))
for i in range(1, 1001): p.dele(i)
print("quit", p.quit().decode())
p = pop()
resp, lines, _ = p.uidl()
print("then", p.stat()[0], len(lines), len(set(l.split()[1] for l in lines) & set(u)))
print("new last", b"Subject: n5000\r\n" in b"\r\n".join(p.retr(4000)[1]) + b"\r\n")
p.quit()
"#,
    );
    expect_all(
        &out,
        &[
            "list +OK 4000 messages",
            " 4000 True",
            "uidl 4000 4000 True",
            "first True",
            "last True",
            "past -ERR No such message: 4001 (maildrop has 4000)",
            "quit +OK Bye: 1000 messages removed, 3000 left",
            "then 4000 4000 3000",
            "new last True",
        ],
    );
}

#[test]
fn a_thousand_message_maildrop_answers_pipelined_commands_in_order() {
    let (env, server) = mail_env();
    import_numbered(&env, 1000);
    let out = py(
        &env,
        &server,
        r#"
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", POP3S), timeout=30))
f = s.makefile("rb")
print("greeting", f.readline().startswith(b"+OK"))
cmds = ["USER ann@example.org", "PASS ann password", "STAT", "LIST", "UIDL"]
cmds += ["RETR %d" % i for i in range(1, 1001)]
cmds += ["DELE %d" % i for i in range(1, 1001, 2)] + ["STAT", "QUIT"]
s.sendall("".join(c + "\r\n" for c in cmds).encode())
def status():
    return f.readline().decode().rstrip("\r\n")
def multi():
    lines = []
    while True:
        l = f.readline()
        if l == b".\r\n": return lines
        lines.append(l[1:] if l.startswith(b"..") else l)
print("user", status()); print("pass", status()); print("stat", status())
st = status(); print("list", st, len(multi()))
st = status(); u = multi(); print("uidl", st, len(u), len(set(l.split()[1] for l in u)))
ok = 0
for i in range(1, 1001):
    st = status(); body = b"".join(multi())
    if st.startswith("+OK") and (b"Subject: n%d\r\n" % i) in body and b"\r\n.dot line\r\n" in body: ok += 1
print("retr ok", ok)
dele = sum(status().startswith("+OK") for _ in range(500)); print("dele ok", dele)
print("stat after", status()); print("quit", status())
p = pop(); print("left", p.stat()[0]); p.quit()
"#,
    );
    expect_all(
        &out,
        &[
            "greeting True",
            "pass +OK Logged in, 1000 messages",
            "stat +OK 1000 ",
            "list +OK 1000 messages",
            "uidl +OK Unique-id listing follows 1000 1000",
            "retr ok 1000",
            "dele ok 500",
            "stat after +OK 500 ",
            "quit +OK Bye: 500 messages removed, 500 left",
            "left 500",
        ],
    );
}

#[test]
fn throttled_logins_get_sys_temp() {
    let (env, server) = mail_env_with("[auth]\nlockout_after = 2\nfailures_before_delay = 100\n");
    let out = py(
        &env,
        &server,
        r#"
p = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
for i in range(3):
    p.user("ann@example.org"); print("try", i, err(p.pass_, "wrong"))
"#,
    );
    expect_all(
        &out,
        &[
            "try 0 -ERR [AUTH] Authentication failed",
            "try 2 -ERR [SYS/TEMP] Too many failed logins, try again later",
        ],
    );
}

#[test]
fn a_server_shutdown_during_a_session_deletes_nothing() {
    let (env, mut server) = mail_env();
    let pid = server.pid().to_string();
    let out = support::python(
        &env,
        &server,
        &format!(
            "{PRELUDE}\n{}",
            r#"
import signal
for i in range(3): deliver("ann@example.org", "m%d" % i)
p = pop(); p.dele(1); p.dele(2)
os.kill(int(os.environ["SERVER_PID"]), signal.SIGTERM)
p.sock.settimeout(15)
print("after TERM", p.sock.recv(100))
"#
        ),
        &[("SERVER_PID", std::path::Path::new(&pid))],
    );
    expect_all(&out, &["after TERM b''"]);
    let (status, _, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
    let server = env.serve();
    let out = py(
        &env,
        &server,
        "p = pop(); print(\"left\", p.stat()[0]); p.quit()",
    );
    expect_all(&out, &["left 3"]);
}

#[test]
fn capa_says_expire_never_by_default_and_nothing_retrieved_is_removed() {
    let (env, server) = mail_env();
    let out = py(
        &env,
        &server,
        r#"
deliver("ann@example.org", "one")
p = pop()
print("expire", p.capa()["EXPIRE"])
p.retr(1)
print("quit", p.quit().decode())
p = pop(); print("stat", p.stat()); p.quit()
"#,
    );
    expect_all(
        &out,
        &[
            "expire ['NEVER']",
            "quit +OK Bye: 0 messages removed, 1 left",
            "stat (1,",
        ],
    );
}

#[test]
fn expire_0_removes_what_was_retrieved_at_quit_and_imap_sees_it_go() {
    let (env, server) = mail_env_with("[pop3]\nexpire_days = 0");
    let out = py(
        &env,
        &server,
        r#"
for s in ["one", "two", "three"]:
    deliver("ann@example.org", s)
c = imap(); c.select("INBOX")
p = pop()
print("expire", p.capa()["EXPIRE"])
p.retr(1)
p.top(2, 0)            # TOP is not a download: 2 stays
print("quit", p.quit().decode())
c.noop()
typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print("imap", sorted(x[1].decode().strip() for x in data if isinstance(x, tuple)))
p = pop(); print("stat", p.stat()[0])
# A session that drops without QUIT removes nothing, retrieved or not.
p.retr(1); p.sock.shutdown(socket.SHUT_RDWR); p.close()
p = pop_after_drop()
print("after drop", p.stat()[0]); p.quit()
"#,
    );
    expect_all(
        &out,
        &[
            "expire ['0']",
            "quit +OK Bye: 1 messages removed (1 expired), 2 left",
            "imap ['Subject: three', 'Subject: two']",
            "stat 2",
            "after drop 2",
        ],
    );
}
