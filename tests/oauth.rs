//! OAuth 2.0 bearer tokens (issue 18) end to end: a test OpenID Connect
//! issuer on loopback (tests/support/issuer.rs) signs tokens; Python's
//! imaplib, poplib and smtplib log in with them over implicit TLS using
//! OAUTHBEARER (RFC 7628) and XOAUTH2. Refused tokens get the RFC 7628
//! error exchange (a base64 JSON challenge, the client's dummy answer, then
//! the failure); the mechanisms do not exist without `[oauth]`;
//! introspection (RFC 7662) replaces local JWT checks when configured.

use serde_json::{Value, json};

use crate::pop3::{expect_all, py};
use crate::smtp::mail_env_with;
use crate::support::issuer::{self, Issuer, Key};

/// Python helpers on top of pop3.rs's PRELUDE: bearer messages, and one
/// login attempt per protocol that prints either `ok ...` or `refused
/// <the challenge JSON> <the final error>`.
const HELPERS: &str = r#"
import json
SUBMISSIONS = int(os.environ["SUBMISSIONS_PORT"])
def ob(token, user=None):
    return "n,%s,\x01host=mail.test\x01port=993\x01auth=Bearer %s\x01\x01" % ("a=" + user if user else "", token)
def xo(token, user="ann@example.org"):
    return "user=%s\x01auth=Bearer %s\x01\x01" % (user, token)
def canon(challenge):
    return json.dumps(json.loads(challenge), sort_keys=True, separators=(",", ":"))
def dummy(mech):
    # RFC 7628 §3.2.3: ^A; Google's XOAUTH2: an empty response.
    return b"\x01" if mech == "OAUTHBEARER" else b""
def imap_auth(mech, msg):
    c = imaplib.IMAP4_SSL("127.0.0.1", IMAPS, ssl_context=ctx, timeout=10)
    seen = []
    def answer(challenge):
        seen.append(challenge)
        return msg.encode() if len(seen) == 1 else dummy(mech)
    try:
        typ, data = c.authenticate(mech, answer)
        n = c.select("INBOX")[1][0].decode()
        c.logout()
        return "ok %s select=%s" % (typ, n)
    except imaplib.IMAP4.error as e:
        return "refused %s %s" % (canon(seen[1]) if len(seen) > 1 else "-", e)
def pop_auth(mech, msg, initial=True):
    p = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
    b64 = base64.b64encode(msg.encode()).decode()
    try:
        if initial:
            r = p._shortcmd("AUTH %s %s" % (mech, b64))
        else:
            assert p._shortcmd("AUTH %s" % mech) == b"+ "
            r = p._shortcmd(b64)
    except poplib.error_proto as e:
        return "error %s" % e.args[0].decode()
    if r.startswith(b"+OK"):
        s = p.stat(); p.quit()
        return "ok %s" % (s,)
    challenge = canon(base64.b64decode(r[2:]))
    try:
        p._putcmd(base64.b64encode(dummy(mech)).decode()); p._getresp()
        return "accepted after the challenge"
    except poplib.error_proto as e:
        return "refused %s %s" % (challenge, e.args[0].decode())
def smtp_auth(mech, msg, send=None):
    s = smtplib.SMTP_SSL("127.0.0.1", SUBMISSIONS, context=ctx, timeout=10)
    s.ehlo()
    seen = []
    def answer(challenge=None):
        seen.append(challenge)
        return msg if challenge is None else dummy(mech).decode()
    try:
        code, text = s.auth(mech, answer)
    except smtplib.SMTPAuthenticationError as e:
        return "refused %s %s %s" % (canon(seen[-1]) if len(seen) > 1 else "-", e.smtp_code, e.smtp_error.decode())
    if send:
        s.sendmail("ann@example.org", ["ann@example.org"], ("From: ann@example.org\r\nTo: ann@example.org\r\nSubject: %s\r\n\r\nsent with a token\r\n" % send).encode())
    s.quit()
    return "ok %d" % code
def inbox_subjects(token):
    c = imaplib.IMAP4_SSL("127.0.0.1", IMAPS, ssl_context=ctx, timeout=10)
    c.authenticate("XOAUTH2", lambda _: xo(token).encode())
    if int(c.select("INBOX")[1][0]) == 0:
        c.logout(); return ""
    data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1]
    c.logout()
    return b" ".join(d[1] for d in data if isinstance(d, tuple)).decode()
"#;

/// A script with the helpers and the tokens as a Python dict `T`.
fn script(tokens: &Value, body: &str) -> String {
    format!("{HELPERS}\nT = {tokens}\n{body}")
}

#[test]
fn good_tokens_log_in_on_imap_pop3_and_submission_and_submission_sends() {
    let issuer = Issuer::start();
    let (env, server) = mail_env_with(&issuer.config(""));
    // A token of about 7 KB, as some issuers make with many groups: longer
    // than SMTP's 512-octet and POP3's 2048-octet lines.
    let mut big = issuer.claims("ann@example.org");
    big["groups"] = json!(vec!["a-group-with-a-long-name"; 200]);
    let tokens = json!({
        "rsa": issuer.sign("rsa1", &issuer.claims("ann@example.org")),
        "ec": issuer.sign("ec1", &issuer.claims("Ann@Example.org")),
        "alias": issuer.sign("ec1", &issuer.claims("ann.other@example.org")),
        "big": issuer.sign("rsa1", &big),
    });
    let big_len = tokens["big"].as_str().map_or(0, str::len);
    assert!((6000..8192).contains(&big_len), "{big_len}");
    let out = py(
        &env,
        &server,
        &script(
            &tokens,
            r#"
c = imaplib.IMAP4_SSL("127.0.0.1", IMAPS, ssl_context=ctx, timeout=10)
print("caps", sorted(c.capabilities))
c.logout()
print("imap ob", imap_auth("OAUTHBEARER", ob(T["rsa"], "ann@example.org")))
print("imap xo", imap_auth("XOAUTH2", xo(T["ec"])))
print("imap alias", imap_auth("OAUTHBEARER", ob(T["alias"])))
print("imap big", imap_auth("OAUTHBEARER", ob(T["big"])))
print("pop big", pop_auth("OAUTHBEARER", ob(T["big"])))
print("smtp big", smtp_auth("XOAUTH2", xo(T["big"])))
# SASL-IR (RFC 4959): the message on the AUTHENTICATE line itself.
raw = ctx.wrap_socket(socket.create_connection(("127.0.0.1", IMAPS), timeout=10))
f = raw.makefile("rb")
f.readline()
raw.sendall(b"a1 AUTHENTICATE XOAUTH2 " + base64.b64encode(xo(T["big"]).encode()) + b"\r\n")
print("imap sasl-ir", f.readline().decode().strip()[:16])
raw.close()
print("pop ob", pop_auth("OAUTHBEARER", ob(T["rsa"])))
print("pop xo", pop_auth("XOAUTH2", xo(T["ec"]), initial=False))
p = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
print("capa", p.capa()["SASL"])
p.quit()
s = smtplib.SMTP_SSL("127.0.0.1", SUBMISSIONS, context=ctx, timeout=10)
s.ehlo(); print("ehlo auth", s.esmtp_features["auth"]); s.quit()
print("smtp ob", smtp_auth("OAUTHBEARER", ob(T["rsa"]), send="token mail one"))
print("smtp xo", smtp_auth("XOAUTH2", xo(T["ec"]), send="token mail two"))
deadline = time.monotonic() + 20
while True:
    subjects = inbox_subjects(T["ec"])
    if "two" in subjects or time.monotonic() > deadline: break
    time.sleep(0.1)
print("inbox", subjects)
"#,
        ),
    );
    expect_all(
        &out,
        &[
            "'AUTH=OAUTHBEARER'",
            "'AUTH=XOAUTH2'",
            "imap ob ok OK select=0",
            "imap xo ok OK select=0",
            "imap alias ok OK",
            "imap big ok OK",
            "pop big ok (0, 0)",
            "smtp big ok 235",
            "imap sasl-ir a1 OK [CAPABIL",
            "pop ob ok (0, 0)",
            "pop xo ok (0, 0)",
            "capa ['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2']",
            "ehlo auth  PLAIN LOGIN OAUTHBEARER XOAUTH2",
            "smtp ob ok 235",
            "smtp xo ok 235",
            "token mail one",
            "token mail two",
        ],
    );
    // Discovery, then the keys, fetched once for all those logins.
    let requests = issuer.requests();
    assert_eq!(
        requests,
        ["GET /.well-known/openid-configuration", "GET /jwks"],
        "{requests:?}"
    );
    let log = server.log();
    assert!(
        log.contains("auth ok: proto=imap ip=127.0.0.1 user=ann@example.org via=oauth"),
        "{log}"
    );
}

#[test]
fn refused_tokens_get_the_rfc_7628_error_exchange_on_every_protocol() {
    let issuer = Issuer::start();
    issuer.keep_unpublished("rogue", Key::rsa());
    let (env, server) = mail_env_with(&format!(
        "{}[auth]\nfailures_before_delay = 1000\nlockout_after = 1000\n",
        issuer.config("leeway_secs = 5")
    ));
    let now = issuer::now();
    let with = |kid: &str, email: &str, change: &[(&str, Value)]| {
        let mut claims = issuer.claims(email);
        for (k, v) in change {
            claims[*k] = v.clone();
        }
        issuer.sign(kid, &claims)
    };
    // The rogue key signs under a published kid: a bad signature.
    let forged = {
        let real = with("rsa1", "ann@example.org", &[]);
        let rogue = with("rogue", "ann@example.org", &[]);
        let (head, _) = real.rsplit_once('.').expect("jwt");
        let (_, sig) = rogue.rsplit_once('.').expect("jwt");
        format!("{head}.{sig}")
    };
    let tokens = json!({
        "expired": with("rsa1", "ann@example.org", &[("exp", json!(now - 60))]),
        "early": with("rsa1", "ann@example.org", &[("nbf", json!(now + 600))]),
        "audience": with("ec1", "ann@example.org", &[("aud", json!("someone-else"))]),
        "issuer": with("ec1", "ann@example.org", &[("iss", json!("http://127.0.0.1:1"))]),
        "forged": forged,
        "rogue_kid": with("rogue", "ann@example.org", &[]),
        "unknown_user": with("rsa1", "nobody@example.org", &[]),
        "two_targets": with("rsa1", "team@example.org", &[]),
        "catch_all": with("rsa1", "anyone@example.net", &[]),
        "no_email": with("rsa1", "ann@example.org", &[("email", json!(null))]),
        "none": issuer.unsigned(&issuer.claims("ann@example.org")),
        "good": with("rsa1", "ann@example.org", &[]),
    });
    let out = py(
        &env,
        &server,
        &script(
            &tokens,
            r#"
for name in ["expired", "early", "audience", "issuer", "forged", "rogue_kid", "unknown_user",
             "two_targets", "catch_all", "no_email", "none"]:
    print(name, "imap", imap_auth("OAUTHBEARER", ob(T[name])))
print("xoauth2 imap", imap_auth("XOAUTH2", xo(T["expired"])))
print("other user", imap_auth("OAUTHBEARER", ob(T["good"], "bob@example.org")))
print("xoauth2 other user", imap_auth("XOAUTH2", xo(T["good"], "bob@example.org")))
print("pop", pop_auth("OAUTHBEARER", ob(T["forged"])))
print("pop xoauth2", pop_auth("XOAUTH2", xo(T["none"])))
print("smtp", smtp_auth("OAUTHBEARER", ob(T["audience"])))
print("smtp xoauth2", smtp_auth("XOAUTH2", xo(T["unknown_user"])))
print("malformed", imap_auth("OAUTHBEARER", "auth=Bearer x\x01\x01"))
print("still good", imap_auth("OAUTHBEARER", ob(T["good"])))
"#,
        ),
    );
    let challenge = format!(
        "{{\"openid-configuration\":\"{}/.well-known/openid-configuration\",\"status\":\"invalid_token\"}}",
        issuer.url
    );
    let refused_imap_no = format!("refused {challenge} [AUTHENTICATIONFAILED] Invalid credentials");
    for name in [
        "expired",
        "early",
        "audience",
        "issuer",
        "forged",
        "rogue_kid",
        "unknown_user",
        "two_targets",
        "catch_all",
        "no_email",
        "none",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{name} imap ")))
            .unwrap_or_else(|| panic!("no line for {name}:\n{out}"));
        assert!(line.ends_with(&refused_imap_no), "{name}: {line}");
    }
    let xo_challenge = "{\"schemes\":\"bearer\",\"status\":\"401\"}";
    expect_all(
        &out,
        &[
            &format!("xoauth2 imap refused {xo_challenge} [AUTHENTICATIONFAILED]"),
            &format!("other user refused {challenge}"),
            &format!("xoauth2 other user refused {xo_challenge}"),
            &format!("pop refused {challenge} -ERR [AUTH] Authentication failed"),
            &format!("pop xoauth2 refused {xo_challenge} -ERR [AUTH]"),
            &format!("smtp refused {challenge} 535 5.7.8"),
            &format!("smtp xoauth2 refused {xo_challenge} 535 5.7.8"),
            "still good ok OK",
        ],
    );
    // A malformed message is refused the same way.
    assert!(
        out.lines()
            .any(|l| l.starts_with("malformed refused") && l.contains("AUTHENTICATIONFAILED")),
        "{out}"
    );
    // The fail2ban line, as for passwords.
    server.wait_for_log(
        "auth failed: proto=imap ip=127.0.0.1 user=ann@example.org",
        std::time::Duration::from_secs(5),
    );
    server.wait_for_log(
        "auth failed: proto=smtp ip=127.0.0.1",
        std::time::Duration::from_secs(5),
    );
}

#[test]
fn bearer_failures_are_throttled_like_password_failures() {
    let issuer = Issuer::start();
    let (env, server) = mail_env_with(&format!(
        "{}[auth]\nfailures_before_delay = 1000\nlockout_after = 3\n",
        issuer.config("")
    ));
    let mut expired = issuer.claims("ann@example.org");
    expired["exp"] = json!(issuer::now() - 3600);
    let tokens = json!({
        "expired": issuer.sign("rsa1", &expired),
        "good": issuer.sign("rsa1", &issuer.claims("ann@example.org")),
    });
    let out = py(
        &env,
        &server,
        &script(
            &tokens,
            r#"
for i in range(3):
    print("bad", i, imap_auth("OAUTHBEARER", ob(T["expired"]))[:7])
print("good after", imap_auth("XOAUTH2", xo(T["good"])))
"#,
        ),
    );
    expect_all(
        &out,
        &[
            "bad 0 refused",
            "bad 2 refused",
            "good after refused - [UNAVAILABLE] Too many failed logins",
        ],
    );
}

#[test]
fn a_new_kid_makes_the_server_fetch_the_keys_again() {
    let issuer = Issuer::start();
    let (env, server) = mail_env_with(&issuer.config("jwks_min_refetch_secs = 0"));
    let first = json!({"t": issuer.sign("ec1", &issuer.claims("ann@example.org"))});
    let out = py(
        &env,
        &server,
        &script(
            &first,
            r#"print("first", imap_auth("XOAUTH2", xo(T["t"])))"#,
        ),
    );
    expect_all(&out, &["first ok OK"]);
    // The issuer rotates to a new key; the token names it.
    issuer.publish("rsa2", Key::rsa());
    let rotated = json!({"t": issuer.sign("rsa2", &issuer.claims("ann@example.org"))});
    let out = py(
        &env,
        &server,
        &script(
            &rotated,
            r#"print("rotated", imap_auth("XOAUTH2", xo(T["t"])))"#,
        ),
    );
    expect_all(&out, &["rotated ok OK"]);
    let jwks_fetches = issuer
        .requests()
        .iter()
        .filter(|r| *r == "GET /jwks")
        .count();
    assert_eq!(jwks_fetches, 2, "{:?}", issuer.requests());
}

#[test]
fn introspection_mode_asks_the_issuer_with_client_credentials() {
    let issuer = Issuer::start();
    let extra = format!(
        "introspection_endpoint = \"{}/introspect\"\nclient_id = \"{}\"\nclient_secret = \"{}\"",
        issuer.url,
        issuer::CLIENT_ID,
        issuer::CLIENT_SECRET
    );
    let (env, server) = mail_env_with(&issuer.config(&extra));
    let now = issuer::now();
    issuer.introspects(
        "opaque-good",
        json!({"active": true, "iss": issuer.url, "aud": "postern", "exp": now + 600,
               "email": "ann@example.org", "client_id": "thunderbird"}),
    );
    issuer.introspects(
        "opaque-minimal",
        json!({"active": true, "email": "bob@example.org"}),
    );
    issuer.introspects(
        "opaque-other-audience",
        json!({"active": true, "aud": "other", "email": "ann@example.org"}),
    );
    issuer.introspects(
        "opaque-expired",
        json!({"active": true, "exp": now - 600, "email": "ann@example.org"}),
    );
    issuer.introspects(
        "opaque-revoked",
        json!({"active": false, "email": "ann@example.org"}),
    );
    // A perfectly signed JWT means nothing here: only the issuer's answer counts.
    let jwt = issuer.sign("rsa1", &issuer.claims("ann@example.org"));
    let tokens = json!({"jwt": jwt});
    let out = py(
        &env,
        &server,
        &script(
            &tokens,
            r#"
print("good", imap_auth("OAUTHBEARER", ob("opaque-good")))
print("minimal", pop_auth("XOAUTH2", xo("opaque-minimal", "bob@example.org")))
print("audience", imap_auth("OAUTHBEARER", ob("opaque-other-audience"))[:7])
print("expired", imap_auth("OAUTHBEARER", ob("opaque-expired"))[:7])
print("revoked", imap_auth("OAUTHBEARER", ob("opaque-revoked"))[:7])
print("unknown", smtp_auth("OAUTHBEARER", ob("opaque-never-issued"))[:7])
print("jwt", imap_auth("OAUTHBEARER", ob(T["jwt"]))[:7])
"#,
        ),
    );
    expect_all(
        &out,
        &[
            "good ok OK",
            "minimal ok (0, 0)",
            "audience refused",
            "expired refused",
            "revoked refused",
            "unknown refused",
            "jwt refused",
        ],
    );
    let requests = issuer.requests();
    assert!(
        requests.iter().all(|r| r == "POST /introspect"),
        "no JWKS in introspection mode: {requests:?}"
    );
    assert_eq!(requests.len(), 7, "{requests:?}");
}

#[test]
fn an_https_issuer_is_trusted_through_ca_file_only() {
    let issuer = Issuer::start_https();
    let tokens = json!({"t": issuer.sign("ec1", &issuer.claims("ann@example.org"))});
    let (env, server) = mail_env_with(&issuer.config(""));
    let out = py(
        &env,
        &server,
        &script(
            &tokens,
            r#"print("trusted", imap_auth("XOAUTH2", xo(T["t"])))"#,
        ),
    );
    expect_all(&out, &["trusted ok OK"]);
    drop(server);
    // Without ca_file the system's roots do not know the issuer's
    // certificate: no keys, so a temporary failure, never a login.
    let (env, server) = mail_env_with(&format!(
        "[oauth]\nissuer = \"{}\"\naudience = \"postern\"\n",
        issuer.url
    ));
    let out = py(
        &env,
        &server,
        &script(
            &tokens,
            r#"print("untrusted", imap_auth("XOAUTH2", xo(T["t"])))"#,
        ),
    );
    expect_all(
        &out,
        &["untrusted refused - [UNAVAILABLE] Temporary failure"],
    );
}

#[test]
fn an_unreachable_issuer_is_a_temporary_failure() {
    // Port 9 on loopback refuses connections.
    let (env, server) = mail_env_with(
        "[oauth]\nissuer = \"http://127.0.0.1:9\"\naudience = \"postern\"\nhttp_timeout_secs = 5\n",
    );
    let issuer = Issuer::start();
    let tokens = json!({"t": issuer.sign("rsa1", &issuer.claims("ann@example.org"))});
    let out = py(
        &env,
        &server,
        &script(
            &tokens,
            r#"
print("imap", imap_auth("OAUTHBEARER", ob(T["t"])))
print("smtp", smtp_auth("XOAUTH2", xo(T["t"])))
"#,
        ),
    );
    expect_all(
        &out,
        &[
            "imap refused - [UNAVAILABLE] Temporary failure",
            "smtp refused - 454 4.7.0 Temporary authentication failure",
        ],
    );
}

#[test]
fn bearer_mechanisms_do_not_exist_without_oauth() {
    let (env, server) = mail_env_with("");
    let out = py(
        &env,
        &server,
        &script(
            &json!({}),
            r#"
c = imaplib.IMAP4_SSL("127.0.0.1", IMAPS, ssl_context=ctx, timeout=10)
print("caps", sorted(c.capabilities))
try:
    c.authenticate("OAUTHBEARER", lambda _: ob("x.y.z").encode())
except imaplib.IMAP4.error as e:
    print("imap", e)
p = poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=10)
print("capa", p.capa()["SASL"])
print("pop", pop_auth("XOAUTH2", xo("x.y.z")))
s = smtplib.SMTP_SSL("127.0.0.1", SUBMISSIONS, context=ctx, timeout=10)
s.ehlo(); print("ehlo auth", s.esmtp_features["auth"])
print("smtp", s.docmd("AUTH XOAUTH2", base64.b64encode(xo("x.y.z").encode()).decode()))
"#,
        ),
    );
    assert!(!out.contains("OAUTHBEARER'"), "{out}");
    expect_all(
        &out,
        &[
            "imap [CANNOT] Unsupported mechanism",
            "capa ['PLAIN', 'LOGIN']",
            "pop error -ERR Unsupported mechanism",
            "ehlo auth  PLAIN LOGIN\n",
            "smtp (504, b'5.5.4 Unrecognized authentication type')",
        ],
    );
}

#[test]
fn a_misconfigured_oauth_section_is_refused_at_start_naming_the_key() {
    let env = crate::support::Env::with_config("[oauth]\nissuer = \"https://id.example\"\n");
    let err = env.fails(&["config", "check"], "");
    assert!(err.contains("oauth.audience: is required"), "{err}");
    let env = crate::support::Env::with_config(
        "[oauth]\nissuer = \"https://id.example\"\naudience = \"postern\"\nca_file = \"no-such-ca.pem\"\n",
    );
    let err = env.fails(&["serve"], "");
    assert!(
        err.contains("oauth.ca_file:") && err.contains("no-such-ca.pem"),
        "{err}"
    );
}

/// An introspecting server whose answers are kept `cache_secs` (active)
/// and `inactive_secs` (inactive).
fn introspecting(
    issuer: &Issuer,
    cache_secs: u64,
    inactive_secs: u64,
) -> (crate::support::Env, crate::support::Server) {
    let extra = format!(
        "introspection_endpoint = \"{}/introspect\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n\
         introspection_cache_secs = {cache_secs}\nintrospection_inactive_cache_secs = {inactive_secs}",
        issuer.url,
        issuer::CLIENT_ID,
        issuer::CLIENT_SECRET
    );
    mail_env_with(&issuer.config(&extra))
}

fn introspections(issuer: &Issuer) -> usize {
    issuer
        .requests()
        .iter()
        .filter(|r| *r == "POST /introspect")
        .count()
}

#[test]
fn introspection_answers_are_reused_so_reconnecting_clients_ask_the_issuer_once() {
    let issuer = Issuer::start();
    let (env, server) = introspecting(&issuer, 300, 300);
    let now = issuer::now();
    issuer.introspects(
        "opaque-good",
        json!({"active": true, "exp": now + 600, "email": "ann@example.org"}),
    );
    issuer.introspects("opaque-dead", json!({"active": false}));
    let logins = r#"
for i in range(3):
    print("good", i, imap_auth("OAUTHBEARER", ob("opaque-good")))
print("good pop", pop_auth("XOAUTH2", xo("opaque-good")))
print("good smtp", smtp_auth("OAUTHBEARER", ob("opaque-good")))
for i in range(3):
    print("dead", i, imap_auth("OAUTHBEARER", ob("opaque-dead"))[:7])
"#;
    let out = py(&env, &server, &script(&json!({}), logins));
    expect_all(
        &out,
        &[
            "good 0 ok OK",
            "good 1 ok OK",
            "good 2 ok OK",
            "good pop ok (0, 0)",
            "good smtp ok 235",
            "dead 0 refused",
            "dead 1 refused",
            "dead 2 refused",
        ],
    );
    // One question per token, whatever the protocol or the answer.
    assert_eq!(introspections(&issuer), 2, "{:?}", issuer.requests());
    // The kept answer is used while it lasts, even after the issuer
    // changed its mind (the documented cost of the cache: a revocation
    // takes effect within introspection_cache_secs).
    issuer.introspects("opaque-good", json!({"active": false}));
    let out = py(
        &env,
        &server,
        &script(
            &json!({}),
            r#"print("kept", imap_auth("OAUTHBEARER", ob("opaque-good")))"#,
        ),
    );
    expect_all(&out, &["kept ok OK"]);
    assert_eq!(introspections(&issuer), 2, "{:?}", issuer.requests());
}

#[test]
fn introspection_cache_off_asks_the_issuer_at_every_login() {
    let issuer = Issuer::start();
    let (env, server) = introspecting(&issuer, 0, 0);
    issuer.introspects(
        "opaque-good",
        json!({"active": true, "email": "ann@example.org"}),
    );
    let out = py(
        &env,
        &server,
        &script(
            &json!({}),
            r#"
for i in range(3):
    print("good", i, imap_auth("OAUTHBEARER", ob("opaque-good")))
"#,
        ),
    );
    expect_all(&out, &["good 0 ok OK", "good 1 ok OK", "good 2 ok OK"]);
    assert_eq!(introspections(&issuer), 3, "{:?}", issuer.requests());
    // Revoked at the issuer: refused at once.
    issuer.introspects("opaque-good", json!({"active": false}));
    let out = py(
        &env,
        &server,
        &script(
            &json!({}),
            r#"print("revoked", imap_auth("OAUTHBEARER", ob("opaque-good"))[:7])"#,
        ),
    );
    expect_all(&out, &["revoked refused"]);
}
