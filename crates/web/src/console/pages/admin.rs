//! The admin pages' HTML: dashboard, domains (with the DNS records to
//! publish and the DKIM keys), users, aliases. The queue, blocks and spam
//! pages are in `admin_ops.rs`. Pages only show what they are given; the
//! handlers in `console/admin.rs` fetch it and run the actions. A page
//! with an add form takes `typed`, the refused form's fields, to fill it
//! in again (empty on a GET; password fields are never filled).

use maud::{Markup, html};
use postern_store::{AliasRow, DomainRow, UserRow};

use super::layout::{Flash, Viewer, csrf_field, page};
use crate::console::backend::Dashboard;
use crate::console::http::Form;

pub fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn or_unknown(v: Option<String>) -> String {
    v.unwrap_or_else(|| "unknown".into())
}

/// `?name=value` with the value percent-encoded.
pub fn query(name: &str, value: &str) -> String {
    let mut out = format!("?{name}=");
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A one-button form posting `field=value` (and the CSRF token) to `action`.
pub fn button_form(
    v: &Viewer<'_>,
    action: &str,
    fields: &[(&str, &str)],
    label: &str,
    danger: bool,
) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(v.csrf))
            @for (k, val) in fields { input type="hidden" name=(k) value=(val); }
            @if danger { button.danger type="submit" { (label) } }
            @else { button type="submit" { (label) } }
        }
    }
}

pub fn dashboard(v: &Viewer<'_>, d: &Dashboard) -> String {
    let up = d.uptime_secs;
    page(
        "Dashboard",
        Some(v),
        &Flash::None,
        html! {
            div.cards {
                div.card { "Version" strong { (d.version) } }
                div.card { "Host" strong { (d.hostname) } }
                div.card { "Up for" strong { (format!("{}d {}h {}m", up / 86_400, up / 3600 % 24, up / 60 % 60)) } }
                div.card { "Queue" strong { (or_unknown(d.queue.map(|(n, h, def)| format!("{n} ({h} held, {def} deferred)")))) } }
                @if let Some(n) = d.messages_today { div.card { "Messages today" strong { (n) } } }
                div.card { "Disk free" strong { (or_unknown(d.disk_free_bytes.map(human))) } }
                div.card { "Certificate expires" strong { (or_unknown(d.certificate_expiry.clone())) } }
            }
            h2 { "Listeners" }
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Address" } } }
                tbody { @for (name, addr) in &d.listeners { tr { td { (name) } td { (addr) } } } }
            }
            h2 { "Recent warnings and errors" }
            @if d.recent.is_empty() { p.muted { "None since the server started." } }
            @else {
                table {
                    thead { tr { th scope="col" { "When (UTC)" } th scope="col" { "Level" } th scope="col" { "Message" } } }
                    tbody { @for (when, level, msg) in &d.recent { tr { td { (when) } td { (level) } td { (msg) } } } }
                }
            }
        },
    )
}

pub fn domains(v: &Viewer<'_>, flash: &Flash, rows: &[DomainRow], typed: &Form) -> String {
    page(
        "Domains",
        Some(v),
        flash,
        html! {
            table {
                thead { tr { th scope="col" { "Domain" } th scope="col" { "Users" } th scope="col" { "Aliases" } th scope="col" { "Actions" } } }
                tbody {
                    @for d in rows {
                        tr {
                            td { a href={ "/admin/domain" (query("name", &d.name)) } { (d.name) } }
                            td { (d.users) } td { (d.aliases) }
                            td { (button_form(v, "/admin/domains/delete", &[("domain", &d.name)], "Remove", true)) }
                        }
                    }
                }
            }
            form method="post" action="/admin/domains/add" {
                fieldset {
                    legend { "Add a domain" }
                    (csrf_field(v.csrf))
                    label for="domain" { "Domain name" }
                    input id="domain" name="domain" type="text" required placeholder="example.org" value=(typed.get("domain"));
                    button type="submit" { "Add domain" }
                }
            }
        },
    )
}

/// One domain: the records to publish (comments as text, records each in
/// a block a script can copy) and its DKIM keys.
pub fn domain(
    v: &Viewer<'_>,
    flash: &Flash,
    name: &str,
    dns: &[String],
    keys: &[String],
) -> String {
    page(
        &format!("Domain {name}"),
        Some(v),
        flash,
        html! {
            h2 { "DNS records to publish" }
            @for line in dns {
                @if let Some(c) = line.strip_prefix(';') { p.muted { (c.trim()) } }
                @else { pre.record data-copy="" { (line) } }
            }
            p { a href={ "/admin/domain/doctor" (query("name", name)) } { "Check what is published now" } }
            h2 { "DKIM keys" }
            ul { @for k in keys { li { code { (k) } } } }
            (button_form(v, "/admin/domains/rotate", &[("domain", name)], "Rotate DKIM keys", false))
        },
    )
}

/// `postern doctor`'s checks of one domain's records: a line per check,
/// `OK`, `WARN` or `FAIL` first, each fix under it.
pub fn doctor(v: &Viewer<'_>, name: &str, lines: &[String]) -> String {
    page(
        &format!("Published records of {name}"),
        Some(v),
        &Flash::None,
        html! {
            table {
                thead { tr { th scope="col" { "Result" } th scope="col" { "Check" } } }
                tbody {
                    @for l in lines {
                        @let (status, rest) = l.split_once(' ').unwrap_or(("", l.as_str()));
                        tr { td { (status) } td { (rest.trim()) } }
                    }
                }
            }
            p { a href={ "/admin/domain" (query("name", name)) } { "Back to " (name) } }
        },
    )
}

pub fn users(
    v: &Viewer<'_>,
    flash: &Flash,
    rows: &[UserRow],
    admins: &[String],
    typed: &Form,
) -> String {
    page(
        "Users",
        Some(v),
        flash,
        html! {
            table {
                thead { tr { th scope="col" { "Address" } th scope="col" { "Name" } th scope="col" { "Used" } th scope="col" { "Quota" } th scope="col" { "State" } } }
                tbody {
                    @for u in rows {
                        tr {
                            td { a href={ "/admin/user" (query("address", &u.address)) } { (u.address) } }
                            td { (u.display_name) }
                            td { (human(u.used_bytes)) ", " (u.used_messages) " messages" }
                            td { (u.quota_bytes.map(human).unwrap_or_else(|| "unlimited".into())) }
                            td {
                                @if u.disabled { "disabled" } @else { "active" }
                                @if admins.contains(&u.address) { ", admin" }
                            }
                        }
                    }
                }
            }
            form method="post" action="/admin/users/add" {
                fieldset {
                    legend { "Add a user" }
                    (csrf_field(v.csrf))
                    label for="address" { "Address" }
                    input id="address" name="address" type="email" required placeholder="ann@example.org" value=(typed.get("address"));
                    label for="name" { "Display name (optional)" }
                    input id="name" name="name" type="text" value=(typed.get("name"));
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="new-password" required;
                    label for="quota" { "Quota, such as 500M or 2G (empty: unlimited)" }
                    input id="quota" name="quota" type="text" value=(typed.get("quota"));
                    button type="submit" { "Add user" }
                }
            }
        },
    )
}

pub fn user(v: &Viewer<'_>, flash: &Flash, u: &UserRow, admin: bool, typed: &Form) -> String {
    let a = [("address", u.address.as_str())];
    let or_typed = |name: &str, now: Option<u64>| match typed.get(name) {
        "" => now.map_or_else(|| "unlimited".into(), |n| n.to_string()),
        t => t.to_string(),
    };
    page(
        &format!("User {}", u.address),
        Some(v),
        flash,
        html! {
            p {
                (human(u.used_bytes)) " in " (u.used_messages) " messages; "
                @if u.disabled { "logins are refused" } @else { "may log in" }
                @if admin { "; has the admin role" } "."
            }
            form method="post" action="/admin/users/quota" {
                fieldset {
                    legend { "Quota" }
                    (csrf_field(v.csrf))
                    input type="hidden" name="address" value=(u.address);
                    label for="quota" { "Storage, such as 500M, 2G or unlimited" }
                    input id="quota" name="quota" type="text" value=(or_typed("quota", u.quota_bytes));
                    label for="messages" { "Messages, a number or unlimited" }
                    input id="messages" name="messages" type="text" value=(or_typed("messages", u.quota_messages));
                    button type="submit" { "Set quota" }
                }
            }
            form method="post" action="/admin/users/password" {
                fieldset {
                    legend { "Reset the password" }
                    (csrf_field(v.csrf))
                    input type="hidden" name="address" value=(u.address);
                    label for="password" { "New password" }
                    input id="password" name="password" type="password" autocomplete="new-password" required;
                    button type="submit" { "Set password" }
                }
            }
            p {
                @if u.disabled { (button_form(v, "/admin/users/enable", &a, "Enable logins", false)) }
                @else { (button_form(v, "/admin/users/disable", &a, "Disable logins", false)) }
                " "
                @if admin { (button_form(v, "/admin/users/admin", &[("address", &u.address), ("admin", "off")], "Take the admin role", false)) }
                @else { (button_form(v, "/admin/users/admin", &[("address", &u.address), ("admin", "on")], "Give the admin role", false)) }
                " "
                a href={ "/admin/user/delete" (query("address", &u.address)) } { "Delete this user…" }
                " "
                a href={ "/admin/spam" (query("user", &u.address)) } { "Spam filter state" }
            }
        },
    )
}

pub fn user_delete(v: &Viewer<'_>, u: &UserRow) -> String {
    page(
        &format!("Delete {}?", u.address),
        Some(v),
        &Flash::None,
        html! {
            p { "Deleting " strong { (u.address) } " deletes all their mail (" (u.used_messages) " messages, " (human(u.used_bytes)) "). This cannot be undone." }
            form method="post" action="/admin/users/delete" {
                (csrf_field(v.csrf))
                input type="hidden" name="address" value=(u.address);
                input type="hidden" name="confirm" value="yes";
                button.danger type="submit" { "Delete " (u.address) " and their mail" }
            }
            p { a href={ "/admin/user" (query("address", &u.address)) } { "Keep the user" } }
        },
    )
}

pub fn aliases(v: &Viewer<'_>, flash: &Flash, rows: &[AliasRow], typed: &Form) -> String {
    page(
        "Aliases",
        Some(v),
        flash,
        html! {
            table {
                thead { tr { th scope="col" { "Alias" } th scope="col" { "Delivers to" } th scope="col" { "Actions" } } }
                tbody {
                    @for a in rows {
                        tr {
                            td { (a.source) } td { (a.target) }
                            td { (button_form(v, "/admin/aliases/delete", &[("source", &a.source), ("target", &a.target)], "Remove", true)) }
                        }
                    }
                }
            }
            form method="post" action="/admin/aliases/add" {
                fieldset {
                    legend { "Add an alias" }
                    (csrf_field(v.csrf))
                    label for="source" { "Alias (an address, or @domain for a catch-all)" }
                    input id="source" name="source" type="text" required value=(typed.get("source"));
                    label for="target" { "Delivers to" }
                    input id="target" name="target" type="text" required value=(typed.get("target"));
                    button type="submit" { "Add alias" }
                }
            }
        },
    )
}
