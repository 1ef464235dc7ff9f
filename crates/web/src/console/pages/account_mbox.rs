//! The user's mailboxes with their message counts and sizes, each with
//! its "download as mbox" link.

use maud::html;
use postern_store::MailboxStatus;

use super::admin::{human, query};
use super::layout::{Flash, Viewer, page};

pub fn mailboxes(v: &Viewer<'_>, list: &[MailboxStatus]) -> String {
    page(
        "Your mailboxes",
        Some(v),
        &Flash::None,
        html! {
            p { "Each mailbox can be downloaded as one mbox file, which most mail programs can open or import." }
            table {
                thead { tr { th scope="col" { "Mailbox" } th scope="col" { "Messages" } th scope="col" { "Size" } th scope="col" { "Download" } } }
                tbody {
                    @for s in list {
                        tr {
                            td { (s.mailbox.name) }
                            td { (s.messages) }
                            td { (human(s.size)) }
                            td { a href={ "/account/mailboxes/download" (query("id", &s.mailbox.id.0.to_string())) } download {
                                "Download " span.visually-hidden { (s.mailbox.name) } " as mbox"
                            } }
                        }
                    }
                }
            }
        },
    )
}
