//! The account handlers that write Sieve: `/account/vacation` and
//! `/account/filters` (the console's own script, [`own_script`]), and the
//! raw editor under `/account/sieve`. Every script is judged before it is
//! stored by [`Account::check_script`] (ManageSieve's quota and the
//! compiler delivery runs it with): a refusal is shown and nothing is
//! saved. The console's script is made active only when no other script
//! is, or when the user asks (RFC 5804 §2.8: one script runs).
//!
//! A change that was made answers 303 back to its page, which says so once
//! ([`Call::done`]); a refusal is the page again with its reason and what
//! was typed: 400 for a missing or unreadable field or a script the
//! checker refused, 404 for a rule or script that does not exist, 409 for
//! deleting the active script.
//!
//! [`Account::check_script`]: super::backend::Account::check_script

use hyper::{Response, StatusCode};
use postern_store::{SieveChange, UserId};

use super::http::{Form, html};
use super::own_script::{Action, Field, OwnScript, Rule, SCRIPT_NAME, Vacation};
use super::pages::account_sieve as pages;
use super::pages::layout::{Flash, Viewer};
use super::router::Route;
use super::{Call, status_page, unavailable};
use crate::Body;

/// Longest one-line value a rule or the reply's subject takes.
const MAX_TEXT: usize = 200;
/// Longest reply text.
const MAX_BODY: usize = 8 * 1024;
/// Most `:addresses` a reply lists.
const MAX_ADDRESSES: usize = 20;
/// Longest script name (RFC 5804 §1.6 asks for at least 128 characters).
const MAX_NAME: usize = 512;

/// What a form that did its work says on the page it returns to.
fn done(text: &str) -> Flash {
    Flash::Done(vec![text.into()])
}

pub(crate) async fn handle(
    call: &Call<'_>,
    route: Route,
    v: &Viewer<'_>,
    user: UserId,
    form: &Form,
    flash: Flash,
) -> Response<Body> {
    match route {
        Route::Vacation => match load(call, user).await {
            Ok((own, other)) => html(
                StatusCode::OK,
                pages::vacation(v, &own.vacation, other.as_deref(), &flash),
            ),
            Err(r) => r,
        },
        Route::VacationSave => vacation_save(call, v, user, form).await,
        Route::Filters => match load(call, user).await {
            Ok((own, other)) => html(
                StatusCode::OK,
                pages::filters(
                    v,
                    &own.rules,
                    call.console.account.forwarding(),
                    other.as_deref(),
                    None,
                    &flash,
                ),
            ),
            Err(r) => r,
        },
        Route::FilterAdd | Route::FilterDelete | Route::FilterMove => {
            filters_change(call, route, v, user, form).await
        }
        Route::Scripts => scripts(call, v, user, StatusCode::OK, flash).await,
        Route::ScriptEdit => {
            let name = crate::query_param(call.query, "name").unwrap_or_default();
            if name.is_empty() {
                return html(StatusCode::OK, pages::editor(v, "", "", None, &flash));
            }
            match call.store.sieve_get(user, &name).await {
                Ok(Some(text)) => {
                    html(StatusCode::OK, pages::editor(v, &name, &text, None, &flash))
                }
                Ok(None) => no_script(),
                Err(e) => unavailable(e),
            }
        }
        Route::ScriptSave => script_save(call, v, user, form).await,
        Route::ScriptActivate => {
            // No name: no script is to run.
            let name = form.get("name");
            let which = (!name.is_empty()).then_some(name);
            match call.store.sieve_activate(user, which).await {
                Ok(SieveChange::Done) if which.is_some() => {
                    call.done(SCRIPTS, done("The script is active."))
                }
                Ok(SieveChange::Done) => call.done(SCRIPTS, done("No script is active now.")),
                Ok(_) => no_script(),
                Err(e) => unavailable(e),
            }
        }
        Route::ScriptDelete => {
            let name = form.get("name");
            if name.is_empty() {
                let why = Flash::Error("The form names no script.".into());
                return scripts(call, v, user, StatusCode::BAD_REQUEST, why).await;
            }
            match call.store.sieve_delete(user, name).await {
                Ok(SieveChange::Done) => call.done(SCRIPTS, done("Deleted.")),
                Ok(SieveChange::Active) => {
                    let why = "The active script cannot be deleted; deactivate it first.";
                    let why = Flash::Error(why.into());
                    scripts(call, v, user, StatusCode::CONFLICT, why).await
                }
                Ok(_) => no_script(),
                Err(e) => unavailable(e),
            }
        }
        _ => status_page(StatusCode::NOT_FOUND, "Not found", "There is no such page."),
    }
}

const SCRIPTS: &str = "/account/sieve";

/// The list of scripts, with `flash`.
async fn scripts(
    call: &Call<'_>,
    v: &Viewer<'_>,
    user: UserId,
    status: StatusCode,
    flash: Flash,
) -> Response<Body> {
    match call.store.sieve_list(user).await {
        Ok(list) => html(
            status,
            pages::scripts(v, &list, call.console.account.script_limits(), &flash),
        ),
        Err(e) => unavailable(e),
    }
}

fn no_script() -> Response<Body> {
    status_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "You have no script of that name.",
    )
}

/// The console's settings and the name of another active script, if one
/// is.
async fn load(
    call: &Call<'_>,
    user: UserId,
) -> Result<(OwnScript, Option<String>), Response<Body>> {
    let own = match call.store.sieve_get(user, SCRIPT_NAME).await {
        Ok(text) => text.map(|t| OwnScript::parse(&t)).unwrap_or_default(),
        Err(e) => return Err(unavailable(e)),
    };
    let other = match call.store.sieve_active(user).await {
        Ok(active) => active.map(|(name, _)| name).filter(|n| n != SCRIPT_NAME),
        Err(e) => return Err(unavailable(e)),
    };
    Ok((own, other))
}

/// How storing the console's script went.
enum Saved {
    Active,
    /// Stored; another script stays active.
    Inactive,
    /// Refused: the checker's words.
    Refused(String),
}

/// Checks and stores `own`; makes it active when no other script is, or
/// when `replace`.
async fn save_own(
    call: &Call<'_>,
    user: UserId,
    own: &OwnScript,
    replace: bool,
) -> Result<Saved, Response<Body>> {
    let text = own.render();
    let existing = call.store.sieve_list(user).await.map_err(unavailable)?;
    let other = existing.iter().any(|s| s.active && s.name != SCRIPT_NAME);
    let checked = call
        .console
        .account
        .check_script(existing, SCRIPT_NAME.to_string(), text.clone())
        .await;
    if let Err(p) = checked {
        return Ok(Saved::Refused(p.to_string()));
    }
    call.store
        .sieve_put(user, SCRIPT_NAME, text)
        .await
        .map_err(unavailable)?;
    if other && !replace {
        return Ok(Saved::Inactive);
    }
    call.store
        .sieve_activate(user, Some(SCRIPT_NAME))
        .await
        .map_err(unavailable)?;
    Ok(Saved::Active)
}

/// Where a page goes after its settings were stored: back to `path`,
/// saying so, or the refusal.
fn saved_to(
    call: &Call<'_>,
    path: &str,
    saved: Saved,
    refused: impl FnOnce(String) -> Response<Body>,
) -> Response<Body> {
    match saved {
        Saved::Active => call.done(path, done("Saved.")),
        Saved::Inactive => call.done(
            path,
            done("Saved, but not active: another script is (see above)."),
        ),
        Saved::Refused(why) => refused(why),
    }
}

/// One line of text from a form field: trimmed, without line breaks.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ").trim().to_string()
}

/// A plain `local@domain` address, as `redirect` and `:addresses` take.
fn is_address(a: &str) -> bool {
    a.len() <= 254
        && a.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty()
                && !d.is_empty()
                && !d.contains('@')
                && a.chars()
                    .all(|c| c.is_ascii_graphic() && !"\"\\<>(),;:[]".contains(c))
        })
}

fn read_vacation(form: &Form) -> Result<Vacation, String> {
    let date = |field: &str, what: &str| -> Result<Option<String>, String> {
        let d = form.get(field).trim();
        if d.is_empty() {
            return Ok(None);
        }
        if !postern_net::is_calendar_date(d) {
            return Err(format!("The {what} day is not a date such as 2027-01-31."));
        }
        Ok(Some(d.to_string()))
    };
    let start = date("start", "first")?;
    let end = date("end", "last")?;
    if let (Some(s), Some(e)) = (&start, &end)
        && s > e
    {
        return Err("The last day is before the first.".into());
    }
    let days: u32 = match form.get("days").trim() {
        "" => 7,
        d => d
            .parse()
            .ok()
            .filter(|n| (1..=365).contains(n))
            .ok_or("The days between replies must be a number from 1 to 365.")?,
    };
    let subject = one_line(form.get("subject"));
    let body = form.get("body").replace("\r\n", "\n");
    if subject.chars().count() > MAX_TEXT {
        return Err(format!("The subject is longer than {MAX_TEXT} characters."));
    }
    if body.len() > MAX_BODY {
        return Err(format!("The message is longer than {MAX_BODY} bytes."));
    }
    let on = !form.get("on").is_empty();
    if on && body.trim().is_empty() {
        return Err("The reply needs a message.".into());
    }
    let addresses: Vec<String> = form
        .get("addresses")
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    if addresses.len() > MAX_ADDRESSES {
        return Err(format!("At most {MAX_ADDRESSES} other addresses."));
    }
    if let Some(bad) = addresses.iter().find(|a| !is_address(a)) {
        return Err(format!("{bad} is not an email address."));
    }
    Ok(Vacation {
        on,
        subject: if subject.is_empty() {
            "Out of office".into()
        } else {
            subject
        },
        body,
        start,
        end,
        days,
        addresses,
    })
}

async fn vacation_save(
    call: &Call<'_>,
    v: &Viewer<'_>,
    user: UserId,
    form: &Form,
) -> Response<Body> {
    let (mut own, other) = match load(call, user).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let refuse = |vac: &Vacation, why: String| {
        html(
            StatusCode::BAD_REQUEST,
            pages::vacation(v, vac, other.as_deref(), &Flash::Error(why)),
        )
    };
    own.vacation = match read_vacation(form) {
        Ok(vac) => vac,
        Err(why) => return refuse(&own.vacation, why),
    };
    match save_own(call, user, &own, !form.get("replace").is_empty()).await {
        Ok(saved) => saved_to(call, "/account/vacation", saved, |why| {
            refuse(&own.vacation, why)
        }),
        Err(r) => r,
    }
}

fn read_rule(form: &Form, forwarding: bool) -> Result<Rule, (Rule, String)> {
    let field = match form.get("field") {
        "from" => Field::From,
        "to" => Field::To,
        "header" => Field::Header,
        _ => Field::Subject,
    };
    let action = match form.get("action") {
        "read" => Action::Read,
        "discard" => Action::Discard,
        "forward" => Action::Forward,
        _ => Action::Move,
    };
    let rule = Rule {
        field,
        header: if field == Field::Header {
            one_line(form.get("header"))
        } else {
            String::new()
        },
        contains: one_line(form.get("contains")),
        action,
        target: match action {
            Action::Move | Action::Forward => one_line(form.get("target")),
            _ => String::new(),
        },
    };
    let why = if rule.contains.is_empty() {
        Some("Say what the message should contain.".to_string())
    } else if rule.contains.chars().count() > MAX_TEXT || rule.target.chars().count() > MAX_TEXT {
        Some(format!("Texts are at most {MAX_TEXT} characters."))
    } else if field == Field::Header
        && (rule.header.is_empty()
            || rule.header.len() > 76
            // RFC 5322 §3.6.8: printable ASCII but the colon.
            || !rule.header.bytes().all(|b| (33..=126).contains(&b) && b != b':'))
    {
        Some("Name the header field, such as X-Mailer.".to_string())
    } else if action == Action::Move
        && (rule.target.is_empty() || rule.target.chars().any(char::is_control))
    {
        Some("Name the folder to move the message to.".to_string())
    } else if action == Action::Forward && !forwarding {
        Some("Forwarding is turned off on this server.".to_string())
    } else if action == Action::Forward && !is_address(&rule.target) {
        Some("Give the address to forward to, such as you@example.net.".to_string())
    } else {
        None
    };
    match why {
        Some(why) => Err((rule, why)),
        None => Ok(rule),
    }
}

async fn filters_change(
    call: &Call<'_>,
    route: Route,
    v: &Viewer<'_>,
    user: UserId,
    form: &Form,
) -> Response<Body> {
    let (mut own, other) = match load(call, user).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let forwarding = call.console.account.forwarding();
    let refuse = |rules: &[Rule], draft: Option<&Rule>, why: String| {
        html(
            StatusCode::BAD_REQUEST,
            pages::filters(
                v,
                rules,
                forwarding,
                other.as_deref(),
                draft,
                &Flash::Error(why),
            ),
        )
    };
    let mut draft = None;
    match route {
        Route::FilterAdd => match read_rule(form, forwarding) {
            Ok(rule) => {
                own.rules.push(rule.clone());
                draft = Some(rule);
            }
            Err((rule, why)) => return refuse(&own.rules, Some(&rule), why),
        },
        _ => {
            let Ok(i) = form.get("rule").parse::<usize>() else {
                return refuse(&own.rules, None, "The form names no rule.".into());
            };
            if i >= own.rules.len() {
                return status_page(StatusCode::NOT_FOUND, "Not found", "There is no such rule.");
            }
            if route == Route::FilterDelete {
                own.rules.remove(i);
            } else {
                let j = match form.get("to") {
                    "up" if i > 0 => i - 1,
                    "down" if i + 1 < own.rules.len() => i + 1,
                    _ => return refuse(&own.rules, None, "That rule cannot move that way.".into()),
                };
                own.rules.swap(i, j);
            }
        }
    }
    match save_own(call, user, &own, !form.get("replace").is_empty()).await {
        Ok(saved) => saved_to(call, "/account/filters", saved, |why| {
            // The new rule is shown back in the form, not in the list.
            let kept = if draft.is_some() {
                &own.rules[..own.rules.len() - 1]
            } else {
                &own.rules[..]
            };
            refuse(kept, draft.as_ref(), format!("Not saved: {why}"))
        }),
        Err(r) => r,
    }
}

/// RFC 5804 §1.6 names: not empty, no control characters, bounded.
fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("The script needs a name.")
    } else if name.len() > MAX_NAME {
        Some("The name is too long.")
    } else if name
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
    {
        Some("The name holds a control character.")
    } else {
        None
    }
}

async fn script_save(call: &Call<'_>, v: &Viewer<'_>, user: UserId, form: &Form) -> Response<Body> {
    let name = form.get("name").trim();
    let text = form.get("script");
    let refuse = |p: super::backend::ScriptProblem| {
        html(
            StatusCode::BAD_REQUEST,
            pages::editor(v, name, text, Some(&p), &Flash::None),
        )
    };
    if let Some(why) = name_problem(name) {
        return refuse(super::backend::ScriptProblem {
            line: 0,
            column: 0,
            message: why.into(),
        });
    }
    let existing = match call.store.sieve_list(user).await {
        Ok(l) => l,
        Err(e) => return unavailable(e),
    };
    let checked = call
        .console
        .account
        .check_script(existing, name.to_string(), text.to_string())
        .await;
    if let Err(p) = checked {
        return refuse(p);
    }
    match call.store.sieve_put(user, name, text.to_string()).await {
        Ok(()) => call.done(
            &format!(
                "/account/sieve/edit{}",
                super::pages::admin::query("name", name)
            ),
            done("Saved."),
        ),
        Err(e) => unavailable(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_plain_local_at_domain() {
        assert!(is_address("ann@example.org"));
        for bad in [
            "ann",
            "@example.org",
            "ann@",
            "a b@example.org",
            "a\"@x.org",
            "a@b@c",
        ] {
            assert!(!is_address(bad), "{bad}");
        }
    }

    #[test]
    fn script_names_follow_rfc_5804() {
        assert_eq!(name_problem("filters"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem("a\u{7}b").is_some());
        assert!(name_problem(&"x".repeat(513)).is_some());
    }

    #[test]
    fn a_rule_form_is_checked_field_by_field() {
        let form = |s: &str| Form::parse(s).expect("form");
        let ok = read_rule(
            &form("field=subject&contains=invoice&action=move&target=Invoices"),
            false,
        )
        .expect("valid");
        assert_eq!(
            (ok.field, ok.action, ok.target.as_str()),
            (Field::Subject, Action::Move, "Invoices")
        );
        for bad in [
            "field=subject&contains=&action=move&target=X",
            "field=header&header=Bad:Name&contains=x&action=read",
            "field=from&contains=x&action=move&target=",
            "field=from&contains=x&action=forward&target=me@example.net",
        ] {
            assert!(read_rule(&form(bad), false).is_err(), "{bad}");
        }
        assert!(
            read_rule(
                &form("field=from&contains=x&action=forward&target=me@example.net"),
                true
            )
            .is_ok()
        );
        assert!(
            read_rule(
                &form("field=from&contains=x&action=forward&target=nobody"),
                true
            )
            .is_err()
        );
    }

    #[test]
    fn a_vacation_form_is_checked() {
        let form = |s: &str| Form::parse(s).expect("form");
        let v = read_vacation(&form(
            "on=1&subject=Away&body=Back+soon&days=3&addresses=a%40x.org+b%40y.org",
        ))
        .expect("valid");
        assert_eq!((v.on, v.days, v.addresses.len()), (true, 3, 2));
        for bad in [
            "on=1&body=",
            "on=1&body=x&days=0",
            "on=1&body=x&start=2027-02-01&end=2027-01-01",
            "on=1&body=x&start=soon",
            "on=1&body=x&addresses=not-an-address",
        ] {
            assert!(read_vacation(&form(bad)).is_err(), "{bad}");
        }
    }
}
