//! Abuse defence end to end: failed logins over IMAP and POP3 together
//! block the client on every listener (SMTP `554 5.7.1` then only QUIT,
//! IMAP `* BYE`, POP3 `-ERR`, implicit TLS closed), `postern block list`
//! shows why and until when, a recent login or the allowlist prevents the
//! block, `block add/del` take effect on a running server, a spam-trap RCPT
//! blocks, and greylisting defers then accepts (never on submission).
//! Every test talks from 127.0.0.1, so each sets `allowlist = []`.

use crate::pop3::{PRELUDE, expect_all};
use crate::smtp::mail_env_with;
use crate::support::{self, Env, Server};

/// Small thresholds, no login throttle in the way, blocks reloaded each
/// second.
const ABUSE: &str = "[abuse]\nallowlist = []\nauth_failures = 4\nrefresh_secs = 1\n\
    spam_traps = [\"trap@example.org\"]\n[auth]\nfailures_before_delay = 100\nlockout_after = 100\n";

const HELPERS: &str = r#"
IMAP = int(os.environ["IMAP_PORT"])
def greet(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        return s.makefile("rb").readline().decode().strip()
    except OSError as e:
        return "error %s" % type(e).__name__
    finally:
        s.close()
def wait_greet(port, prefix):
    # A running server reloads blocks every refresh_secs (1 s here).
    deadline = time.monotonic() + 15
    while True:
        g = greet(port)
        if g.startswith(prefix) or time.monotonic() > deadline: return g
        time.sleep(0.2)
def imap_fails(pw="wrong"):
    c = imaplib.IMAP4_SSL("127.0.0.1", IMAPS, ssl_context=ctx, timeout=10)
    try:
        c.login("ann@example.org", pw); return "logged in"
    except imaplib.IMAP4.error as e:
        return str(e)
    finally:
        try: c.logout()
        except Exception: pass
def pop_fails(pw="wrong"):
    p = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
    p.user("ann@example.org")
    return err(p.pass_, pw)
"#;

fn py(env: &Env, server: &Server, script: &str) -> String {
    support::python(env, server, &format!("{PRELUDE}\n{HELPERS}\n{script}"), &[])
}

#[test]
fn failed_logins_over_imap_and_pop3_block_the_client_on_every_listener() {
    let (env, server) = mail_env_with(ABUSE);
    let out = py(
        &env,
        &server,
        r#"
print("imap 1:", imap_fails()); print("pop3 2:", pop_fails())
print("imap 3:", imap_fails()); print("pop3 4:", pop_fails())
s = socket.create_connection(("127.0.0.1", MX), timeout=10); f = s.makefile("rb")
print("smtp greeting:", f.readline().decode().strip())
s.sendall(b"EHLO client.test\r\n"); print("smtp ehlo:", f.readline().decode().strip())
s.sendall(b"QUIT\r\n"); print("smtp quit:", f.readline().decode().strip())
print("smtp after quit:", f.read() == b"")
s.close()
print("imap greeting:", greet(IMAP))
print("pop3 greeting:", greet(POP3))
print("imaps greeting:", repr(greet(IMAPS)))
"#,
    );
    expect_all(
        &out,
        &[
            "imap 1: b'[AUTHENTICATIONFAILED]",
            "pop3 4: -ERR [AUTH]",
            "smtp greeting: 554 5.7.1 mail.test Service unavailable; client [127.0.0.1] blocked",
            "smtp ehlo: 503 5.5.1 Bad sequence of commands",
            "smtp quit: 221 2.0.0 mail.test Bye",
            "smtp after quit: True",
            "imap greeting: * BYE Access denied, your address is blocked",
            "pop3 greeting: -ERR Access denied, your address is blocked",
            "imaps greeting: ''",
        ],
    );
    let list = env.ok(&["block", "list"]);
    let row = list
        .lines()
        .find(|l| l.starts_with("127.0.0.1 "))
        .unwrap_or_else(|| panic!("no block for 127.0.0.1 in:\n{list}"));
    assert!(row.contains(" auto "), "{row}");
    assert!(
        row.ends_with("4 failed logins within 1h; last: failed login (pop3)"),
        "{row}"
    );
    // Created and expiry a day apart, both as dates.
    let dates: Vec<&str> = row
        .split_whitespace()
        .filter(|w| w.len() == 10 && w.as_bytes()[4] == b'-')
        .collect();
    assert_eq!(dates.len(), 2, "{row}");
    assert_ne!(dates[0], dates[1], "expires a day later: {row}");
    assert!(
        server.log().contains("blocked: ip=127.0.0.1 for=1d"),
        "the block is logged"
    );
}

#[test]
fn a_recent_login_keeps_the_client_from_being_blocked() {
    let (env, server) = mail_env_with(ABUSE);
    let out = py(
        &env,
        &server,
        r#"
print("first:", imap_fails("ann password"))
for i in range(4): print("fail:", imap_fails()); print("fail:", pop_fails())
print("after:", imap_fails("ann password"))
print("pop3 greeting:", greet(POP3))
"#,
    );
    expect_all(
        &out,
        &["first: logged in", "after: logged in", "pop3 greeting: +OK"],
    );
    assert_eq!(env.ok(&["block", "list"]), "No blocks.\n");
    assert!(server.log().contains("not blocking: ip=127.0.0.1"));
}

#[test]
fn an_allowlisted_client_is_never_blocked() {
    let config = ABUSE.replace("allowlist = []", "allowlist = [\"127.0.0.0/8\"]")
        + "[greylist]\nenabled = true\n";
    let (env, server) = mail_env_with(&config);
    let out = py(
        &env,
        &server,
        r#"
for i in range(6): print("fail:", pop_fails())
print("pop3 greeting:", greet(POP3))
s = smtplib.SMTP("127.0.0.1", MX, timeout=10); s.ehlo("client.test")
s.mail("someone@elsewhere.test")
print("not greylisted:", s.rcpt("ann@example.org")); s.quit()
"#,
    );
    expect_all(&out, &["pop3 greeting: +OK", "not greylisted: (250"]);
    assert_eq!(env.ok(&["block", "list"]), "No blocks.\n");
    let refused = env.fails(&["block", "add", "127.0.0.1"], "");
    assert!(refused.contains("[abuse] allowlist"), "{refused}");
}

#[test]
fn block_add_refuses_at_connect_and_del_lets_the_next_connection_in() {
    let (env, server) = mail_env_with(ABUSE);
    let added = env.ok(&[
        "block",
        "add",
        "127.0.0.1",
        "--for",
        "2h",
        "--reason",
        "testing",
    ]);
    assert!(added.starts_with("blocked 127.0.0.1 until "), "{added}");
    let list = env.ok(&["block", "list"]);
    assert!(list.starts_with("ADDRESS "), "{list}");
    let row = list.lines().nth(1).unwrap_or_default();
    assert!(row.starts_with("127.0.0.1 "), "{row}");
    assert!(row.contains(" manual "), "{row}");
    assert!(row.ends_with(" testing"), "{row}");
    let out = py(&env, &server, r#"print("blocked:", wait_greet(MX, "554"))"#);
    expect_all(&out, &["blocked: 554 5.7.1"]);

    assert_eq!(
        env.ok(&["block", "del", "127.0.0.1"]),
        "removed the block of 127.0.0.1\n"
    );
    let out = py(&env, &server, r#"print("open:", wait_greet(MX, "220"))"#);
    expect_all(&out, &["open: 220 mail.test ESMTP"]);
    let missing = env.fails(&["block", "del", "127.0.0.1"], "");
    assert!(missing.contains("127.0.0.1 is not blocked"), "{missing}");
    let bad = env.fails(&["block", "add", "127.0.0.1/33"], "");
    assert!(bad.contains("is not an IP address or network"), "{bad}");
}

#[test]
fn a_spam_trap_rcpt_is_refused_as_unknown_and_blocks_the_client() {
    let (env, server) = mail_env_with(ABUSE);
    let out = py(
        &env,
        &server,
        r#"
s = smtplib.SMTP("127.0.0.1", MX, timeout=10); s.ehlo("client.test")
s.mail("spammer@elsewhere.test")
print("trap:", s.rcpt("trap@example.org"))
s.quit()
print("next:", greet(MX))
"#,
    );
    expect_all(
        &out,
        &[
            "trap: (550, b'5.1.1 <trap@example.org>: no such user here')",
            "next: 554 5.7.1",
        ],
    );
    let list = env.ok(&["block", "list"]);
    assert!(
        list.contains("1 spam trap hits within 1h; last: spam trap (trap@example.org)"),
        "{list}"
    );
}

#[test]
fn sessions_closed_for_errors_or_junk_commands_count_as_protocol_abuse() {
    let config = ABUSE.replace(
        "auth_failures = 4",
        "auth_failures = 4\nprotocol_abuses = 3",
    ) + "[smtp]\nmax_errors = 2\nmax_junk_commands = 3\n[imap]\nmax_errors = 2\n";
    let (env, server) = mail_env_with(&config);
    let out = py(
        &env,
        &server,
        r#"
def lines(port, cmds):
    # The server closes after its last line: read to the end.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"".join(c + b"\r\n" for c in cmds))
    got = s.makefile("rb").read().decode().strip().splitlines()
    s.close(); return got[-1]
print("smtp errors:", lines(MX, [b"BOGUS", b"BOGUS"]))
print("smtp junk:", lines(MX, [b"EHLO c", b"NOOP", b"NOOP", b"NOOP", b"NOOP"]))
print("imap errors:", lines(IMAP, [b"a BOGUS", b"b BOGUS"]))
print("next:", wait_greet(POP3, "-ERR"))
"#,
    );
    expect_all(
        &out,
        &[
            "smtp errors: 421 4.7.0",
            "smtp junk: 421 4.7.0",
            "imap errors: * BYE",
            "next: -ERR Access denied",
        ],
    );
    let list = env.ok(&["block", "list"]);
    assert!(
        list.contains("3 protocol abuses within 1h; last: too many errors (imap)"),
        "{list}"
    );
}

#[test]
fn greylisting_defers_then_accepts_and_allows_the_network() {
    let config = "[abuse]\nallowlist = []\n[greylist]\nenabled = true\ndelay_secs = 2\n";
    let (env, server) = mail_env_with(config);
    let out = py(
        &env,
        &server,
        r#"
import smtplib
SUB = int(os.environ["SUBMISSION_PORT"])
def send(sender, to, subject):
    s = smtplib.SMTP("127.0.0.1", MX, timeout=10); s.ehlo("client.test")
    s.mail(sender); r = s.rcpt(to)
    if r[0] == 250:
        s.data("From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nhello\r\n" % (sender, to, subject))
    s.quit()
    return "%d %s" % (r[0], r[1].decode())
# Submission is never greylisted.
s = smtplib.SMTP("127.0.0.1", SUB, timeout=10); s.ehlo("c"); s.starttls(context=ctx); s.ehlo("c")
s.login("ann@example.org", "ann password"); s.mail("ann@example.org")
print("submission:", s.rcpt("bob@example.org")); s.quit()
print("first:", send("list-123@elsewhere.test", "ann@example.org", "one"))
print("early:", send("list-456@elsewhere.test", "ann@example.org", "one"))
deadline = time.monotonic() + 15
while True:
    r = send("list-789@elsewhere.test", "ann@example.org", "retried")
    if r.startswith("250") or time.monotonic() > deadline: break
    time.sleep(0.5)
print("retry:", r)
print("other sender:", send("someone@else.test", "bob@example.org", "at once"))
p = pop()
subjects = [l for i in range(p.stat()[0]) for l in p.retr(i + 1)[1] if l.startswith(b"Subject:")]
print("delivered:", subjects)
p.quit()
"#,
    );
    expect_all(
        &out,
        &[
            "submission: (250",
            "first: 451 4.7.1 <ann@example.org>: greylisted, please try again in 2 seconds",
            "early: 451 4.7.1",
            "retry: 250",
            "other sender: 250",
            "delivered: [b'Subject: retried']",
        ],
    );
}
