//! App passwords, TOTP and the devices record through the real binary:
//! made with `postern user app-password|totp`, used by Python's imaplib,
//! poplib and smtplib, listed with `postern user devices`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use postern_auth::accounts::totp::{base32_decode, code_at_step, step_at};

use crate::smtp::mail_env_with;
use crate::support::{self, Env, Server};

/// Logins over implicit TLS that print `ok` or `no` instead of raising.
const LOGINS: &str = r#"
import os, sys, base64, poplib, imaplib, smtplib, ssl
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
def attempt(f):
    try:
        f(); return "ok"
    except (imaplib.IMAP4.error, poplib.error_proto, smtplib.SMTPAuthenticationError):
        return "no"
def imap_in(user, pw, ident=None):
    c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=10)
    c.login(user, pw)
    if ident:
        imaplib.Commands["ID"] = ("NONAUTH", "AUTH", "SELECTED")
        c._simple_command("ID", ident)
    c.logout()
def imap_plain(user, pw):
    c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=10)
    c.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (user, pw)).encode()); c.logout()
def pop_plain(user, pw):
    p = poplib.POP3_SSL("127.0.0.1", int(os.environ["POP3S_PORT"]), context=ctx, timeout=10)
    p._shortcmd("AUTH PLAIN " + base64.b64encode(("\0%s\0%s" % (user, pw)).encode()).decode()); p.quit()
def pop_in(user, pw):
    p = poplib.POP3_SSL("127.0.0.1", int(os.environ["POP3S_PORT"]), context=ctx, timeout=10)
    p.user(user); p.pass_(pw); p.quit()
def smtp_in(user, pw):
    s = smtplib.SMTP_SSL("127.0.0.1", int(os.environ["SUBMISSIONS_PORT"]), context=ctx, timeout=10)
    s.login(user, pw); s.quit()
user, pw = sys.argv[1], sys.argv[2]
for proto in sys.argv[3].split(","):
    f = {"imap": imap_in, "imap-plain": imap_plain, "pop3": pop_in, "pop3-plain": pop_plain,
         "smtp": smtp_in}[proto]
    print(proto, attempt(lambda: f(user, pw)))
"#;

/// `proto ok|no` lines for logging in as ann with `pw` over each of `protos`.
fn logins(env: &Env, server: &Server, pw: &str, protos: &str) -> String {
    let out = support::python_command(env, server, LOGINS, &[])
        .args(["ann@example.org", pw, protos])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The password `postern user app-password add` printed (the indented line).
fn add_app_password(env: &Env, name: &str, scope: Option<&str>) -> String {
    let mut args = vec!["user", "app-password", "add", "ann@example.org", name];
    if let Some(s) = scope {
        args.extend(["--scope", s]);
    }
    let out = env.ok(&args);
    out.lines()
        .find_map(|l| l.strip_prefix("  "))
        .unwrap_or_else(|| panic!("no password in {out:?}"))
        .to_owned()
}

/// Runs `args` until its output contains `needle` (background writes land
/// shortly after the login), for at most 10 seconds.
fn wait_for_output(env: &Env, args: &[&str], needle: &str) -> String {
    let start = Instant::now();
    loop {
        let out = env.ok(args);
        if out.contains(needle) || start.elapsed() > Duration::from_secs(10) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn app_password_opens_its_scopes_and_revoking_it_refuses_the_next_login() {
    let (env, server) = mail_env_with("");
    let all = add_app_password(&env, "laptop", None);
    assert_eq!(
        logins(&env, &server, &all, "imap,imap-plain,pop3,pop3-plain,smtp"),
        "imap ok\nimap-plain ok\npop3 ok\npop3-plain ok\nsmtp ok\n"
    );
    let imap_only = add_app_password(&env, "phone", Some("imap"));
    assert_eq!(
        logins(&env, &server, &imap_only, "imap,pop3,smtp"),
        "imap ok\npop3 no\nsmtp no\n"
    );
    let listed = wait_for_output(
        &env,
        &["user", "app-password", "list", "ann@example.org"],
        "phone\timap\t",
    );
    assert!(
        listed.contains("laptop\timap,pop3,smtp,managesieve\tcreated "),
        "{listed}"
    );
    let listed = wait_for_output(
        &env,
        &["user", "app-password", "list", "ann@example.org"],
        "from 127.0.0.1",
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("phone\t") && l.ends_with("from 127.0.0.1")),
        "{listed}"
    );
    let again = env.fails(
        &["user", "app-password", "add", "ann@example.org", "phone"],
        "",
    );
    assert!(again.contains("phone"), "{again}");

    env.ok(&["user", "app-password", "revoke", "ann@example.org", "phone"]);
    assert_eq!(logins(&env, &server, &imap_only, "imap"), "imap no\n");
    assert_eq!(
        logins(&env, &server, &all, "imap"),
        "imap ok\n",
        "the other stays"
    );
    assert_eq!(
        logins(&env, &server, "ann password", "imap"),
        "imap ok\n",
        "the account password works beside app passwords"
    );
}

/// The TOTP code of now for the secret `totp enroll` printed.
fn code_for(enrolled: &str) -> String {
    let secret = enrolled
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .and_then(base32_decode)
        .unwrap_or_else(|| panic!("no secret in {enrolled:?}"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    code_at_step(&secret, step_at(now))
}

fn enrol_ann(env: &Env) {
    let enrolled = env.ok(&["user", "totp", "enroll", "ann@example.org"]);
    assert!(
        enrolled.contains("uri: otpauth://totp/Postern:ann%40example.org?secret="),
        "{enrolled}"
    );
    assert_eq!(enrolled.lines().filter(|l| l.starts_with("  ")).count(), 10);
    assert_eq!(
        env.ok(&["user", "totp", "status", "ann@example.org"]),
        "pending: waiting for a first code (totp confirm)\n"
    );
    env.fails(
        &["user", "totp", "confirm", "ann@example.org", "000000x"],
        "",
    );
    env.ok(&[
        "user",
        "totp",
        "confirm",
        "ann@example.org",
        &code_for(&enrolled),
    ]);
    assert_eq!(
        env.ok(&["user", "totp", "status", "ann@example.org"]),
        "on (10 recovery codes left)\n"
    );
}

#[test]
fn with_totp_on_the_account_password_no_longer_opens_mail_but_app_passwords_do() {
    let (env, server) = mail_env_with("");
    let app = add_app_password(&env, "mail", None);
    enrol_ann(&env);
    assert_eq!(
        logins(&env, &server, "ann password", "imap,pop3,smtp"),
        "imap no\npop3 no\nsmtp no\n"
    );
    assert_eq!(
        logins(&env, &server, &app, "imap,smtp"),
        "imap ok\nsmtp ok\n"
    );
    env.ok(&["user", "totp", "disable", "ann@example.org"]);
    assert_eq!(logins(&env, &server, "ann password", "imap"), "imap ok\n");
    assert_eq!(
        env.ok(&["user", "totp", "status", "ann@example.org"]),
        "off\n"
    );
}

#[test]
fn password_on_mail_with_totp_keeps_the_account_password_working() {
    let (env, server) = mail_env_with("[auth]\npassword_on_mail_with_totp = true\n");
    enrol_ann(&env);
    assert_eq!(
        logins(&env, &server, "ann password", "imap,smtp"),
        "imap ok\nsmtp ok\n"
    );
}

#[test]
fn devices_lists_each_protocol_and_address_with_the_imap_id() {
    let (env, server) = mail_env_with("");
    let script = format!(
        "{LOGINS}\nimap_in('ann@example.org', 'ann password', \
         '(\"name\" \"TestMail\" \"version\" \"1.2\" \"os\" \"Linux\" \"vendor\" \"x\")')"
    );
    let out = support::python_command(&env, &server, &script, &[])
        .args(["ann@example.org", "ann password", "pop3"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let args = ["user", "devices", "ann@example.org"];
    let listed = wait_for_output(&env, &args, "imap\t127.0.0.1\tTestMail 1.2 Linux\tlast ");
    assert!(
        listed.contains("imap\t127.0.0.1\tTestMail 1.2 Linux\tlast "),
        "{listed}"
    );
    let listed = wait_for_output(&env, &args, "pop3\t127.0.0.1\t-\tlast ");
    assert!(listed.contains("pop3\t127.0.0.1\t-\tlast "), "{listed}");
    assert_eq!(listed.lines().count(), 2, "one row per protocol: {listed}");
    assert_eq!(
        env.ok(&["user", "devices", "bob@example.org"]),
        "no logins recorded for bob@example.org\n"
    );
}
