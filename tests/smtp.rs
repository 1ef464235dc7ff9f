//! SMTP end to end, as clients use it: lettre submitting over 587 with
//! STARTTLS and over 465 with implicit TLS, Python's smtplib for MX delivery
//! and the refusals, and the message read back from the store.

use std::path::Path;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use postern_store::{OpenMode, Store, StoreOptions};

use crate::support::{self, Env, Server};

/// A server with example.org, users ann and bob, and a few aliases.
pub fn mail_env() -> (Env, Server) {
    mail_env_with("")
}

/// `mail_env` with extra configuration (TOML tables).
pub fn mail_env_with(extra: &str) -> (Env, Server) {
    let env = Env::with_config(extra);
    env.ok(&["domain", "add", "example.org"]);
    env.ok(&["domain", "add", "example.net"]);
    env.ok_with(&["user", "add", "ann@example.org"], "ann password\n");
    env.ok_with(&["user", "add", "bob@example.org"], "bob password\n");
    env.ok_with(&["user", "add", "cat@example.net"], "cat password\n");
    env.ok(&[
        "alias",
        "add",
        "team@example.org",
        "ann@example.org",
        "bob@example.org",
    ]);
    env.ok(&["alias", "add", "@example.net", "cat@example.net"]);
    env.ok(&["alias", "add", "ann.other@example.org", "ann@example.org"]);
    let server = env.serve();
    (env, server)
}

/// Keeps queued mail queued: DNS goes to a port where nothing answers, so
/// delivery attempts end deferred (no bounce) and the queue rows stay; the
/// inbound SPF/DKIM/DMARC checks (which would wait for that DNS) are off.
pub const HOLD_QUEUE: &str = "[dns]\nnameservers = [\"127.0.0.1:9\"]\n[mailauth]\nverify = false\n";

/// The messages in `user`'s INBOX, oldest first, read through the store.
pub async fn inbox(data: &Path, user: &str) -> Vec<Vec<u8>> {
    mailbox(data, user, "INBOX")
        .await
        .into_iter()
        .map(|(_, raw)| raw)
        .collect()
}

/// The messages in `user`'s mailbox `name` with their UIDs, oldest first,
/// read through the store.
pub async fn mailbox(data: &Path, user: &str, name: &str) -> Vec<(u32, Vec<u8>)> {
    let store = admin_store(data);
    let u = store
        .user_get(user)
        .await
        .expect("get")
        .expect("user exists");
    let mb = store
        .mailbox_get(u.id, name)
        .await
        .expect("get")
        .unwrap_or_else(|| panic!("no mailbox {name}"));
    let mut out = Vec::new();
    for m in store.messages(mb.id).await.expect("list") {
        out.push((m.uid.get(), store.read_blob(&m.blob).await.expect("blob")));
    }
    out
}

/// The store of a running server, opened as the admin CLI opens it.
pub fn admin_store(data: &Path) -> Store {
    Store::open(
        data,
        StoreOptions {
            mode: OpenMode::Admin,
            ..StoreOptions::default()
        },
    )
    .expect("open store")
}

/// The message without the trace headers this server added (and the
/// DKIM-Signature or Authentication-Results header that follows them).
fn strip_trace(raw: &[u8]) -> &[u8] {
    let rest = strip_received(raw);
    let mut i = 0;
    while rest[i..].starts_with(b"DKIM-Signature: ")
        || rest[i..].starts_with(b"Authentication-Results: ")
    {
        loop {
            i += rest[i..].iter().position(|&b| b == b'\n').expect("line") + 1;
            if !matches!(rest.get(i), Some(b'\t') | Some(b' ')) {
                break;
            }
        }
    }
    &rest[i..]
}

fn strip_received(raw: &[u8]) -> &[u8] {
    let text = raw;
    let rp = b"Return-Path: ";
    assert!(
        text.starts_with(rp),
        "starts with Return-Path: {}",
        String::from_utf8_lossy(&raw[..raw.len().min(200)])
    );
    // Return-Path is one line; Received continues while lines start with a tab.
    let mut i = text.iter().position(|&b| b == b'\n').expect("line") + 1;
    assert!(text[i..].starts_with(b"Received: "), "then Received");
    loop {
        i += text[i..].iter().position(|&b| b == b'\n').expect("line") + 1;
        if text.get(i) != Some(&b'\t') {
            return &raw[i..];
        }
    }
}

fn tls_params(env: &Env) -> TlsParameters {
    let pem = std::fs::read(env.cert()).expect("cert");
    TlsParameters::builder("localhost".into())
        .add_root_certificate(Certificate::from_pem(&pem).expect("pem"))
        .build_rustls()
        .expect("tls params")
}

const BODY: &str = "From: Ann <ann@example.org>\r\nTo: bob@example.org\r\nSubject: hello over submission\r\nMessage-ID: <m1@example.org>\r\n\r\nHi Bob,\r\n.a line that starts with a dot\r\n\r\nbye\r\n";

#[tokio::test]
async fn lettre_submits_over_587_starttls_and_465_and_the_bytes_arrive_intact() {
    postern_net::install_default_crypto_provider();
    let (env, server) = mail_env();
    for (listener, tls) in [
        ("submission", Tls::Required(tls_params(&env))),
        ("submissions", Tls::Wrapper(tls_params(&env))),
    ] {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(server.port(listener))
            .tls(tls)
            .credentials(Credentials::new(
                "ann@example.org".into(),
                "ann password".into(),
            ))
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        let from: Address = "ann@example.org".parse().expect("addr");
        let to: Address = "bob@example.org".parse().expect("addr");
        let envelope = Envelope::new(Some(from), vec![to]).expect("envelope");
        let resp = transport
            .send_raw(&envelope, BODY.as_bytes())
            .await
            .expect("sent");
        assert!(resp.is_positive(), "{listener}: {resp:?}");
    }
    let got = inbox(&env.data(), "bob@example.org").await;
    assert_eq!(got.len(), 2);
    for raw in &got {
        // lettre always ends DATA with CRLF "." CRLF, so the last line it
        // sends is an empty one (RFC 5321 §4.1.1.4: that CRLF is content).
        let sent = format!("{BODY}\r\n");
        assert_eq!(
            String::from_utf8_lossy(strip_trace(raw)),
            sent,
            "byte for byte apart from the trace headers"
        );
        let head = String::from_utf8_lossy(&raw[..300.min(raw.len())]).into_owned();
        assert!(
            head.starts_with("Return-Path: <ann@example.org>\r\n"),
            "{head}"
        );
        assert!(head.contains("with ESMTPSA"), "{head}");
        assert!(
            head.contains("(authenticated as ann@example.org)"),
            "{head}"
        );
        assert!(head.contains("for <bob@example.org>"), "{head}");
    }
    drop(server);
}

/// Runs a Python script, after `PY_PRELUDE`, with the server's ports and the
/// certificate in its environment; returns its stdout, failing the test on a
/// non-zero exit.
/// One message over port 25 from `mail_from` to `rcpts`; the reply to the
/// end of DATA (`"250 2.0.0 Ok: ..."`), or the first refusal on the way.
pub fn send_mx_to(
    env: &Env,
    server: &Server,
    mail_from: &str,
    rcpts: &[&str],
    message: &str,
) -> String {
    let rcpt_lines: String = rcpts
        .iter()
        .map(|r| format!("print(code(m.docmd, 'RCPT', 'TO:<{r}>'))\n"))
        .collect();
    python(
        env,
        server,
        &format!(
            "m = mx()\n\
             print(code(m.docmd, 'MAIL', 'FROM:<{mail_from}>'))\n\
             {rcpt_lines}\
             m.docmd('DATA'); m.send({message:?}.encode() + b'.\\r\\n'); r = m.getreply(); print('END', r[0], r[1].decode())\n"
        ),
    )
    .lines()
    .find_map(|l| l.strip_prefix("END ").map(str::to_string))
    .unwrap_or_default()
}

pub fn python(env: &Env, server: &Server, script: &str) -> String {
    support::python(env, server, &format!("{PY_PRELUDE}\n{script}"), &[])
}

const PY_PRELUDE: &str = r#"
import os, smtplib, ssl, socket
ctx = ssl.create_default_context(cafile=os.environ["CERT"])
ctx.check_hostname = False
MX = int(os.environ["SMTP_PORT"]); SUB = int(os.environ["SUBMISSION_PORT"]); SUBS = int(os.environ["SUBMISSIONS_PORT"])
def mx():
    s = smtplib.SMTP("127.0.0.1", MX, timeout=10); s.ehlo("client.test"); return s
def sub(user="ann@example.org", pw="ann password"):
    s = smtplib.SMTP("127.0.0.1", SUB, timeout=10); s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
    s.login(user, pw); return s
def code(f, *a):
    try:
        r = f(*a)
        return "%d %s" % (r[0], r[1].decode()) if isinstance(r, tuple) else r
    except smtplib.SMTPResponseException as e:
        return "%d %s" % (e.smtp_code, e.smtp_error.decode())
    except smtplib.SMTPRecipientsRefused as e:
        (c, m), = e.recipients.values(); return "%d %s" % (c, m.decode())
    except smtplib.SMTPSenderRefused as e:
        return "%d %s" % (e.smtp_code, e.smtp_error.decode())
"#;

#[tokio::test]
async fn mx_delivers_to_users_aliases_catch_alls_and_plus_addresses_and_refuses_the_rest() {
    let (env, server) = mail_env();
    let out = python(
        &env,
        &server,
        r#"
s = mx()
msg = b"From: someone@elsewhere.test\r\nSubject: to many\r\n\r\nhello all\r\n"
refused = s.sendmail("someone@elsewhere.test", ["ann@example.org", "team@example.org", "anything@example.net", "bob+lists@example.org"], msg)
print("refused", refused)
s.mail("someone@elsewhere.test")
print("unknown", code(s.rcpt, "nobody@example.org"))
print("relay", code(s.rcpt, "victim@gmail.test"))
s.rset()
print("auth offered", s.has_extn("auth"))
print("ext", sorted(k for k in s.esmtp_features))
s.quit()
"#,
    );
    assert!(out.contains("refused {}"), "{out}");
    assert!(
        out.contains("unknown 550 5.1.1 <nobody@example.org>: no such user here"),
        "{out}"
    );
    assert!(
        out.contains("relay 550 5.7.1 <victim@gmail.test>: relay access denied"),
        "{out}"
    );
    assert!(out.contains("auth offered False"), "{out}");
    for ext in [
        "8bitmime",
        "chunking",
        "dsn",
        "enhancedstatuscodes",
        "pipelining",
        "size",
        "smtputf8",
        "starttls",
    ] {
        assert!(out.contains(&format!("'{ext}'")), "{ext} advertised: {out}");
    }
    // ann: direct + team alias (deduplicated to one copy); bob: team + plus address (one copy); cat: catch-all.
    assert_eq!(inbox(&env.data(), "ann@example.org").await.len(), 1);
    assert_eq!(inbox(&env.data(), "bob@example.org").await.len(), 1);
    let cat = inbox(&env.data(), "cat@example.net").await;
    assert_eq!(cat.len(), 1);
    assert!(cat[0].ends_with(b"hello all\r\n"));
    let head = String::from_utf8_lossy(&cat[0][..200]).into_owned();
    assert!(
        head.contains("Received: from client.test ([127.0.0.1])"),
        "{head}"
    );
    assert!(head.contains("with ESMTP\r\n"), "{head}");
    drop(server);
}

#[tokio::test]
async fn submission_refuses_plaintext_auth_wrong_passwords_and_spoofed_senders() {
    let (env, server) = mail_env_with(HOLD_QUEUE);
    let out = python(
        &env,
        &server,
        r#"
p = smtplib.SMTP("127.0.0.1", SUB, timeout=10); p.ehlo("c")
print("auth before tls advertised", p.has_extn("auth"))
print("auth before tls", code(p.docmd, "AUTH", "PLAIN AGFubkBleGFtcGxlLm9yZwBhbm4gcGFzc3dvcmQ="))
print("mail before tls", code(p.docmd, "MAIL", "FROM:<ann@example.org>"))
p.quit()
s = smtplib.SMTP("127.0.0.1", SUB, timeout=10); s.ehlo("c"); s.starttls(context=ctx); s.ehlo("c")
print("auth after tls advertised", s.has_extn("auth"))
print("mail before auth", code(s.docmd, "MAIL", "FROM:<ann@example.org>"))
try:
    s.login("ann@example.org", "wrong"); print("wrong password accepted")
except smtplib.SMTPAuthenticationError as e:
    print("wrong password", e.smtp_code, e.smtp_error.decode())
s.quit()
s = sub()
print("spoofed sender", code(s.docmd, "MAIL", "FROM:<bob@example.org>"))
print("null sender", code(s.docmd, "MAIL", "FROM:<>"))
print("own alias", code(s.docmd, "MAIL", "FROM:<ann.other@example.org>"))
print("remote rcpt", code(s.docmd, "RCPT", "TO:<friend@remote.test>"))
s.docmd("DATA")
s.send(b"From: Bob <bob@example.org>\r\nSubject: spoof\r\n\r\nx\r\n.\r\n")
r = s.getreply()
print("spoofed From", r[0], r[1].decode())
s.rset()
r = s.sendmail("ann@example.org", ["friend@remote.test"], b"From: ann@example.org\r\nSubject: out\r\n\r\nbye\r\n")
print("queued", r)
s.quit()
s = sub("bob@example.org", "bob password")
s.sendmail("bob@example.org", ["ann+tag@example.org"], b"From: Bob <bob@example.org>\r\n\r\nhi ann\r\n")
print("login LOGIN ok")
s.quit()
"#,
    );
    for want in [
        "auth before tls advertised False",
        "auth before tls 538 5.7.11 Encryption required",
        "mail before tls 530 5.7.0 Must issue a STARTTLS command first",
        "auth after tls advertised True",
        "mail before auth 530 5.7.0 Authentication required",
        "wrong password 535 5.7.8 Authentication credentials invalid",
        "spoofed sender 553 5.7.1 Sender address is not one of yours",
        "null sender 553 5.7.1",
        "own alias 250",
        "remote rcpt 250",
        "spoofed From 550 5.7.1 From: bob@example.org is not one of your addresses",
        "queued {}",
        "login LOGIN ok",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(
        inbox(&env.data(), "bob@example.org").await.is_empty(),
        "the spoofed message was not delivered"
    );
    assert_eq!(
        inbox(&env.data(), "ann@example.org").await.len(),
        1,
        "bob's plus-addressed message"
    );
    let store = admin_store(&env.data());
    let q = store.queue_list().await.expect("queue");
    assert_eq!(q.len(), 1, "the remote message waits in the queue");
    assert_eq!(q[0].reverse_path, "ann@example.org");
    assert_eq!(q[0].recipients[0].address, "friend@remote.test");
    assert_eq!(q[0].recipients[0].state, "pending");
    let queued = store.read_blob(&q[0].blob).await.expect("queued blob");
    assert!(queued.ends_with(b"From: ann@example.org\r\nSubject: out\r\n\r\nbye\r\n"));
    drop(server);
}

#[tokio::test]
async fn dsn_parameters_stay_with_the_queued_envelope_and_utf8_addresses_need_smtputf8() {
    let (env, server) = mail_env_with(HOLD_QUEUE);
    let out = python(
        &env,
        &server,
        r#"
s = sub()
print("mail", code(s.docmd, "MAIL", "FROM:<ann@example.org> RET=HDRS ENVID=QQ+2Bid SIZE=100"))
print("rcpt", code(s.docmd, "RCPT", "TO:<friend@remote.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;friend+2Bx@remote.test"))
s.docmd("DATA"); s.send(b"From: ann@example.org\r\n\r\nx\r\n.\r\n"); print("data", s.getreply()[0])
m = mx(); m.command_encoding = "utf-8"
print("utf8 without", code(m.docmd, "MAIL", "FROM:<jörg@elsewhere.test>"))
print("utf8 with", code(m.docmd, "MAIL", "FROM:<jörg@elsewhere.test> SMTPUTF8"))
print("utf8 rcpt", code(m.docmd, "RCPT", "TO:<ann@example.org>"))
m.docmd("DATA"); m.send("From: jörg@elsewhere.test\r\nSubject: grüße\r\n\r\nä\r\n.\r\n".encode()); print("utf8 data", m.getreply()[0])
"#,
    );
    for want in [
        "mail 250",
        "rcpt 250",
        "data 250",
        "utf8 without 553 5.6.7",
        "utf8 with 250",
        "utf8 rcpt 250",
        "utf8 data 250",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    let store = admin_store(&env.data());
    let q = store.queue_list().await.expect("queue");
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].ret.as_deref(), Some("HDRS"));
    assert_eq!(q[0].envid.as_deref(), Some("QQ+id"), "ENVID xtext decoded");
    let r = &q[0].recipients[0];
    assert_eq!(r.orcpt.as_deref(), Some("rfc822;friend+x@remote.test"));
    assert_eq!(r.notify.as_deref(), Some("FAILURE,DELAY"));
    let got = inbox(&env.data(), "ann@example.org").await;
    assert!(
        String::from_utf8_lossy(&got[0]).starts_with("Return-Path: <jörg@elsewhere.test>\r\n"),
        "a UTF-8 reverse path is kept"
    );
    assert!(got[0].ends_with("Subject: grüße\r\n\r\nä\r\n".as_bytes()));
}

#[tokio::test]
async fn mail_loops_over_100_received_headers_are_554_5_4_6_on_every_listener() {
    let (env, server) = mail_env_with(HOLD_QUEUE);
    // Through this alias a looping message would go out again.
    env.ok(&["alias", "add", "loop@example.org", "someone@remote.test"]);
    let out = python(
        &env,
        &server,
        r#"
def msg(hops, frm=b"someone@elsewhere.test"):
    trace = b"".join(b"Received: from hop%d.test by hop%d.test; Sun, 6 Dec 2026 10:00:00 +0000\r\n" % (i, i) for i in range(hops))
    return trace + b"From: " + frm + b"\r\nSubject: round and round\r\n\r\nloop\r\n"
m = mx()
for n in (101, 300, 100):
    m.mail("someone@elsewhere.test"); m.rcpt("loop@example.org")
    print("mx data", n, code(m.data, msg(n)))
m.mail("someone@elsewhere.test"); m.rcpt("loop@example.org")
b = msg(101); m.putcmd("BDAT %d LAST" % len(b)); m.send(b); r = m.getreply()
print("mx bdat 101", r[0], r[1].decode())
m.quit()
s = sub()
s.mail("ann@example.org"); s.rcpt("friend@remote.test")
print("submission data 101", code(s.data, msg(101, b"ann@example.org")))
s.quit()
"#,
    );
    for want in [
        "mx data 101 554 5.4.6 Mail loop suspected: 101 Received headers",
        "mx data 300 554 5.4.6 Mail loop suspected: 300 Received headers",
        "mx data 100 250 2.0.0",
        "mx bdat 101 554 5.4.6",
        "submission data 101 554 5.4.6",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    let store = admin_store(&env.data());
    let q = store.queue_list().await.expect("queue");
    assert_eq!(q.len(), 1, "only the message with 100 hops was queued");
    assert_eq!(q[0].recipients[0].address, "someone@remote.test");
    let queued = store.read_blob(&q[0].blob).await.expect("queued blob");
    let text = String::from_utf8_lossy(&queued);
    assert_eq!(
        text.matches("Received: ").count(),
        101,
        "ours on top of 100"
    );
}
