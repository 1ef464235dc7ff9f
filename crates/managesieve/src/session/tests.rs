//! Session tests without sockets, over a real store in a temp directory:
//! capabilities per state, AUTHENTICATE (PLAIN and LOGIN, with and
//! without initial responses, cancelled, refused before TLS), every
//! script command with its response codes, the quota, checker errors with
//! line and column, and the error limit.

use std::sync::Arc;

use base64::Engine as _;
use postern_auth::{AuthConfig, Directory, MemoryBackend, Secret, hash_password_cheap_for_tests};
use postern_delivery::SieveLimits;
use postern_store::{NewUser, Store, StoreOptions};

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    ctx: Context,
}

async fn fixture(cfg: ManageSieveConfig, limits: SieveLimits) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("store");
    store.domain_add("example.org").await.expect("domain");
    let user = store
        .user_add(NewUser {
            address: "ann@example.org".into(),
            display_name: String::new(),
            password_hash: String::new(),
            quota_bytes: None,
            quota_messages: None,
        })
        .await
        .expect("user");
    let backend = MemoryBackend::new();
    backend.add_domain("example.org");
    let hash = hash_password_cheap_for_tests(&Secret::new("pw".to_string())).expect("hash");
    let id = backend.add_user("ann@example.org", "", &hash);
    assert_eq!(id, user.0, "the directory and the store agree on the id");
    let ctx = Context {
        cfg: Arc::new(cfg),
        store,
        directory: Directory::new(Arc::new(backend), AuthConfig::default()),
        starttls: true,
        limits: Arc::new(limits),
    };
    Fixture { _dir: dir, ctx }
}

async fn default_fixture() -> Fixture {
    fixture(ManageSieveConfig::default(), SieveLimits::default()).await
}

fn session(f: &Fixture, tls: bool) -> Session {
    Session::new(f.ctx.clone(), "192.0.2.1:5000".parse().expect("addr"), tls)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A TLS session logged in as ann.
async fn logged_in(f: &Fixture) -> Session {
    let mut s = session(f, true);
    let (text, _) = say(
        &mut s,
        &format!(
            "AUTHENTICATE \"PLAIN\" \"{}\"",
            b64("\0ann@example.org\0pw")
        ),
    )
    .await;
    assert_eq!(text, "OK \"Logged in\"\r\n");
    s
}

/// Sends one command (CRLF added); returns the response text and the flow.
async fn say(s: &mut Session, line: &str) -> (String, Flow) {
    say_bytes(s, line.as_bytes()).await
}

async fn say_bytes(s: &mut Session, line: &[u8]) -> (String, Flow) {
    let mut out = Vec::new();
    let flow = s.command(&[line, b"\r\n"].concat(), &mut out).await;
    (String::from_utf8_lossy(&out).into_owned(), flow)
}

/// PUTSCRIPT with the script as a literal.
fn put(name: &str, script: &str) -> String {
    format!("PUTSCRIPT \"{name}\" {{{}+}}\r\n{script}", script.len())
}

#[tokio::test]
async fn capabilities_follow_tls_and_login() {
    let f = default_fixture().await;
    let mut s = session(&f, false);
    let mut out = Vec::new();
    s.greeting(&mut out);
    let greeting = String::from_utf8_lossy(&out).into_owned();
    for want in [
        "\"IMPLEMENTATION\" \"Postern\"\r\n",
        "\"SASL\" \"\"\r\n",
        "\"STARTTLS\"\r\n",
        "\"VERSION\" \"1.0\"\r\n",
        "\"UNAUTHENTICATE\"\r\n",
        "\"MAXREDIRECTS\" \"",
        "\"SIEVE\" \"",
        "fileinto",
    ] {
        assert!(greeting.contains(want), "{want:?} in {greeting}");
    }
    assert!(
        greeting.ends_with("OK \"Postern ManageSieve ready\"\r\n"),
        "{greeting}"
    );
    assert!(!greeting.contains("OWNER"), "{greeting}");

    let (text, flow) = say(&mut s, "STARTTLS").await;
    assert_eq!(
        (text.as_str(), flow),
        ("OK \"Begin TLS negotiation now\"\r\n", Flow::StartTls)
    );
    let mut out = Vec::new();
    s.tls_started(&mut out);
    let after = String::from_utf8_lossy(&out).into_owned();
    assert!(after.contains("\"SASL\" \"PLAIN LOGIN\"\r\n"), "{after}");
    assert!(!after.contains("STARTTLS"), "{after}");
    assert!(
        after.ends_with("OK \"Postern ManageSieve ready\"\r\n"),
        "{after}"
    );

    let mut s = logged_in(&f).await;
    let (caps, _) = say(&mut s, "CAPABILITY").await;
    assert!(caps.contains("\"OWNER\" \"ann@example.org\"\r\n"), "{caps}");
    assert!(caps.ends_with("OK \"Capability completed\"\r\n"), "{caps}");
}

#[tokio::test]
async fn authenticate_before_tls_is_encrypt_needed_unless_loopback_is_allowed() {
    let f = default_fixture().await;
    let mut s = session(&f, false);
    let (text, _) = say(
        &mut s,
        &format!(
            "AUTHENTICATE \"PLAIN\" \"{}\"",
            b64("\0ann@example.org\0pw")
        ),
    )
    .await;
    assert_eq!(
        text,
        "NO (ENCRYPT-NEEDED) \"Authentication needs TLS: use STARTTLS first\"\r\n"
    );
    assert!(!s.is_authenticated());

    let f = fixture(
        ManageSieveConfig {
            plaintext_on_loopback: true,
            ..ManageSieveConfig::default()
        },
        SieveLimits::default(),
    )
    .await;
    let mut s = Session::new(
        f.ctx.clone(),
        "127.0.0.1:5000".parse().expect("addr"),
        false,
    );
    let (text, _) = say(
        &mut s,
        &format!(
            "AUTHENTICATE \"PLAIN\" \"{}\"",
            b64("\0ann@example.org\0pw")
        ),
    )
    .await;
    assert_eq!(text, "OK \"Logged in\"\r\n");
}

#[tokio::test]
async fn authenticate_plain_and_login_with_challenges_and_cancel() {
    let f = default_fixture().await;
    // PLAIN without an initial response: an empty challenge first.
    let mut s = session(&f, true);
    let (text, flow) = say(&mut s, "AUTHENTICATE \"PLAIN\"").await;
    assert_eq!((text.as_str(), flow), ("\"\"\r\n", Flow::Sasl));
    let mut out = Vec::new();
    let line = format!(
        "{{{}+}}\r\n{}\r\n",
        b64("\0ann@example.org\0pw").len(),
        b64("\0ann@example.org\0pw")
    );
    s.sasl_response(line.as_bytes(), &mut out).await;
    assert_eq!(out, b"OK \"Logged in\"\r\n");

    // LOGIN: username and password challenges.
    let mut s = session(&f, true);
    let (text, flow) = say(&mut s, "AUTHENTICATE \"LOGIN\"").await;
    assert_eq!(
        (text.as_str(), flow),
        (format!("\"{}\"\r\n", b64("Username:")).as_str(), Flow::Sasl)
    );
    let mut out = Vec::new();
    let flow = s
        .sasl_response(
            format!("\"{}\"\r\n", b64("ann@example.org")).as_bytes(),
            &mut out,
        )
        .await;
    assert_eq!(
        (String::from_utf8_lossy(&out).into_owned(), flow),
        (format!("\"{}\"\r\n", b64("Password:")), Flow::Sasl)
    );
    let mut out = Vec::new();
    s.sasl_response(format!("\"{}\"\r\n", b64("pw")).as_bytes(), &mut out)
        .await;
    assert_eq!(out, b"OK \"Logged in\"\r\n");

    // "*" cancels; a wrong password fails; neither logs in.
    let mut s = session(&f, true);
    say(&mut s, "AUTHENTICATE \"PLAIN\"").await;
    let mut out = Vec::new();
    s.sasl_response(b"\"*\"\r\n", &mut out).await;
    assert_eq!(out, b"NO \"Authentication cancelled\"\r\n");
    let (text, _) = say(
        &mut s,
        &format!(
            "AUTHENTICATE \"PLAIN\" \"{}\"",
            b64("\0ann@example.org\0wrong")
        ),
    )
    .await;
    assert_eq!(text, "NO \"Authentication failed\"\r\n");
    let (text, _) = say(&mut s, "AUTHENTICATE \"CRAM-MD5\"").await;
    assert_eq!(text, "NO \"Unsupported mechanism\"\r\n");
    assert!(!s.is_authenticated());
    let (text, _) = say(&mut s, "LISTSCRIPTS").await;
    assert_eq!(text, "NO \"Authenticate first\"\r\n");
}

#[tokio::test]
async fn scripts_are_put_listed_activated_fetched_renamed_and_deleted() {
    let f = default_fixture().await;
    let mut s = logged_in(&f).await;
    let script = "require \"fileinto\";\r\nfileinto \"Junk\";\r\n";
    let (text, _) = say(&mut s, &put("spam", script)).await;
    assert_eq!(text, "OK \"Putscript completed\"\r\n");
    let (text, _) = say(&mut s, &put("other", "keep;\r\n")).await;
    assert_eq!(text, "OK \"Putscript completed\"\r\n");
    let (text, _) = say(&mut s, "SETACTIVE \"spam\"").await;
    assert_eq!(text, "OK \"Script activated\"\r\n");
    let (text, _) = say(&mut s, "LISTSCRIPTS").await;
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "\"other\"",
            "\"spam\" ACTIVE",
            "OK \"Listscripts completed\""
        ]
    );
    let (text, _) = say(&mut s, "GETSCRIPT \"spam\"").await;
    assert_eq!(
        text,
        format!(
            "{{{}}}\r\n{script}\r\nOK \"Getscript completed\"\r\n",
            script.len()
        )
    );

    let (text, _) = say(&mut s, "DELETESCRIPT \"spam\"").await;
    assert_eq!(
        text,
        "NO (ACTIVE) \"The active script cannot be deleted; deactivate it first\"\r\n"
    );
    let (text, _) = say(&mut s, "RENAMESCRIPT \"spam\" \"other\"").await;
    assert_eq!(
        text,
        "NO (ALREADYEXISTS) \"A script named other already exists\"\r\n"
    );
    let (text, _) = say(&mut s, "RENAMESCRIPT \"spam\" \"filter\"").await;
    assert_eq!(text, "OK \"Script renamed\"\r\n");
    // The active mark went with the script.
    let (text, _) = say(&mut s, "LISTSCRIPTS").await;
    assert!(text.contains("\"filter\" ACTIVE\r\n"), "{text}");
    for cmd in [
        "GETSCRIPT \"spam\"",
        "DELETESCRIPT \"spam\"",
        "SETACTIVE \"spam\"",
        "RENAMESCRIPT \"spam\" \"x\"",
    ] {
        let (text, _) = say(&mut s, cmd).await;
        assert_eq!(
            text, "NO (NONEXISTENT) \"There is no script named spam\"\r\n",
            "{cmd}"
        );
    }
    let (text, _) = say(&mut s, "SETACTIVE \"\"").await;
    assert_eq!(text, "OK \"All scripts deactivated\"\r\n");
    let (text, _) = say(&mut s, "DELETESCRIPT \"filter\"").await;
    assert_eq!(text, "OK \"Script deleted\"\r\n");
    let (text, _) = say(&mut s, "LISTSCRIPTS").await;
    assert_eq!(text, "\"other\"\r\nOK \"Listscripts completed\"\r\n");
}

#[tokio::test]
async fn broken_scripts_are_refused_with_line_and_column_and_not_stored() {
    let f = default_fixture().await;
    let mut s = logged_in(&f).await;
    let broken = "keep;\r\nfileinto \"x\"\r\n";
    let (text, _) = say(&mut s, &put("broken", broken)).await;
    assert_eq!(
        text,
        "NO \"line 2, column 1: fileinto is used without require\"\r\n"
    );
    let broken = "keep;\r\n  keep \"x\";\r\n";
    let check = format!("CHECKSCRIPT {{{}+}}\r\n{broken}", broken.len());
    let (text, _) = say(&mut s, &check).await;
    assert_eq!(
        text,
        "NO \"line 2, column 8: expected ';' but found \\\"x\\\"\"\r\n"
    );
    // An error the interpreter gives no position for (an unknown
    // command) is placed at the token it names.
    let (text, _) = say(&mut s, "CHECKSCRIPT \"keep; bogus;\"").await;
    assert_eq!(
        text,
        "NO \"line 1, column 7: expected command but found \\\"bogus\\\"\"\r\n"
    );
    let (text, _) = say(&mut s, "CHECKSCRIPT \"keep;\"").await;
    assert_eq!(text, "OK \"Script is valid\"\r\n");
    let (text, _) = say_bytes(&mut s, b"PUTSCRIPT \"bin\" {4+}\r\nk\xffep").await;
    assert_eq!(text, "NO \"line 1, column 2: the script is not UTF-8\"\r\n");
    let (text, _) = say(&mut s, "LISTSCRIPTS").await;
    assert_eq!(text, "OK \"Listscripts completed\"\r\n");
}

#[tokio::test]
async fn quota_refusals_name_size_and_count() {
    let limits = SieveLimits {
        max_script_bytes: 100,
        max_scripts: 2,
        ..SieveLimits::default()
    };
    let f = fixture(ManageSieveConfig::default(), limits).await;
    let mut s = logged_in(&f).await;
    let (text, _) = say(&mut s, "HAVESPACE \"a\" 101").await;
    assert_eq!(
        text,
        "NO (QUOTA/MAXSIZE) \"Scripts are at most 100 bytes\"\r\n"
    );
    let (text, _) = say(&mut s, "HAVESPACE \"a\" 100").await;
    assert_eq!(text, "OK \"Putscript would succeed\"\r\n");
    let (text, _) = say(&mut s, &put("a", &format!("keep;{}", " ".repeat(96)))).await;
    assert_eq!(
        text,
        "NO (QUOTA/MAXSIZE) \"Scripts are at most 100 bytes\"\r\n"
    );
    say(&mut s, &put("a", "keep;")).await;
    say(&mut s, &put("b", "keep;")).await;
    let (text, _) = say(&mut s, "HAVESPACE \"c\" 5").await;
    assert_eq!(
        text,
        "NO (QUOTA/MAXSCRIPTS) \"At most 2 scripts per user\"\r\n"
    );
    let (text, _) = say(&mut s, &put("c", "keep;")).await;
    assert_eq!(
        text,
        "NO (QUOTA/MAXSCRIPTS) \"At most 2 scripts per user\"\r\n"
    );
    // Replacing one is not another script.
    let (text, _) = say(&mut s, &put("b", "discard;")).await;
    assert_eq!(text, "OK \"Putscript completed\"\r\n");
    let mut out = Vec::new();
    s.refused(Refusal::LiteralTooLarge { size: 10_000_000 }, &mut out);
    assert_eq!(
        out,
        b"NO (QUOTA/MAXSIZE) \"Too large: scripts are at most 100 bytes\"\r\n"
    );
}

#[tokio::test]
async fn noop_tag_unauthenticate_and_logout() {
    let f = default_fixture().await;
    let mut s = logged_in(&f).await;
    let (text, _) = say(&mut s, "NOOP \"STARTTLS-SYNC-42\"").await;
    assert_eq!(text, "OK (TAG \"STARTTLS-SYNC-42\") \"Done\"\r\n");
    let (text, _) = say(&mut s, "UNAUTHENTICATE").await;
    assert_eq!(text, "OK \"Unauthenticate completed\"\r\n");
    let (text, _) = say(&mut s, "LISTSCRIPTS").await;
    assert_eq!(text, "NO \"Authenticate first\"\r\n");
    let (text, _) = say(&mut s, "UNAUTHENTICATE").await;
    assert_eq!(text, "NO \"Not authenticated\"\r\n");
    let (text, flow) = say(&mut s, "LOGOUT").await;
    assert_eq!(
        (text.as_str(), flow),
        ("OK \"Logout completed\"\r\n", Flow::Close)
    );
}

#[tokio::test]
async fn bad_commands_get_no_until_too_many_then_bye() {
    let f = fixture(
        ManageSieveConfig {
            max_errors: 4,
            ..ManageSieveConfig::default()
        },
        SieveLimits::default(),
    )
    .await;
    let mut s = logged_in(&f).await;
    let (text, _) = say(&mut s, "XYZZY").await;
    assert_eq!(text, "NO \"Unknown command\"\r\n");
    let (text, _) = say(&mut s, "GETSCRIPT \"a\x01\"").await;
    assert_eq!(
        text,
        "NO \"Invalid script name: contains a control character\"\r\n"
    );
    let mut out = Vec::new();
    assert_eq!(s.refused(Refusal::LineTooLong, &mut out), Flow::Continue);
    assert_eq!(out, b"NO \"Command line too long\"\r\n");
    // A refusal that is not a mistake does not count.
    let (text, _) = say(&mut s, "GETSCRIPT \"none\"").await;
    assert!(text.starts_with("NO (NONEXISTENT)"), "{text}");
    let (text, flow) = say(&mut s, "LOGOUT now").await;
    assert_eq!(
        (text.as_str(), flow),
        (
            "BYE \"Unexpected bytes after the arguments; too many errors, closing\"\r\n",
            Flow::Close
        )
    );
}
