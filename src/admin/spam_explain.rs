//! `postern spam explain USER`: why a stored message was filed where it
//! was (the X-Spam-Status and X-Spam-Result it was delivered with, one test
//! a line), and how it would score now with the user's classifier as
//! trained today. Found by UID in a mailbox, or by Message-ID in any of the
//! user's mailboxes.

use anyhow::{Result, anyhow, bail};
use postern_delivery::{Delivery, DeliveryConfig, Recipient};
use postern_spam::training::Classifiers;
use postern_store::{Store, Uid, UserId};
use std::sync::Arc;

use crate::config::Config;
use crate::out::outln;

/// Which message to explain.
pub enum Which {
    Uid { mailbox: String, uid: u32 },
    MessageId(String),
}

pub async fn explain(cfg: &Config, store: &Store, user: &str, which: Which) -> Result<()> {
    let address = super::address(user)?;
    let uid = super::user_id(store, user).await?;
    let (mailbox, msg_uid, raw) = find(store, uid, &which).await?;
    let text = String::from_utf8_lossy(&raw);
    let header_end = text.find("\r\n\r\n").unwrap_or(text.len());
    let head = &text[..header_end];
    outln!("{address} {mailbox} UID {msg_uid}");
    if let Some(s) = field(head, "Subject") {
        outln!("Subject: {s}");
    }
    match (field(head, "X-Spam-Status"), field(head, "X-Spam-Result")) {
        (Some(status), Some(result)) => {
            outln!("as delivered:");
            outln!("  X-Spam-Status: {status}");
            for (i, part) in result.split(';').enumerate() {
                outln!("  {}{}", if i == 0 { "" } else { "  " }, part.trim());
            }
        }
        _ => outln!("as delivered: not scored (submitted, appended or imported)"),
    }
    let delivery = Delivery::new(
        DeliveryConfig {
            spam: cfg.spam.clone(),
            sieve: cfg.sieve.clone(),
        },
        None,
        Some(Arc::new(Classifiers::new(
            store.clone(),
            cfg.spam_training.clone(),
        ))),
        cfg.hostname.clone(),
        &[],
    )
    .map_err(|e| anyhow!(e))?;
    // Our own Authentication-Results said DMARC passed: the From address
    // is the sender's, so their reputation counts (as at delivery).
    let ours = format!("Authentication-Results: {};", cfg.hostname);
    let dmarc_pass = head.split("\r\n").any(|l| l.starts_with(&ours))
        && field(head, "Authentication-Results").is_some_and(|v| v.contains("dmarc=pass"));
    let body = strip_verdicts(&raw);
    let v = delivery
        .rescore(
            &Recipient {
                user: uid,
                address: address.clone(),
            },
            &body,
            dmarc_pass,
        )
        .await;
    outln!("now (content rules, classifier and reputation as of today; no DNS lookups):");
    outln!(
        "  {}, score={:.2}, junk={:.2}",
        v.outcome.as_str(),
        v.score,
        v.junk_threshold
    );
    for c in &v.contributions {
        if c.detail.is_empty() {
            outln!("    {}={:.2}", c.test, c.score);
        } else {
            outln!("    {}={:.2} [{}]", c.test, c.score, c.detail);
        }
    }
    Ok(())
}

/// The message: by UID in a mailbox, or the first with the Message-ID.
async fn find(store: &Store, user: UserId, which: &Which) -> Result<(String, u32, Vec<u8>)> {
    match which {
        Which::Uid { mailbox, uid } => {
            let mb = store
                .mailbox_get(user, mailbox)
                .await?
                .ok_or_else(|| anyhow!("no mailbox {mailbox:?}"))?;
            let n = std::num::NonZeroU32::new(*uid).ok_or_else(|| anyhow!("UIDs start at 1"))?;
            let raw = store
                .message_bytes(mb.id, Uid(n))
                .await?
                .ok_or_else(|| anyhow!("no message with UID {uid} in {mailbox}"))?;
            Ok((mailbox.clone(), *uid, raw))
        }
        Which::MessageId(id) => {
            let want = id.trim().trim_start_matches('<').trim_end_matches('>');
            for mb in store.mailbox_list(user).await? {
                for m in store.messages(mb.id).await? {
                    let Some(raw) = store.message_bytes(mb.id, m.uid).await? else {
                        continue;
                    };
                    let found = mail_parser::MessageParser::new()
                        .parse_headers(&raw)
                        .and_then(|p| p.message_id().map(|x| x == want))
                        .unwrap_or(false);
                    if found {
                        return Ok((mb.name.clone(), m.uid.0.get(), raw));
                    }
                }
            }
            bail!("no message with Message-ID <{want}>")
        }
    }
}

/// A header field's value, unfolded (the first one of that name).
fn field(head: &str, name: &str) -> Option<String> {
    let mut lines = head.split("\r\n").peekable();
    while let Some(l) = lines.next() {
        let Some((n, v)) = l.split_once(':') else {
            continue;
        };
        if !n.eq_ignore_ascii_case(name) {
            continue;
        }
        let mut value = v.trim().to_string();
        while let Some(next) = lines.peek() {
            if !next.starts_with([' ', '\t']) {
                break;
            }
            value.push(' ');
            value.push_str(next.trim());
            lines.next();
        }
        return Some(value);
    }
    None
}

/// The message without our verdict fields, so the rules read it as they
/// did at delivery.
fn strip_verdicts(raw: &[u8]) -> Vec<u8> {
    postern_delivery::strip_inbound(raw, "", true).into_owned()
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_found_case_insensitively_and_unfolded() {
        let head = "Subject: a\r\nx-spam-result: Junk, score=6.00;\r\n\tRHSBL=6.00 [x]\r\nTo: b";
        assert_eq!(
            field(head, "X-Spam-Result").as_deref(),
            Some("Junk, score=6.00; RHSBL=6.00 [x]")
        );
        assert_eq!(field(head, "From"), None);
    }
}
