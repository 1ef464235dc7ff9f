//! The login pages (address and password, then the code when a second
//! factor is enrolled) and the account pages every user has: the home
//! page, the client setup (with a QR code of the Apple profile link) and
//! the password change. The security pages are in `account_security.rs`.

use maud::html;

use super::layout::{Flash, Viewer, csrf_field, page};

pub fn login(token: &str, flash: &Flash, address: &str) -> String {
    page(
        "Log in",
        None,
        flash,
        html! {
            form method="post" action="/account/login" {
                (csrf_field(token))
                label for="address" { "Email address" }
                input id="address" name="address" type="email" autocomplete="username"
                    required value=(address);
                label for="password" { "Password" }
                input id="password" name="password" type="password"
                    autocomplete="current-password" required;
                button type="submit" { "Log in" }
            }
        },
    )
}

pub fn second_factor(csrf: &str, flash: &Flash) -> String {
    page(
        "Enter your code",
        None,
        flash,
        html! {
            p { "Your account asks for a second step: the six-digit code from your authenticator app, or a recovery code." }
            form method="post" action="/account/second-factor" {
                (csrf_field(csrf))
                label for="code" { "Code" }
                input id="code" name="code" type="text" inputmode="numeric"
                    autocomplete="one-time-code" required;
                button type="submit" { "Continue" }
            }
        },
    )
}

pub fn home(v: &Viewer<'_>, flash: &Flash) -> String {
    page(
        "My account",
        Some(v),
        flash,
        html! {
            p { "You are logged in as " strong { (v.address) } "." }
            ul {
                li { a href="/account/password" { "Change your password" } }
                li { a href="/account/setup" { "Set up your mail program" } }
                li { a href="/account/app-passwords" { "App passwords" } " for your mail programs" }
                li { a href="/account/two-factor" { "Two-factor login" } }
                li { a href="/account/devices" { "Devices" } ": your recent logins" }
                li { a href="/account/vacation" { "Vacation reply" } }
                li { a href="/account/filters" { "Filter rules" } }
                li { a href="/account/sieve" { "Sieve scripts" } }
                li { a href="/account/mailboxes" { "Your mailboxes (download as mbox)" } }
                li { a href="/account/spam" { "Spam settings" } }
                @if v.admin { li { a href="/admin" { "Administration" } } }
            }
        },
    )
}

/// What a mail program needs, and the discovery documents that fill it in.
pub fn setup(v: &Viewer<'_>, cfg: &crate::WebConfig) -> String {
    let p = &cfg.ports;
    let rows = [
        ("IMAP", p.imaps, "SSL/TLS"),
        ("IMAP", p.imap, "STARTTLS"),
        ("SMTP (sending)", p.submissions, "SSL/TLS"),
        ("SMTP (sending)", p.submission, "STARTTLS"),
        ("POP3", p.pop3s, "SSL/TLS"),
        ("POP3", p.pop3, "STARTTLS"),
    ];
    let q = super::admin::query("email", v.address);
    // The link a phone opens from the QR code: the server's name and the
    // https port clients reach.
    let port = match cfg.https_port {
        Some(443) | None => String::new(),
        Some(p) => format!(":{p}"),
    };
    let profile = format!(
        "https://{}{port}/apple/profile.mobileconfig{q}",
        cfg.hostname
    );
    page(
        "Set up your mail program",
        Some(v),
        &Flash::None,
        html! {
            p { "Most programs (Thunderbird, Outlook, Apple Mail, K-9) find these settings by themselves from your address. If yours asks:" }
            table {
                thead { tr { th scope="col" { "Protocol" } th scope="col" { "Server" } th scope="col" { "Port" } th scope="col" { "Security" } } }
                tbody { @for (proto, port, security) in rows { tr { td { (proto) } td { (cfg.hostname) } td { (port) } td { (security) } } } }
            }
            p { "User name: " strong { (v.address) } "; password: your password (normal password authentication), or an "
                a href="/account/app-passwords" { "app password" } "." }
            ul {
                li { a href={ "/apple/profile.mobileconfig" (q) } { "Profile for iPhone, iPad and Mac" } }
                li { a href={ "/mail/config-v1.1.xml" (super::admin::query("emailaddress", v.address)) } { "Thunderbird's settings document" } }
            }
            h2 { "On an iPhone or iPad" }
            p { "Scan this with the camera to open the profile on the device:" }
            (super::qr::qr(&profile, "QR code of the profile link"))
            p.muted { code { (profile) } }
        },
    )
}

pub fn password(v: &Viewer<'_>, flash: &Flash) -> String {
    page(
        "Change your password",
        Some(v),
        flash,
        html! {
            form method="post" action="/account/password" {
                (csrf_field(v.csrf))
                label for="current" { "Current password" }
                input id="current" name="current" type="password" autocomplete="current-password" required;
                label for="new" { "New password" }
                input id="new" name="new" type="password" autocomplete="new-password" required minlength="8";
                label for="repeat" { "New password again" }
                input id="repeat" name="repeat" type="password" autocomplete="new-password" required minlength="8";
                button type="submit" { "Change password" }
            }
            p.muted { "Your other web sessions end when the password changes." }
        },
    )
}
