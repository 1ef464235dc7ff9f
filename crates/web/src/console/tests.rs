//! The login flow with a second factor enrolled, through `serve` with a
//! fake [`SecondFactor`] (the hook webauth's TOTP plugs into): the
//! password alone reaches only the code form, a wrong code is refused,
//! the right one gives a new session id and ends the old one. Its world
//! (a store, ann@example.org, a directory with an in-memory account
//! store) and request helpers serve the other handler tests too.

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
use super::{Console, serve};

struct NoAdmin;

impl Admin for NoAdmin {
    fn run(&self, _action: AdminAction) -> BoxFuture<'_, AdminResult> {
        Box::pin(async { Err("not in this test".into()) })
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

/// Enrolled, and "123456" is the only right code.
struct FixedCode;

impl SecondFactor for FixedCode {
    fn enrolled(&self, _user_id: i64) -> BoxFuture<'_, Result<bool, String>> {
        Box::pin(async { Ok(true) })
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

/// ann@example.org (password `pw`), with an in-memory account store.
pub(super) async fn world() -> World {
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
        second_factor: Arc::new(FixedCode),
        enrolments: Default::default(),
        account: Arc::new(NoAccount),
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
        let mut req = Request::builder().method(method).uri(path);
        if !cookie.is_empty() {
            req = req.header(COOKIE, cookie);
        }
        if !form.is_empty() {
            req = req.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let req = req
            .body(Full::new(Bytes::from(form.to_string())))
            .expect("request");
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
    let w = world().await;
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
