//! `/account/spam`: a user's own spam settings (their junk threshold and
//! whether clear spam is refused for them, beside the server's) and the
//! senders they allow or block. Every change is an [`AdminAction`] for the
//! viewer's own address, run by the CLI's code (`postern spam settings`,
//! `allow`, `block`, `unallow`, `unblock`), so the checks (the address or
//! domain, the per-user bound, the threshold's range) are made once.
//!
//! A change that was made answers 303 back to `/account/spam`, which shows
//! the command's line once ([`Call::done`]). A refusal is the page again
//! with its reason and what was typed: 400 for a form without a list or
//! with values the command refused, 404 for removing a sender that is not
//! on the list (checked here, before anything runs).

use hyper::{Response, StatusCode};
use postern_store::{SenderPattern, SenderRuleKind, UserId};

use super::backend::{AdminAction, SpamSenderChange};
use super::http::{Form, html};
use super::pages::account_spam as page;
use super::pages::layout::{Flash, Viewer};
use super::router::Route;
use super::{Call, status_page, unavailable};
use crate::Body;

const PAGE: &str = "/account/spam";

pub(crate) async fn handle(
    call: &Call<'_>,
    route: Route,
    v: &Viewer<'_>,
    user: UserId,
    form: &Form,
    flash: Flash,
) -> Response<Body> {
    let refused =
        |status: StatusCode, why: String| show(call, v, user, status, Flash::Error(why), form);
    let action = match route {
        Route::AccountSpam => {
            return show(call, v, user, StatusCode::OK, flash, &Form::default()).await;
        }
        Route::AccountSpamSettings => {
            // An empty field means "the server's".
            let or_default = |name: &str| match form.get(name).trim() {
                "" => "default".to_string(),
                s => s.to_string(),
            };
            AdminAction::SpamSettings {
                user: v.address.to_string(),
                junk_threshold: Some(or_default("junk_threshold")),
                reject: Some(or_default("reject")),
            }
        }
        Route::AccountSpamSenderAdd | Route::AccountSpamSenderRemove => {
            let add = route == Route::AccountSpamSenderAdd;
            let (change, kind) = match (form.get("list"), add) {
                ("allow", true) => (SpamSenderChange::Allow, SenderRuleKind::Allow),
                ("block", true) => (SpamSenderChange::Block, SenderRuleKind::Block),
                ("allow", false) => (SpamSenderChange::Unallow, SenderRuleKind::Allow),
                ("block", false) => (SpamSenderChange::Unblock, SenderRuleKind::Block),
                _ => {
                    let why = "The form names no list (allow or block).".to_string();
                    return refused(StatusCode::BAD_REQUEST, why).await;
                }
            };
            let sender = form.get("sender");
            if !add {
                // What is not on the list is a 404, as for any unknown id.
                let pattern = match SenderPattern::parse(sender) {
                    Ok(p) => p,
                    Err(why) => return refused(StatusCode::BAD_REQUEST, why).await,
                };
                match call.store.spam_prefs(user).await {
                    Ok(own) if own.senders.contains(&(pattern.clone(), kind)) => {}
                    Ok(_) => {
                        let list = if kind == SenderRuleKind::Allow {
                            "allowed"
                        } else {
                            "blocked"
                        };
                        let why = format!("{pattern} is not among your {list} senders.");
                        return refused(StatusCode::NOT_FOUND, why).await;
                    }
                    Err(e) => return unavailable(e),
                }
            }
            AdminAction::SpamSender {
                user: v.address.to_string(),
                change,
                sender: sender.to_string(),
            }
        }
        _ => return status_page(StatusCode::NOT_FOUND, "Not found", "There is no such page."),
    };
    match call.console.admin.run(action).await {
        // The page shows the settings themselves; the message says saved.
        Ok(lines) => {
            let lines = if route == Route::AccountSpamSettings {
                lines.into_iter().take(1).collect()
            } else {
                lines
            };
            call.done(PAGE, Flash::Done(lines))
        }
        Err(why) => refused(StatusCode::BAD_REQUEST, why).await,
    }
}

/// The page, with `flash` and (after a refusal) what was typed.
async fn show(
    call: &Call<'_>,
    v: &Viewer<'_>,
    user: UserId,
    status: StatusCode,
    flash: Flash,
    typed: &Form,
) -> Response<Body> {
    let own = match call.store.spam_prefs(user).await {
        Ok(p) => p,
        Err(e) => return unavailable(e),
    };
    let summary = call
        .console
        .admin
        .run(AdminAction::SpamSettings {
            user: v.address.to_string(),
            junk_threshold: None,
            reject: None,
        })
        .await;
    match summary {
        Ok(lines) => html(status, page::spam(v, &flash, &lines, &own, typed)),
        Err(e) => unavailable(e),
    }
}
