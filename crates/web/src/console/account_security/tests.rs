//! The account security handlers through `serve`, with the real TOTP
//! second step over an in-memory account store: app passwords made,
//! shown once, used and revoked; TOTP enrolled, confirmed, used and
//! turned off; the devices list; and the bad input each form refuses
//! (unknown names, missing fields, oversized names, no or a wrong CSRF
//! token) without changing anything.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode};
use postern_auth::accounts::totp::{base32_decode, code_at_step, step_at};
use postern_auth::{AuthOutcome, ClientId, Secret};

use crate::console::backend::Totp;
use crate::console::tests::{Answer, World, cookie_pair, csrf_of, world};

const ANN: &str = "ann@example.org";

/// The world with the server's own second step (TOTP over the directory).
async fn totp_world() -> World {
    let mut w = world(false, false).await;
    w.console.second_factor = Arc::new(Totp(w.console.directory.clone()));
    w
}

/// A session cookie and its CSRF token, after the password (and `code`,
/// when the account asks for one).
async fn log_in(w: &World, code: Option<&str>) -> (String, String) {
    let form = w.send(Method::GET, "/account/login", "", "").await;
    let fields = format!(
        "csrf={}&address=ann%40example.org&password=pw",
        csrf_of(&form.body)
    );
    let a = w
        .send(
            Method::POST,
            "/account/login",
            &cookie_pair(&form, "postern_login"),
            &fields,
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let mut session = cookie_pair(&a, "postern_session");
    if let Some(code) = code {
        assert_eq!(a.location, "/account/second-factor");
        let page = w
            .send(Method::GET, "/account/second-factor", &session, "")
            .await;
        let a = w
            .send(
                Method::POST,
                "/account/second-factor",
                &session,
                &format!("csrf={}&code={code}", csrf_of(&page.body)),
            )
            .await;
        assert_eq!(
            (a.status, a.location.as_str()),
            (StatusCode::SEE_OTHER, "/account"),
            "{}",
            a.body
        );
        session = cookie_pair(&a, "postern_session");
    } else {
        assert_eq!(a.location, "/account");
    }
    let home = w.send(Method::GET, "/account", &session, "").await;
    assert_eq!(home.status, StatusCode::OK);
    (session.clone(), csrf_of(&home.body))
}

async fn post(w: &World, session: &str, path: &str, fields: &str) -> Answer {
    w.send(Method::POST, path, session, fields).await
}

async fn mail_login(w: &World, proto: &str, password: &str) -> bool {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let pw = Secret::new(password.to_string());
    matches!(
        w.console.directory.authenticate(proto, ip, ANN, &pw).await,
        AuthOutcome::Success(_)
    )
}

/// The text of the element with `id`, as the page shows it.
fn by_id(body: &str, id: &str) -> String {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let start = at + body[at..].find('>').expect("tag end") + 1;
    let end = start + body[start..].find('<').expect("text end");
    body[start..end].to_string()
}

/// The recovery codes a page lists.
fn recovery_codes(body: &str) -> Vec<String> {
    let at = body.find("id=\"recovery-codes\"").expect("a code list");
    let list = &body[at..at + body[at..].find("</ul>").expect("list end")];
    list.split("<code>")
        .skip(1)
        .filter_map(|c| c.split('<').next())
        .map(str::to_string)
        .collect()
}

fn code_now(secret: &str) -> String {
    let key = base32_decode(&secret.replace(' ', "")).expect("base32 secret");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    code_at_step(&key, step_at(now))
}

#[tokio::test]
async fn an_app_password_is_shown_once_opens_its_scopes_and_is_revoked() {
    let w = totp_world().await;
    let (s, csrf) = log_in(&w, None).await;
    let made = post(
        &w,
        &s,
        "/account/app-passwords/create",
        &format!("csrf={csrf}&name=phone+%3Cb%3E&imap=on&smtp=on"),
    )
    .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let password = by_id(&made.body, "app-password");
    assert_eq!(password.len(), 24, "{password}");
    assert!(made.body.contains("phone &lt;b&gt;") && made.body.contains("IMAP, SMTP"));

    let list = w.send(Method::GET, "/account/app-passwords", &s, "").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body
            .contains("<td>phone &lt;b&gt;</td><td>IMAP, SMTP</td>")
    );
    assert!(list.body.contains("never") && !list.body.contains(&password));

    assert!(mail_login(&w, "imap", &password).await);
    assert!(mail_login(&w, "smtp", &password).await);
    assert!(
        !mail_login(&w, "pop3", &password).await,
        "not in its scopes"
    );
    assert!(!mail_login(&w, "web", &password).await, "never the console");

    let confirm = w
        .send(
            Method::GET,
            "/account/app-passwords/revoke?name=phone%20%3Cb%3E",
            &s,
            "",
        )
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Revoke phone &lt;b&gt;?"));
    let revoked = w
        .post_then_get(
            "/account/app-passwords/revoke",
            &s,
            &format!("csrf={csrf}&name=phone+%3Cb%3E&confirm=yes"),
            "/account/app-passwords",
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert!(revoked.body.contains("You have no app passwords yet"));
    assert!(revoked.body.contains("Revoked the app password"));
    let reload = w.send(Method::GET, "/account/app-passwords", &s, "").await;
    assert!(!reload.body.contains("Revoked"), "shown once");
    assert!(!mail_login(&w, "imap", &password).await);
}

#[tokio::test]
async fn app_password_forms_refuse_bad_input_and_change_nothing() {
    let w = totp_world().await;
    let (s, csrf) = log_in(&w, None).await;
    let create = "/account/app-passwords/create";
    let ok = post(&w, &s, create, &format!("csrf={csrf}&name=laptop&imap=on")).await;
    assert_eq!(ok.status, StatusCode::OK);
    let long = "x".repeat(postern_auth::MAX_APP_PASSWORD_NAME + 1);
    for (fields, status, says) in [
        (
            format!("csrf={csrf}&imap=on"),
            StatusCode::BAD_REQUEST,
            "Not created",
        ),
        (
            format!("csrf={csrf}&name=+&imap=on"),
            StatusCode::BAD_REQUEST,
            "Not created",
        ),
        (
            format!("csrf={csrf}&name={long}&imap=on"),
            StatusCode::BAD_REQUEST,
            "1 to 64",
        ),
        (
            format!("csrf={csrf}&name=a%07b&imap=on"),
            StatusCode::BAD_REQUEST,
            "printable",
        ),
        (
            format!("csrf={csrf}&name=phone"),
            StatusCode::BAD_REQUEST,
            "at least one protocol",
        ),
        (
            format!("csrf={csrf}&name=phone&imap=yes"),
            StatusCode::BAD_REQUEST,
            "at least one protocol",
        ),
        (
            format!("csrf={csrf}&name=laptop&pop3=on"),
            StatusCode::CONFLICT,
            "already have",
        ),
        (
            "name=phone&imap=on".to_string(),
            StatusCode::FORBIDDEN,
            "security token",
        ),
        (
            format!("csrf={}&name=phone&imap=on", "0".repeat(64)),
            StatusCode::FORBIDDEN,
            "security token",
        ),
    ] {
        let a = post(&w, &s, create, &fields).await;
        assert_eq!(a.status, status, "{fields}: {}", a.body);
        assert!(a.body.contains(says), "{fields}: {}", a.body);
    }
    // A refused form comes back as it was typed.
    let again = post(&w, &s, create, &format!("csrf={csrf}&name=laptop&pop3=on")).await;
    assert!(again.body.contains(r#"value="laptop""#), "{}", again.body);
    let ticked = |scope: &str| {
        let at = again
            .body
            .find(&format!(r#"id="scope-{scope}""#))
            .expect("box");
        let tag = &again.body[at..];
        tag[..tag.find('>').expect("tag end")].contains("checked")
    };
    assert!(ticked("pop3") && !ticked("imap") && !ticked("smtp"));
    // Unknown names, and the revoke that skips its confirmation.
    let unknown = w
        .send(
            Method::GET,
            "/account/app-passwords/revoke?name=nope",
            &s,
            "",
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let none = w
        .send(Method::GET, "/account/app-passwords/revoke", &s, "")
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    for (fields, status) in [
        (
            format!("csrf={csrf}&name=nope&confirm=yes"),
            StatusCode::NOT_FOUND,
        ),
        (format!("csrf={csrf}&confirm=yes"), StatusCode::BAD_REQUEST),
        (format!("csrf={csrf}&name=laptop"), StatusCode::BAD_REQUEST),
        ("name=laptop&confirm=yes".to_string(), StatusCode::FORBIDDEN),
    ] {
        let a = post(&w, &s, "/account/app-passwords/revoke", &fields).await;
        assert_eq!(a.status, status, "{fields}");
    }
    // A form larger than `[web] max_body_bytes` is not read at all.
    let huge = format!(
        "csrf={csrf}&imap=on&name={}",
        "x".repeat(w.ctx.cfg.max_body)
    );
    let a = post(&w, &s, create, &huge).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    let list = w.send(Method::GET, "/account/app-passwords", &s, "").await;
    assert_eq!(list.body.matches("<tr><td>").count(), 1, "{}", list.body);
    assert!(list.body.contains("<td>laptop</td><td>IMAP</td>"));
    // No session at all: the form is refused, the page sends to the login.
    let nobody = post(&w, "", "/account/app-passwords/create", "name=x&imap=on").await;
    assert_eq!(nobody.status, StatusCode::FORBIDDEN);
    let page = w.send(Method::GET, "/account/devices", "", "").await;
    assert_eq!(page.location, "/account/login");
}

#[tokio::test]
async fn totp_is_on_after_a_code_shows_recovery_codes_once_and_guards_the_login() {
    let w = totp_world().await;
    let (s, csrf) = log_in(&w, None).await;
    let (other, _) = log_in(&w, None).await;
    let off = w.send(Method::GET, "/account/two-factor", &s, "").await;
    assert!(
        off.body
            .contains("Two-factor login is <strong>off</strong>")
    );
    assert!(
        off.body
            .contains("can no longer log in with your account password")
    );

    let enrol = w
        .post_then_get(
            "/account/two-factor/enroll",
            &s,
            &format!("csrf={csrf}"),
            "/account/two-factor",
        )
        .await;
    assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.body);
    let secret = by_id(&enrol.body, "totp-secret");
    let uri = by_id(&enrol.body, "totp-uri");
    assert!(
        uri.starts_with("otpauth://totp/Postern:ann%40example.org?secret=")
            && uri.contains(&secret.replace(' ', "")),
        "{uri}"
    );
    assert!(enrol.body.contains("<svg ") && !enrol.body.contains("recovery-codes"));
    // Reloading shows the same secret; a wrong or missing code keeps it.
    let again = w.send(Method::GET, "/account/two-factor", &s, "").await;
    assert_eq!(by_id(&again.body, "totp-secret"), secret);
    for code in ["000000x", ""] {
        let wrong = post(
            &w,
            &s,
            "/account/two-factor/confirm",
            &format!("csrf={csrf}&code={code}"),
        )
        .await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{code}");
        assert_eq!(by_id(&wrong.body, "totp-secret"), secret);
    }
    let no_token = post(
        &w,
        &s,
        "/account/two-factor/confirm",
        &format!("code={}", code_now(&secret)),
    )
    .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);

    let on = post(
        &w,
        &s,
        "/account/two-factor/confirm",
        &format!("csrf={csrf}&code={}", code_now(&secret)),
    )
    .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let codes = recovery_codes(&on.body);
    assert_eq!(codes.len(), postern_auth::RECOVERY_CODES, "{}", on.body);
    let status = w.send(Method::GET, "/account/two-factor", &s, "").await;
    assert!(
        status
            .body
            .contains("Two-factor login is <strong>on</strong>")
    );
    assert!(!status.body.contains(&codes[0]), "codes are shown once");
    let ended = w.send(Method::GET, "/account", &other, "").await;
    assert_eq!(ended.location, "/account/login", "older sessions end");
    let twice = post(
        &w,
        &s,
        "/account/two-factor/enroll",
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);

    // The login asks for the code; a recovery code works once.
    let (s2, _) = log_in(&w, Some(&codes[0])).await;
    assert!(!s2.is_empty());
    let form = w.send(Method::GET, "/account/login", "", "").await;
    let a = w
        .send(
            Method::POST,
            "/account/login",
            &cookie_pair(&form, "postern_login"),
            &format!(
                "csrf={}&address=ann%40example.org&password=pw",
                csrf_of(&form.body)
            ),
        )
        .await;
    let pending = cookie_pair(&a, "postern_session");
    let page = w
        .send(Method::GET, "/account/second-factor", &pending, "")
        .await;
    let reused = post(
        &w,
        &pending,
        "/account/second-factor",
        &format!("csrf={}&code={}", csrf_of(&page.body), codes[0]),
    )
    .await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    let left = w.send(Method::GET, "/account/two-factor", &s, "").await;
    assert!(
        left.body.contains("You have 9 unused recovery codes"),
        "{}",
        left.body
    );
}

#[tokio::test]
async fn turning_totp_off_takes_a_code_or_the_password() {
    let w = totp_world().await;
    let (s, csrf) = log_in(&w, None).await;
    // A pending enrolment is cancelled without proof.
    post(
        &w,
        &s,
        "/account/two-factor/enroll",
        &format!("csrf={csrf}"),
    )
    .await;
    let cancel = w
        .post_then_get(
            "/account/two-factor/disable",
            &s,
            &format!("csrf={csrf}"),
            "/account/two-factor",
        )
        .await;
    assert!(
        cancel.body.contains("Two-factor login is off."),
        "{}",
        cancel.body
    );
    let nothing = post(
        &w,
        &s,
        "/account/two-factor/confirm",
        &format!("csrf={csrf}&code=123456"),
    )
    .await;
    assert_eq!(nothing.status, StatusCode::CONFLICT);
    assert!(nothing.body.contains("nothing to confirm"));
    let again = post(
        &w,
        &s,
        "/account/two-factor/disable",
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let enrol = w
        .post_then_get(
            "/account/two-factor/enroll",
            &s,
            &format!("csrf={csrf}"),
            "/account/two-factor",
        )
        .await;
    let secret = by_id(&enrol.body, "totp-secret");
    let code = code_now(&secret);
    let on = post(
        &w,
        &s,
        "/account/two-factor/confirm",
        &format!("csrf={csrf}&code={code}"),
    )
    .await;
    assert_eq!(on.status, StatusCode::OK);
    for (fields, says) in [
        (
            format!("csrf={csrf}"),
            "Enter a current code or your password",
        ),
        (format!("csrf={csrf}&code=000000"), "That code is not right"),
        // The code that turned it on was used up.
        (format!("csrf={csrf}&code={code}"), "That code is not right"),
        (
            format!("csrf={csrf}&password=wrong"),
            "The password is not right",
        ),
    ] {
        let a = post(&w, &s, "/account/two-factor/disable", &fields).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{fields}");
        assert!(a.body.contains(says), "{fields}: {}", a.body);
    }
    let forged = post(&w, &s, "/account/two-factor/disable", "password=pw").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "no CSRF token");
    let still = w.send(Method::GET, "/account/two-factor", &s, "").await;
    assert!(still.body.contains("<strong>on</strong>"));
    let off = w
        .post_then_get(
            "/account/two-factor/disable",
            &s,
            &format!("csrf={csrf}&password=pw"),
            "/account/two-factor",
        )
        .await;
    assert_eq!(off.status, StatusCode::OK);
    assert!(off.body.contains("Two-factor login is off."));
    // The login needs the password alone again.
    log_in(&w, None).await;
}

#[tokio::test]
async fn devices_list_logins_with_the_imap_id() {
    let w = totp_world().await;
    let (s, _) = log_in(&w, None).await;
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let pw = Secret::new("pw".to_string());
    let AuthOutcome::Success(ann) = w.console.directory.authenticate("imap", ip, ANN, &pw).await
    else {
        panic!("ann logs in over IMAP");
    };
    let client =
        ClientId::from_id_pairs([("name", Some("Thunder<bird>")), ("version", Some("128"))]);
    w.console.directory.record_client(
        ann.user_id,
        "imap",
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
        client,
    );
    // The rows are written in the background.
    let mut body = String::new();
    for _ in 0..200 {
        body = w.send(Method::GET, "/account/devices", &s, "").await.body;
        if body.contains("192.0.2.7") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        body.contains("<td>IMAP</td><td>192.0.2.7</td><td>Thunder&lt;bird&gt; 128</td>"),
        "{body}"
    );
    assert!(
        body.contains("<td>Web console</td><td>127.0.0.1</td>"),
        "{body}"
    );
}
