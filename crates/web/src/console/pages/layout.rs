//! The page shell every console page shares (maud escapes every value
//! unless it is marked `PreEscaped`, which nothing here does), and the
//! small pieces pages repeat: the flash message, the CSRF field.

use maud::{DOCTYPE, Markup, html};

use crate::console::assets;

/// Who is looking, for the header and the forms.
pub struct Viewer<'a> {
    pub address: &'a str,
    pub admin: bool,
    pub csrf: &'a str,
}

/// A message shown at the top of a page after an action.
pub enum Flash {
    None,
    Done(Vec<String>),
    Error(String),
}

pub fn page(title: &str, viewer: Option<&Viewer<'_>>, flash: &Flash, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Postern" }
                link rel="stylesheet" href=(assets::css_path());
                script src=(assets::js_path()) defer {}
            }
            body {
                header {
                    span.brand { "Postern" }
                    @if let Some(v) = viewer {
                        nav aria-label="Main" {
                            ul {
                                @if v.admin {
                                    li { a href="/admin" { "Dashboard" } }
                                    li { a href="/admin/domains" { "Domains" } }
                                    li { a href="/admin/users" { "Users" } }
                                    li { a href="/admin/aliases" { "Aliases" } }
                                    li { a href="/admin/queue" { "Queue" } }
                                    li { a href="/admin/blocks" { "Blocks" } }
                                    li { a href="/admin/spam" { "Spam" } }
                                }
                                li { a href="/account" { "My account" } }
                            }
                        }
                        form.inline method="post" action="/account/logout" {
                            (csrf_field(v.csrf))
                            button.plain type="submit" { "Log out " (v.address) }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (flash_box(flash))
                    (body)
                }
            }
        }
    }
    .into_string()
}

pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

fn flash_box(flash: &Flash) -> Markup {
    html! {
        @match flash {
            Flash::None => {}
            Flash::Done(lines) => {
                div.flash role="status" {
                    @if lines.is_empty() { "Done." } @else { pre { (lines.join("\n")) } }
                }
            }
            Flash::Error(why) => {
                div.flash.error role="alert" { (why) }
            }
        }
    }
}

/// A whole page that only says why a request failed.
pub fn problem(title: &str, why: &str) -> String {
    page(
        title,
        None,
        &Flash::Error(why.to_string()),
        html! { p { a href="/account" { "Back to your account" } } },
    )
}
