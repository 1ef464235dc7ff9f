//! FETCH and STORE (RFC 9051 §6.4.5, §6.4.6), rendering from the store's
//! cached meta (`render/`) and reading the blob only for items that need
//! the bytes. A non-PEEK body fetch sets `\Seen` (unless read-only) and
//! reports the new FLAGS. CONDSTORE (RFC 7162 §3.1): FETCH MODSEQ and
//! CHANGEDSINCE, UID FETCH ... VANISHED (§3.2.6), STORE UNCHANGEDSINCE
//! with the MODIFIED code. PARTIAL (RFC 9394 §3.2) pages a FETCH. UID,
//! FLAGS and MODSEQ alone go through `fetch_flags.rs`, ENVELOPE and
//! BODYSTRUCTURE with the listing's items through `fetch_stream.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use postern_store::{FlagOp, Flags, MessageInfo, MessageMeta, ModSeq, SystemFlags, Uid};

use super::fetch_batches::Lines;
use super::selected::flags_shown;
use super::{Flow, Session, State};
use super::{condstore, keywords};
use crate::render::{self, SectionPart, SectionSpec};
use crate::render_cache::Rendered;
use crate::wire::{
    self, Code, FetchAttr, FetchModifiers, Flag, SectionText, SequenceSet, StoreAction, StoreFlags,
    Tag,
};

/// Writes `name {n}\r\n<bytes>` (a literal: message data is never quoted;
/// a NUL, which `{n}` cannot carry, goes as 0x80: `render/nul.rs`).
fn literal(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    render::body_literal(out, name, data);
}

fn section_name(prefix: &str, s: &wire::Section) -> String {
    let mut parts: Vec<String> = s.part.iter().map(|p| p.to_string()).collect();
    match &s.text {
        None => {}
        Some(SectionText::Header) => parts.push("HEADER".into()),
        Some(SectionText::Text) => parts.push("TEXT".into()),
        Some(SectionText::Mime) => parts.push("MIME".into()),
        Some(SectionText::HeaderFields(f)) => {
            parts.push(format!("HEADER.FIELDS ({})", f.join(" ")))
        }
        Some(SectionText::HeaderFieldsNot(f)) => {
            parts.push(format!("HEADER.FIELDS.NOT ({})", f.join(" ")))
        }
    }
    format!("{prefix}[{}]", parts.join("."))
}

pub(super) fn spec_of(s: &wire::Section) -> SectionSpec {
    SectionSpec {
        parts: s.part.iter().map(|p| p.get()).collect(),
        what: match &s.text {
            None => SectionPart::Whole,
            Some(SectionText::Header) => SectionPart::Header,
            Some(SectionText::Text) => SectionPart::Text,
            Some(SectionText::Mime) => SectionPart::Mime,
            Some(SectionText::HeaderFields(f)) => SectionPart::HeaderFields(f.clone()),
            Some(SectionText::HeaderFieldsNot(f)) => SectionPart::HeaderFieldsNot(f.clone()),
        },
    }
}

/// ENVELOPE, BODY, BODYSTRUCTURE: rendered from the meta alone, so kept
/// in the shared render cache.
fn is_structure(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Envelope | FetchAttr::Body | FetchAttr::BodyStructure
    )
}

pub(super) fn render_structure(m: &MessageMeta) -> Rendered {
    Rendered {
        envelope: render::envelope(&m.envelope),
        body: render::body_structure(m, &[], false),
        bodystructure: render::body_structure(m, &[], true),
    }
}

fn needs_meta(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Preview
            | FetchAttr::Envelope
            | FetchAttr::Body
            | FetchAttr::BodyStructure
            | FetchAttr::BodySection { .. }
            | FetchAttr::Binary { .. }
            | FetchAttr::BinarySize { .. }
            | FetchAttr::Rfc822Header
            | FetchAttr::Rfc822Text
    )
}

fn needs_raw(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Preview
            | FetchAttr::BodySection { .. }
            | FetchAttr::Binary { .. }
            | FetchAttr::BinarySize { .. }
            | FetchAttr::Rfc822
            | FetchAttr::Rfc822Peek
            | FetchAttr::Rfc822Header
            | FetchAttr::Rfc822Text
    )
}

fn sets_seen(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::BodySection { peek: false, .. }
            | FetchAttr::Binary { peek: false, .. }
            | FetchAttr::Rfc822
            | FetchAttr::Rfc822Text
    )
}

/// A listing in UID order, looked up by UID (a binary search: no map
/// built over a 100,000-message FETCH).
struct Listing(Vec<MessageInfo>);

impl Listing {
    fn get(&self, uid: &u32) -> Option<&MessageInfo> {
        self.0
            .binary_search_by_key(uid, |m| m.uid.get())
            .ok()
            .map(|i| &self.0[i])
    }
}

/// A space before every item but the first of a FETCH line.
fn sep(line: &mut Vec<u8>) {
    if !line.is_empty() {
        line.push(b' ');
    }
}

/// Appends one item, already encoded.
fn push(line: &mut Vec<u8>, item: &[u8]) {
    sep(line);
    line.extend_from_slice(item);
}

/// A number in decimal, without a `format!`.
pub(super) fn push_number(out: &mut Vec<u8>, n: impl Into<u64>) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n: u64 = n.into();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_uid(line: &mut Vec<u8>, uid: u32) {
    sep(line);
    line.extend_from_slice(b"UID ");
    push_number(line, uid);
}

/// Writes `FLAGS (...)` as [`flags_shown`] does, without building strings.
pub(super) fn write_flags(out: &mut Vec<u8>, f: &Flags, recent: bool) {
    out.extend_from_slice(b"FLAGS (");
    let mut first = true;
    let mut word = |out: &mut Vec<u8>, w: &str| {
        if !std::mem::take(&mut first) {
            out.push(b' ');
        }
        out.extend_from_slice(w.as_bytes());
    };
    if recent {
        word(out, "\\Recent");
    }
    for n in f.system.names() {
        word(out, n);
    }
    for k in &f.keywords {
        word(out, k);
    }
    out.push(b')');
}

pub(super) fn store_flags(flags: &[Flag]) -> Flags {
    let mut system = SystemFlags::empty();
    let mut keywords = Vec::new();
    for f in flags {
        match f {
            Flag::Seen => system = system.union(SystemFlags::SEEN),
            Flag::Answered => system = system.union(SystemFlags::ANSWERED),
            Flag::Flagged => system = system.union(SystemFlags::FLAGGED),
            Flag::Deleted => system = system.union(SystemFlags::DELETED),
            Flag::Draft => system = system.union(SystemFlags::DRAFT),
            Flag::Keyword(k) => keywords.push(k.clone()),
            // \Recent and unknown system flags cannot be stored.
            Flag::Extension(_) => {}
        }
    }
    Flags::new(system, keywords)
}

impl Session {
    pub(super) async fn fetch(
        &mut self,
        tag: Tag,
        uid: bool,
        set: SequenceSet,
        mut items: Vec<FetchAttr>,
        modifiers: FetchModifiers,
        out: &mut Vec<u8>,
    ) -> Flow {
        if !matches!(self.state, State::Selected(_)) {
            return self.bad(Some(tag), "No mailbox selected", out);
        }
        // RFC 7162 §3.2.6: VANISHED only in UID FETCH with CHANGEDSINCE,
        // and only once QRESYNC is enabled.
        if modifiers.vanished {
            if !uid || modifiers.changed_since.is_none() {
                return self.bad(Some(tag), "VANISHED needs UID FETCH and CHANGEDSINCE", out);
            }
            if !self.enabled.qresync {
                return self.bad(Some(tag), "ENABLE QRESYNC first", out);
            }
        }
        if modifiers.changed_since.is_some() || items.contains(&FetchAttr::ModSeq) {
            self.condstore_implied(out);
        }
        // RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ in the answer.
        if modifiers.changed_since.is_some() && !items.contains(&FetchAttr::ModSeq) {
            items.push(FetchAttr::ModSeq);
        }
        let condstore = self.enabled.condstore;
        let State::Selected(s) = &self.state else {
            return self.bad(Some(tag), "No mailbox selected", out);
        };
        if s.past_the_end(&set, uid) {
            return self.bad(Some(tag), "No message with that sequence number", out);
        }
        let mailbox = s.mailbox.id;
        let first_recent = s.first_recent;
        // The messages the command is about: those the session has now,
        // whatever the feed brings before the answer (`flag_memory.rs`).
        let known = s.uids.len();
        // UID, FLAGS and MODSEQ alone: from the session's memory of the
        // flags, else one compact pass (`fetch_flags.rs`).
        if super::fetch_flags::flags_only(&items, &modifiers, self.enabled.uid_only) {
            let lines = Lines::new(uid, items, first_recent);
            let lines = match self
                .fetch_flags_from_memory(&tag, uid, &set, (lines, known), out)
                .await
            {
                Ok(flow) => return flow,
                Err(lines) => lines,
            };
            let pass = super::fetch_flags::pass(lines);
            return self
                .fetch_batches(tag, uid, &set, (mailbox, known), pass, out)
                .await;
        }
        // ENVELOPE, BODYSTRUCTURE and the listing's items: read and
        // answered in batches (`fetch_stream.rs`).
        if super::fetch_stream::streamable(&items, &modifiers, self.enabled.uid_only) {
            let lines = Lines::new(uid, items, first_recent);
            let pass = super::fetch_stream::pass(lines, self.ctx.render.clone());
            return self
                .fetch_batches(tag, uid, &set, (mailbox, known), pass, out)
                .await;
        }
        let seqs = s.resolve(&set, uid);
        let max_uid = s.uids.last().copied().unwrap_or(0);
        let read_only = s.read_only;
        let wanted: Vec<(u32, u32)> = seqs.iter().map(|&q| (q, s.uids[q as usize - 1])).collect();
        // Only the UID range the set names is listed, not the mailbox.
        let (lo, hi) = match (wanted.first(), wanted.last()) {
            (Some(a), Some(b)) => (a.1, b.1),
            _ => (1, 0),
        };
        let infos = match self.ctx.store.messages_between(mailbox, lo, hi).await {
            Ok(v) => Listing(v),
            Err(e) => return self.store_error(tag, e, out),
        };
        let wanted: Vec<(u32, u32)> = match modifiers.changed_since {
            Some(since) => wanted
                .into_iter()
                .filter(|(_, u)| infos.get(u).is_some_and(|m| m.modseq.0 > since))
                .collect(),
            None => wanted,
        };
        // RFC 9394 §3.2: PARTIAL picks a page of what the set and
        // CHANGEDSINCE named, counted in UID order from either end.
        let wanted: Vec<(u32, u32)> = match modifiers.partial {
            Some(p) => p.apply(&wanted).to_vec(),
            None => wanted,
        };
        if modifiers.vanished
            && let Some(since) = modifiers.changed_since
        {
            // RFC 7162 §3.2.6: the UIDs of the set expunged since, before the FETCHes.
            match self.ctx.store.changes_since(mailbox, ModSeq(since)).await {
                Ok(c) => condstore::vanished(
                    out,
                    true,
                    c.vanished
                        .iter()
                        .map(|u| u.get())
                        .filter(|&u| set.contains(u, max_uid)),
                ),
                Err(e) => return self.store_error(tag, e, out),
            }
        }
        // \Seen first, so the FLAGS we send are the new ones.
        let mut seen_now: HashMap<u32, (Flags, ModSeq)> = HashMap::new();
        if !read_only && items.iter().any(sets_seen) {
            let unseen: Vec<Uid> = wanted
                .iter()
                .filter_map(|(_, u)| infos.get(u))
                .filter(|m| !m.flags.system.contains(SystemFlags::SEEN))
                .map(|m| m.uid)
                .collect();
            if !unseen.is_empty() {
                match self
                    .ctx
                    .store
                    .set_flags(
                        mailbox,
                        unseen,
                        FlagOp::Add,
                        Flags::new(SystemFlags::SEEN, []),
                        None,
                    )
                    .await
                {
                    Ok(r) => {
                        for (u, f, m) in r.updated {
                            self.note_shown(u.get(), m);
                            seen_now.insert(u.get(), (f, m));
                        }
                    }
                    Err(e) => return self.store_error(tag, e, out),
                }
            }
        }
        let meta_needed = items.iter().any(needs_meta);
        let raw_needed = items.iter().any(needs_raw);
        // ENVELOPE, BODY and BODYSTRUCTURE come from the shared render
        // cache when they can; the meta is read only for the others.
        let structure = items.iter().any(is_structure);
        let meta_beyond_structure = items.iter().any(|a| needs_meta(a) && !is_structure(a));
        let mut rendered: HashMap<u32, Arc<Rendered>> = HashMap::new();
        if structure {
            for (_, u) in &wanted {
                if let Some(info) = infos.get(u)
                    && let Some(r) = self.ctx.render.get(info.blob.as_str())
                {
                    rendered.insert(*u, r);
                }
            }
        }
        let mut metas: HashMap<u32, MessageMeta> = HashMap::new();
        if meta_needed {
            let uids: Vec<Uid> = wanted
                .iter()
                .filter(|(_, u)| meta_beyond_structure || !rendered.contains_key(u))
                .filter_map(|(_, u)| Uid::new(*u))
                .collect();
            match self.ctx.store.message_metas(mailbox, uids).await {
                Ok(v) => {
                    metas = v
                        .into_iter()
                        .filter(|(_, m)| m.version >= postern_store::META_VERSION)
                        .map(|(u, m)| (u.get(), m))
                        .collect();
                }
                Err(e) => return self.store_error(tag, e, out),
            }
        }
        // RFC 8514: save dates are read only when asked for.
        let mut saved_dates: HashMap<u32, i64> = HashMap::new();
        if items.contains(&FetchAttr::SaveDate) {
            let uids = wanted.iter().filter_map(|(_, u)| Uid::new(*u)).collect();
            match self.ctx.store.saved_dates(mailbox, uids).await {
                Ok(v) => saved_dates = v.into_iter().map(|(u, t)| (u.get(), t)).collect(),
                Err(e) => return self.store_error(tag, e, out),
            }
        }
        // RFC 8474: EMAILID and THREADID, read only when asked for.
        let mut object_ids: HashMap<u32, postern_store::ObjectIds> = HashMap::new();
        if items
            .iter()
            .any(|a| matches!(a, FetchAttr::EmailId | FetchAttr::ThreadId))
        {
            let uids = wanted.iter().filter_map(|(_, u)| Uid::new(*u)).collect();
            match self.ctx.store.object_ids(mailbox, uids).await {
                Ok(v) => object_ids = v.into_iter().map(|(u, o)| (u.get(), o)).collect(),
                Err(e) => return self.store_error(tag, e, out),
            }
        }
        let preview_limits = render::PreviewLimits {
            chars: self.ctx.cfg.preview_chars,
            scan_bytes: self.ctx.cfg.preview_scan_bytes,
        };
        let utf8 = self.enabled.utf8_names();
        let uid_only = self.enabled.uid_only;
        let shows_state = items
            .iter()
            .any(|a| matches!(a, FetchAttr::Flags | FetchAttr::ModSeq));
        let mut shown: Vec<(u32, ModSeq)> = Vec::new();
        // One message's items, reused from message to message.
        let mut line: Vec<u8> = Vec::new();
        for (seq, u) in wanted {
            let Some(info) = infos.get(&u) else { continue };
            let mut meta = metas.remove(&u);
            let cached = rendered.remove(&u);
            let meta_missing = meta.is_none() && (meta_beyond_structure || cached.is_none());
            // The bytes only when an item needs them, or to recompute a
            // cache written by an older version.
            let raw = if raw_needed || (meta_needed && meta_missing) {
                match self.ctx.store.read_blob(&info.blob).await {
                    Ok(r) => Some(r),
                    // Expunged by another session since the listing: answer
                    // what still exists, as Dovecot does; a NO (RFC 9051
                    // §7.1 EXPUNGEISSUED) reads as a failure to clients. The
                    // EXPUNGE itself waits for a command that may send it
                    // (§7.5.1).
                    Err(e) if super::gone(&e) => continue,
                    Err(e) => return self.store_error(tag, e, out),
                }
            } else {
                None
            };
            if meta_needed && meta_missing {
                meta = raw.as_deref().map(postern_store::meta_of);
            }
            let cached = match (structure, cached, &meta) {
                (true, None, Some(m)) => {
                    let r = Arc::new(render_structure(m));
                    self.ctx.render.insert(info.blob.as_str(), r.clone());
                    Some(r)
                }
                (_, c, _) => c,
            };
            let (flags, modseq) = seen_now
                .get(&u)
                .map_or((&info.flags, info.modseq), |(f, m)| (f, *m));
            if shows_state || seen_now.contains_key(&u) {
                shown.push((u, modseq));
            }
            line.clear();
            // UIDONLY's UIDFETCH line carries the UID already.
            if uid && !uid_only && !items.contains(&FetchAttr::Uid) {
                push_uid(&mut line, u);
            }
            for item in &items {
                let rawb = raw.as_deref().unwrap_or_default();
                match item {
                    FetchAttr::Uid => push_uid(&mut line, u),
                    FetchAttr::Flags => {
                        sep(&mut line);
                        write_flags(&mut line, flags, u >= first_recent);
                    }
                    FetchAttr::InternalDate => push(
                        &mut line,
                        &format!(
                            "INTERNALDATE \"{}\"",
                            wire::format_internal_date(info.internal_date)
                        )
                        .into_bytes(),
                    ),
                    // RFC 8514 §4.1: NIL only where a mailbox keeps no
                    // save dates; ours always do, so a message missing
                    // here was expunged meanwhile and NIL is all we know.
                    FetchAttr::SaveDate => push(
                        &mut line,
                        &match saved_dates.get(&u) {
                            Some(&t) => format!("SAVEDATE \"{}\"", wire::format_internal_date(t))
                                .into_bytes(),
                            None => b"SAVEDATE NIL".to_vec(),
                        },
                    ),
                    // RFC 8970 §3.2: a string, "" when there is no text;
                    // UTF-8 goes quoted only where the client said it reads it.
                    FetchAttr::Preview => {
                        let text = meta
                            .as_ref()
                            .map(|m| render::preview(rawb, &m.body, preview_limits))
                            .unwrap_or_default();
                        let mut b = b"PREVIEW ".to_vec();
                        wire::response::quoted_or_literal(&mut b, text.as_bytes(), utf8);
                        push(&mut line, &b);
                    }
                    // RFC 8474 §5.1: `EMAILID (id)`, `THREADID (id)`; a
                    // message expunged meanwhile has neither.
                    FetchAttr::EmailId | FetchAttr::ThreadId => {
                        let Some(o) = object_ids.get(&u) else {
                            continue;
                        };
                        push(
                            &mut line,
                            &match item {
                                FetchAttr::EmailId => format!("EMAILID ({})", o.email_id),
                                _ => format!("THREADID ({})", o.thread_id),
                            }
                            .into_bytes(),
                        );
                    }
                    FetchAttr::Rfc822Size => push(
                        &mut line,
                        &format!("RFC822.SIZE {}", info.size).into_bytes(),
                    ),
                    FetchAttr::ModSeq => {
                        push(&mut line, b"MODSEQ (");
                        push_number(&mut line, modseq.0);
                        line.push(b')');
                    }
                    FetchAttr::Envelope | FetchAttr::Body | FetchAttr::BodyStructure => {
                        let (name, text): (&[u8], Option<&[u8]>) = match item {
                            FetchAttr::Envelope => {
                                (b"ENVELOPE ", cached.as_deref().map(|r| &r.envelope[..]))
                            }
                            FetchAttr::Body => (b"BODY ", cached.as_deref().map(|r| &r.body[..])),
                            _ => (
                                b"BODYSTRUCTURE ",
                                cached.as_deref().map(|r| &r.bodystructure[..]),
                            ),
                        };
                        push(&mut line, name);
                        line.extend_from_slice(text.unwrap_or_default());
                    }
                    FetchAttr::BodySection {
                        section, partial, ..
                    } => {
                        let data = meta
                            .as_ref()
                            .and_then(|m| render::section(rawb, m, &spec_of(section)));
                        let mut name = section_name("BODY", section);
                        let mut b = Vec::new();
                        match data {
                            Some(d) => {
                                let slice = match partial {
                                    Some(p) => {
                                        name.push_str(&format!("<{}>", p.offset));
                                        render::partial(&d, p.offset, Some(p.length.get()))
                                    }
                                    None => &d[..],
                                };
                                literal(&mut b, &name, slice);
                            }
                            None => b.extend_from_slice(format!("{name} NIL").as_bytes()),
                        }
                        push(&mut line, &b);
                    }
                    FetchAttr::Binary { part, partial, .. } => {
                        let parts_n: Vec<u32> = part.iter().map(|p| p.get()).collect();
                        let name = format!(
                            "BINARY[{}]",
                            parts_n
                                .iter()
                                .map(u32::to_string)
                                .collect::<Vec<_>>()
                                .join(".")
                        );
                        let Some(m) = &meta else { continue };
                        match render::binary(rawb, m, &parts_n) {
                            Ok(d) => {
                                let mut b = Vec::new();
                                // RFC 3516 §4.3: `~{n}` when the data holds NUL.
                                match partial {
                                    Some(p) => render::binary_literal(
                                        &mut b,
                                        &format!("{name}<{}>", p.offset),
                                        render::partial(&d, p.offset, Some(p.length.get())),
                                    ),
                                    None => render::binary_literal(&mut b, &name, &d),
                                }
                                push(&mut line, &b);
                            }
                            Err(render::BinaryError::UnknownCte(_)) => {
                                return self.no(
                                    tag,
                                    Some(Code::UnknownCte),
                                    "Unknown Content-Transfer-Encoding",
                                    out,
                                );
                            }
                            Err(_) => push(&mut line, &format!("{name} NIL").into_bytes()),
                        }
                    }
                    FetchAttr::BinarySize { part } => {
                        let parts_n: Vec<u32> = part.iter().map(|p| p.get()).collect();
                        let Some(m) = &meta else { continue };
                        let label = parts_n
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(".");
                        match render::binary(rawb, m, &parts_n) {
                            Ok(d) => push(
                                &mut line,
                                &format!("BINARY.SIZE[{label}] {}", d.len()).into_bytes(),
                            ),
                            Err(render::BinaryError::UnknownCte(_)) => {
                                return self.no(
                                    tag,
                                    Some(Code::UnknownCte),
                                    "Unknown Content-Transfer-Encoding",
                                    out,
                                );
                            }
                            Err(_) => {
                                push(&mut line, &format!("BINARY.SIZE[{label}] 0").into_bytes())
                            }
                        }
                    }
                    FetchAttr::Rfc822 | FetchAttr::Rfc822Peek => {
                        let mut b = Vec::new();
                        literal(&mut b, "RFC822", rawb);
                        push(&mut line, &b);
                    }
                    FetchAttr::Rfc822Header | FetchAttr::Rfc822Text => {
                        let (name, what) = if matches!(item, FetchAttr::Rfc822Header) {
                            ("RFC822.HEADER", SectionPart::Header)
                        } else {
                            ("RFC822.TEXT", SectionPart::Text)
                        };
                        let spec = SectionSpec {
                            parts: Vec::new(),
                            what,
                        };
                        let d = meta
                            .as_ref()
                            .and_then(|m| render::section(rawb, m, &spec))
                            .unwrap_or_default();
                        let mut b = Vec::new();
                        literal(&mut b, name, &d);
                        push(&mut line, &b);
                    }
                }
            }
            if seen_now.contains_key(&u) && !items.contains(&FetchAttr::Flags) {
                sep(&mut line);
                write_flags(&mut line, flags, u >= first_recent);
            }
            // RFC 7162 §3.1.4: a flag change the FETCH made carries its MODSEQ.
            if seen_now.contains_key(&u) && condstore && !items.contains(&FetchAttr::ModSeq) {
                push(&mut line, format!("MODSEQ ({})", modseq.0).as_bytes());
            }
            if uid_only {
                out.extend_from_slice(self.enabled.fetch_head(seq, u).as_bytes());
            } else {
                out.extend_from_slice(b"* ");
                push_number(out, seq);
                out.extend_from_slice(b" FETCH (");
            }
            out.extend_from_slice(&line);
            out.extend_from_slice(b")\r\n");
        }
        // The listing may be newer than feed events not yet heard: those
        // must not follow with older flags (RFC 7162 §3.1).
        for (u, m) in shown {
            self.note_shown(u, m);
        }
        self.sync(out, uid).await;
        wire::StatusResponse::new(Some(tag), wire::Status::Ok, "FETCH completed").encode(out);
        Flow::Continue
    }

    pub(super) async fn store(
        &mut self,
        tag: Tag,
        uid: bool,
        set: SequenceSet,
        flags: StoreFlags,
        unchanged_since: Option<u64>,
        out: &mut Vec<u8>,
    ) -> Flow {
        if !matches!(self.state, State::Selected(_)) {
            return self.bad(Some(tag), "No mailbox selected", out);
        }
        if unchanged_since.is_some() {
            self.condstore_implied(out);
        }
        let condstore = self.enabled.condstore;
        let State::Selected(s) = &self.state else {
            return self.bad(Some(tag), "No mailbox selected", out);
        };
        if s.read_only {
            return self.no(tag, Some(Code::ReadOnly), "Mailbox is read-only", out);
        }
        if s.past_the_end(&set, uid) {
            return self.bad(Some(tag), "No message with that sequence number", out);
        }
        let seqs = s.resolve(&set, uid);
        let mailbox = s.mailbox.id;
        let uids: Vec<Uid> = seqs
            .iter()
            .filter_map(|&q| Uid::new(s.uids[q as usize - 1]))
            .collect();
        let op = match flags.action {
            StoreAction::Replace => FlagOp::Replace,
            StoreAction::Add => FlagOp::Add,
            StoreAction::Remove => FlagOp::Remove,
        };
        // With an EXPUNGE pipelined behind, in the same write (`pipelined.rs`).
        let result = match self
            .set_flags_write(
                mailbox,
                uids,
                op,
                store_flags(&flags.flags),
                unchanged_since.map(ModSeq),
            )
            .await
        {
            Ok(r) => r,
            Err(e) => return self.store_error(tag, e, out),
        };
        // RFC 3501 §7.2.6: a keyword new to the mailbox changes its FLAGS.
        if let State::Selected(s) = &mut self.state {
            let flags = result.updated.iter().map(|(_, f, _)| f);
            keywords::announce(&mut s.keywords, s.read_only, flags, out);
        }
        for (u, f, m) in &result.updated {
            if flags.silent {
                self.note_silent(u.get(), *m);
            } else {
                self.note_shown(u.get(), *m);
            }
            // RFC 7162 §3.1.3: with CONDSTORE on, even .SILENT answers the
            // new MODSEQ (without the flags).
            if flags.silent && !condstore {
                continue;
            }
            if let State::Selected(s) = &self.state
                && let Some(q) = s.seq_of(u.get())
            {
                let mut items = Vec::new();
                if !flags.silent {
                    items.push(format!("FLAGS {}", flags_shown(f, s.is_recent(u.get()))));
                }
                if (uid || condstore) && !self.enabled.uid_only {
                    items.push(format!("UID {u}"));
                }
                if condstore {
                    items.push(format!("MODSEQ ({})", m.0));
                }
                let head = self.enabled.fetch_head(q, u.get());
                out.extend_from_slice(format!("{head}{})\r\n", items.join(" ")).as_bytes());
            }
        }
        // RFC 7162 §3.1.3: the messages UNCHANGEDSINCE refused, as UIDs for
        // UID STORE, else as sequence numbers.
        let modified = match &self.state {
            State::Selected(s) => SequenceSet::from_ids(result.modified.iter().filter_map(|u| {
                if uid {
                    Some(u.get())
                } else {
                    s.seq_of(u.get())
                }
            })),
            _ => None,
        };
        // The EXPUNGE that shared this write reports its own expunges.
        let allow_expunge = uid && !self.expunge_follows();
        self.sync(out, allow_expunge).await;
        let mut r = wire::StatusResponse::new(Some(tag), wire::Status::Ok, "STORE completed");
        if let Some(set) = modified {
            r = r.with_code(Code::Modified(set));
        }
        r.encode(out);
        Flow::Continue
    }
}
