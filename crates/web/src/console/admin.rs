//! The admin pages' handlers. Lists are read from the store; every change
//! is an [`AdminAction`] run by the binary's CLI code (one implementation
//! of each command, on the command line and here). A name or id that does
//! not exist is a 404 before anything runs; a refusal of the command
//! (a bad address, a size that does not parse) is a 400 showing its
//! one-line reason on the page the form came from.

use hyper::{Response, StatusCode};
use postern_auth::Secret;

use super::backend::AdminAction;
use super::http::{Form, html};
use super::pages::admin::{self as p};
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

/// The outcome of an action as a flash, and the status to answer with.
fn outcome(r: Result<Vec<String>, String>) -> (StatusCode, Flash) {
    match r {
        Ok(lines) => (StatusCode::OK, Flash::Done(lines)),
        Err(why) => (StatusCode::BAD_REQUEST, Flash::Error(why)),
    }
}

fn lowercase(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

pub(crate) async fn handle(
    call: &Call<'_>,
    route: Route,
    v: &Viewer<'_>,
    form: &Form,
) -> Response<Body> {
    let admin = &call.console.admin;
    let q = |name: &str| query_param(call.query, name).unwrap_or_default();
    match route {
        Route::Dashboard => html(StatusCode::OK, p::dashboard(v, &admin.dashboard().await)),
        Route::Domains => domains(call, v, StatusCode::OK, Flash::None).await,
        Route::DomainAdd => {
            let (st, f) = outcome(
                admin
                    .run(AdminAction::DomainAdd {
                        domain: form.get("domain").into(),
                    })
                    .await,
            );
            domains(call, v, st, f).await
        }
        Route::DomainDelete => {
            let d = lowercase(form.get("domain"));
            match domain_exists(call, &d).await {
                Ok(true) => {}
                Ok(false) => return not_found("such domain"),
                Err(e) => return unavailable(e),
            }
            let (st, f) = outcome(admin.run(AdminAction::DomainDelete { domain: d }).await);
            domains(call, v, st, f).await
        }
        Route::Domain => domain(call, v, &lowercase(&q("name")), StatusCode::OK, Flash::None).await,
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
            let (st, f) = outcome(
                admin
                    .run(AdminAction::DkimRotate { domain: d.clone() })
                    .await,
            );
            domain(call, v, &d, st, f).await
        }
        Route::Users => users(call, v, StatusCode::OK, Flash::None).await,
        Route::UserAdd => {
            let action = AdminAction::UserAdd {
                address: form.get("address").into(),
                name: form.get("name").into(),
                quota: form.get("quota").into(),
                password: Secret::new(form.get("password").into()),
            };
            let (st, f) = outcome(admin.run(action).await);
            users(call, v, st, f).await
        }
        Route::User => {
            user(
                call,
                v,
                &lowercase(&q("address")),
                StatusCode::OK,
                Flash::None,
            )
            .await
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
        Route::Aliases => aliases(call, v, StatusCode::OK, Flash::None).await,
        Route::AliasAdd => {
            let action = AdminAction::AliasAdd {
                source: form.get("source").into(),
                target: form.get("target").into(),
            };
            let (st, f) = outcome(admin.run(action).await);
            aliases(call, v, st, f).await
        }
        Route::AliasDelete => {
            let (source, target) = (lowercase(form.get("source")), lowercase(form.get("target")));
            match call.store.alias_list(None).await {
                Ok(rows)
                    if rows.iter().any(|a| {
                        a.source == source && (target.is_empty() || a.target == target)
                    }) => {}
                Ok(_) => return not_found("such alias"),
                Err(e) => return unavailable(e),
            }
            let target = (!target.is_empty()).then_some(target);
            let (st, f) = outcome(admin.run(AdminAction::AliasDelete { source, target }).await);
            aliases(call, v, st, f).await
        }
        Route::Queue => queue(call, v, StatusCode::OK, Flash::None).await,
        Route::QueueItem => match q("id").parse::<i64>() {
            Ok(id) => queue_item(call, v, id, StatusCode::OK, Flash::None).await,
            Err(_) => status_page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "The message id is not a number.",
            ),
        },
        Route::QueueRetry | Route::QueueHold | Route::QueueRelease | Route::QueueDelete => {
            let Ok(id) = form.get("id").parse::<i64>() else {
                return status_page(
                    StatusCode::BAD_REQUEST,
                    "Bad request",
                    "The message id is not a number.",
                );
            };
            match call.store.queue_get(id).await {
                Ok(Some(_)) => {}
                Ok(None) => return not_found("such queued message"),
                Err(e) => return unavailable(e),
            }
            let action = match route {
                Route::QueueRetry => AdminAction::QueueRetry { id },
                Route::QueueHold => AdminAction::QueueHold { id, hold: true },
                Route::QueueRelease => AdminAction::QueueHold { id, hold: false },
                _ => AdminAction::QueueDelete { id },
            };
            let (st, f) = outcome(admin.run(action).await);
            if route == Route::QueueDelete {
                queue(call, v, st, f).await
            } else {
                queue_item(call, v, id, st, f).await
            }
        }
        Route::Blocks => blocks(call, v, StatusCode::OK, Flash::None).await,
        Route::BlockAdd => {
            let d = form.get("duration").trim();
            let action = AdminAction::BlockAdd {
                net: form.get("net").into(),
                duration: (!d.is_empty()).then(|| d.to_string()),
                reason: form.get("reason").into(),
            };
            let (st, f) = outcome(admin.run(action).await);
            blocks(call, v, st, f).await
        }
        Route::BlockDelete => {
            // The list's buttons carry the canonical text the store keeps.
            let net = form.get("net").trim();
            match call.store.blocks_active(super::now()).await {
                Ok(rows) if rows.iter().any(|b| b.net == net) => {}
                Ok(_) => return not_found("such block"),
                Err(e) => return unavailable(e),
            }
            let (st, f) = outcome(
                admin
                    .run(AdminAction::BlockDelete {
                        net: form.get("net").into(),
                    })
                    .await,
            );
            blocks(call, v, st, f).await
        }
        Route::Spam => {
            let own = match call.store.spam_prefs_users().await {
                Ok(n) => n,
                Err(e) => return unavailable(e),
            };
            let user = lowercase(&q("user"));
            if user.is_empty() {
                return html(StatusCode::OK, ops::spam(v, &Flash::None, "", &[], own));
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
                Ok(lines) => html(
                    StatusCode::OK,
                    ops::spam(v, &Flash::None, &user, &lines, own),
                ),
                Err(why) => html(
                    StatusCode::BAD_REQUEST,
                    ops::spam(v, &Flash::Error(why), &user, &[], own),
                ),
            }
        }
        _ => not_found("such page"),
    }
}

async fn domains(call: &Call<'_>, v: &Viewer<'_>, st: StatusCode, f: Flash) -> Response<Body> {
    match call.store.domain_list().await {
        Ok(rows) => html(st, p::domains(v, &f, &rows)),
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

async fn users(call: &Call<'_>, v: &Viewer<'_>, st: StatusCode, f: Flash) -> Response<Body> {
    match (call.store.user_list(None).await, call.store.admins().await) {
        (Ok(rows), Ok(admins)) => html(st, p::users(v, &f, &rows, &admins)),
        (Err(e), _) | (_, Err(e)) => unavailable(e),
    }
}

async fn user(
    call: &Call<'_>,
    v: &Viewer<'_>,
    address: &str,
    st: StatusCode,
    f: Flash,
) -> Response<Body> {
    match (
        call.store.user_get(address).await,
        call.store.admins().await,
    ) {
        (Ok(Some(u)), Ok(admins)) => {
            html(st, p::user(v, &f, &u, admins.iter().any(|a| a == address)))
        }
        (Ok(None), _) => not_found("such user"),
        (Err(e), _) | (_, Err(e)) => unavailable(e),
    }
}

async fn user_action(call: &Call<'_>, route: Route, v: &Viewer<'_>, form: &Form) -> Response<Body> {
    let address = lowercase(form.get("address"));
    match call.store.user_get(&address).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found("such user"),
        Err(e) => return unavailable(e),
    }
    let a = address.clone();
    let action = match route {
        Route::UserDelete if form.get("confirm") != "yes" => {
            return status_page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "Deleting a user needs the confirmation step.",
            );
        }
        Route::UserDelete => AdminAction::UserDelete { address: a },
        Route::UserQuota => AdminAction::UserQuota {
            address: a,
            quota: form.get("quota").into(),
            messages: form.get("messages").into(),
        },
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
            _ => {
                return status_page(
                    StatusCode::BAD_REQUEST,
                    "Bad request",
                    "admin must be on or off.",
                );
            }
        },
    };
    let (st, f) = outcome(call.console.admin.run(action).await);
    if route == Route::UserDelete {
        users(call, v, st, f).await
    } else {
        user(call, v, &address, st, f).await
    }
}

async fn aliases(call: &Call<'_>, v: &Viewer<'_>, st: StatusCode, f: Flash) -> Response<Body> {
    match call.store.alias_list(None).await {
        Ok(rows) => html(st, p::aliases(v, &f, &rows)),
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

async fn blocks(call: &Call<'_>, v: &Viewer<'_>, st: StatusCode, f: Flash) -> Response<Body> {
    match call.store.blocks_active(super::now()).await {
        Ok(rows) => html(st, ops::blocks(v, &f, &rows)),
        Err(e) => unavailable(e),
    }
}
