//! `/account/spam`: a user's own spam settings (their junk threshold and
//! whether clear spam is refused for them, beside the server's) and the
//! senders they allow or block. Every change is an [`AdminAction`] for the
//! viewer's own address, run by the CLI's code (`postern spam settings`,
//! `allow`, `block`, `unallow`, `unblock`), so the checks (the address or
//! domain, the per-user bound, the threshold's range) are made once; a
//! refusal is a 400 with its reason on the same page.

use hyper::{Response, StatusCode};
use postern_store::UserId;

use super::backend::{AdminAction, SpamSenderChange};
use super::http::{Form, html};
use super::pages::account_spam as page;
use super::pages::layout::{Flash, Viewer};
use super::router::Route;
use super::{Call, status_page, unavailable};
use crate::Body;

pub(crate) async fn handle(
    call: &Call<'_>,
    route: Route,
    v: &Viewer<'_>,
    user: UserId,
    form: &Form,
) -> Response<Body> {
    let admin = &call.console.admin;
    let sender_change = |add: bool| match (form.get("list"), add) {
        ("allow", true) => Some(SpamSenderChange::Allow),
        ("block", true) => Some(SpamSenderChange::Block),
        ("allow", false) => Some(SpamSenderChange::Unallow),
        ("block", false) => Some(SpamSenderChange::Unblock),
        _ => None,
    };
    let result = match route {
        Route::AccountSpam => None,
        Route::AccountSpamSettings => {
            // An empty field means "the server's".
            let or_default = |name: &str| match form.get(name).trim() {
                "" => "default".to_string(),
                s => s.to_string(),
            };
            let r = admin
                .run(AdminAction::SpamSettings {
                    user: v.address.to_string(),
                    junk_threshold: Some(or_default("junk_threshold")),
                    reject: Some(or_default("reject")),
                })
                .await;
            // The page shows the settings themselves; the flash says saved.
            Some(r.map(|lines| lines.into_iter().take(1).collect()))
        }
        Route::AccountSpamSenderAdd | Route::AccountSpamSenderRemove => {
            let Some(change) = sender_change(route == Route::AccountSpamSenderAdd) else {
                return status_page(
                    StatusCode::BAD_REQUEST,
                    "Bad request",
                    "The form names no list (allow or block).",
                );
            };
            Some(
                admin
                    .run(AdminAction::SpamSender {
                        user: v.address.to_string(),
                        change,
                        sender: form.get("sender").to_string(),
                    })
                    .await,
            )
        }
        _ => return status_page(StatusCode::NOT_FOUND, "Not found", "There is no such page."),
    };
    let (status, flash) = match result {
        None => (StatusCode::OK, Flash::None),
        Some(Ok(lines)) => (StatusCode::OK, Flash::Done(lines)),
        Some(Err(why)) => (StatusCode::BAD_REQUEST, Flash::Error(why)),
    };
    let own = match call.store.spam_prefs(user).await {
        Ok(p) => p,
        Err(e) => return unavailable(e),
    };
    let summary = admin
        .run(AdminAction::SpamSettings {
            user: v.address.to_string(),
            junk_threshold: None,
            reject: None,
        })
        .await;
    match summary {
        Ok(lines) => html(status, page::spam(v, &flash, &lines, &own)),
        Err(e) => unavailable(e),
    }
}
