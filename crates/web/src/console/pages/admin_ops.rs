//! The admin pages for what the server is doing: the outbound queue (list
//! and one message), the abuse blocks, and the spam filter's state.

use maud::html;
use postern_store::{BlockRow, QueueEntry};

use super::admin::{button_form, human, query};
use super::layout::{Flash, Viewer, csrf_field, page};
use crate::console::http::Form;

pub fn queue(v: &Viewer<'_>, flash: &Flash, rows: &[QueueEntry]) -> String {
    page(
        "Queue",
        Some(v),
        flash,
        html! {
            @if rows.is_empty() { p { "The queue is empty." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Id" } th scope="col" { "Sender" } th scope="col" { "Size" } th scope="col" { "Recipients" } th scope="col" { "State" } } }
                    tbody {
                        @for e in rows {
                            tr {
                                td { a href={ "/admin/queue/item" (query("id", &e.id.to_string())) } { (e.id) } }
                                td { @if e.reverse_path.is_empty() { "<>" } @else { (e.reverse_path) } }
                                td { (human(e.size)) }
                                td { @for r in &e.recipients { (r.address) " (" (r.state) ")" br; } }
                                td { @if e.held { "held" } @else { "active" } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// One queued message: what `postern queue show` prints, and its actions.
pub fn queue_item(v: &Viewer<'_>, flash: &Flash, id: i64, held: bool, lines: &[String]) -> String {
    let id_s = id.to_string();
    let f = [("id", id_s.as_str())];
    page(
        &format!("Queued message {id}"),
        Some(v),
        flash,
        html! {
            pre { (lines.join("\n")) }
            p {
                (button_form(v, "/admin/queue/retry", &f, "Retry now", false)) " "
                @if held { (button_form(v, "/admin/queue/release", &f, "Release", false)) }
                @else { (button_form(v, "/admin/queue/hold", &f, "Hold", false)) }
                " "
                (button_form(v, "/admin/queue/delete", &f, "Delete", true))
            }
        },
    )
}

pub fn blocks(v: &Viewer<'_>, flash: &Flash, rows: &[BlockRow], typed: &Form) -> String {
    page(
        "Abuse blocks",
        Some(v),
        flash,
        html! {
            @if rows.is_empty() { p { "No client is blocked." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Address" } th scope="col" { "Source" } th scope="col" { "Reason" } th scope="col" { "Actions" } } }
                    tbody {
                        @for b in rows {
                            tr {
                                td { (b.net) } td { (b.source.as_str()) } td { (b.reason) }
                                td { (button_form(v, "/admin/blocks/delete", &[("net", &b.net)], "Unblock", true)) }
                            }
                        }
                    }
                }
            }
            form method="post" action="/admin/blocks/add" {
                fieldset {
                    legend { "Block a client" }
                    (csrf_field(v.csrf))
                    label for="net" { "Address or network (192.0.2.7, 2001:db8::/48)" }
                    input id="net" name="net" type="text" required value=(typed.get("net"));
                    label for="duration" { "For how long, such as 1h or 7d (empty: until removed)" }
                    input id="duration" name="duration" type="text" value=(typed.get("duration"));
                    label for="reason" { "Reason" }
                    input id="reason" name="reason" type="text" value=(typed.get("reason"));
                    button type="submit" { "Block" }
                }
            }
        },
    )
}

/// `own`: how many users have spam settings or sender lists of their own.
pub fn spam(v: &Viewer<'_>, flash: &Flash, user: &str, lines: &[String], own: u64) -> String {
    page(
        "Spam filter",
        Some(v),
        flash,
        html! {
            p { "Users with spam settings of their own (thresholds, allowed or blocked senders): " (own) ". Show a user to see theirs." }
            form method="get" action="/admin/spam" {
                label for="user" { "A user's training state and own settings" }
                input id="user" name="user" type="email" value=(user) required;
                button type="submit" { "Show" }
            }
            @if !lines.is_empty() { pre { (lines.join("\n")) } }
            p.muted { "The filter's thresholds and rules are set in the [spam] section of the configuration file." }
        },
    )
}
