//! APPEND (RFC 9051 §6.3.12, APPENDUID of RFC 4315, MULTIAPPEND of
//! RFC 3502: several messages in one commit), REPLACE (RFC 8508), COPY
//! and MOVE
//! (RFC 6851, COPYUID). APPEND answers OK only after the store's commit;
//! parts holding NUL are stored base64-encoded (RFC 3516 §4.4).

use postern_store::{NewMessage, Uid};

use super::fetch::store_flags;
use super::{Flow, Session, State};
use crate::wire::{self, AppendMessage, Code, MailboxName, SequenceSet, Tag};

impl Session {
    /// APPEND of one message or, with MULTIAPPEND (RFC 3502), several in
    /// one store commit: all are stored or none.
    pub(super) async fn append(
        &mut self,
        tag: Tag,
        name: MailboxName,
        messages: Vec<AppendMessage>,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(user) = self.user_id() else {
            return Flow::Close;
        };
        // RFC 4469: CATENATE messages are assembled first; a bad URL
        // refuses the whole command.
        let mut messages = messages;
        for m in &mut messages {
            if let Some(parts) = m.catenate.take() {
                match self.catenate(&tag, parts, out).await {
                    Ok(bytes) => m.message = bytes,
                    Err(flow) => return flow,
                }
            }
        }
        // RFC 3502 §6.3.11: a zero-length message literal cancels the
        // whole command; nothing is appended.
        if messages.iter().any(|m| m.message.is_empty()) {
            return self.no(tag, None, "Empty message: APPEND cancelled", out);
        }
        let mailbox = match self.ctx.store.mailbox_get(user, name.as_str()).await {
            Ok(Some(m)) => m,
            // RFC 9051 §6.3.12: TRYCREATE tells the client to CREATE first.
            Ok(None) => return self.no(tag, Some(Code::TryCreate), "No such mailbox", out),
            Err(e) => return self.store_error(tag, e, out),
        };
        let msgs = messages
            .into_iter()
            .map(|m| NewMessage {
                // RFC 3516 §4.4: a part holding NUL (possible only in a
                // `~{n}` literal) is stored base64-encoded, so that no
                // `{n}` literal ever has to carry a NUL (render/nul.rs).
                raw: crate::render::encode_nul_parts(&m.message).unwrap_or(m.message),
                internal_date: m.date.map(|d| d.unix()),
                flags: store_flags(&m.flags),
            })
            .collect();
        match self.ctx.store.append_many(user, mailbox.id, msgs).await {
            Ok(done) => {
                self.sync(out, true).await;
                let mut r =
                    wire::StatusResponse::new(Some(tag), wire::Status::Ok, "APPEND completed");
                // RFC 4315 §3: one UID, or the set of a MULTIAPPEND's.
                if let (Some(first), Some(uids)) = (
                    done.first(),
                    SequenceSet::from_ids(done.iter().map(|a| a.uid.get())),
                ) {
                    r = r.with_code(Code::AppendUid {
                        uid_validity: first.uidvalidity.0,
                        uids,
                    });
                }
                r.encode(out);
                Flow::Continue
            }
            Err(e) => self.store_error(tag, e, out),
        }
    }

    /// REPLACE and UID REPLACE (RFC 8508): the new message is stored in
    /// `name` and the old one expunged from the selected mailbox in one
    /// store commit; if either cannot be done, neither is.
    pub(super) async fn replace(
        &mut self,
        tag: Tag,
        uid: bool,
        id: u32,
        name: MailboxName,
        message: AppendMessage,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(user) = self.user_id() else {
            return Flow::Close;
        };
        let State::Selected(s) = &self.state else {
            return self.bad(Some(tag), "No mailbox selected", out);
        };
        // RFC 8508 §3.3: replacing expunges, which a read-only mailbox
        // does not allow.
        if s.read_only {
            return self.no(tag, Some(Code::ReadOnly), "Mailbox is read-only", out);
        }
        let from = s.mailbox.id;
        let old = if uid {
            s.seq_of(id).map(|_| id)
        } else {
            s.uids.get(id as usize - 1).copied()
        };
        let Some(old) = old.and_then(Uid::new) else {
            if uid {
                return self.no(
                    tag,
                    Some(Code::NonExistent),
                    "No message with that UID",
                    out,
                );
            }
            return self.bad(Some(tag), "No message with that sequence number", out);
        };
        if message.message.is_empty() {
            return self.no(tag, None, "Empty message", out);
        }
        let dest = match self.ctx.store.mailbox_get(user, name.as_str()).await {
            Ok(Some(m)) => m,
            Ok(None) => return self.no(tag, Some(Code::TryCreate), "No such mailbox", out),
            Err(e) => return self.store_error(tag, e, out),
        };
        let msg = NewMessage {
            raw: crate::render::encode_nul_parts(&message.message).unwrap_or(message.message),
            internal_date: message.date.map(|d| d.unix()),
            flags: store_flags(&message.flags),
        };
        match self.ctx.store.replace(user, from, old, dest.id, msg).await {
            Ok((added, gone)) => {
                // RFC 8508 §3.1: APPENDUID in an untagged OK, then the
                // EXISTS (replacing within the mailbox) and EXPUNGE.
                if let Some(uids) = SequenceSet::from_ids([added.uid.get()]) {
                    wire::StatusResponse::new(None, wire::Status::Ok, "Replacement stored")
                        .with_code(Code::AppendUid {
                            uid_validity: added.uidvalidity.0,
                            uids,
                        })
                        .encode(out);
                }
                if let State::Selected(s) = &mut self.state {
                    s.expunged_here(&gone.uids, gone.modseq);
                }
                self.sync(out, true).await;
                wire::StatusResponse::new(Some(tag), wire::Status::Ok, "REPLACE completed")
                    .encode(out);
                Flow::Continue
            }
            Err(e) => self.store_error(tag, e, out),
        }
    }

    /// COPY and MOVE; `remove` makes it a MOVE.
    pub(super) async fn copy(
        &mut self,
        tag: Tag,
        uid: bool,
        set: SequenceSet,
        name: MailboxName,
        remove: bool,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(user) = self.user_id() else {
            return Flow::Close;
        };
        let State::Selected(s) = &self.state else {
            return self.bad(Some(tag), "No mailbox selected", out);
        };
        if remove && s.read_only {
            return self.no(tag, Some(Code::ReadOnly), "Mailbox is read-only", out);
        }
        if s.past_the_end(&set, uid) {
            return self.bad(Some(tag), "No message with that sequence number", out);
        }
        let from = s.mailbox.id;
        let uids: Vec<Uid> = s
            .resolve(&set, uid)
            .iter()
            .filter_map(|&q| Uid::new(s.uids[q as usize - 1]))
            .collect();
        let dest = match self.ctx.store.mailbox_get(user, name.as_str()).await {
            Ok(Some(m)) => m,
            Ok(None) => return self.no(tag, Some(Code::TryCreate), "No such mailbox", out),
            Err(e) => return self.store_error(tag, e, out),
        };
        let copied = if remove {
            match self
                .ctx
                .store
                .move_messages(user, from, uids, dest.id)
                .await
            {
                Ok((c, gone)) => {
                    if let State::Selected(s) = &mut self.state {
                        s.expunged_here(&gone.uids, gone.modseq);
                    }
                    c
                }
                Err(e) => return self.store_error(tag, e, out),
            }
        } else {
            match self
                .ctx
                .store
                .copy_messages(user, from, uids, dest.id)
                .await
            {
                Ok(c) => c,
                Err(e) => return self.store_error(tag, e, out),
            }
        };
        let src = SequenceSet::from_ids(copied.pairs.iter().map(|p| p.0.get()));
        let dst = SequenceSet::from_ids(copied.pairs.iter().map(|p| p.1.get()));
        let code = match (src, dst) {
            (Some(source), Some(dest)) => Some(Code::CopyUid {
                uid_validity: copied.uidvalidity.0,
                source,
                dest,
            }),
            _ => None,
        };
        // RFC 6851 §4.3: MOVE sends COPYUID in an untagged OK, then the EXPUNGEs.
        if remove {
            if let Some(c) = code {
                wire::StatusResponse::new(None, wire::Status::Ok, "Moved")
                    .with_code(c)
                    .encode(out);
            }
            self.sync(out, true).await;
            wire::StatusResponse::new(Some(tag), wire::Status::Ok, "MOVE completed").encode(out);
        } else {
            self.sync(out, uid).await;
            let mut r = wire::StatusResponse::new(Some(tag), wire::Status::Ok, "COPY completed");
            if let Some(c) = code {
                r = r.with_code(c);
            }
            r.encode(out);
        }
        Flow::Continue
    }
}
