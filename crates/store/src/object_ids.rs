//! Stable object identifiers (IMAP OBJECTID, RFC 8474).
//!
//! - MAILBOXID: from the mailbox's UIDVALIDITY, which the store hands out
//!   from one counter (never twice) and which RENAME keeps, so the id
//!   survives a rename and a deleted-and-recreated name gets a new one.
//! - EMAILID: the `email_id` column, set when a message is first stored
//!   (UIDVALIDITY and UID: unique store-wide) and copied by COPY and
//!   MOVE: the same email in two mailboxes has one id, two deliveries of
//!   the same bytes have two. Content-addressed blobs could not tell
//!   those apart.
//! - THREADID: derived from the thread's root Message-ID (the first of
//!   References, else In-Reply-To, else the message's own Message-ID),
//!   so replies that name their root share it; a message with none of
//!   those is a thread of its own, named after its EMAILID.

use sha2::{Digest, Sha256};

use crate::Store;
use crate::error::Result;
use crate::types::{MailboxId, Uid, UidValidity};

/// A message's EMAILID and THREADID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectIds {
    pub email_id: String,
    pub thread_id: String,
}

/// The MAILBOXID of a mailbox with this UIDVALIDITY.
pub fn mailbox_object_id(uidvalidity: UidValidity) -> String {
    format!("M{:08x}", uidvalidity.0)
}

/// The `email_id` of a message first stored as `uid` in a mailbox with
/// `uidvalidity` (the bits of both, as SQLite's signed integer).
pub(crate) fn new_email_id(uidvalidity: UidValidity, uid: Uid) -> i64 {
    ((u64::from(uidvalidity.0) << 32) | u64::from(uid.get())) as i64
}

fn email_text(id: i64) -> String {
    format!("E{:016x}", id as u64)
}

/// The first `<...>` of a Message-ID-like field, or the trimmed field.
fn first_msg_id(field: &str) -> Option<&str> {
    let f = field.trim();
    if let (Some(a), Some(b)) = (f.find('<'), f.find('>'))
        && a < b
    {
        return Some(&f[a..=b]);
    }
    Some(f).filter(|f| !f.is_empty())
}

fn thread_text(root: &str) -> String {
    let h = Sha256::digest(root.as_bytes());
    let hex: String = h.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("T{hex}")
}

impl Store {
    /// EMAILID and THREADID of the messages of `mailbox` among `uids`, in
    /// UID order; messages that no longer exist are left out.
    pub async fn object_ids(
        &self,
        mailbox: MailboxId,
        uids: Vec<Uid>,
    ) -> Result<Vec<(Uid, ObjectIds)>> {
        self.read(move |c| {
            let mut sorted = uids;
            sorted.sort_unstable();
            sorted.dedup();
            let mut st = c.prepare_cached(
                "SELECT m.email_id, m.refs, m.in_reply_to, m.message_id, b.uidvalidity
                 FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
                 WHERE m.mailbox_id = ?1 AND m.uid = ?2",
            )?;
            let mut out = Vec::with_capacity(sorted.len());
            for uid in sorted {
                let mut rows = st.query((mailbox.0, uid.get()))?;
                let Some(r) = rows.next()? else { continue };
                let email: Option<i64> = r.get(0)?;
                let uidvalidity = UidValidity(r.get(4)?);
                let email = email.unwrap_or_else(|| new_email_id(uidvalidity, uid));
                let (refs, irt, mid): (String, String, String) = (r.get(1)?, r.get(2)?, r.get(3)?);
                let thread_id = first_msg_id(&refs)
                    .or_else(|| first_msg_id(&irt))
                    .or_else(|| first_msg_id(&mid))
                    .map_or_else(|| thread_text(&email_text(email)), thread_text);
                out.push((
                    uid,
                    ObjectIds {
                        email_id: email_text(email),
                        thread_id,
                    },
                ));
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_object_ids_and_roots_are_found() {
        let ok = |s: &str| {
            !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_alphanumeric())
        };
        assert!(ok(&mailbox_object_id(UidValidity(7))));
        let e = new_email_id(UidValidity(u32::MAX), Uid::new(u32::MAX).expect("uid"));
        assert_eq!(email_text(e), "Effffffffffffffff");
        assert!(ok(&thread_text("<a@b>")));
        assert_eq!(first_msg_id(" <root@x> <mid@x>"), Some("<root@x>"));
        assert_eq!(first_msg_id("  "), None);
        assert_eq!(first_msg_id("bare"), Some("bare"));
    }
}
