//! `/account/spam`: the user's thresholds beside the server's, their
//! allowed and blocked senders with a remove button each, and the forms
//! to change them (plain forms: no script needed). A refused form is
//! shown again with what was typed.

use maud::{Markup, html};
use postern_store::{SenderRuleKind, SpamPrefs};

use super::layout::{Flash, Viewer, csrf_field, page};
use crate::console::http::Form;

/// `summary` is what `postern spam settings` says of the user; `typed`,
/// the refused form (empty otherwise).
pub fn spam(
    v: &Viewer<'_>,
    flash: &Flash,
    summary: &[String],
    own: &SpamPrefs,
    typed: &Form,
) -> String {
    // The settings form always posts `reject` (a radio button is checked).
    let (junk, reject) = if typed.get("reject").is_empty() {
        let junk = own
            .junk_threshold
            .map(|j| j.to_string())
            .unwrap_or_default();
        let reject = match own.reject {
            None => "default",
            Some(true) => "on",
            Some(false) => "off",
        };
        (junk, reject)
    } else {
        (typed.get("junk_threshold").to_string(), typed.get("reject"))
    };
    let choices = [
        ("default", "As the server decides"),
        (
            "on",
            "Refuse clear spam when it arrives (the sender is told)",
        ),
        ("off", "Never refuse; put clear spam in Junk too"),
    ];
    page(
        "Spam settings",
        Some(v),
        flash,
        html! {
            h2 { "Thresholds" }
            ul { @for line in summary { li { (line) } } }
            form method="post" action="/account/spam/settings" {
                (csrf_field(v.csrf))
                label for="junk_threshold" { "Junk threshold: mail scoring this or more goes to Junk (lower catches more; empty: the server's)" }
                input id="junk_threshold" name="junk_threshold" type="number" step="any"
                    inputmode="decimal" value=(junk);
                fieldset {
                    legend { "Clear spam" }
                    @for (value, text) in choices {
                        @let id = format!("reject-{value}");
                        div.check {
                            input id=(id) type="radio" name="reject" value=(value) checked[reject == value];
                            label for=(id) { (text) }
                        }
                    }
                }
                button type="submit" { "Save" }
            }
            h2 { "Allowed senders" }
            p.muted { "Mail from these skips the spam filter, but only when the sender's domain proves it sent it (DMARC, SPF or DKIM): a forged sender gets no pass." }
            (senders(v, own, SenderRuleKind::Allow))
            h2 { "Blocked senders" }
            p.muted { "Mail from these goes to Junk." }
            (senders(v, own, SenderRuleKind::Block))
            form method="post" action="/account/spam/senders/add" {
                (csrf_field(v.csrf))
                label for="sender" { "Address (name@example.org) or whole domain (@example.org)" }
                input id="sender" name="sender" type="text" required autocomplete="off"
                    value=(typed.get("sender"));
                label for="list" { "List" }
                select id="list" name="list" {
                    option value="allow" { "Allow" }
                    option value="block" selected[typed.get("list") == "block"] { "Block" }
                }
                button type="submit" { "Add" }
            }
        },
    )
}

fn senders(v: &Viewer<'_>, own: &SpamPrefs, kind: SenderRuleKind) -> Markup {
    let list = match kind {
        SenderRuleKind::Allow => "allow",
        SenderRuleKind::Block => "block",
    };
    let rows: Vec<_> = own.senders.iter().filter(|(_, k)| *k == kind).collect();
    html! {
        @if rows.is_empty() {
            p { "None." }
        } @else {
            table {
                thead { tr { th scope="col" { "Sender" } th scope="col" { span.visually-hidden { "Action" } } } }
                tbody {
                    @for (pattern, _) in rows {
                        tr {
                            td { (pattern.as_str()) }
                            td {
                                form.inline method="post" action="/account/spam/senders/remove" {
                                    (csrf_field(v.csrf))
                                    input type="hidden" name="list" value=(list);
                                    input type="hidden" name="sender" value=(pattern.as_str());
                                    button type="submit" aria-label={ "Remove " (pattern.as_str()) } { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
