//! What the scripts' outcomes become: the copies each recipient gets
//! (where, with which flags, edited or not), redirects sent on as they
//! came with an SRS envelope sender, vacation replies signed and sent from
//! `<>`, and the memories to record, all for the session's one commit.

use ::sieve::SpamStatus;
use postern_store::{DeliveryTarget, NewMessage, Outbound, QueuedRecipient};

use super::run::{Outcome, RunInput};
use super::{Engine, SieveJob, SievePlan, SieveRecipient};

/// Runs each recipient's script over their copy and gathers the plan.
pub(crate) async fn plan(
    engine: &Engine,
    mut job: SieveJob<'_>,
    sign: impl Fn(&[u8]) -> Vec<u8>,
) -> SievePlan {
    let mut out = SievePlan {
        variants: std::mem::take(&mut job.variants),
        ..SievePlan::default()
    };
    // Each copy's targets are filed again by what the scripts say.
    let originals: Vec<Vec<DeliveryTarget>> = out
        .variants
        .iter_mut()
        .map(|v| std::mem::take(&mut v.1))
        .collect();
    for (vi, targets) in originals.iter().enumerate() {
        for keep in targets {
            let Some(rcpt) = job.recipients.iter().find(|r| r.user == keep.user) else {
                out.variants[vi].1.push(keep.clone());
                continue;
            };
            let script = match engine.main_script(job.store, rcpt).await {
                Ok(Some(s)) => s,
                Ok(None) => {
                    out.variants[vi].1.push(keep.clone());
                    continue;
                }
                Err(e) => {
                    tracing::warn!(user = rcpt.user.0, error = e, "Sieve script not run; kept");
                    out.variants[vi].1.push(keep.clone());
                    continue;
                }
            };
            let raw = &out.variants[vi].0.raw;
            let input = RunInput {
                store: job.store,
                rcpt,
                mail_from: job.mail_from,
                raw,
                keep,
                spam: spam_status(raw),
            };
            let result = engine.run(script.0, script.1, &input).await;
            match result {
                Ok(o) => apply(&mut out, vi, o, &job, rcpt, keep, engine, &sign),
                Err(e) => {
                    // RFC 5228 §2.10.6: a run-time error keeps the message.
                    tracing::warn!(user = rcpt.user.0, error = e, "Sieve script failed; kept");
                    out.variants[vi].1.push(keep.clone());
                }
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn apply(
    out: &mut SievePlan,
    vi: usize,
    o: Outcome,
    job: &SieveJob<'_>,
    rcpt: &SieveRecipient,
    keep: &DeliveryTarget,
    engine: &Engine,
    sign: &impl Fn(&[u8]) -> Vec<u8>,
) {
    out.marks.extend(o.marks);
    if let Some(reason) = o.reject {
        // RFC 5429 §2.1: the refusal replaces delivery; nothing is filed.
        out.rejected.push((rcpt.address.clone(), reason));
        return;
    }
    let mut files = o.files;
    let looped = delivered_to(&out.variants[vi].0.raw, &rcpt.address)
        || delivered_to(job.body, &rcpt.address);
    if looped && !o.redirects.is_empty() {
        // The message was redirected by this user before and came back:
        // keep it rather than send it round again.
        tracing::info!(user = rcpt.user.0, "redirect loop: kept instead");
        if files.is_empty() {
            files.push((keep.clone(), None));
        }
    } else {
        for (to, edited) in o.redirects {
            let mut raw = job.trace.to_vec();
            raw.extend_from_slice(format!("Delivered-To: {}\r\n", rcpt.address).as_bytes());
            match edited {
                Some(e) => raw.extend_from_slice(&e),
                None => raw.extend_from_slice(job.body),
            }
            let domain = rcpt.address.rsplit_once('@').map_or("", |p| p.1);
            let reverse_path = match engine.srs() {
                Some(s) => s.forward(job.mail_from, domain),
                None => job.mail_from.to_string(),
            };
            out.sends.push((message(raw), outbound(reverse_path, to)));
        }
    }
    if let Some((to, reply)) = o.reply {
        if super::vacation::reply_is_sound(&reply, &rcpt.address) {
            let mut raw = sign(&reply);
            raw.extend_from_slice(&reply);
            // RFC 5230 §5: from the null sender, so no reply comes back.
            out.sends.push((message(raw), outbound(String::new(), to)));
        } else {
            tracing::warn!(
                user = rcpt.user.0,
                "vacation reply not sent: a field or a From it may not have"
            );
        }
    }
    for (t, edited) in files {
        match edited {
            None => push_target(&mut out.variants[vi].1, t),
            Some(bytes) => match out.variants.iter_mut().find(|v| v.0.raw == bytes) {
                Some(v) => push_target(&mut v.1, t),
                None => out.variants.push((message(bytes), vec![t])),
            },
        }
    }
}

/// RFC 5429 §2.1.1's fallback, for a refusal that could not be the SMTP
/// reply (another recipient of the same transaction took the message): a
/// notice to the sender, from `<>`, saying who refused it and why.
pub fn refusal(
    hostname: &str,
    to: &str,
    rejected: &[(String, String)],
    original: &[u8],
) -> Vec<u8> {
    let subject = original_subject(original);
    let mut m = format!(
        "From: Mail Delivery System <MAILER-DAEMON@{hostname}>\r\n\
         To: <{to}>\r\n\
         Subject: Refused: {subject}\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n"
    );
    for (who, reason) in rejected {
        m.push_str(&format!(
            "Your message was refused by <{who}>: {}\r\n",
            reason.replace(['\r', '\n'], " ")
        ));
    }
    m.into_bytes()
}

fn original_subject(raw: &[u8]) -> String {
    mail_parser::MessageParser::new()
        .parse_headers(raw)
        .and_then(|m| {
            m.subject()
                .map(|s| s.chars().filter(|c| !c.is_control()).take(200).collect())
        })
        .unwrap_or_default()
}

/// One copy per mailbox (RFC 5228 §4.2: keep and fileinto to the same
/// mailbox file it once).
fn push_target(targets: &mut Vec<DeliveryTarget>, t: DeliveryTarget) {
    if !targets
        .iter()
        .any(|x| x.user == t.user && x.mailbox == t.mailbox && x.special == t.special)
    {
        targets.push(t);
    }
}

fn message(raw: Vec<u8>) -> NewMessage {
    NewMessage {
        raw,
        internal_date: None,
        flags: Default::default(),
    }
}

fn outbound(reverse_path: String, to: String) -> Outbound {
    Outbound {
        reverse_path,
        recipients: vec![QueuedRecipient {
            address: to,
            orcpt: None,
            notify: None,
        }],
        ..Outbound::default()
    }
}

/// Whether the header block of `raw` has `Delivered-To: address`.
fn delivered_to(raw: &[u8], address: &str) -> bool {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let want = format!("delivered-to: {}", address.to_ascii_lowercase());
    raw[..end]
        .split(|b| *b == b'\n')
        .any(|l| String::from_utf8_lossy(l).trim_end().to_ascii_lowercase() == want)
}

/// The verdict's score as spamtest sees it (RFC 3685), read from the
/// copy's `X-Spam-Result` header: unknown without one (submission, filter
/// off), ham at or below 0, spam at the reject threshold, and between
/// those a share of it (of twice the Junk threshold when refusing is off).
fn spam_status(raw: &[u8]) -> SpamStatus {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..end]);
    let Some(line) = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("x-spam-result:"))
    else {
        return SpamStatus::Unknown;
    };
    let field = |name: &str| {
        line.split([',', ';'])
            .find_map(|p| p.trim().strip_prefix(name))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let (Some(score), Some(junk)) = (field("score="), field("junk=")) else {
        return SpamStatus::Unknown;
    };
    // GTUBE (a folded line of the same field) is spam whatever the score.
    if head.contains("\tGTUBE=") {
        return SpamStatus::Spam;
    }
    let top = field("reject=").unwrap_or(junk * 2.0);
    let junked = line.to_ascii_lowercase().contains(": junk");
    if score >= top {
        SpamStatus::Spam
    } else if score <= 0.0 && !junked {
        SpamStatus::Ham
    } else {
        let share = (score / top).clamp(0.05, 0.95);
        SpamStatus::MaybeSpam(if junked { share.max(0.5) } else { share })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spam_score_maps_onto_spamtest() {
        let h = |v: &str| format!("X-Spam-Result: {v}\r\nSubject: x\r\n\r\nbody");
        assert_eq!(spam_status(b"Subject: x\r\n\r\nbody"), SpamStatus::Unknown);
        assert_eq!(
            spam_status(h("inbox, score=-1.00, junk=5.00, reject=15.00").as_bytes()),
            SpamStatus::Ham
        );
        assert_eq!(
            spam_status(h("junk, score=20.00, junk=5.00, reject=15.00").as_bytes()),
            SpamStatus::Spam
        );
        assert_eq!(
            spam_status(h("inbox, score=3.00, junk=5.00, reject=off").as_bytes()),
            SpamStatus::MaybeSpam(0.3)
        );
    }

    #[test]
    fn delivered_to_is_read_from_the_header_block_only() {
        let raw =
            b"Delivered-To: Ann@example.org\r\nSubject: x\r\n\r\nDelivered-To: bob@example.org\r\n";
        assert!(delivered_to(raw, "ann@example.org"));
        assert!(!delivered_to(raw, "bob@example.org"));
    }
}
