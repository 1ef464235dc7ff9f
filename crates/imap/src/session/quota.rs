//! QUOTA (RFC 9208): GETQUOTA and GETQUOTAROOT over the user's quota in
//! the store. Every mailbox of a user shares one quota root, `""`; its
//! resources are STORAGE (in KiB) and MESSAGE, each sent only when the
//! user has a limit on it. SETQUOTA is refused: quotas are set with the
//! admin CLI.

use postern_store::QuotaUsage;

use super::{Flow, Session};
use crate::wire::{self, Code, MailboxName, Tag};

/// The one quota root every mailbox belongs to.
const ROOT: &str = "";

/// `(STORAGE used limit MESSAGE used limit)` for the resources with a
/// limit, or `None` when the user has none (RFC 9208 §5.1: a QUOTA
/// response lists at least one resource).
fn resources(q: &QuotaUsage) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(limit) = q.limit_bytes {
        // RFC 9208 §5.1: STORAGE counts units of 1024 octets.
        parts.push(format!(
            "STORAGE {} {}",
            q.used_bytes.div_ceil(1024),
            limit.div_ceil(1024)
        ));
    }
    if let Some(limit) = q.limit_messages {
        parts.push(format!("MESSAGE {} {limit}", q.used_messages));
    }
    (!parts.is_empty()).then(|| format!("({})", parts.join(" ")))
}

impl Session {
    async fn quota_usage(&self) -> Result<QuotaUsage, postern_store::StoreError> {
        let user = self
            .user_id()
            .expect("quota commands run only once logged in");
        self.ctx.store.quota(user).await
    }

    /// GETQUOTAROOT (RFC 9208 §4.3).
    pub(super) async fn getquotaroot(
        &mut self,
        tag: Tag,
        name: MailboxName,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(user) = self.user_id() else {
            return Flow::Close;
        };
        let mailbox = match self.ctx.store.mailbox_get(user, name.as_str()).await {
            Ok(Some(m)) => m,
            Ok(None) => return self.no(tag, Some(Code::NonExistent), "No such mailbox", out),
            Err(e) => return self.store_error(tag, e, out),
        };
        let usage = match self.quota_usage().await {
            Ok(q) => q,
            Err(e) => return self.store_error(tag, e, out),
        };
        let list = resources(&usage);
        out.extend_from_slice(b"* QUOTAROOT ");
        wire::response::encode_mailbox_name(out, &mailbox.name, self.enabled.utf8_names());
        if let Some(list) = &list {
            out.extend_from_slice(format!(" \"{ROOT}\"\r\n* QUOTA \"{ROOT}\" {list}").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        self.ok(tag, "GETQUOTAROOT completed", out).await
    }

    /// GETQUOTA (RFC 9208 §4.2).
    pub(super) async fn getquota(&mut self, tag: Tag, root: Vec<u8>, out: &mut Vec<u8>) -> Flow {
        if root != ROOT.as_bytes() {
            return self.no(tag, Some(Code::NonExistent), "No such quota root", out);
        }
        let usage = match self.quota_usage().await {
            Ok(q) => q,
            Err(e) => return self.store_error(tag, e, out),
        };
        let Some(list) = resources(&usage) else {
            return self.no(tag, Some(Code::NonExistent), "No quota is set", out);
        };
        out.extend_from_slice(format!("* QUOTA \"{ROOT}\" {list}\r\n").as_bytes());
        self.ok(tag, "GETQUOTA completed", out).await
    }

    /// SETQUOTA (RFC 9208 §4.1): not offered (no QUOTASET capability).
    pub(super) fn setquota(&self, tag: Tag, out: &mut Vec<u8>) -> Flow {
        self.no(
            tag,
            Some(Code::Cannot),
            "Quotas are set by the administrator",
            out,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_resources_list_only_limited_ones_in_kib_rounded_up() {
        let q = |used_bytes, used_messages, limit_bytes, limit_messages| QuotaUsage {
            used_bytes,
            used_messages,
            limit_bytes,
            limit_messages,
        };
        for (usage, want) in [
            (q(0, 0, None, None), None),
            (
                q(1, 1, Some(10 << 20), Some(500)),
                Some("(STORAGE 1 10240 MESSAGE 1 500)"),
            ),
            (q(2048, 3, Some(4096), None), Some("(STORAGE 2 4)")),
            (q(2049, 3, None, Some(9)), Some("(MESSAGE 3 9)")),
        ] {
            assert_eq!(resources(&usage).as_deref(), want, "{usage:?}");
        }
    }
}
