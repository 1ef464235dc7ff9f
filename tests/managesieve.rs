//! ManageSieve (RFC 5804) end to end against the real binary: Debian's
//! `sieve-connect` uploads, lists, activates and fetches a script over
//! STARTTLS; raw transcripts (Python sockets) cover every command and its
//! response codes, refusals before TLS, checker errors with line and
//! column, quota and size refusals (a 10 MB script included), bad input,
//! throttled logins, the idle timeout, and that an uploaded and activated
//! script files mail at delivery.

use std::process::{Command, Stdio};

use crate::pop3::expect_all;
use crate::smtp::mail_env_with;
use crate::support::{self, Env, Server};

/// A small ManageSieve client over raw sockets: `MS()` connects, reads
/// the greeting and (unless `tls=False`) does STARTTLS; `say` sends one
/// command and returns the response's lines (a literal's octets joined to
/// its line) up to and including OK, NO or BYE.
pub const PRELUDE: &str = r#"
import os, re, ssl, socket, base64
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
PORT = int(os.environ["MANAGESIEVE_PORT"])
def b64(s): return base64.b64encode(s.encode()).decode()
class MS:
    def __init__(self, tls=True):
        self.s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        self.f = self.s.makefile("rb")
        self.greeting = self.response()
        if tls:
            self.tls = self.say(b"STARTTLS")
            self.s = ctx.wrap_socket(self.s)
            self.f = self.s.makefile("rb")
            self.caps = self.response()
    def line(self):
        line = self.f.readline()
        if not line: return "<closed>"
        m = re.search(rb"\{(\d+)\}\r\n$", line)
        if m:
            data = self.f.read(int(m.group(1)))
            rest = self.f.readline().rstrip(b"\r\n")
            return (line[:m.start()] + data + rest).decode(errors="replace")
        return line.decode(errors="replace").rstrip("\r\n")
    def response(self):
        lines = []
        while True:
            l = self.line(); lines.append(l)
            if l == "<closed>" or re.match(r"(OK|NO|BYE)\b", l): return lines
    def send(self, data):
        self.s.sendall(data if data.endswith(b"\n") else data + b"\r\n")
    def say(self, data):
        self.send(data); return self.response()
    def last(self, data):
        return self.say(data)[-1]
    def login(self, user="ann@example.org", pw="ann password"):
        return self.last(('AUTHENTICATE "PLAIN" "%s"' % b64("\0%s\0%s" % (user, pw))).encode())
def check(script):
    return b"CHECKSCRIPT {%d+}\r\n" % len(script) + script + b"\r\n"
def put(name, script):
    return b'PUTSCRIPT "' + name.encode() + b'" {%d+}\r\n' % len(script) + script + b"\r\n"
"#;

pub fn py(env: &Env, server: &Server, script: &str) -> String {
    support::python(env, server, &format!("{PRELUDE}\n{script}"), &[])
}

/// Runs `sieve-connect` against the server as ann with `args`; returns
/// its stdout, failing the test (naming the package) when it is missing
/// or fails.
fn sieve_connect(env: &Env, server: &Server, args: &[&str]) -> String {
    let mut child = Command::new("sieve-connect")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &server.port("managesieve").to_string(),
            "--tlscafile",
        ])
        .arg(env.cert())
        .args([
            "--tlshostname",
            "mail.test",
            "--user",
            "ann@example.org",
            "--authmech",
            "PLAIN",
            "--passwordfd",
            "0",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sieve-connect runs (Debian package sieve-connect)");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"ann password\n")
        .expect("password");
    let out = child.wait_with_output().expect("sieve-connect ends");
    assert!(
        out.status.success(),
        "sieve-connect {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sieve_connect_uploads_lists_activates_and_fetches_over_starttls() {
    let (env, server) = mail_env_with("");
    let dir = env.dir.path();
    let script = "require [\"fileinto\"];\r\nif header :contains \"subject\" \"report\" {\r\n  fileinto \"Archive\";\r\n}\r\n";
    std::fs::write(dir.join("rules.sieve"), script).expect("write script");
    let local = dir.join("rules.sieve").display().to_string();
    sieve_connect(
        &env,
        &server,
        &["--upload", "--localsieve", &local, "--remotesieve", "rules"],
    );
    // sieve-connect prints LISTSCRIPTS' lines as the server sent them.
    let listed = sieve_connect(&env, &server, &["--list"]);
    assert_eq!(listed, "\"rules\"\n");
    sieve_connect(&env, &server, &["--activate", "--remotesieve", "rules"]);
    let listed = sieve_connect(&env, &server, &["--list"]);
    assert_eq!(listed, "\"rules\" ACTIVE\n");
    let back = dir.join("back.sieve").display().to_string();
    sieve_connect(
        &env,
        &server,
        &[
            "--download",
            "--remotesieve",
            "rules",
            "--localsieve",
            &back,
        ],
    );
    assert_eq!(std::fs::read_to_string(&back).expect("downloaded"), script);
}

#[test]
fn every_command_answers_with_rfc_5804_responses_and_codes() {
    let (env, server) = mail_env_with("[sieve]\nmax_script_bytes = 1000\nmax_scripts = 3\n");
    let out = py(
        &env,
        &server,
        r#"
m = MS()
print("greeting", m.greeting[-1]); print("starttls", m.tls[-1])
print("caps", "|".join(m.caps))
print("login", m.login())
print("owner", [l for l in m.say(b"CAPABILITY") if l.startswith('"OWNER"')])
print("havespace", m.last(b'HAVESPACE "a" 10'))
print("havespace big", m.last(b'HAVESPACE "a" 1001'))
print("put a", m.last(put("a", b'require "fileinto";\r\nfileinto "Archive";\r\n')))
print("put b", m.last(put("b", b"keep;\r\n")))
print("put broken", m.last(put("c", b'keep;\r\nfileinto "x";\r\n')))
print("check broken", m.last(check(b'keep;\r\n  keep "x";\r\n')))
print("check ok", m.last(b'CHECKSCRIPT "keep;"'))
print("put c", m.last(put("c", b"keep;\r\n")))
print("put d", m.last(put("d", b"keep;\r\n")))
print("setactive", m.last(b'SETACTIVE "a"'))
print("list", sorted(m.say(b"LISTSCRIPTS")[:-1]))
print("get", m.say(b'GETSCRIPT "a"'))
print("delete active", m.last(b'DELETESCRIPT "a"'))
print("rename taken", m.last(b'RENAMESCRIPT "a" "b"'))
print("rename", m.last(b'RENAMESCRIPT "a" "filter"'))
print("get gone", m.last(b'GETSCRIPT "a"'))
print("deactivate", m.last(b'SETACTIVE ""'))
print("delete", m.last(b'DELETESCRIPT "filter"'))
print("noop", m.last(b'NOOP "sync-1"'))
print("unauth", m.last(b"UNAUTHENTICATE"))
print("after unauth", m.last(b"LISTSCRIPTS"))
print("login again", m.login())
print("list again", sorted(m.say(b"LISTSCRIPTS")[:-1]))
print("logout", m.last(b"LOGOUT"), m.line())
"#,
    );
    expect_all(
        &out,
        &[
            "greeting OK \"Postern ManageSieve ready\"",
            "starttls OK \"Begin TLS negotiation now\"",
            "\"SASL\" \"PLAIN LOGIN\"",
            "\"IMPLEMENTATION\" \"Postern\"",
            "\"VERSION\" \"1.0\"",
            "login OK \"Logged in\"",
            "owner ['\"OWNER\" \"ann@example.org\"']",
            "havespace OK \"Putscript would succeed\"",
            "havespace big NO (QUOTA/MAXSIZE) \"Scripts are at most 1000 bytes\"",
            "put a OK \"Putscript completed\"",
            "put b OK \"Putscript completed\"",
            "put broken NO \"line 2, column 1: fileinto is used without require\"",
            "check broken NO \"line 2, column 8: expected ';' but found \\\"x\\\"\"",
            "check ok OK \"Script is valid\"",
            "put c OK \"Putscript completed\"",
            "put d NO (QUOTA/MAXSCRIPTS) \"At most 3 scripts per user\"",
            "setactive OK \"Script activated\"",
            "list ['\"a\" ACTIVE', '\"b\"', '\"c\"']",
            "get ['require \"fileinto\";\\r\\nfileinto \"Archive\";\\r\\n', 'OK \"Getscript completed\"']",
            "delete active NO (ACTIVE) \"The active script cannot be deleted; deactivate it first\"",
            "rename taken NO (ALREADYEXISTS) \"A script named b already exists\"",
            "rename OK \"Script renamed\"",
            "get gone NO (NONEXISTENT) \"There is no script named a\"",
            "deactivate OK \"All scripts deactivated\"",
            "delete OK \"Script deleted\"",
            "noop OK (TAG \"sync-1\") \"Done\"",
            "unauth OK \"Unauthenticate completed\"",
            "after unauth NO \"Authenticate first\"",
            "login again OK \"Logged in\"",
            "list again ['\"b\"', '\"c\"']",
            "logout OK \"Logout completed\" <closed>",
        ],
    );
}

#[test]
fn before_starttls_sasl_is_empty_and_authenticate_needs_encryption() {
    let (env, server) = mail_env_with("");
    let out = py(
        &env,
        &server,
        r#"
m = MS(tls=False)
print("caps", "|".join(m.greeting))
print("auth", m.login())
print("list", m.last(b"LISTSCRIPTS"))
# Pipelined after STARTTLS in plaintext: dropped, never run (CVE-2011-0411).
m.send(b"STARTTLS\r\n" + b'AUTHENTICATE "PLAIN" "' + b64("\0ann@example.org\0ann password").encode() + b'"\r\n')
print("starttls", m.response()[-1])
m.s = ctx.wrap_socket(m.s); m.f = m.s.makefile("rb")
caps = m.response()
print("caps after", caps[-1], "STARTTLS offered:", '"STARTTLS"' in caps)
print("list after", m.last(b"LISTSCRIPTS"))
"#,
    );
    expect_all(
        &out,
        &[
            "\"SASL\" \"\"|",
            "|\"STARTTLS\"|",
            "auth NO (ENCRYPT-NEEDED) \"Authentication needs TLS: use STARTTLS first\"",
            "list NO \"Authenticate first\"",
            "starttls OK \"Begin TLS negotiation now\"",
            "caps after OK \"Postern ManageSieve ready\" STARTTLS offered: False",
            "list after NO \"Authenticate first\"",
        ],
    );
}

#[test]
fn bad_input_gets_no_and_the_session_goes_on_until_too_many() {
    let (env, server) =
        mail_env_with("[managesieve]\nmax_errors = 8\n[sieve]\nmax_script_bytes = 65536\n");
    let out = py(
        &env,
        &server,
        r#"
m = MS()
print("login", m.login())
print("garbage", m.last(b"\x01\x02 garbage"))
print("unknown", m.last(b"XYZZY"))
print("long", m.last(b"NOOP \"" + b"x" * 20000 + b"\""))
print("nul", m.last(b"NO\0OP"))
big = b"k" * (10 * 1024 * 1024)
print("10 MB", m.last(put("big", big)))
print("alive", m.last(b"NOOP"))
print("list", m.say(b"LISTSCRIPTS"))
print("bad name", m.last(b'GETSCRIPT "a\x01b"'))
print("quoted", m.last(b'GETSCRIPT "a'))
print("last", m.last(b"LOGOUT now"))
print("closed", m.line())
m = MS(); print("new session", m.login())
"#,
    );
    expect_all(
        &out,
        &[
            "login OK \"Logged in\"",
            "garbage NO \"Invalid character in command\"",
            "unknown NO \"Unknown command\"",
            "long NO \"Command line too long\"",
            "nul NO \"Invalid character in command\"",
            "10 MB NO (QUOTA/MAXSIZE) \"Too large: scripts are at most 65536 bytes\"",
            "alive OK \"Done\"",
            "list ['OK \"Listscripts completed\"']",
            "bad name NO \"Invalid script name: contains a control character\"",
            "quoted NO \"Invalid quoted string: no closing quote\"",
            "last BYE \"Unexpected bytes after the arguments; too many errors, closing\"",
            "closed <closed>",
            "new session OK \"Logged in\"",
        ],
    );
}

#[test]
fn failed_logins_are_throttled_with_trylater() {
    let (env, server) = mail_env_with("[auth]\nlockout_after = 2\nfailures_before_delay = 100\n");
    let out = py(
        &env,
        &server,
        r#"
m = MS()
for i in range(3):
    print("try", i, m.login(pw="wrong"))
"#,
    );
    expect_all(
        &out,
        &[
            "try 0 NO \"Authentication failed\"",
            "try 2 NO (TRYLATER) \"Too many failed logins, try again later\"",
        ],
    );
    assert!(
        server
            .log()
            .contains("auth failed: proto=managesieve ip=127.0.0.1 user=ann@example.org"),
        "the fail2ban line"
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
rng = random.Random(16)
for i in range(20):
    m = MS(tls=bool(i % 2))
    if i % 4 == 1: m.login()
    data = bytes(rng.choice(b'{}+0123456789 "\\\r\nPUTSCRIPT\x00\xff') for _ in range(rng.randrange(1, 20000)))
    try:
        m.s.sendall(data); m.s.settimeout(2)
        while m.s.recv(65536): pass
    except (OSError, ssl.SSLError):
        pass
    m.s.close()
m = MS(); print("alive", m.login(), m.last(b"NOOP"))
"#,
    );
    expect_all(&out, &["alive OK \"Logged in\" OK \"Done\""]);
}

#[test]
fn a_script_uploaded_and_activated_runs_at_delivery() {
    let (env, server) = mail_env_with("");
    let script = format!(
        "{}\n{PRELUDE}\n{}",
        crate::pop3::PRELUDE,
        r#"
m = MS(); m.login()
rules = b'require ["fileinto", "mailbox"];\r\nif header :contains "subject" "report" {\r\n  fileinto :create "Reports";\r\n}\r\n'
print("put", m.last(put("rules", rules)))
deliver("ann@example.org", "before activation: report")
print("active", m.last(b'SETACTIVE "rules"'))
deliver("ann@example.org", "monthly report")
deliver("ann@example.org", "lunch")
c = imap()
def subjects(box):
    typ, data = c.select(box)
    if typ != "OK": return typ
    typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    return sorted(d[1].decode().strip() for d in data if isinstance(d, tuple))
print("inbox", subjects("INBOX"))
print("reports", subjects("Reports"))
print("deactivate", m.last(b'SETACTIVE ""'))
deliver("ann@example.org", "second report")
print("inbox after", subjects("INBOX"))
"#
    );
    let out = support::python(&env, &server, &script, &[]);
    expect_all(
        &out,
        &[
            "put OK \"Putscript completed\"",
            "active OK \"Script activated\"",
            "inbox ['Subject: before activation: report', 'Subject: lunch']",
            "reports ['Subject: monthly report']",
            "deactivate OK \"All scripts deactivated\"",
            "inbox after ['Subject: before activation: report', 'Subject: lunch', 'Subject: second report']",
        ],
    );
}

/// Whether a recipient has an active script is asked at RCPT, with the
/// quota (one store read): a script activated while the message is being
/// sent runs from the next message on; the one in flight is kept where the
/// verdict filed it, and nothing is lost.
#[test]
fn a_script_activated_after_rcpt_runs_from_the_next_message() {
    let (env, server) = mail_env_with("");
    let script = format!(
        "{}\n{PRELUDE}\n{}",
        crate::pop3::PRELUDE,
        r#"
m = MS(); m.login()
rules = b'require ["fileinto", "mailbox"];\r\nfileinto :create "Filed";\r\n'
print("put", m.last(put("rules", rules)))
s = smtplib.SMTP("127.0.0.1", MX, timeout=10)
s.ehlo("client.test")
print("mail", s.mail("sender@elsewhere.test")[0])
print("rcpt", s.rcpt("ann@example.org")[0])
print("active", m.last(b'SETACTIVE "rules"'))
print("data", s.data(b"From: sender@elsewhere.test\r\nTo: ann@example.org\r\nSubject: in flight\r\n\r\nhi\r\n")[0])
s.quit()
deliver("ann@example.org", "after activation")
c = imap()
def subjects(box):
    typ, data = c.select(box)
    if typ != "OK": return typ
    typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    return sorted(d[1].decode().strip() for d in data if isinstance(d, tuple))
print("inbox", subjects("INBOX"))
print("filed", subjects("Filed"))
"#
    );
    let out = support::python(&env, &server, &script, &[]);
    expect_all(
        &out,
        &[
            "put OK \"Putscript completed\"",
            "mail 250",
            "rcpt 250",
            "active OK \"Script activated\"",
            "data 250",
            "inbox ['Subject: in flight']",
            "filed ['Subject: after activation']",
        ],
    );
}

#[test]
fn an_idle_session_gets_bye_and_is_closed() {
    let (env, server) = mail_env_with("[managesieve]\nidle_timeout_secs = 1\n");
    let out = py(
        &env,
        &server,
        r#"
m = MS(); m.login()
print("idle", m.line(), m.line())
"#,
    );
    expect_all(&out, &["idle BYE \"Idle for too long, closing\" <closed>"]);
}
