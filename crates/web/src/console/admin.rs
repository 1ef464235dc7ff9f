//! The admin pages' handlers. Lists are read from the store; every change
//! is an [`AdminAction`] run by the binary's CLI code (one implementation
//! of each command, on the command line and here).
//!
//! A form that did its work answers 303 to the page it came from, with
//! the command's lines shown once there ([`Call::done`]). A form that did
//! not is answered with that page again, its error and what was typed
//! (never a password): 400 when a field is missing or unreadable, 404 when
//! the name or id it acts on does not exist (checked before anything
//! runs), 409 when what it adds exists already, 422 when the command
//! refused the values (its one-line reason).

use hyper::{Response, StatusCode};
use postern_auth::Secret;

use super::backend::AdminAction;
use super::http::{Form, html};
use super::pages::admin::{self as p, query};
use super::pages::admin_ops as ops;
use super::pages::layout::{Flash, Viewer};
use super::router::Route;
use super::{Call, status_page, unavailable};
use crate::{Body, query_param};

async fn domain_exists(call: &Call<'_>, name: &str) -> postern_store::Result<bool> {
    Ok(call
        .store
        .domain_list()
        .await?
        .iter()
        .any(|d| d.name == name))
}

fn not_found(what: &str) -> Response<Body> {
    status_page(
        StatusCode::NOT_FOUND,
        "Not found",
        &format!("There is no {what}."),
    )
}

fn bad_request(why: &str) -> Response<Body> {
    status_page(StatusCode::BAD_REQUEST, "Bad request", why)
}

fn lowercase(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

/// The first of `names` the form left empty, as the 400's reason.
fn missing(form: &Form, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|n| form.get(n).trim().is_empty())
        .map(|n| format!("The form lacks {n}."))
}

/// How a form that did not work is answered: the status and the error
/// shown above the form.
struct Refusal(StatusCode, Flash);

impl Refusal {
    fn missing(why: String) -> Self {
        Refusal(StatusCode::BAD_REQUEST, Flash::Error(why))
    }

    fn exists(what: String) -> Self {
        Refusal(
            StatusCode::CONFLICT,
            Flash::Error(format!("{what} exists already.")),
        )
    }

    fn refused(why: String) -> Self {
        Refusal(StatusCode::UNPROCESSABLE_ENTITY, Flash::Error(why))
    }
}

/// Runs `action`: done, a 303 to `to`; refused, the command's reason.
async fn run(call: &Call<'_>, action: AdminAction, to: &str) -> Result<Response<Body>, Refusal> {
    match call.console.admin.run(action).await {
        Ok(lines) => Ok(call.done(to, Flash::Done(lines))),
        Err(why) => Err(Refusal::refused(why)),
    }
}

pub(crate) async fn handle(
    call: &Call<'_>,
    route: Route,
    v: &Viewer<'_>,
    form: &Form,
    flash: Flash,
) -> Response<Body> {
    let admin = &call.console.admin;
    let q = |name: &str| query_param(call.query, name).unwrap_or_default();
    let none = Form::default();
    match route {
        Route::Dashboard => html(StatusCode::OK, p::dashboard(v, &admin.dashboard().await)),
        Route::Domains => domains(call, v, StatusCode::OK, flash, &none).await,
        Route::DomainAdd => {
            let r = domain_add(call, form).await;
            settle(r, |Refusal(st, f)| domains(call, v, st, f, form)).await
        }
        Route::DomainDelete => {
            let d = lowercase(form.get("domain"));
            if d.is_empty() {
                return bad_request("The form lacks domain.");
            }
            match domain_exists(call, &d).await {
                Ok(true) => {}
                Ok(false) => return not_found("such domain"),
                Err(e) => return unavailable(e),
            }
            let r = run(
                call,
                AdminAction::DomainDelete { domain: d },
                "/admin/domains",
            )
            .await;
            settle(r, |Refusal(st, f)| domains(call, v, st, f, &none)).await
        }
        Route::Domain => domain(call, v, &lowercase(&q("name")), StatusCode::OK, flash).await,
        Route::DomainDoctor => {
            let name = lowercase(&q("name"));
            match domain_exists(call, &name).await {
                Ok(true) => {}
                Ok(false) => return not_found("such domain"),
                Err(e) => return unavailable(e),
            }
            match admin
                .run(AdminAction::DomainDoctor {
                    domain: name.clone(),
                })
                .await
            {
                Ok(lines) => html(StatusCode::OK, p::doctor(v, &name, &lines)),
                Err(why) => html(StatusCode::BAD_GATEWAY, p::doctor(v, &name, &[why])),
            }
        }
        Route::DkimRotate => {
            let d = lowercase(form.get("domain"));
            if d.is_empty() {
                return bad_request("The form lacks domain.");
            }
            match domain_exists(call, &d).await {
                Ok(true) => {}
                Ok(false) => return not_found("such domain"),
                Err(e) => return unavailable(e),
            }
            let to = format!("/admin/domain{}", query("name", &d));
            let r = run(call, AdminAction::DkimRotate { domain: d.clone() }, &to).await;
            settle(r, |Refusal(st, f)| domain(call, v, &d, st, f)).await
        }
        Route::Users => users(call, v, StatusCode::OK, flash, &none).await,
        Route::UserAdd => {
            let r = user_add(call, form).await;
            settle(r, |Refusal(st, f)| users(call, v, st, f, form)).await
        }
        Route::User => {
            let address = lowercase(&q("address"));
            user(call, v, &address, StatusCode::OK, flash, &none).await
        }
        Route::UserDeleteConfirm => match call.store.user_get(&lowercase(&q("address"))).await {
            Ok(Some(u)) => html(StatusCode::OK, p::user_delete(v, &u)),
            Ok(None) => not_found("such user"),
            Err(e) => unavailable(e),
        },
        Route::UserDelete
        | Route::UserQuota
        | Route::UserPassword
        | Route::UserDisable
        | Route::UserEnable
        | Route::UserAdmin => user_action(call, route, v, form).await,
        Route::Aliases => aliases(call, v, StatusCode::OK, flash, &none).await,
        Route::AliasAdd => {
            let r = alias_add(call, form).await;
            settle(r, |Refusal(st, f)| aliases(call, v, st, f, form)).await
        }
        Route::AliasDelete => {
            let (source, target) = (lowercase(form.get("source")), lowercase(form.get("target")));
            if source.is_empty() {
                return bad_request("The form lacks source.");
            }
            match call.store.alias_list(None).await {
                Ok(rows)
                    if rows.iter().any(|a| {
                        a.source == source && (target.is_empty() || a.target == target)
                    }) => {}
                Ok(_) => return not_found("such alias"),
                Err(e) => return unavailable(e),
            }
            let target = (!target.is_empty()).then_some(target);
            let action = AdminAction::AliasDelete { source, target };
            let r = run(call, action, "/admin/aliases").await;
            settle(r, |Refusal(st, f)| aliases(call, v, st, f, &none)).await
        }
        Route::Queue => queue(call, v, StatusCode::OK, flash).await,
        Route::QueueItem => match q("id").parse::<i64>() {
            Ok(id) => queue_item(call, v, id, StatusCode::OK, flash).await,
            Err(_) => bad_request("The message id is not a number."),
        },
        Route::QueueRetry | Route::QueueHold | Route::QueueRelease | Route::QueueDelete => {
            queue_action(call, route, v, form).await
        }
        Route::Blocks => blocks(call, v, StatusCode::OK, flash, &none).await,
        Route::BlockAdd => {
            let r = match missing(form, &["net"]) {
                Some(why) => Err(Refusal::missing(why)),
                None => {
                    let d = form.get("duration").trim();
                    let action = AdminAction::BlockAdd {
                        net: form.get("net").into(),
                        duration: (!d.is_empty()).then(|| d.to_string()),
                        reason: form.get("reason").into(),
                    };
                    run(call, action, "/admin/blocks").await
                }
            };
            settle(r, |Refusal(st, f)| blocks(call, v, st, f, form)).await
        }
        Route::BlockDelete => {
            // The list's buttons carry the canonical text the store keeps.
            let net = form.get("net").trim();
            if net.is_empty() {
                return bad_request("The form lacks net.");
            }
            match call.store.blocks_active(super::now()).await {
                Ok(rows) if rows.iter().any(|b| b.net == net) => {}
                Ok(_) => return not_found("such block"),
                Err(e) => return unavailable(e),
            }
            let action = AdminAction::BlockDelete { net: net.into() };
            let r = run(call, action, "/admin/blocks").await;
            settle(r, |Refusal(st, f)| blocks(call, v, st, f, &none)).await
        }
        Route::Spam => {
            let own = match call.store.spam_prefs_users().await {
                Ok(n) => n,
                Err(e) => return unavailable(e),
            };
            let user = lowercase(&q("user"));
            if user.is_empty() {
                return html(StatusCode::OK, ops::spam(v, &flash, "", &[], own));
            }
            match call.store.user_get(&user).await {
                Ok(Some(_)) => {}
                Ok(None) => return not_found("such user"),
                Err(e) => return unavailable(e),
            }
            match admin
                .run(AdminAction::SpamStats { user: user.clone() })
                .await
            {
                Ok(lines) => html(StatusCode::OK, ops::spam(v, &flash, &user, &lines, own)),
                Err(why) => html(
                    StatusCode::BAD_REQUEST,
                    ops::spam(v, &Flash::Error(why), &user, &[], own),
                ),
            }
        }
        _ => not_found("such page"),
    }
}

/// The answer to a form: its redirect, or the page again with the refusal.
async fn settle<F, Fut>(r: Result<Response<Body>, Refusal>, again: F) -> Response<Body>
where
    F: FnOnce(Refusal) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    match r {
        Ok(done) => done,
        Err(refusal) => again(refusal).await,
    }
}

async fn domain_add(call: &Call<'_>, form: &Form) -> Result<Response<Body>, Refusal> {
    if let Some(why) = missing(form, &["domain"]) {
        return Err(Refusal::missing(why));
    }
    let name = lowercase(form.get("domain"));
    match domain_exists(call, &name).await {
        Ok(false) => {}
        Ok(true) => return Err(Refusal::exists(format!("The domain {name}"))),
        Err(e) => return Ok(unavailable(e)),
    }
    let action = AdminAction::DomainAdd {
        domain: form.get("domain").into(),
    };
    run(call, action, "/admin/domains").await
}

async fn user_add(call: &Call<'_>, form: &Form) -> Result<Response<Body>, Refusal> {
    if let Some(why) = missing(form, &["address", "password"]) {
        return Err(Refusal::missing(why));
    }
    let address = lowercase(form.get("address"));
    match call.store.user_get(&address).await {
        Ok(None) => {}
        Ok(Some(_)) => return Err(Refusal::exists(format!("The user {address}"))),
        Err(e) => return Ok(unavailable(e)),
    }
    let action = AdminAction::UserAdd {
        address: form.get("address").into(),
        name: form.get("name").into(),
        quota: form.get("quota").into(),
        password: Secret::new(form.get("password").into()),
    };
    run(call, action, "/admin/users").await
}

async fn alias_add(call: &Call<'_>, form: &Form) -> Result<Response<Body>, Refusal> {
    if let Some(why) = missing(form, &["source", "target"]) {
        return Err(Refusal::missing(why));
    }
    let (source, target) = (lowercase(form.get("source")), lowercase(form.get("target")));
    match call.store.alias_list(None).await {
        Ok(rows)
            if rows
                .iter()
                .any(|a| a.source == source && a.target == target) =>
        {
            return Err(Refusal::exists(format!("The alias {source} to {target}")));
        }
        Ok(_) => {}
        Err(e) => return Ok(unavailable(e)),
    }
    let action = AdminAction::AliasAdd {
        source: form.get("source").into(),
        target: form.get("target").into(),
    };
    run(call, action, "/admin/aliases").await
}

async fn user_action(call: &Call<'_>, route: Route, v: &Viewer<'_>, form: &Form) -> Response<Body> {
    let address = lowercase(form.get("address"));
    if address.is_empty() {
        return bad_request("The form lacks address.");
    }
    match call.store.user_get(&address).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found("such user"),
        Err(e) => return unavailable(e),
    }
    let a = address.clone();
    let action = match route {
        Route::UserDelete if form.get("confirm") != "yes" => {
            return bad_request("Deleting a user needs the confirmation step.");
        }
        Route::UserDelete => AdminAction::UserDelete { address: a },
        Route::UserQuota => AdminAction::UserQuota {
            address: a,
            quota: form.get("quota").into(),
            messages: form.get("messages").into(),
        },
        Route::UserPassword if form.get("password").is_empty() => {
            return bad_request("The form lacks password.");
        }
        Route::UserPassword => AdminAction::UserPassword {
            address: a,
            password: Secret::new(form.get("password").into()),
        },
        Route::UserDisable => AdminAction::UserDisable {
            address: a,
            disabled: true,
        },
        Route::UserEnable => AdminAction::UserDisable {
            address: a,
            disabled: false,
        },
        _ => match form.get("admin") {
            "on" => AdminAction::UserAdmin {
                address: a,
                admin: true,
            },
            "off" => AdminAction::UserAdmin {
                address: a,
                admin: false,
            },
            _ => return bad_request("admin must be on or off."),
        },
    };
    let to = if route == Route::UserDelete {
        "/admin/users".to_string()
    } else {
        format!("/admin/user{}", query("address", &address))
    };
    let r = run(call, action, &to).await;
    // A refused quota shows what was typed; other forms have no values.
    let typed = if route == Route::UserQuota {
        form
    } else {
        &Form::default()
    };
    settle(r, |Refusal(st, f)| user(call, v, &address, st, f, typed)).await
}

async fn queue_action(
    call: &Call<'_>,
    route: Route,
    v: &Viewer<'_>,
    form: &Form,
) -> Response<Body> {
    let Ok(id) = form.get("id").parse::<i64>() else {
        return bad_request("The message id is not a number.");
    };
    match call.store.queue_get(id).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found("such queued message"),
        Err(e) => return unavailable(e),
    }
    let (action, to) = match route {
        Route::QueueDelete => (AdminAction::QueueDelete { id }, "/admin/queue".to_string()),
        _ => {
            let action = match route {
                Route::QueueRetry => AdminAction::QueueRetry { id },
                Route::QueueHold => AdminAction::QueueHold { id, hold: true },
                _ => AdminAction::QueueHold { id, hold: false },
            };
            (
                action,
                format!("/admin/queue/item{}", query("id", &id.to_string())),
            )
        }
    };
    let r = run(call, action, &to).await;
    settle(r, |Refusal(st, f)| queue_item(call, v, id, st, f)).await
}

async fn domains(
    call: &Call<'_>,
    v: &Viewer<'_>,
    st: StatusCode,
    f: Flash,
    typed: &Form,
) -> Response<Body> {
    match call.store.domain_list().await {
        Ok(rows) => html(st, p::domains(v, &f, &rows, typed)),
        Err(e) => unavailable(e),
    }
}

async fn domain(
    call: &Call<'_>,
    v: &Viewer<'_>,
    name: &str,
    st: StatusCode,
    f: Flash,
) -> Response<Body> {
    match domain_exists(call, name).await {
        Ok(true) => {}
        Ok(false) => return not_found("such domain"),
        Err(e) => return unavailable(e),
    }
    let admin = &call.console.admin;
    let dns = admin
        .run(AdminAction::DomainDns {
            domain: name.into(),
        })
        .await;
    let keys = admin
        .run(AdminAction::DkimList {
            domain: name.into(),
        })
        .await;
    match (dns, keys) {
        (Ok(dns), Ok(keys)) => html(st, p::domain(v, &f, name, &dns, &keys)),
        (Err(e), _) | (_, Err(e)) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            p::domain(v, &Flash::Error(e), name, &[], &[]),
        ),
    }
}

async fn users(
    call: &Call<'_>,
    v: &Viewer<'_>,
    st: StatusCode,
    f: Flash,
    typed: &Form,
) -> Response<Body> {
    match (call.store.user_list(None).await, call.store.admins().await) {
        (Ok(rows), Ok(admins)) => html(st, p::users(v, &f, &rows, &admins, typed)),
        (Err(e), _) | (_, Err(e)) => unavailable(e),
    }
}

async fn user(
    call: &Call<'_>,
    v: &Viewer<'_>,
    address: &str,
    st: StatusCode,
    f: Flash,
    typed: &Form,
) -> Response<Body> {
    match (
        call.store.user_get(address).await,
        call.store.admins().await,
    ) {
        (Ok(Some(u)), Ok(admins)) => {
            let admin = admins.iter().any(|a| a == address);
            html(st, p::user(v, &f, &u, admin, typed))
        }
        (Ok(None), _) => not_found("such user"),
        (Err(e), _) | (_, Err(e)) => unavailable(e),
    }
}

async fn aliases(
    call: &Call<'_>,
    v: &Viewer<'_>,
    st: StatusCode,
    f: Flash,
    typed: &Form,
) -> Response<Body> {
    match call.store.alias_list(None).await {
        Ok(rows) => html(st, p::aliases(v, &f, &rows, typed)),
        Err(e) => unavailable(e),
    }
}

async fn queue(call: &Call<'_>, v: &Viewer<'_>, st: StatusCode, f: Flash) -> Response<Body> {
    match call.store.queue_list().await {
        Ok(rows) => html(st, ops::queue(v, &f, &rows)),
        Err(e) => unavailable(e),
    }
}

async fn queue_item(
    call: &Call<'_>,
    v: &Viewer<'_>,
    id: i64,
    st: StatusCode,
    f: Flash,
) -> Response<Body> {
    let held = match call.store.queue_get(id).await {
        Ok(Some(e)) => e.held,
        Ok(None) => return not_found("such queued message"),
        Err(e) => return unavailable(e),
    };
    match call.console.admin.run(AdminAction::QueueShow { id }).await {
        Ok(lines) => html(st, ops::queue_item(v, &f, id, held, &lines)),
        Err(why) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            ops::queue_item(v, &Flash::Error(why), id, held, &[]),
        ),
    }
}

async fn blocks(
    call: &Call<'_>,
    v: &Viewer<'_>,
    st: StatusCode,
    f: Flash,
    typed: &Form,
) -> Response<Body> {
    match call.store.blocks_active(super::now()).await {
        Ok(rows) => html(st, ops::blocks(v, &f, &rows, typed)),
        Err(e) => unavailable(e),
    }
}
