//! `/account/mailboxes`: the user's mailboxes with counts and sizes, and
//! each one's download as an mbox (mboxrd, RFC 4155's `application/mbox`)
//! written by `postern mailbox export`'s writer ([`Account::mbox_message`]).
//! The download is streamed: a task reads one message at a time and
//! hands it to the connection through a small channel, so a large
//! mailbox is never held in memory and a slow reader slows the task
//! down. Only the user's own mailboxes are found; any other id is 404, a
//! missing or unreadable one 400.
//!
//! [`Account::mbox_message`]: super::backend::Account::mbox_message

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::BodyExt;
use hyper::body::{Bytes, Frame};
use hyper::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use postern_store::{MailboxId, UserId};
use tokio::sync::mpsc;

use super::http::{html, secure};
use super::pages::account_mbox as pages;
use super::pages::layout::Viewer;
use super::{Call, status_page, unavailable};
use crate::Body;

/// Messages written but not yet sent that one download may hold.
const IN_FLIGHT: usize = 4;

pub(crate) async fn list(call: &Call<'_>, v: &Viewer<'_>, user: UserId) -> Response<Body> {
    let boxes = match call.store.mailbox_list(user).await {
        Ok(b) => b,
        Err(e) => return unavailable(e),
    };
    let mut rows = Vec::with_capacity(boxes.len());
    for b in boxes {
        match call.store.mailbox_status(b.id).await {
            Ok(s) => rows.push(s),
            Err(e) => return unavailable(e),
        }
    }
    html(StatusCode::OK, pages::mailboxes(v, &rows))
}

pub(crate) async fn download(call: &Call<'_>, user: UserId) -> Response<Body> {
    let not_found = || {
        status_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "You have no such mailbox.",
        )
    };
    let Some(id) = crate::query_param(call.query, "id").and_then(|i| i.parse::<i64>().ok()) else {
        return status_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The mailbox id is missing or not a number.",
        );
    };
    let mailbox = match call.store.mailbox_by_id(MailboxId(id)).await {
        Ok(Some(m)) if m.user == user => m,
        Ok(_) => return not_found(),
        Err(e) => return unavailable(e),
    };
    let messages = match call.store.messages(mailbox.id).await {
        Ok(m) => m,
        Err(e) => return unavailable(e),
    };
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let store = call.store.clone();
    let account = call.console.account.clone();
    tokio::spawn(async move {
        for m in messages {
            // The message may have been expunged since the list was read:
            // then it is left out, as if the download had started later.
            let chunk = match store.read_blob(&m.blob).await {
                Ok(raw) => {
                    let mut flags: Vec<String> = m.flags.system.names().map(String::from).collect();
                    flags.extend(m.flags.keywords.iter().cloned());
                    let mut out = Vec::with_capacity(raw.len() + 256);
                    account.mbox_message(&mut out, &raw, m.internal_date, &flags);
                    Ok(Bytes::from(out))
                }
                Err(postern_store::StoreError::NotFound(_)) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "web console: mbox download failed");
                    // An error frame ends the response without its last
                    // chunk, so the client sees the download as broken.
                    Err(std::io::Error::other(e.to_string()))
                }
            };
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                // The client went away, or the error is sent.
                return;
            }
        }
    });
    let mut r = Response::new(ChannelBody(rx).boxed_unsync());
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/mbox"));
    if let Ok(v) = HeaderValue::from_str(&disposition(&mailbox.name)) {
        r.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    secure(r)
}

/// `attachment` with a plain ASCII file name and, for names that are not
/// (RFC 6266 §4.3), the UTF-8 one percent-encoded (RFC 8187).
fn disposition(mailbox: &str) -> String {
    let plain: String = mailbox
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in mailbox.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{plain}.mbox\"; filename*=UTF-8''{encoded}.mbox")
}

/// A body fed by the download task, one chunk per message.
struct ChannelBody(mpsc::Receiver<std::io::Result<Bytes>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| c.map(Frame::data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_name_is_plain_ascii_with_the_utf8_name_beside_it() {
        assert_eq!(
            disposition("INBOX"),
            "attachment; filename=\"INBOX.mbox\"; filename*=UTF-8''INBOX.mbox"
        );
        assert_eq!(
            disposition("Ré \"x\"/y"),
            "attachment; filename=\"R___x__y.mbox\"; filename*=UTF-8''R%C3%A9%20%22x%22%2Fy.mbox"
        );
    }
}
