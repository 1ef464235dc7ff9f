//! The account security pages' handlers: app passwords, TOTP two-factor
//! login and the devices list, all through the auth crate's account API
//! on the console's [`Directory`](postern_auth::Directory) (the one the
//! `postern user app-password|totp|devices` commands call), for the
//! logged-in user only: no form names a user.
//!
//! - A new app password and a new enrolment's recovery codes appear on
//!   the answer to the POST that made them, and nowhere else; pages are
//!   `no-store`. Those two answers are direct (200); every other form that
//!   did its work answers 303 back to its page, which says so once
//!   ([`Call::done`]).
//! - An enrolment's secret, URI and recovery codes exist in clear only
//!   between "turn on" and the confirming code. They are kept here, in
//!   memory, per user ([`Enrolments`]): so a wrong code can show the same
//!   secret again, and the recovery codes can be shown once the code
//!   proved the app works. An entry lives as long as an idle web session;
//!   there is at most one per user (a new enrolment replaces the pending
//!   one in the store too). After a restart the page says to start again.
//! - Turning TOTP off needs a current code (checked behind the login
//!   throttle, `totp_verify`) or the password (`authenticate`, proto
//!   `web`); a pending enrolment is cancelled without either.
//! - An unknown app password is a 404; a refusal (empty or long name, no
//!   protocol, a name taken; a code for no pending enrolment) is a 400 or
//!   409 on the page the form came from, with the reason.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hyper::{Response, StatusCode};
use postern_auth::{
    AccountError, AppPasswordRecord, AuthOutcome, Scopes, SecondFactor, Secret, TotpEnrollment,
    TotpStatus,
};
use postern_store::UserId;

use super::http::{Form, html, see_other};
use super::pages::account_security as p;
use super::pages::layout::{Flash, Viewer};
use super::router::Route;
use super::{Call, status_page, unavailable};
use crate::{Body, query_param};

/// An enrolment on screen, waiting for its first code.
struct Pending {
    secret: Secret<String>,
    uri: Secret<String>,
    recovery: Vec<Secret<String>>,
    since: Instant,
}

/// The enrolments being shown, by user id (at most one per user, so the
/// map never holds more entries than there are users; expired ones go
/// whenever one is added).
#[derive(Default)]
pub struct Enrolments(Mutex<HashMap<i64, Pending>>);

impl Enrolments {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Pending>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn put(&self, user: i64, e: TotpEnrollment, ttl: Duration) {
        let mut m = self.lock();
        m.retain(|_, p| p.since.elapsed() < ttl);
        m.insert(
            user,
            Pending {
                secret: e.secret_base32,
                uri: e.uri,
                recovery: e.recovery_codes,
                since: Instant::now(),
            },
        );
    }

    /// The secret (grouped by four for typing) and the URI on screen.
    fn shown(&self, user: i64, ttl: Duration) -> Option<(String, String)> {
        let m = self.lock();
        let p = m.get(&user).filter(|p| p.since.elapsed() < ttl)?;
        let grouped = p
            .secret
            .expose()
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        Some((grouped, p.uri.expose().clone()))
    }

    /// Takes the entry out, for its recovery codes.
    fn take(&self, user: i64, ttl: Duration) -> Option<Vec<Secret<String>>> {
        self.lock()
            .remove(&user)
            .filter(|p| p.since.elapsed() < ttl)
            .map(|p| p.recovery)
    }

    fn forget(&self, user: i64) {
        self.lock().remove(&user);
    }
}

const TWO_FACTOR: &str = "/account/two-factor";

/// Who is asking: the session's user and id.
pub(crate) struct Me<'a> {
    pub user: UserId,
    pub sid: &'a str,
}

pub(crate) async fn handle(
    call: &Call<'_>,
    route: Route,
    v: &Viewer<'_>,
    me: &Me<'_>,
    form: &Form,
    flash: Flash,
) -> Response<Body> {
    let user = me.user.0;
    match route {
        Route::AppPasswords => app_passwords(call, v, user, StatusCode::OK, flash, None).await,
        Route::AppPasswordCreate => create(call, v, user, form).await,
        Route::AppPasswordRevokeConfirm => {
            let name = query_param(call.query, "name").unwrap_or_default();
            match find(call, user, &name).await {
                Ok(Some(r)) => html(StatusCode::OK, p::app_password_revoke(v, &r)),
                Ok(None) => no_such_app_password(),
                Err(e) => unavailable(e),
            }
        }
        Route::AppPasswordRevoke => revoke(call, v, user, form).await,
        Route::TwoFactor => two_factor(call, v, user, StatusCode::OK, flash).await,
        Route::TotpEnroll => enrol(call, v, user).await,
        Route::TotpConfirm => confirm(call, v, me, form).await,
        Route::TotpDisable => disable(call, v, user, form).await,
        Route::Devices => match call.console.directory.devices(user).await {
            Ok(rows) => html(StatusCode::OK, p::devices(v, &rows)),
            Err(e) => unavailable(e),
        },
        _ => status_page(StatusCode::NOT_FOUND, "Not found", "There is no such page."),
    }
}

fn no_such_app_password() -> Response<Body> {
    status_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "You have no app password of that name.",
    )
}

async fn find(
    call: &Call<'_>,
    user: i64,
    name: &str,
) -> Result<Option<AppPasswordRecord>, AccountError> {
    let name = name.trim();
    Ok(call
        .console
        .directory
        .app_password_list(user)
        .await?
        .into_iter()
        .find(|r| r.name == name))
}

async fn app_passwords(
    call: &Call<'_>,
    v: &Viewer<'_>,
    user: i64,
    status: StatusCode,
    flash: Flash,
    typed: Option<&Form>,
) -> Response<Body> {
    match call.console.directory.app_password_list(user).await {
        Ok(list) => html(status, p::app_passwords(v, &flash, &list, typed)),
        Err(e) => unavailable(e),
    }
}

async fn create(call: &Call<'_>, v: &Viewer<'_>, user: i64, form: &Form) -> Response<Body> {
    let chosen: Vec<&str> = p::SCOPE_FIELDS
        .iter()
        .map(|(field, _)| *field)
        .filter(|field| form.get(field) == "on")
        .collect();
    if chosen.is_empty() {
        let why = "Choose at least one protocol the app password opens.";
        return app_passwords(
            call,
            v,
            user,
            StatusCode::BAD_REQUEST,
            Flash::Error(why.into()),
            Some(form),
        )
        .await;
    }
    let made = match Scopes::parse(&chosen.join(",")) {
        Ok(scopes) => {
            call.console
                .directory
                .app_password_create(user, form.get("name"), scopes)
                .await
        }
        Err(e) => Err(e),
    };
    match made {
        // Not a redirect: the password is shown on this answer, once, and
        // kept nowhere for a later page.
        Ok(created) => html(
            StatusCode::OK,
            p::app_password_created(v, &created.record, &created.password),
        ),
        Err(AccountError::Backend(e)) => unavailable(e),
        Err(AccountError::Exists(what)) => {
            let why = format!("You already have {what}; choose another name.");
            app_passwords(
                call,
                v,
                user,
                StatusCode::CONFLICT,
                Flash::Error(why),
                Some(form),
            )
            .await
        }
        Err(AccountError::Invalid(why)) => {
            let why = format!("Not created: {why}.");
            app_passwords(
                call,
                v,
                user,
                StatusCode::BAD_REQUEST,
                Flash::Error(why),
                Some(form),
            )
            .await
        }
    }
}

async fn revoke(call: &Call<'_>, v: &Viewer<'_>, user: i64, form: &Form) -> Response<Body> {
    let name = form.get("name").trim();
    if name.is_empty() {
        let why = "The form names no app password.";
        return app_passwords(
            call,
            v,
            user,
            StatusCode::BAD_REQUEST,
            Flash::Error(why.into()),
            None,
        )
        .await;
    }
    match find(call, user, name).await {
        Ok(Some(_)) => {}
        Ok(None) => return no_such_app_password(),
        Err(e) => return unavailable(e),
    }
    if form.get("confirm") != "yes" {
        let why = "Revoking takes the confirmation step.";
        return app_passwords(
            call,
            v,
            user,
            StatusCode::BAD_REQUEST,
            Flash::Error(why.into()),
            None,
        )
        .await;
    }
    match call.console.directory.app_password_revoke(user, name).await {
        Ok(true) => {
            let done = format!("Revoked the app password {name:?}; logins with it are refused.");
            call.done("/account/app-passwords", Flash::Done(vec![done]))
        }
        // Revoked by another session (or the CLI) in between.
        Ok(false) => no_such_app_password(),
        Err(e) => unavailable(e),
    }
}

fn ttl(call: &Call<'_>) -> Duration {
    Duration::from_secs(u64::try_from(call.cfg.session.idle_secs).unwrap_or(0))
}

fn password_on_mail(call: &Call<'_>) -> bool {
    call.console.directory.config().password_on_mail_with_totp
}

async fn two_factor(
    call: &Call<'_>,
    v: &Viewer<'_>,
    user: i64,
    status: StatusCode,
    flash: Flash,
) -> Response<Body> {
    let state = match call.console.directory.totp_status(user).await {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let enrolments = &call.console.enrolments;
    if state == TotpStatus::Pending
        && let Some((secret, uri)) = enrolments.shown(user, ttl(call))
    {
        return html(status, p::two_factor_enrol(v, &flash, &secret, &uri));
    }
    if state != TotpStatus::Pending {
        enrolments.forget(user);
    }
    html(
        status,
        p::two_factor(v, &flash, state, password_on_mail(call)),
    )
}

async fn enrol(call: &Call<'_>, v: &Viewer<'_>, user: i64) -> Response<Body> {
    match call.console.directory.totp_enroll(user, v.address).await {
        Ok(e) => {
            // The page shows the pending enrolment's secret and QR code
            // (from `Enrolments`) until it is confirmed.
            call.console.enrolments.put(user, e, ttl(call));
            see_other(TWO_FACTOR)
        }
        Err(AccountError::Exists(_)) => {
            let why = "Two-factor login is already on.";
            two_factor(
                call,
                v,
                user,
                StatusCode::CONFLICT,
                Flash::Error(why.into()),
            )
            .await
        }
        Err(e) => unavailable(e),
    }
}

async fn confirm(call: &Call<'_>, v: &Viewer<'_>, me: &Me<'_>, form: &Form) -> Response<Body> {
    let user = me.user.0;
    let code = form.get("code").trim();
    if code.is_empty() {
        let why = "Enter the code your app shows.";
        return two_factor(
            call,
            v,
            user,
            StatusCode::BAD_REQUEST,
            Flash::Error(why.into()),
        )
        .await;
    }
    match call.console.directory.totp_confirm(user, code).await {
        Ok(true) => {
            let codes = call.console.enrolments.take(user, ttl(call));
            // Sessions opened before the second factor existed did not
            // pass it: they end, as after a password change.
            if let Err(e) = call
                .store
                .web_sessions_end_for_user(me.user, Some(me.sid))
                .await
            {
                return unavailable(e);
            }
            // Not a redirect: the recovery codes are shown on this answer,
            // once, and kept nowhere for a later page.
            html(
                StatusCode::OK,
                p::two_factor_on(v, codes.as_deref(), password_on_mail(call)),
            )
        }
        Ok(false) => {
            let (status, why) = match call.console.directory.totp_status(user).await {
                Ok(TotpStatus::Pending) => (
                    StatusCode::BAD_REQUEST,
                    "That code is not right (or was already used); check the time on your phone and enter the next one.",
                ),
                Ok(TotpStatus::Active { .. }) => {
                    (StatusCode::CONFLICT, "Two-factor login is already on.")
                }
                Ok(TotpStatus::Off) => (
                    StatusCode::CONFLICT,
                    "There is nothing to confirm: turn two-factor login on first.",
                ),
                Err(e) => return unavailable(e),
            };
            two_factor(call, v, user, status, Flash::Error(why.into())).await
        }
        Err(e) => unavailable(e),
    }
}

async fn disable(call: &Call<'_>, v: &Viewer<'_>, user: i64, form: &Form) -> Response<Body> {
    let dir = &call.console.directory;
    let state = match dir.totp_status(user).await {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let refuse =
        |status: StatusCode, why: &str| two_factor(call, v, user, status, Flash::Error(why.into()));
    if let TotpStatus::Active { .. } = state {
        let (code, password) = (form.get("code").trim(), form.get("password"));
        let proved = if !code.is_empty() {
            match dir.totp_verify(call.ip, user, code).await {
                Ok(SecondFactor::Accepted { .. }) => Ok(()),
                Ok(SecondFactor::Refused) => Err("That code is not right."),
                Ok(SecondFactor::Throttled { .. }) => {
                    Err("Too many wrong attempts; try again later.")
                }
                Err(e) => return unavailable(e),
            }
        } else if !password.is_empty() {
            let pw = Secret::new(password.to_string());
            match dir.authenticate("web", call.ip, v.address, &pw).await {
                AuthOutcome::Success(_) => Ok(()),
                AuthOutcome::Failed => Err("The password is not right."),
                AuthOutcome::Throttled { .. } => Err("Too many wrong attempts; try again later."),
                AuthOutcome::TempFail => return unavailable("login could not be checked"),
            }
        } else {
            Err("Enter a current code or your password.")
        };
        if let Err(why) = proved {
            return refuse(StatusCode::BAD_REQUEST, why).await;
        }
    }
    call.console.enrolments.forget(user);
    match dir.totp_disable(user).await {
        Ok(true) => {
            let done = "Two-factor login is off.".to_string();
            call.done(TWO_FACTOR, Flash::Done(vec![done]))
        }
        Ok(false) => refuse(StatusCode::CONFLICT, "Two-factor login is not on.").await,
        Err(e) => unavailable(e),
    }
}

#[cfg(test)]
mod tests;
