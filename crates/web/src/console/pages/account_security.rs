//! The account security pages: app passwords (the list, the one page that
//! shows a new one, the revoke confirmation), two-factor login (status,
//! enrolment with the secret, its URI and a QR code, the recovery codes
//! shown once, turning it off) and the devices list. The handlers are in
//! `console/account_security.rs`.

use maud::{Markup, html};
use postern_auth::{AppPasswordRecord, DeviceRecord, Scopes, Secret, TotpStatus};

use super::admin::{button_form, query};
use super::layout::{Flash, Viewer, csrf_field, page};
use super::qr::qr;
use crate::console::http::Form;

/// The scopes a new app password may have: the form field (also the
/// `Scopes` name) and its label.
pub const SCOPE_FIELDS: [(&str, &str); 4] = [
    ("imap", "IMAP (reading mail)"),
    ("pop3", "POP3 (downloading mail)"),
    ("smtp", "SMTP (sending mail)"),
    ("managesieve", "ManageSieve (filter rules)"),
];

/// Unix seconds as `2026-12-07 09:45 UTC`.
pub fn utc(t: i64) -> String {
    let (y, m, d) = postern_net::civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        s / 3600,
        s / 60 % 60
    )
}

/// `imap,smtp` as `IMAP, SMTP`.
fn scope_names(s: Scopes) -> String {
    s.to_string()
        .split(',')
        .map(|p| match p {
            "managesieve" => "ManageSieve".to_string(),
            p => p.to_ascii_uppercase(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn last_use(p: &AppPasswordRecord) -> String {
    match (p.last_used, &p.last_ip) {
        (Some(t), Some(ip)) => format!("{} from {ip}", utc(t)),
        (Some(t), None) => utc(t),
        (None, _) => "never".into(),
    }
}

/// `typed`: the refused create form, shown again (else an empty name and
/// every protocol ticked).
pub fn app_passwords(
    v: &Viewer<'_>,
    flash: &Flash,
    list: &[AppPasswordRecord],
    typed: Option<&Form>,
) -> String {
    let ticked = |field: &str| typed.is_none_or(|f| f.get(field) == "on");
    page(
        "App passwords",
        Some(v),
        flash,
        html! {
            p { "An app password lets one mail program log in without your account password. Give each program its own, open only what it needs, and revoke it when the device is gone. App passwords never open this web console." }
            @if list.is_empty() {
                p.muted { "You have no app passwords yet." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Opens" } th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { "Actions" } } }
                    tbody {
                        @for p in list {
                            tr {
                                td { (p.name) } td { (scope_names(p.scopes)) } td { (utc(p.created)) } td { (last_use(p)) }
                                td { a href={ "/account/app-passwords/revoke" (query("name", &p.name)) } { "Revoke" span.visually-hidden { " " (p.name) } } }
                            }
                        }
                    }
                }
            }
            h2 { "Create an app password" }
            form method="post" action="/account/app-passwords/create" {
                (csrf_field(v.csrf))
                label for="name" { "Name" }
                input id="name" name="name" type="text" required maxlength=(postern_auth::MAX_APP_PASSWORD_NAME)
                    placeholder="phone, laptop" autocomplete="off"
                    value=(typed.map_or("", |f| f.get("name")));
                fieldset {
                    legend { "It opens" }
                    @for (field, label) in SCOPE_FIELDS {
                        div.check {
                            input id={ "scope-" (field) } name=(field) type="checkbox" value="on" checked[ticked(field)];
                            label for={ "scope-" (field) } { (label) }
                        }
                    }
                }
                button type="submit" { "Create app password" }
            }
        },
    )
}

/// The only page that ever shows the new password.
pub fn app_password_created(
    v: &Viewer<'_>,
    record: &AppPasswordRecord,
    password: &Secret<String>,
) -> String {
    page(
        "App password created",
        Some(v),
        &Flash::None,
        html! {
            p { "The app password " strong { (record.name) } " opens " (scope_names(record.scopes)) ":" }
            p { code #app-password .secret { (password.expose()) } }
            div.flash role="status" {
                "Copy it now: it is shown only this once. In your mail program, use it as the password, with "
                strong { (v.address) } " as the user name. The dashes are optional."
            }
            p { a href="/account/app-passwords" { "Back to your app passwords" } }
        },
    )
}

pub fn app_password_revoke(v: &Viewer<'_>, record: &AppPasswordRecord) -> String {
    page(
        &format!("Revoke {}?", record.name),
        Some(v),
        &Flash::None,
        html! {
            p { "Programs that log in with " strong { (record.name) } " (" (scope_names(record.scopes)) ", last used " (last_use(record)) ") will be refused from their next login. This cannot be undone; you can create a new one." }
            form method="post" action="/account/app-passwords/revoke" {
                (csrf_field(v.csrf))
                input type="hidden" name="name" value=(record.name);
                input type="hidden" name="confirm" value="yes";
                button.danger type="submit" { "Revoke " (record.name) }
            }
            p { a href="/account/app-passwords" { "Keep it" } }
        },
    )
}

/// What a user's mail programs need once two-factor login is on.
fn mail_note(password_on_mail: bool) -> Markup {
    html! {
        @if password_on_mail {
            p { "Your mail programs (IMAP, POP3, SMTP) still log in with your account password; the code is asked only here, on the web." }
        } @else {
            p { "Your mail programs (IMAP, POP3, SMTP) can no longer log in with your account password: give each an "
                a href="/account/app-passwords" { "app password" } "." }
        }
    }
}

/// The two-factor page when no enrolment is being shown: off, on, or
/// started but no longer on screen.
pub fn two_factor(
    v: &Viewer<'_>,
    flash: &Flash,
    status: TotpStatus,
    password_on_mail: bool,
) -> String {
    page(
        "Two-factor login",
        Some(v),
        flash,
        html! {
            @match status {
                TotpStatus::Off => {
                    p { "Two-factor login is " strong { "off" } ". With it on, logging in here asks for a six-digit code from an authenticator app on your phone as well as your password." }
                    (mail_note(password_on_mail))
                    (button_form(v, "/account/two-factor/enroll", &[], "Turn on two-factor login", false))
                }
                TotpStatus::Pending => {
                    p { "Turning on two-factor login was started but not finished, and its secret is no longer shown. Start again to get a new one." }
                    (button_form(v, "/account/two-factor/enroll", &[], "Start again", false))
                    " "
                    (button_form(v, "/account/two-factor/disable", &[], "Cancel", false))
                }
                TotpStatus::Active { recovery_left } => {
                    p { "Two-factor login is " strong { "on" } ". You have " (recovery_left) " unused recovery codes." }
                    (mail_note(password_on_mail))
                    h2 { "Turn it off" }
                    form method="post" action="/account/two-factor/disable" {
                        (csrf_field(v.csrf))
                        p { "Prove it is you with a current code or your password." }
                        label for="code" { "Code from your app" }
                        input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code";
                        label for="password" { "or your password" }
                        input id="password" name="password" type="password" autocomplete="current-password";
                        button.danger type="submit" { "Turn off two-factor login" }
                    }
                }
            }
        },
    )
}

/// Enrolment: the secret three ways, and the form that turns it on.
pub fn two_factor_enrol(v: &Viewer<'_>, flash: &Flash, secret: &str, uri: &str) -> String {
    page(
        "Turn on two-factor login",
        Some(v),
        flash,
        html! {
            ol {
                li { "Scan this code with your authenticator app (FreeOTP, Aegis, Google Authenticator, 1Password…)." }
            }
            (qr(uri, "QR code of the authenticator link below"))
            p { "Or type the secret: " code #totp-secret .secret { (secret) } }
            details {
                summary { "The authenticator link" }
                p { code #totp-uri .secret { (uri) } }
            }
            ol start="2" {
                li { "Enter the six-digit code the app shows, to check it works. Two-factor login is on only after this step." }
            }
            form method="post" action="/account/two-factor/confirm" {
                (csrf_field(v.csrf))
                label for="code" { "Code" }
                input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                    required maxlength="10";
                button type="submit" { "Turn on" }
            }
            p.cancel { "Changed your mind? " (button_form(v, "/account/two-factor/disable", &[], "Cancel", false)) }
        },
    )
}

/// Confirmed: the recovery codes, shown this once (`None` when the server
/// no longer had them, after a restart).
pub fn two_factor_on(
    v: &Viewer<'_>,
    codes: Option<&[Secret<String>]>,
    password_on_mail: bool,
) -> String {
    page(
        "Two-factor login is on",
        Some(v),
        &Flash::Done(vec![
            "Two-factor login is on; your other web sessions have ended.".into(),
        ]),
        html! {
            @match codes {
                Some(codes) => {
                    h2 { "Your recovery codes" }
                    p { "If you lose your phone, each of these logs you in once instead of a code. Keep them somewhere safe (printed, or in a password manager): they are shown only this once." }
                    ul #recovery-codes .codes { @for c in codes { li { code { (c.expose()) } } } }
                }
                None => {
                    p.flash.error role="alert" { "The recovery codes for this enrolment could not be shown. To get new ones, turn two-factor login off and on again." }
                }
            }
            (mail_note(password_on_mail))
            p { a href="/account" { "Back to your account" } }
        },
    )
}

fn protocol(p: &str) -> &str {
    match p {
        "imap" => "IMAP",
        "pop3" => "POP3",
        "smtp" => "SMTP",
        "managesieve" => "ManageSieve",
        "web" => "Web console",
        other => other,
    }
}

pub fn devices(v: &Viewer<'_>, rows: &[DeviceRecord]) -> String {
    page(
        "Devices",
        Some(v),
        &Flash::None,
        html! {
            p { "Your recent logins, newest first: each protocol and address, and the program when it said its name (IMAP's ID command). A login you do not recognise? "
                a href="/account/password" { "Change your password" } " and revoke your "
                a href="/account/app-passwords" { "app passwords" } "." }
            @if rows.is_empty() {
                p.muted { "No logins recorded yet." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Protocol" } th scope="col" { "From" } th scope="col" { "Program" } th scope="col" { "Last login" } th scope="col" { "First seen" } } }
                    tbody {
                        @for d in rows {
                            tr {
                                td { (protocol(&d.proto)) } td { (d.ip) }
                                td {
                                    @if d.client.is_empty() { span.muted { "not said" } }
                                    @else { (d.client.name) " " (d.client.version) @if !d.client.os.is_empty() { " (" (d.client.os) ")" } }
                                }
                                td { (utc(d.last_seen)) } td { (utc(d.first_seen)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_minutes() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_796_636_700), "2026-12-07 09:45 UTC");
    }

    #[test]
    fn scopes_read_as_protocol_names() {
        let s = Scopes::parse("smtp,imap,managesieve").expect("scopes");
        assert_eq!(scope_names(s), "IMAP, SMTP, ManageSieve");
    }
}
