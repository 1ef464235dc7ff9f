//! CATENATE (RFC 4469): an APPEND message assembled from text and from
//! messages (or their parts) that IMAP URLs name in the user's own
//! mailboxes. A URL that names nothing is `NO [BADURL url]` and nothing
//! is appended; the assembled message is bounded like any APPEND
//! (APPENDLIMIT, `NO [TOOBIG]`).

use postern_store::Uid;

use super::fetch::spec_of;
use super::{Flow, Session, State};
use crate::render;
use crate::wire::{CatPart, Code, Tag, parse_url};

impl Session {
    /// The message `parts` make, or the refusal already written.
    pub(super) async fn catenate(
        &mut self,
        tag: &Tag,
        parts: Vec<CatPart>,
        out: &mut Vec<u8>,
    ) -> Result<Vec<u8>, Flow> {
        let mut msg = Vec::new();
        for part in parts {
            let piece = match part {
                CatPart::Text(t) => t,
                CatPart::Url(url) => match self.resolve_url(&url).await {
                    Some(b) => b,
                    None => {
                        // RFC 4469 §6: `url-resp-text` holds no `]`, CR or LF.
                        let shown: String = url
                            .chars()
                            .filter(|c| !matches!(c, ']' | '\r' | '\n'))
                            .collect();
                        return Err(self.no(
                            tag.clone(),
                            Some(Code::BadUrl(shown)),
                            "URL names no message here",
                            out,
                        ));
                    }
                },
            };
            msg.extend_from_slice(&piece);
            if msg.len() as u64 > self.ctx.cfg.max_literal {
                return Err(self.no(
                    tag.clone(),
                    Some(Code::TooBig),
                    "The assembled message is over the APPEND limit",
                    out,
                ));
            }
        }
        Ok(msg)
    }

    /// The bytes a URL names (RFC 5092): a message of one of the user's
    /// mailboxes (UIDVALIDITY checked when given), a section, a range.
    async fn resolve_url(&self, url: &str) -> Option<Vec<u8>> {
        let u = parse_url(url)?;
        let user = self.user_id()?;
        let mailbox = match &u.mailbox {
            Some(name) => self.ctx.store.mailbox_get(user, name).await.ok()??,
            None => match &self.state {
                State::Selected(s) => s.mailbox.clone(),
                _ => return None,
            },
        };
        if u.uidvalidity.is_some_and(|v| v != mailbox.uidvalidity.0) {
            return None;
        }
        let uid = Uid::new(u.uid.get())?;
        let raw = self.ctx.store.message_bytes(mailbox.id, uid).await.ok()??;
        let data = match &u.section {
            None => raw,
            Some(s) => {
                let meta = postern_store::meta_of(&raw);
                render::section(&raw, &meta, &spec_of(s))?
            }
        };
        Some(match u.partial {
            Some(p) => render::partial(&data, p.offset, Some(p.length.get())).to_vec(),
            None => data,
        })
    }
}
