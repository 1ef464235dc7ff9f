//! The account pages that write Sieve: the vacation reply and the simple
//! rules (both in the console's own script), and the raw script editor.
//! Handlers in `console/account_sieve.rs` fetch and check; these only
//! show what they are given.

use maud::{Markup, html};
use postern_store::SieveScript;

use super::admin::{button_form, human, query};
use super::layout::{Flash, Viewer, csrf_field, page};
use crate::console::backend::ScriptProblem;
use crate::console::own_script::{Action, Field, Rule, SCRIPT_NAME, Vacation};

/// When a script other than the console's is active: say so, and offer
/// the two ways on (RFC 5804 §2.8: one script runs, so nothing here
/// replaces it without being asked).
fn other_active(v: &Viewer<'_>, other: Option<&str>) -> Markup {
    html! {
        @if let Some(name) = other {
            div.flash.error role="status" {
                p {
                    "Your active Sieve script is " strong { (name) }
                    " (set from a mail program or the script editor). What you set here is saved in "
                    strong { (SCRIPT_NAME) } " but does not run until you choose:"
                }
                ul {
                    li { a href={ "/account/sieve/edit" (query("name", name)) } { "Look at " (name) " in the script editor" } }
                    li { (button_form(v, "/account/sieve/activate", &[("name", SCRIPT_NAME)], &format!("Use the console's rules instead of {name}"), false)) }
                }
            }
        }
    }
}

/// The checkbox that lets a save replace another active script.
fn replace_box(other: Option<&str>) -> Markup {
    html! {
        @if let Some(name) = other {
            p {
                input id="replace" name="replace" type="checkbox" value="1";
                label.inline for="replace" { "Also make these settings active, instead of " (name) }
            }
        }
    }
}

pub fn vacation(v: &Viewer<'_>, vac: &Vacation, other: Option<&str>, flash: &Flash) -> String {
    let days = if vac.days == 0 { 7 } else { vac.days };
    page(
        "Vacation reply",
        Some(v),
        flash,
        html! {
            (other_active(v, other))
            p { "While this is on, people who write to you get this reply, once every few days each. Mailing lists, bulk and automatic mail get none." }
            form method="post" action="/account/vacation" {
                (csrf_field(v.csrf))
                p {
                    input id="on" name="on" type="checkbox" value="1" checked[vac.on];
                    label.inline for="on" { "Send the vacation reply" }
                }
                label for="subject" { "Subject" }
                input id="subject" name="subject" type="text" maxlength="200" value=(vac.subject);
                label for="body" { "Message" }
                textarea id="body" name="body" rows="8" { (vac.body) }
                label for="start" { "First day (optional)" }
                input id="start" name="start" type="date" value=(vac.start.as_deref().unwrap_or(""));
                label for="end" { "Last day (optional)" }
                input id="end" name="end" type="date" value=(vac.end.as_deref().unwrap_or(""));
                label for="days" { "Days between two replies to the same sender" }
                input id="days" name="days" type="number" min="1" max="365" value=(days);
                label for="addresses" { "Your other addresses (one per line)" }
                p.muted id="addresses-help" { "Mail sent to these counts as sent to you; your main address always does." }
                textarea id="addresses" name="addresses" rows="3" aria-describedby="addresses-help" { (vac.addresses.join("\n")) }
                (replace_box(other))
                button type="submit" { "Save" }
            }
        },
    )
}

/// The rules, in order, each with its move and delete buttons, and the
/// form for a new one (`draft` holds what a refused form said).
pub fn filters(
    v: &Viewer<'_>,
    rules: &[Rule],
    forwarding: bool,
    other: Option<&str>,
    draft: Option<&Rule>,
    flash: &Flash,
) -> String {
    let field = draft.map_or(Field::Subject, |r| r.field);
    let action = draft.map_or(Action::Move, |r| r.action);
    page(
        "Filter rules",
        Some(v),
        flash,
        html! {
            (other_active(v, other))
            p { "Rules run in order on each message that arrives; the first that matches applies. Text matches without regard to case." }
            @if rules.is_empty() {
                p.muted { "No rules yet." }
            } @else {
                table {
                    thead { tr { th scope="col" { "#" } th scope="col" { "Rule" } th scope="col" { "Change" } } }
                    tbody {
                        @for (i, r) in rules.iter().enumerate() {
                            @let n = i.to_string();
                            tr {
                                td { (i + 1) }
                                td { (r.describe()) }
                                td {
                                    @if i > 0 { (button_form(v, "/account/filters/move", &[("rule", &n), ("to", "up")], "Move up", false)) " " }
                                    @if i + 1 < rules.len() { (button_form(v, "/account/filters/move", &[("rule", &n), ("to", "down")], "Move down", false)) " " }
                                    (button_form(v, "/account/filters/delete", &[("rule", &n)], "Delete", true))
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action="/account/filters/add" {
                (csrf_field(v.csrf))
                fieldset {
                    legend { "New rule" }
                    label for="field" { "If this part of the message" }
                    select id="field" name="field" {
                        option value="from" selected[field == Field::From] { "From" }
                        option value="to" selected[field == Field::To] { "To or Cc" }
                        option value="subject" selected[field == Field::Subject] { "Subject" }
                        option value="header" selected[field == Field::Header] { "Another header field (name below)" }
                    }
                    label for="header" { "Header field name (for another header field)" }
                    input id="header" name="header" type="text" maxlength="76" value=(draft.map_or("", |r| r.header.as_str()));
                    label for="contains" { "contains" }
                    input id="contains" name="contains" type="text" required maxlength="200" value=(draft.map_or("", |r| r.contains.as_str()));
                    label for="action" { "then" }
                    select id="action" name="action" {
                        option value="move" selected[action == Action::Move] { "Move to the folder" }
                        option value="read" selected[action == Action::Read] { "Mark as read" }
                        option value="discard" selected[action == Action::Discard] { "Discard" }
                        @if forwarding {
                            option value="forward" selected[action == Action::Forward] { "Forward a copy to the address" }
                        }
                    }
                    label for="target" { "Folder or address (for move and forward)" }
                    input id="target" name="target" type="text" maxlength="254" value=(draft.map_or("", |r| r.target.as_str()));
                    (replace_box(other))
                    button type="submit" { "Add rule" }
                }
            }
            @if !forwarding { p.muted { "Forwarding is turned off on this server." } }
        },
    )
}

/// The user's scripts, with the limits.
pub fn scripts(
    v: &Viewer<'_>,
    list: &[SieveScript],
    limits: (usize, usize),
    flash: &Flash,
) -> String {
    page(
        "Sieve scripts",
        Some(v),
        flash,
        html! {
            p {
                "Sieve scripts sort your incoming mail. One runs at a time: the active one. The vacation and filter pages write the script "
                strong { (SCRIPT_NAME) } "."
            }
            p.muted { "Up to " (limits.1) " scripts of at most " (human(limits.0 as u64)) " each." }
            @if list.is_empty() {
                p.muted { "You have no scripts." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Script" } th scope="col" { "Size" } th scope="col" { "State" } th scope="col" { "Change" } } }
                    tbody {
                        @for s in list {
                            tr {
                                td { a href={ "/account/sieve/edit" (query("name", &s.name)) } { (s.name) } }
                                td { (human(s.size)) }
                                td { @if s.active { strong { "active" } } @else { "inactive" } }
                                td {
                                    @if s.active {
                                        (button_form(v, "/account/sieve/activate", &[("name", "")], "Deactivate", false))
                                    } @else {
                                        (button_form(v, "/account/sieve/activate", &[("name", &s.name)], "Activate", false)) " "
                                        (button_form(v, "/account/sieve/delete", &[("name", &s.name)], "Delete", true))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p { a href="/account/sieve/edit" { "Write a new script" } }
        },
    )
}

/// The editor: `name` empty for a new script. A refused save shows the
/// problem and the line it names.
pub fn editor(
    v: &Viewer<'_>,
    name: &str,
    text: &str,
    problem: Option<&ScriptProblem>,
    flash: &Flash,
) -> String {
    let bad_line = problem
        .filter(|p| p.line > 0)
        .and_then(|p| text.lines().nth(p.line - 1).map(|l| (p.line, l)));
    let title = if name.is_empty() {
        "New Sieve script".to_string()
    } else {
        format!("Sieve script {name}")
    };
    page(
        &title,
        Some(v),
        flash,
        html! {
            @if let Some(p) = problem {
                div.flash.error role="alert" {
                    p { "Not saved: " (p) }
                    @if let Some((n, line)) = bad_line {
                        p { "Line " (n) ":" }
                        pre.record { (line) }
                    }
                }
            }
            form method="post" action="/account/sieve/save" {
                (csrf_field(v.csrf))
                label for="name" { "Name" }
                input id="name" name="name" type="text" required maxlength="128" value=(name);
                label for="script" { "Script" }
                textarea id="script" name="script" rows="20" spellcheck="false" { (text) }
                button type="submit" { "Check and save" }
            }
            p { a href="/account/sieve" { "All your scripts" } }
        },
    )
}
