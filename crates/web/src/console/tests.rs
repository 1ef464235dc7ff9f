//! The console through `serve`, with a real store and fakes for the
//! admin commands and the second factor: the login flow with a second
//! factor enrolled (the password alone reaches only the code form, a
//! wrong code is refused, the right one gives a new session id and ends
//! the old one), and bad input for every route of the router's table
//! (so a new route cannot be left out): the wrong method, a body that is
//! not a form or too large, no CSRF token, and each route's own missing
//! or unknown fields and ids. Its world (a store, ann@example.org, a
//! directory with an in-memory account store) and request helpers serve
//! the other handler tests too.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use hyper::{Method, Request, StatusCode};
use postern_auth::{
    Abuse, AuthConfig, Directory, MemoryAccounts, MemoryBackend, Secret,
    hash_password_cheap_for_tests,
};
use postern_store::{NewUser, OpenMode, Store, StoreOptions};

use super::backend::{Admin, AdminAction, AdminResult, BoxFuture, Dashboard, SecondFactor};
use super::router::Route;
use super::{Console, serve};

struct NoAdmin;

impl Admin for NoAdmin {
    /// Refuses every command but the read of a user's spam settings,
    /// which `/account/spam` shows on every answer.
    fn run(&self, action: AdminAction) -> BoxFuture<'_, AdminResult> {
        let read = matches!(
            action,
            AdminAction::SpamSettings {
                junk_threshold: None,
                reject: None,
                ..
            }
        );
        Box::pin(async move {
            if read {
                Ok(vec!["junk threshold: the server's".into()])
            } else {
                Err("not in this test".into())
            }
        })
    }

    fn dashboard(&self) -> BoxFuture<'_, Dashboard> {
        Box::pin(async { Dashboard::default() })
    }
}

/// The account pages' backend, unused by these tests.
struct NoAccount;

impl super::backend::Account for NoAccount {
    fn check_script(
        &self,
        _existing: Vec<postern_store::SieveScript>,
        _name: String,
        _script: String,
    ) -> BoxFuture<'_, Result<(), super::backend::ScriptProblem>> {
        Box::pin(async { Ok(()) })
    }

    fn forwarding(&self) -> bool {
        false
    }

    fn script_limits(&self) -> (usize, usize) {
        (0, 0)
    }

    fn mbox_message(&self, _out: &mut Vec<u8>, _raw: &[u8], _date: i64, _flags: &[String]) {}
}

/// Enrolled (or not), and "123456" is the only right code.
struct FixedCode {
    enrolled: bool,
}

impl SecondFactor for FixedCode {
    fn enrolled(&self, _user_id: i64) -> BoxFuture<'_, Result<bool, String>> {
        let enrolled = self.enrolled;
        Box::pin(async move { Ok(enrolled) })
    }

    fn verify(
        &self,
        _user_id: i64,
        _ip: std::net::IpAddr,
        code: Secret<String>,
    ) -> BoxFuture<'_, Result<bool, String>> {
        Box::pin(async move { Ok(code.expose() == "123456") })
    }
}

pub(super) struct World {
    _dir: tempfile::TempDir,
    pub(super) ctx: crate::Context,
    pub(super) console: Console,
}

/// A store with ann@example.org (password "pw"), who owes a second
/// factor if `enrolled` and has the admin role if `admin`.
pub(super) async fn world(enrolled: bool, admin: bool) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(
        dir.path(),
        StoreOptions {
            mode: OpenMode::Server,
            ..StoreOptions::default()
        },
    )
    .expect("open");
    let hash = hash_password_cheap_for_tests(&Secret::new("pw".to_string())).expect("hash");
    store.domain_add("example.org").await.expect("domain");
    let id = store
        .user_add(NewUser {
            address: "ann@example.org".into(),
            display_name: String::new(),
            password_hash: hash.clone(),
            quota_bytes: None,
            quota_messages: None,
        })
        .await
        .expect("user");
    store
        .user_set_admin("ann@example.org", admin)
        .await
        .expect("admin");
    let backend = MemoryBackend::new();
    backend.add_domain("example.org");
    assert_eq!(backend.add_user("ann@example.org", "", &hash), id.0);
    let ctx = crate::Context {
        cfg: Arc::new(crate::WebConfig::default()),
        store,
        acme_tokens: crate::acme::Http01Tokens::default(),
        console: None,
    };
    let console = Console {
        directory: Directory::with_accounts(
            Arc::new(backend),
            AuthConfig::default(),
            Abuse::disabled(),
            Arc::new(MemoryAccounts::default()),
        ),
        admin: Arc::new(NoAdmin),
        second_factor: Arc::new(FixedCode { enrolled }),
        enrolments: Default::default(),
        account: Arc::new(NoAccount),
        flashes: super::Flashes::default(),
    };
    World {
        _dir: dir,
        ctx,
        console,
    }
}

pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) location: String,
    pub(super) cookies: Vec<String>,
    pub(super) body: String,
}

impl World {
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        cookie: &str,
        form: &str,
    ) -> Answer {
        let ctype = if form.is_empty() {
            ""
        } else {
            "application/x-www-form-urlencoded"
        };
        self.send_as(method, path, cookie, ctype, form.as_bytes().to_vec())
            .await
    }

    /// Posts `form` to `path`, which must answer 303 to `to` (post-
    /// redirect-get), and follows it: the page with its one-time message.
    pub(super) async fn post_then_get(
        &self,
        path: &str,
        cookie: &str,
        form: &str,
        to: &str,
    ) -> Answer {
        let a = self.send(Method::POST, path, cookie, form).await;
        assert_eq!(
            (a.status, a.location.as_str()),
            (StatusCode::SEE_OTHER, to),
            "{path} {form}: {}",
            a.body
        );
        self.send(Method::GET, to, cookie, "").await
    }

    async fn send_as(
        &self,
        method: Method,
        path: &str,
        cookie: &str,
        ctype: &str,
        body: Vec<u8>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        if !cookie.is_empty() {
            req = req.header(COOKIE, cookie);
        }
        if !ctype.is_empty() {
            req = req.header(CONTENT_TYPE, ctype);
        }
        let req = req.body(Full::new(Bytes::from(body))).expect("request");
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let r = serve(&self.ctx, &self.console, req, ip, Duration::from_secs(5)).await;
        let header = |v: &hyper::header::HeaderValue| v.to_str().unwrap_or("").to_string();
        let location = r.headers().get(LOCATION).map(header).unwrap_or_default();
        let cookies = r.headers().get_all(SET_COOKIE).iter().map(header).collect();
        let status = r.status();
        let body = http_body_util::BodyExt::collect(r.into_body())
            .await
            .map(|c| String::from_utf8_lossy(&c.to_bytes()).into_owned())
            .unwrap_or_default();
        Answer {
            status,
            location,
            cookies,
            body,
        }
    }
}

/// `name=value` of the cookie `name` a response set.
pub(super) fn cookie_pair(a: &Answer, name: &str) -> String {
    a.cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", a.cookies))
        .to_string()
}

pub(super) fn csrf_of(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    body[at..at + 64].to_string()
}

#[tokio::test]
async fn an_enrolled_user_needs_the_code_and_gets_a_new_session_for_it() {
    let w = world(true, false).await;
    let form = w.send(Method::GET, "/account/login", "", "").await;
    let login_cookie = cookie_pair(&form, "postern_login");
    let token = csrf_of(&form.body);
    let a = w
        .send(
            Method::POST,
            "/account/login",
            &login_cookie,
            &format!("csrf={token}&address=ann%40example.org&password=pw"),
        )
        .await;
    assert_eq!(
        (a.status, a.location.as_str()),
        (StatusCode::SEE_OTHER, "/account/second-factor")
    );
    let first = cookie_pair(&a, "postern_session");

    // The password alone reaches nothing but the code form.
    for path in ["/account", "/account/password", "/admin"] {
        let r = w.send(Method::GET, path, &first, "").await;
        assert_eq!(
            (r.status, r.location.as_str()),
            (StatusCode::SEE_OTHER, "/account/second-factor"),
            "{path}"
        );
    }
    let code_form = w
        .send(Method::GET, "/account/second-factor", &first, "")
        .await;
    assert_eq!(code_form.status, StatusCode::OK);
    let csrf = csrf_of(&code_form.body);
    let wrong = w
        .send(
            Method::POST,
            "/account/second-factor",
            &first,
            &format!("csrf={csrf}&code=000000"),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let no_token = w
        .send(
            Method::POST,
            "/account/second-factor",
            &first,
            "code=123456",
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);

    let right = w
        .send(
            Method::POST,
            "/account/second-factor",
            &first,
            &format!("csrf={csrf}&code=123456"),
        )
        .await;
    assert_eq!(
        (right.status, right.location.as_str()),
        (StatusCode::SEE_OTHER, "/account")
    );
    let second = cookie_pair(&right, "postern_session");
    assert_ne!(first, second, "the session id changes with the second step");
    let home = w.send(Method::GET, "/account", &second, "").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("ann@example.org"));
    let old = w.send(Method::GET, "/account", &first, "").await;
    assert_eq!(
        (old.status, old.location.as_str()),
        (StatusCode::SEE_OTHER, "/account/login")
    );
    // Not an admin.
    assert_eq!(
        w.send(Method::GET, "/admin", &second, "").await.status,
        StatusCode::FORBIDDEN
    );
}

/// Logs ann in (no second factor owed): her session cookie and its CSRF
/// token.
async fn logged_in(w: &World) -> (String, String) {
    let form = w.send(Method::GET, "/account/login", "", "").await;
    let login_cookie = cookie_pair(&form, "postern_login");
    let token = csrf_of(&form.body);
    let a = w
        .send(
            Method::POST,
            "/account/login",
            &login_cookie,
            &format!("csrf={token}&address=ann%40example.org&password=pw"),
        )
        .await;
    assert_eq!(
        (a.status, a.location.as_str()),
        (StatusCode::SEE_OTHER, "/admin")
    );
    let session = cookie_pair(&a, "postern_session");
    let home = w.send(Method::GET, "/account", &session, "").await;
    (session, csrf_of(&home.body))
}

/// What each route must answer to its own bad input, beyond what every
/// route is sent: a query (GET) or form fields (POST, the CSRF token
/// added) and the status. `None`: the route has no cases yet, which the
/// test refuses, so a new route must be given its cases here.
fn cases(route: Route) -> Option<&'static [(&'static str, u16)]> {
    use Route::*;
    Some(match route {
        // Pages without ids, and the session's own steps.
        LoginForm | SecondFactorForm | AccountHome | PasswordForm | ClientSetup | Dashboard
        | Domains | Users | Aliases | Queue | Blocks | Logout => &[],
        // The login form's token is its double-submit cookie's, not a
        // session's.
        Login => &[("address=ann%40example.org&password=pw", 403)],
        // No second factor owed: nothing to do.
        SecondFactor => &[("code=123456", 303)],
        Password => &[("", 400), ("current=pw&new=a&repeat=b", 422)],
        Domain => &[("", 404), ("name=nowhere.example", 404)],
        DomainDoctor => &[("name=nowhere.example", 404)],
        DomainAdd => &[("", 400), ("domain=example.org", 409)],
        DomainDelete => &[("", 400), ("domain=nowhere.example", 404)],
        DkimRotate => &[("", 400), ("domain=nowhere.example", 404)],
        User | UserDeleteConfirm => &[("", 404), ("address=nobody%40example.org", 404)],
        UserAdd => &[
            ("", 400),
            ("address=x%40example.org", 400),
            ("address=ann%40example.org&password=p", 409),
        ],
        UserDelete => &[
            ("", 400),
            ("address=nobody%40example.org&confirm=yes", 404),
            ("address=ann%40example.org", 400),
        ],
        UserQuota | UserPassword | UserDisable | UserEnable => {
            &[("", 400), ("address=nobody%40example.org", 404)]
        }
        UserAdmin => &[
            ("", 400),
            ("address=nobody%40example.org&admin=on", 404),
            ("address=ann%40example.org&admin=maybe", 400),
        ],
        AliasAdd => &[("", 400), ("source=a%40example.org", 400)],
        AliasDelete => &[("", 400), ("source=nobody%40example.org", 404)],
        QueueItem => &[("", 400), ("id=abc", 400), ("id=99999", 404)],
        QueueRetry | QueueHold | QueueRelease | QueueDelete => {
            &[("", 400), ("id=abc", 400), ("id=99999", 404)]
        }
        BlockAdd => &[("", 400), ("reason=x", 400)],
        BlockDelete => &[("", 400), ("net=198.51.100.1", 404)],
        Spam => &[("user=nobody%40example.org", 404)],
        // The account's own pages (no form names a user).
        AppPasswords | TwoFactor | Devices | Vacation | Filters | Scripts | Mailboxes
        | AccountSpam => &[],
        // Turning TOTP on takes no field; any post is a new enrolment.
        TotpEnroll => &[],
        AppPasswordCreate => &[("name=phone", 400), ("imap=on&name=", 400)],
        AppPasswordRevokeConfirm => &[("", 404), ("name=nothing", 404)],
        AppPasswordRevoke => &[("", 400), ("name=nothing&confirm=yes", 404)],
        // Nothing pending: there is nothing to confirm or turn off.
        TotpConfirm => &[("", 400), ("code=123456", 409)],
        TotpDisable => &[("", 409)],
        VacationSave => &[
            ("on=1&body=", 400),
            ("body=x&days=0", 400),
            ("body=x&start=soon", 400),
        ],
        FilterAdd => &[("", 400), ("contains=x&action=move&target=", 400)],
        FilterDelete => &[("", 400), ("rule=abc", 400), ("rule=0", 404)],
        FilterMove => &[("", 400), ("rule=0&to=up", 404)],
        ScriptEdit => &[("name=nothing", 404)],
        ScriptSave => &[("", 400), ("name=a%07b&script=keep%3B", 400)],
        ScriptActivate => &[("name=nothing", 404)],
        ScriptDelete => &[("", 400), ("name=nothing", 404)],
        MailboxDownload => &[("", 400), ("id=abc", 400), ("id=99999", 404)],
        AccountSpamSettings => &[("reject=maybe", 400), ("junk_threshold=lots", 400)],
        AccountSpamSenderAdd => &[
            ("", 400),
            ("list=allow", 400),
            ("list=other&sender=a%40example.net", 400),
        ],
        AccountSpamSenderRemove => &[("", 400), ("list=block&sender=a%40example.net", 404)],
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

#[tokio::test]
async fn every_route_refuses_bad_input_with_the_right_status() {
    let w = world(false, true).await;
    let (session, csrf) = logged_in(&w).await;
    let max = w.ctx.cfg.max_body;
    let forgotten: Vec<_> = Route::ALL
        .iter()
        .filter(|(_, _, r)| cases(*r).is_none())
        .collect();
    assert!(forgotten.is_empty(), "routes without cases: {forgotten:?}");
    let form = "application/x-www-form-urlencoded";
    for &(method, path, route) in Route::ALL {
        let post = method == "POST";
        // Another method on the path: 405 unless the path takes it too.
        let other = if post { Method::GET } else { Method::POST };
        if Route::find(&other, path) == Err(true) {
            let a = w
                .send_as(other, path, &session, form, b"a=1".to_vec())
                .await;
            assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
        let a = w.send(Method::PUT, path, &session, "").await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "PUT {path}");
        if post {
            let fields = format!("csrf={csrf}");
            let json = w
                .send_as(
                    Method::POST,
                    path,
                    &session,
                    "application/json",
                    b"{}".to_vec(),
                )
                .await;
            assert_eq!(json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{path}");
            let mut big = fields.clone().into_bytes();
            big.extend(std::iter::repeat_n(b'a', max + 1 - big.len() + 4));
            let big = w.send_as(Method::POST, path, &session, form, big).await;
            assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
            let bad = w
                .send(Method::POST, path, &session, &format!("{fields}&x=%zz"))
                .await;
            assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{path}");
            let no_token = w.send(Method::POST, path, &session, "x=1").await;
            assert_eq!(no_token.status, StatusCode::FORBIDDEN, "{path}");
        }
        for &(input, want) in cases(route).unwrap_or(&[]) {
            let a = if post {
                let fields = format!("csrf={csrf}&{input}");
                w.send(Method::POST, path, &session, &fields).await
            } else {
                w.send(Method::GET, &format!("{path}?{input}"), &session, "")
                    .await
            };
            assert_eq!(
                a.status.as_u16(),
                want,
                "{method} {path} {input:?}: {}",
                a.body
            );
        }
    }
    // Still logged in: no case ended the session.
    let home = w.send(Method::GET, "/account", &session, "").await;
    assert_eq!(home.status, StatusCode::OK);
}
