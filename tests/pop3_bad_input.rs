//! POP3 bad input over a real TLS connection: each mistake of issue 6's
//! list gets `-ERR` (with a response code where one applies) and the
//! session goes on; too many errors close it; random bytes never take the
//! server down.

use crate::pop3::{expect_all, py};
use crate::smtp::mail_env_with;

#[test]
fn each_bad_input_gets_err_and_the_session_goes_on_until_too_many() {
    let (env, server) = mail_env_with("[pop3]\nmax_errors = 19\n");
    let out = py(
        &env,
        &server,
        r#"
deliver("ann@example.org", "one"); deliver("ann@example.org", "two")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", POP3S), timeout=10))
f = s.makefile("rb")
f.readline()
def say(line):
    s.sendall(line + b"\r\n")
    return f.readline().decode(errors="replace").rstrip("\r\n")
for line in [b"RETR 1", b"XYZZY", b"APOP ann 0123456789abcdef0123456789abcdef", b"A" * 5000, b"NO\0OP"]:
    print("pre", line[:12], "->", say(line))
print("user", say(b"USER ann@example.org")); print("pass", say(b"PASS ann password"))
for line in [b"RETR 0", b"RETR -1", b"RETR 3", b"RETR 99999999999", b"DELE 1", b"DELE 1",
             b"LIST 1", b"TOP 2", b"TOP 2 -1", b"TOP 2 x", b"RETR\0 2", b"X" * 3000, b"STLS", b"PASS x"]:
    print("txn", line[:12], "->", say(line))
print("noop", say(b"NOOP"))
print("last", say(b"BOGUS"))
print("closed", f.readline() == b"")
p = pop(); print("stat after", p.stat()[0]); p.quit()
"#,
    );
    expect_all(
        &out,
        &[
            "pre b'RETR 1' -> -ERR Not logged in",
            "pre b'XYZZY' -> -ERR Unknown command",
            "pre b'APOP ann 012' -> -ERR Unknown command",
            "pre b'AAAAAAAAAAAA' -> -ERR Line too long",
            "pre b'NO\\x00OP' -> -ERR NUL byte in command",
            "pass +OK Logged in, 2 messages",
            "txn b'RETR 0' -> -ERR Invalid message number: messages are numbered from 1",
            "txn b'RETR -1' -> -ERR Invalid message number: not a number",
            "txn b'RETR 3' -> -ERR No such message: 3 (maildrop has 2)",
            "txn b'RETR 9999999' -> -ERR Invalid message number: too large",
            "txn b'DELE 1' -> +OK Message 1 deleted",
            "txn b'DELE 1' -> -ERR Message 1 is already deleted",
            "txn b'LIST 1' -> -ERR Message 1 is already deleted",
            "txn b'TOP 2' -> -ERR Missing argument: number of lines",
            "txn b'TOP 2 -1' -> -ERR Invalid number of lines: not a number",
            "txn b'TOP 2 x' -> -ERR Invalid number of lines: not a number",
            "txn b'RETR\\x00 2' -> -ERR NUL byte in command",
            "txn b'XXXXXXXXXXXX' -> -ERR Line too long",
            "txn b'STLS' -> -ERR Already logged in (STLS comes before login)",
            "txn b'PASS x' -> -ERR Already logged in",
            "noop +OK",
            "last -ERR Unknown command; too many errors, closing",
            "closed True",
            // The session closed without QUIT: DELE 1 was not applied.
            "stat after 2",
        ],
    );
}

#[test]
fn top_with_a_line_count_past_u32_sends_the_whole_message_and_is_no_error() {
    // Issue 13: `TOP 1 99999999999` was an error, and eleven of them closed
    // the session. RFC 1939 §7: more lines than the body has is the body.
    let (env, server) = mail_env_with("[pop3]\nmax_errors = 3\n");
    let out = py(
        &env,
        &server,
        r#"
deliver("ann@example.org", "one", "line 1\r\nline 2\r\nline 3")
p = pop()
whole = p.retr(1)[1]
for count in ["4294967295", "4294967296", "99999999999", "9" * 200]:
    print(count[:12], p.top(1, count)[1] == whole)
print("noop", p.noop().decode()); p.quit()
"#,
    );
    expect_all(
        &out,
        &[
            "4294967295 True",
            "4294967296 True",
            "99999999999 True",
            "999999999999 True",
            "noop +OK",
        ],
    );
}

#[test]
fn random_bytes_never_take_the_server_down() {
    let (env, server) = mail_env_with("");
    let out = py(
        &env,
        &server,
        r#"
import random
rng = random.Random(6)
for i in range(20):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", POP3S), timeout=10))
    s.recv(100)
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20000)))
    if i % 2: data = b"USER ann@example.org\r\nPASS ann password\r\n" + data
    try:
        s.sendall(data); s.settimeout(2)
        while s.recv(65536): pass
    except (OSError, ssl.SSLError):
        pass
    s.close()
# Plaintext garbage on the STLS port, including a STLS pipelined with junk.
for junk in [b"\xff" * 4000 + b"\r\n", b"STLS\r\nUSER x\r\nPASS y\r\n"]:
    s = socket.create_connection(("127.0.0.1", POP3), timeout=10); s.recv(100); s.sendall(junk); s.close()
p = pop(); print("alive", p.noop().decode()); p.quit()
"#,
    );
    expect_all(&out, &["alive +OK"]);
}

#[test]
fn commands_pipelined_after_stls_in_plaintext_are_dropped() {
    let (env, server) = mail_env_with("");
    let out = py(
        &env,
        &server,
        r#"
s = socket.create_connection(("127.0.0.1", POP3), timeout=10)
f = s.makefile("rb"); f.readline()
# A man in the middle appends a command after STLS (CVE-2011-0411).
s.sendall(b"STLS\r\nQUIT\r\n")
print("stls", f.readline().decode().strip())
t = ctx.wrap_socket(s, server_hostname="localhost")
tf = t.makefile("rb")
t.sendall(b"NOOP\r\n")
print("first over tls", tf.readline().decode().strip())
t.sendall(b"CAPA\r\n"); print("capa", tf.readline().decode().strip())
"#,
    );
    expect_all(
        &out,
        &[
            "stls +OK Begin TLS negotiation",
            "first over tls +OK",
            "capa +OK Capability list follows",
        ],
    );
    // NOOP's answer, not QUIT's (which would have ended the session).
    assert!(out.lines().any(|l| l == "first over tls +OK"), "{out}");
    assert!(!out.contains("signing off"), "{out}");
}

#[test]
fn the_per_ip_limit_and_login_delay_answer_with_their_codes() {
    let (env, server) =
        mail_env_with("[limits]\nmax_connections_per_ip = 2\n[pop3]\nlogin_delay_secs = 3600\n");
    let out = py(
        &env,
        &server,
        r#"
a = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
print("capa", sorted(a.capa().items()))
b = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
# The limit is per listener: the third on the same port is refused. On
# the implicit-TLS port that is a plain close (a client there expects a
# TLS handshake, not text); on the plaintext port, a line with its code.
s = socket.create_connection(("127.0.0.1", POP3S), timeout=10)
print("third tls", repr(s.recv(200)))
s.close()
p = [socket.create_connection(("127.0.0.1", POP3), timeout=10) for _ in range(3)]
for x in p[:2]: x.recv(200)
print("third", p[2].recv(200).decode().strip())
for x in p: x.close()
b.quit()
a.user("ann@example.org"); a.pass_("ann password"); a.quit()
c = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
c.user("ann@example.org"); print("again:", err(c.pass_, "ann password"))
c.user("bob@example.org"); print("bob", c.pass_("bob password").decode())
"#,
    );
    expect_all(
        &out,
        &[
            "('LOGIN-DELAY', ['3600'])",
            "third tls b''",
            "third -ERR [SYS/TEMP] Too many connections, try again later",
            "again: -ERR [LOGIN-DELAY] Wait 3600 seconds between logins",
            "bob +OK Logged in",
        ],
    );
}
