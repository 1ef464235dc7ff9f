//! The login pages (address and password, then the code when a second
//! factor is enrolled) and the account pages every user has: the home
//! page and the password change.

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
                @if v.admin { li { a href="/admin" { "Administration" } } }
            }
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
