//! The web console: `/admin` for users with the admin role, `/account`
//! for every user, served over TLS only (the plain listener redirects
//! here; the session cookie is `Secure`).
//!
//! A request goes: route ([`router`]) → session from the cookie (the
//! store's `web_sessions`, expired by `[web]` limits) → access check (no
//! session: the login form; second factor owed: the code form; `/admin`
//! without the role: 403) → for a POST, the form read (415/413/400) and
//! its CSRF token checked (403) → the handler. A form that did its work
//! answers 303 to the page it came from, which shows what it did once
//! ([`Call::done`], [`flash`]); so a reload never posts again. Account
//! handlers are here, those that write Sieve in [`account_sieve`] (the
//! console's own script in [`own_script`]), the mailbox list and mbox
//! download in [`account_mbox`], the spam settings' in [`account_spam`];
//! admin ones in [`admin`]. Every answer carries the security headers of
//! [`http::secure`]. Logins go through the auth crate's
//! `Directory::authenticate` (proto `web`), so they are throttled, counted
//! towards abuse blocks and logged for fail2ban like IMAP's.

mod account_mbox;
mod account_security;
mod account_sieve;
mod account_spam;
mod admin;
mod assets;
pub mod backend;
mod flash;
mod http;
mod own_script;
mod pages;
mod router;
mod session;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HOST, SET_COOKIE};
use hyper::{Request, Response, StatusCode};
use postern_auth::{AuthOutcome, Directory, Secret};
use postern_store::{NewWebSession, Store, UserId, WebSession};

use crate::Body;
use backend::{Admin, AdminAction, SecondFactor};
use http::{Form, html, see_other};
use pages::layout::{Flash, Viewer, problem};
use router::{Access, Route};
use session::{LOGIN_COOKIE, SESSION_COOKIE, cookie, random_token, same_token, set_cookie};

pub use account_security::Enrolments;
pub use flash::Flashes;
pub use router::is_console;

/// A session's last-seen time is written at most this often.
const TOUCH_EVERY_SECS: i64 = 60;

/// What the console needs besides the web listener's context.
pub struct Console {
    pub directory: Directory,
    pub admin: Arc<dyn Admin>,
    pub second_factor: Arc<dyn SecondFactor>,
    /// TOTP enrolments on screen, waiting for their first code.
    pub enrolments: account_security::Enrolments,
    /// The Sieve checker and the mbox writer the account pages use.
    pub account: Arc<dyn backend::Account>,
    /// What a form did, waiting for the page it redirected to.
    pub flashes: Flashes,
}

/// One request as the handlers see it.
pub(crate) struct Call<'a> {
    pub store: &'a Store,
    pub console: &'a Console,
    pub cfg: &'a crate::WebConfig,
    pub ip: IpAddr,
    pub query: &'a str,
    /// The session's id ("" before the login).
    pub sid: &'a str,
}

impl Call<'_> {
    /// Post-redirect-get: a form that did its work answers 303 to `to`
    /// (the page it came from, path and query), where `flash` is shown
    /// once; a reload of that page shows it without the message and posts
    /// nothing.
    pub(crate) fn done(&self, to: &str, flash: Flash) -> Response<Body> {
        self.console.flashes.put(self.sid, to, flash);
        see_other(to)
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn status_page(status: StatusCode, title: &str, why: &str) -> Response<Body> {
    html(status, problem(title, why))
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> Response<Body> {
    tracing::warn!(error = %e, "web console: store unavailable");
    status_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again later",
        "The server could not answer just now.",
    )
}

/// Answers a console request (TLS only: the caller redirects plain HTTP).
pub async fn serve<B: http::ReqBody>(
    ctx: &crate::Context,
    console: &Console,
    req: Request<B>,
    ip: IpAddr,
    idle: Duration,
) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    if path == "/" {
        return see_other("/account");
    }
    if let Some(name) = path.strip_prefix("/static/") {
        return match name {
            n if format!("/static/{n}") == assets::css_path() => {
                http::asset("text/css; charset=utf-8", assets::CSS)
            }
            n if format!("/static/{n}") == assets::js_path() => {
                http::asset("text/javascript; charset=utf-8", assets::JS)
            }
            _ => status_page(StatusCode::NOT_FOUND, "Not found", "No such file."),
        };
    }
    let route = match Route::find(req.method(), &path) {
        Ok(r) => r,
        Err(true) => {
            return status_page(
                StatusCode::METHOD_NOT_ALLOWED,
                "Not allowed",
                "This page does not take that method.",
            );
        }
        Err(false) => {
            return status_page(StatusCode::NOT_FOUND, "Not found", "There is no such page.");
        }
    };
    let call = Call {
        store: &ctx.store,
        console,
        cfg: &ctx.cfg,
        ip,
        query: &query,
        sid: "",
    };
    match route {
        Route::LoginForm => return login_form(&Flash::None, "", StatusCode::OK),
        Route::Login => return login(&call, req, idle).await,
        _ => {}
    }
    let sid = cookie(req.headers(), SESSION_COOKIE);
    let session = match &sid {
        Some(id) => match ctx.store.web_session_get(id, now(), ctx.cfg.session).await {
            Ok(s) => s,
            Err(e) => return unavailable(e),
        },
        None => None,
    };
    let (Some(sid), Some(s)) = (sid, session) else {
        // A form posted without a live session cannot carry a valid token.
        return if route.is_post() {
            status_page(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Your session has ended; log in again.",
            )
        } else {
            see_other("/account/login")
        };
    };
    if s.pending_second_factor && route.access() != Access::Pending {
        return see_other("/account/second-factor");
    }
    if route.access() == Access::Admin && !s.admin {
        return status_page(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "This page is for administrators.",
        );
    }
    if now() - s.last_seen >= TOUCH_EVERY_SECS
        && let Err(e) = ctx.store.web_session_touch(&sid).await
    {
        tracing::warn!(error = %e, "web console: could not record the session's use");
    }
    let form = if route.is_post() {
        // A script is saved whole: its form may be as large as `[sieve]`
        // allows a script, percent-encoded (each byte up to three).
        let max = if route == Route::ScriptSave {
            let (script_bytes, _) = console.account.script_limits();
            ctx.cfg
                .max_body
                .max(script_bytes.saturating_mul(3).saturating_add(4096))
        } else {
            ctx.cfg.max_body
        };
        let form = match http::read_form(req, max, idle).await {
            Ok(f) => f,
            Err(e) => return status_page(e.status(), "Bad request", e.why()),
        };
        if !same_token(form.get("csrf"), &s.csrf) {
            tracing::warn!(user = %s.address, %path, "web console: form without a valid CSRF token");
            return status_page(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "The form's security token is missing or wrong; reload the page and try again.",
            );
        }
        form
    } else {
        Form::default()
    };
    let viewer = Viewer {
        address: &s.address,
        admin: s.admin,
        csrf: &s.csrf,
    };
    let call = Call { sid: &sid, ..call };
    // What the form that redirected here did, shown once.
    let flash = if route.is_post() {
        Flash::None
    } else {
        console.flashes.take(&sid, &path_and_query)
    };
    match route {
        Route::SecondFactorForm => html(
            StatusCode::OK,
            pages::account::second_factor(&s.csrf, &Flash::None),
        ),
        Route::SecondFactor => second_factor(&call, &sid, &s, &form).await,
        Route::Logout => logout(&call, &sid).await,
        Route::AccountHome => html(StatusCode::OK, pages::account::home(&viewer, &flash)),
        Route::ClientSetup => html(StatusCode::OK, pages::account::setup(&viewer, &ctx.cfg)),
        Route::PasswordForm => html(StatusCode::OK, pages::account::password(&viewer, &flash)),
        Route::Password => password(&call, &sid, &viewer, s.user_id, &form).await,
        Route::AppPasswords
        | Route::AppPasswordCreate
        | Route::AppPasswordRevokeConfirm
        | Route::AppPasswordRevoke
        | Route::TwoFactor
        | Route::TotpEnroll
        | Route::TotpConfirm
        | Route::TotpDisable
        | Route::Devices => {
            let me = account_security::Me {
                user: s.user_id,
                sid: &sid,
            };
            account_security::handle(&call, route, &viewer, &me, &form, flash).await
        }
        Route::Mailboxes => account_mbox::list(&call, &viewer, s.user_id).await,
        Route::MailboxDownload => account_mbox::download(&call, s.user_id).await,
        Route::Vacation
        | Route::VacationSave
        | Route::Filters
        | Route::FilterAdd
        | Route::FilterDelete
        | Route::FilterMove
        | Route::Scripts
        | Route::ScriptEdit
        | Route::ScriptSave
        | Route::ScriptActivate
        | Route::ScriptDelete => {
            account_sieve::handle(&call, route, &viewer, s.user_id, &form, flash).await
        }
        Route::AccountSpam
        | Route::AccountSpamSettings
        | Route::AccountSpamSenderAdd
        | Route::AccountSpamSenderRemove => {
            account_spam::handle(&call, route, &viewer, s.user_id, &form, flash).await
        }
        other => admin::handle(&call, other, &viewer, &form, flash).await,
    }
}

fn with_cookie(mut r: Response<Body>, value: &str) -> Response<Body> {
    if let Ok(v) = value.parse() {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

/// The login form with a fresh double-submit token.
fn login_form(flash: &Flash, address: &str, status: StatusCode) -> Response<Body> {
    let token = random_token();
    with_cookie(
        html(status, pages::account::login(&token, flash, address)),
        &set_cookie(LOGIN_COOKIE, &token, 3600),
    )
}

async fn login<B: http::ReqBody>(
    call: &Call<'_>,
    req: Request<B>,
    idle: Duration,
) -> Response<Body> {
    let token = cookie(req.headers(), LOGIN_COOKIE).unwrap_or_default();
    let form = match http::read_form(req, call.cfg.max_body, idle).await {
        Ok(f) => f,
        Err(e) => return status_page(e.status(), "Bad request", e.why()),
    };
    if !same_token(form.get("csrf"), &token) {
        return status_page(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "The login form's security token is missing or wrong; reload the page and try again.",
        );
    }
    let address = form.get("address").trim().to_string();
    let password = Secret::new(form.get("password").to_string());
    match call
        .console
        .directory
        .authenticate("web", call.ip, &address, &password)
        .await
    {
        AuthOutcome::Success(p) => {
            let pending = match call.console.second_factor.enrolled(p.user_id).await {
                Ok(e) => e,
                Err(e) => return unavailable(e),
            };
            start_session(call, UserId(p.user_id), &p.address, pending).await
        }
        AuthOutcome::Failed => login_form(
            &Flash::Error("Wrong address or password.".into()),
            &address,
            StatusCode::UNAUTHORIZED,
        ),
        AuthOutcome::Throttled { retry_after } => login_form(
            &Flash::Error(format!(
                "Too many failed logins from your address; try again in {} seconds.",
                retry_after.as_secs().max(1)
            )),
            &address,
            StatusCode::TOO_MANY_REQUESTS,
        ),
        AuthOutcome::TempFail => unavailable("login could not be checked"),
    }
}

/// Makes a new session (a new id, never one the client had) and sends the
/// user on: to the code form while a second factor is owed, to the
/// dashboard for admins, to their account otherwise.
async fn start_session(
    call: &Call<'_>,
    user: UserId,
    address: &str,
    pending: bool,
) -> Response<Body> {
    let id = random_token();
    let new = NewWebSession {
        id: id.clone(),
        user_id: user,
        address: address.to_string(),
        csrf: random_token(),
        pending_second_factor: pending,
        ip: call.ip.to_canonical().to_string(),
    };
    if let Err(e) = call.store.web_session_create(new).await {
        return unavailable(e);
    }
    let to = if pending {
        "/account/second-factor"
    } else {
        match call
            .store
            .web_session_get(&id, now(), call.cfg.session)
            .await
        {
            Ok(Some(s)) if s.admin => "/admin",
            _ => "/account",
        }
    };
    let max_age = call.cfg.session.absolute_secs;
    let r = with_cookie(see_other(to), &set_cookie(SESSION_COOKIE, &id, max_age));
    with_cookie(r, &set_cookie(LOGIN_COOKIE, "", 0))
}

async fn second_factor(call: &Call<'_>, sid: &str, s: &WebSession, form: &Form) -> Response<Body> {
    if !s.pending_second_factor {
        return see_other("/account");
    }
    let code = Secret::new(form.get("code").trim().to_string());
    match call
        .console
        .second_factor
        .verify(s.user_id.0, call.ip, code)
        .await
    {
        Ok(true) => {
            if let Err(e) = call.store.web_session_delete(sid).await {
                return unavailable(e);
            }
            start_session(call, s.user_id, &s.address, false).await
        }
        Ok(false) => {
            // A wrong code counts like a wrong password (the throttle and
            // the failure line are `verify`'s).
            call.console
                .directory
                .abuse()
                .report(call.ip, postern_auth::AbuseKind::AuthFailure, "web")
                .await;
            html(
                StatusCode::UNAUTHORIZED,
                pages::account::second_factor(
                    &s.csrf,
                    &Flash::Error("That code is not right.".into()),
                ),
            )
        }
        Err(e) => unavailable(e),
    }
}

async fn logout(call: &Call<'_>, sid: &str) -> Response<Body> {
    if let Err(e) = call.store.web_session_delete(sid).await {
        return unavailable(e);
    }
    call.console.flashes.forget(sid);
    with_cookie(
        see_other("/account/login"),
        &set_cookie(SESSION_COOKIE, "", 0),
    )
}

async fn password(
    call: &Call<'_>,
    sid: &str,
    v: &Viewer<'_>,
    user: UserId,
    form: &Form,
) -> Response<Body> {
    // Passwords are never shown again: the re-shown form is empty.
    let fail = |status: StatusCode, why: &str| {
        html(
            status,
            pages::account::password(v, &Flash::Error(why.into())),
        )
    };
    let (new, repeat) = (form.get("new"), form.get("repeat"));
    if new.is_empty() || form.get("current").is_empty() {
        return fail(
            StatusCode::BAD_REQUEST,
            "Fill in the current and the new password.",
        );
    }
    if new != repeat {
        return fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The two new passwords differ.",
        );
    }
    let current = Secret::new(form.get("current").to_string());
    match call
        .console
        .directory
        .authenticate("web", call.ip, v.address, &current)
        .await
    {
        AuthOutcome::Success(_) => {}
        AuthOutcome::Failed | AuthOutcome::Throttled { .. } => {
            return fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "The current password is not right.",
            );
        }
        AuthOutcome::TempFail => return unavailable("login could not be checked"),
    }
    let action = AdminAction::UserPassword {
        address: v.address.to_string(),
        password: Secret::new(new.to_string()),
    };
    match call.console.admin.run(action).await {
        Ok(_) => {
            if let Err(e) = call.store.web_sessions_end_for_user(user, Some(sid)).await {
                return unavailable(e);
            }
            call.done(
                "/account",
                Flash::Done(vec![
                    "Your password was changed; your other web sessions have ended.".into(),
                ]),
            )
        }
        Err(why) => fail(StatusCode::UNPROCESSABLE_ENTITY, &why),
    }
}

/// The scheme and host the console is reached at, for a redirect from the
/// plain listener: the request's Host without its port, and the https
/// port clients use.
pub fn https_location<B>(req: &Request<B>, https_port: u16) -> Option<String> {
    let host = req.headers().get(HOST)?.to_str().ok()?;
    let name = match host.rsplit_once(':') {
        Some((n, p)) if !n.ends_with(']') || n.starts_with('[') => {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                n
            } else {
                host
            }
        }
        _ => host,
    };
    if name.is_empty()
        || name
            .bytes()
            .any(|b| b.is_ascii_control() || b == b'/' || b == b'@' || b == b' ')
    {
        return None;
    }
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    Some(format!("https://{name}{port}{path}"))
}
