//! REPLACE (IMAP, RFC 8508): a new message stored and an old one expunged
//! in one commit, so a client editing a draft never sees both or neither.

use crate::Store;
use crate::error::{Result, StoreError};
use crate::mailboxes::mailbox_by_id;
use crate::messages::{Appended, ExpungeWhich, Expunged, NewMessage, expunge_rows, insert_message};
use crate::types::{MailboxId, Uid, UserId};

impl Store {
    /// Expunges `uid` from `from` and stores `msg` in `to` (which may be
    /// `from`), both of `user`'s mailboxes, in one commit. The old message
    /// goes first, so its size does not count against the quota the new
    /// one is checked with (RFC 8508 §3.4); a failure of either half (the
    /// old message already gone: `NotFound`, quota, a missing mailbox)
    /// leaves both as they were.
    pub async fn replace(
        &self,
        user: UserId,
        from: MailboxId,
        uid: Uid,
        to: MailboxId,
        msg: NewMessage,
    ) -> Result<(Appended, Expunged)> {
        self.commit_message(msg, move |ctx, p| {
            let src = mailbox_by_id(ctx.conn, from)?.filter(|m| m.user == user);
            let dst = mailbox_by_id(ctx.conn, to)?.filter(|m| m.user == user);
            let (Some(_), Some(dst)) = (src, dst) else {
                return Err(StoreError::NotFound("mailbox".into()));
            };
            let gone = expunge_rows(ctx, from, &ExpungeWhich::Uids(vec![uid]))?;
            if gone.uids.is_empty() {
                return Err(StoreError::NotFound("message".into()));
            }
            let d = insert_message(ctx, user, dst.id, p, false)?;
            let appended = Appended {
                mailbox: d.mailbox,
                uidvalidity: d.uidvalidity,
                uid: d.uid,
                modseq: d.modseq,
            };
            Ok((appended, gone))
        })
        .await
    }
}
