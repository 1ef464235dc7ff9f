//! GETMETADATA and SETMETADATA (RFC 5464): annotations on the user's
//! mailboxes (METADATA) and on the server (METADATA-SERVER, mailbox
//! `""`), kept per user by the store. A value is at most `[imap]
//! metadata_max_size` bytes (`NO [METADATA MAXSIZE n]`), a user holds at
//! most `metadata_max_entries` (`NO [METADATA TOOMANY]`). `/shared/`
//! entries are stored like `/private/` ones: only their owner sees a
//! mailbox here.

use postern_store::{MailboxId, StoreError};

use super::{Flow, Session};
use crate::wire::{self, Code, MailboxName, MetaDepth, MetaOptions, Tag};

impl Session {
    /// The mailbox an annotation command names (`None`: the server), or
    /// the refusal already written.
    async fn meta_target(
        &mut self,
        tag: &Tag,
        mailbox: &Option<MailboxName>,
        out: &mut Vec<u8>,
    ) -> Result<Option<MailboxId>, Flow> {
        let Some(user) = self.user_id() else {
            return Err(Flow::Close);
        };
        let Some(name) = mailbox else {
            return Ok(None);
        };
        match self.ctx.store.mailbox_get(user, name.as_str()).await {
            Ok(Some(m)) => Ok(Some(m.id)),
            Ok(None) => Err(self.no(tag.clone(), Some(Code::NonExistent), "No such mailbox", out)),
            Err(e) => Err(self.store_error(tag.clone(), e, out)),
        }
    }

    /// GETMETADATA (RFC 5464 §4.2): one METADATA response with what
    /// exists; values over MAXSIZE are left out and the longest of them
    /// named in `OK [METADATA LONGENTRIES n]`.
    pub(super) async fn getmetadata(
        &mut self,
        tag: Tag,
        mailbox: Option<MailboxName>,
        entries: Vec<String>,
        options: MetaOptions,
        out: &mut Vec<u8>,
    ) -> Flow {
        let target = match self.meta_target(&tag, &mailbox, out).await {
            Ok(t) => t,
            Err(flow) => return flow,
        };
        let Some(user) = self.user_id() else {
            return Flow::Close;
        };
        let (depth, below) = match options.depth {
            MetaDepth::Zero => (Some(0), false),
            MetaDepth::One => (Some(1), true),
            MetaDepth::Infinity => (None, true),
        };
        let found = match self
            .ctx
            .store
            .get_metadata(user, target, entries, depth, below)
            .await
        {
            Ok(f) => f,
            Err(e) => return self.store_error(tag, e, out),
        };
        let max = options.max_size.map_or(usize::MAX, |m| m as usize);
        let longest = found
            .iter()
            .map(|(_, v)| v.len())
            .filter(|&l| l > max)
            .max();
        let shown: Vec<&(String, Vec<u8>)> = found.iter().filter(|(_, v)| v.len() <= max).collect();
        if !shown.is_empty() {
            out.extend_from_slice(b"* METADATA ");
            match &mailbox {
                Some(m) => {
                    wire::response::encode_mailbox_name(out, m.as_str(), self.enabled.utf8_names())
                }
                None => out.extend_from_slice(b"\"\""),
            }
            out.extend_from_slice(b" (");
            for (i, (name, value)) in shown.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                wire::response::astring(out, name.as_bytes(), false);
                out.push(b' ');
                if value.contains(&0) {
                    // A NUL only fits a literal8 (RFC 5464 §5, RFC 3516).
                    out.extend_from_slice(format!("~{{{}}}\r\n", value.len()).as_bytes());
                    out.extend_from_slice(value);
                } else {
                    wire::response::quoted_or_literal(out, value, false);
                }
            }
            out.extend_from_slice(b")\r\n");
        }
        if let Some(n) = longest {
            self.sync(out, true).await;
            wire::StatusResponse::new(Some(tag), wire::Status::Ok, "GETMETADATA completed")
                .with_code(Code::Metadata(format!("LONGENTRIES {n}")))
                .encode(out);
            return Flow::Continue;
        }
        self.ok(tag, "GETMETADATA completed", out).await
    }

    /// SETMETADATA (RFC 5464 §4.3): all entries in one commit, or none.
    pub(super) async fn setmetadata(
        &mut self,
        tag: Tag,
        mailbox: Option<MailboxName>,
        entries: Vec<(String, Option<Vec<u8>>)>,
        out: &mut Vec<u8>,
    ) -> Flow {
        let max_size = self.ctx.cfg.metadata_max_size;
        if entries
            .iter()
            .any(|(_, v)| v.as_ref().is_some_and(|v| v.len() > max_size))
        {
            return self.no(
                tag,
                Some(Code::Metadata(format!("MAXSIZE {max_size}"))),
                "Annotation value too long",
                out,
            );
        }
        let target = match self.meta_target(&tag, &mailbox, out).await {
            Ok(t) => t,
            Err(flow) => return flow,
        };
        let Some(user) = self.user_id() else {
            return Flow::Close;
        };
        let max_entries = self.ctx.cfg.metadata_max_entries;
        match self
            .ctx
            .store
            .set_metadata(user, target, entries, max_entries)
            .await
        {
            Ok(()) => self.ok(tag, "SETMETADATA completed", out).await,
            Err(StoreError::QuotaExceeded(_)) => self.no(
                tag,
                Some(Code::Metadata("TOOMANY".into())),
                "Too many annotations",
                out,
            ),
            Err(e) => self.store_error(tag, e, out),
        }
    }
}
