//! The one commit of an accepted SMTP message: the local copies (each
//! variant its own blob), the queue entry for remote recipients, the
//! messages Sieve sends of its own (redirects, vacation replies) and what
//! the scripts must remember, all durable together before the `250`.

use crate::error::{Result, StoreError};
use crate::mailboxes::mailbox_by_name;
use crate::messages::{Delivered, DeliveryTarget, NewMessage, Prepared, insert_flagged};
use crate::sieve::SieveMark;
use crate::writer::WriteCtx;
use crate::{Outbound, Store};

/// Everything [`Store::accept_all`] commits.
#[derive(Debug, Default)]
pub struct Acceptance {
    /// Copies of the message and the local targets of each.
    pub variants: Vec<(NewMessage, Vec<DeliveryTarget>)>,
    /// The remote recipients of the first variant's bytes.
    pub outbound: Option<Outbound>,
    /// Messages queued with their own bytes and envelope (Sieve redirects,
    /// which keep the message as received, and vacation replies).
    pub sends: Vec<(NewMessage, Outbound)>,
    /// Keys the recipients' scripts remember (vacation, duplicate).
    pub marks: Vec<SieveMark>,
    /// A mailbox may go over its quota by this message (quota was checked
    /// when the recipient was accepted; the message must not be lost now).
    pub quota_grace: bool,
}

/// The result of an accept: per local target, and the queue entries.
#[derive(Debug)]
pub struct Accepted {
    pub local: Vec<Result<Delivered>>,
    pub queued: Option<i64>,
    /// Queue ids of `sends`, in order.
    pub sent: Vec<i64>,
}

impl Store {
    /// [`Store::accept`] for a message whose recipients get different
    /// copies (each its own verdict headers): every variant is its own blob,
    /// and all of them, with the queue entry (which takes the first
    /// variant's bytes), are one commit. `local` lists the results in the
    /// order of the variants' targets.
    pub async fn accept_variants(
        &self,
        variants: Vec<(NewMessage, Vec<DeliveryTarget>)>,
        outbound: Option<Outbound>,
        quota_grace: bool,
    ) -> Result<Accepted> {
        self.accept_all(Acceptance {
            variants,
            outbound,
            quota_grace,
            ..Acceptance::default()
        })
        .await
    }

    /// Commits an [`Acceptance`] as one transaction. A local target that
    /// fails (quota) fails alone; a failed queue insert fails the whole
    /// call, so the client hears a temporary error and nothing is half done.
    pub async fn accept_all(&self, a: Acceptance) -> Result<Accepted> {
        let n = a.variants.len();
        let (mut msgs, targets): (Vec<_>, Vec<_>) = a.variants.into_iter().unzip();
        let (sent_msgs, sends): (Vec<_>, Vec<_>) = a.sends.into_iter().unzip();
        msgs.extend(sent_msgs);
        let (outbound, marks, grace) = (a.outbound, a.marks, a.quota_grace);
        self.commit_messages(msgs, move |ctx, prepared| {
            let (filed, sent) = prepared.split_at(n.min(prepared.len()));
            let mut local = Vec::new();
            for (p, targets) in filed.iter().zip(&targets) {
                for t in targets {
                    local.push(ctx.isolated(|ctx| deliver_one(ctx, p, t, grace)));
                }
            }
            if local
                .iter()
                .any(|r| matches!(r, Err(StoreError::BlobMissing)))
            {
                return Err(StoreError::BlobMissing);
            }
            let filed_ok = local.iter().filter(|r| r.is_ok()).count();
            crate::ops::count_deliveries(ctx.conn, filed_ok, crate::now_secs())?;
            let queued = match (&outbound, filed.first()) {
                (Some(o), Some(p)) if !o.recipients.is_empty() => Some(queue(ctx, p, o)?),
                _ => None,
            };
            let mut ids = Vec::with_capacity(sends.len());
            for (p, o) in sent.iter().zip(&sends) {
                ids.push(queue(ctx, p, o)?);
            }
            crate::sieve::record_marks(ctx, &marks)?;
            Ok(Accepted {
                local,
                queued,
                sent: ids,
            })
        })
        .await
    }
}

fn queue(ctx: &mut WriteCtx<'_>, p: &Prepared, o: &Outbound) -> Result<i64> {
    crate::queue::insert(ctx, &p.blob, p.size, p.inline_bytes(), o)
}

/// Files `p` for one target: its special-use mailbox, else the named one
/// (created first with `create`), else INBOX.
fn deliver_one(
    ctx: &mut WriteCtx<'_>,
    p: &Prepared,
    t: &DeliveryTarget,
    quota_grace: bool,
) -> Result<Delivered> {
    let special = match t.special {
        Some(use_) => crate::mailboxes::mailbox_by_special_use(ctx.conn, t.user, use_)?,
        None => None,
    };
    let named = match (special, &t.mailbox) {
        (Some(m), _) => Some(m),
        (None, Some(name)) => match mailbox_by_name(ctx.conn, t.user, name)? {
            // A name the store refuses (`new_mailbox_name`) files to INBOX.
            None if t.create => ctx
                .isolated(|ctx| {
                    crate::mailboxes::create_with_parents(ctx, t.user, name, None, true)
                })
                .ok(),
            found => found,
        },
        (None, None) => None,
    };
    let mb = match named {
        Some(m) => m,
        None => mailbox_by_name(ctx.conn, t.user, "INBOX")?
            .ok_or_else(|| StoreError::NotFound(format!("INBOX of user {}", t.user.0)))?,
    };
    let flags = t.flags.as_ref().unwrap_or(&p.flags);
    insert_flagged(ctx, t.user, mb.id, p, flags, quota_grace)
}
