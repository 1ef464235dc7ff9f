//! APPEND (RFC 9051 §6.3.12, APPENDUID of RFC 4315), COPY and MOVE
//! (RFC 6851, COPYUID). APPEND answers OK only after the store's commit;
//! parts holding NUL are stored base64-encoded (RFC 3516 §4.4).

use postern_store::{NewMessage, Uid};

use super::fetch::store_flags;
use super::{Flow, Session, State};
use crate::wire::{self, Code, DateTime, Flag, MailboxName, SequenceSet, Tag};

impl Session {
    pub(super) async fn append(
        &mut self,
        tag: Tag,
        name: MailboxName,
        flags: Vec<Flag>,
        date: Option<DateTime>,
        message: Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(user) = self.user_id() else {
            return Flow::Close;
        };
        let mailbox = match self.ctx.store.mailbox_get(user, name.as_str()).await {
            Ok(Some(m)) => m,
            // RFC 9051 §6.3.12: TRYCREATE tells the client to CREATE first.
            Ok(None) => return self.no(tag, Some(Code::TryCreate), "No such mailbox", out),
            Err(e) => return self.store_error(tag, e, out),
        };
        // RFC 3516 §4.4: a part holding NUL (possible only in a `~{n}`
        // literal) is stored base64-encoded, so that no `{n}` literal
        // ever has to carry a NUL (render/nul.rs).
        let message = match crate::render::encode_nul_parts(&message) {
            Some(encoded) => encoded,
            None => message,
        };
        let msg = NewMessage {
            raw: message,
            internal_date: date.map(|d| d.unix()),
            flags: store_flags(&flags),
        };
        match self.ctx.store.append(user, mailbox.id, msg).await {
            Ok(a) => {
                self.sync(out, true).await;
                let uids = SequenceSet::from_ids([a.uid.get()]);
                let mut r =
                    wire::StatusResponse::new(Some(tag), wire::Status::Ok, "APPEND completed");
                if let Some(uids) = uids {
                    r = r.with_code(Code::AppendUid {
                        uid_validity: a.uidvalidity.0,
                        uids,
                    });
                }
                r.encode(out);
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
