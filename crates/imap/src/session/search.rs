//! SEARCH (with ESEARCH's RETURN options, RFC 4731, and SEARCHRES's `$`,
//! RFC 5182), SORT and THREAD (RFC 5256), over the `query` engine. Message
//! bytes are read only when a key needs them. A SEARCH with the MODSEQ
//! key switches CONDSTORE on and its answer carries the highest MODSEQ of
//! the matches (RFC 7162 §3.1.5). Save dates (RFC 8514) are read only
//! for the SAVED* keys.

use std::collections::HashMap;
use std::io::Write as _;

use postern_store::{MessageInfo, MessageMeta};

use super::context::ContextSpec;
use super::search_index::Found;
use super::{Flow, Session, State, condstore};
use crate::query::{self, MessageView, SearchContext};
use crate::wire::{self, SearchProgram, SearchReturn, SortCriterion, Tag, ThreadAlgorithm};

/// One message as loaded for a search: sequence number, UID, listing,
/// cached meta when a key or the order needs it, the bytes when a key
/// needs them, and SORT (DATE)'s value when the order needs it.
type Row = (
    u32,
    u32,
    MessageInfo,
    Option<MessageMeta>,
    Option<Vec<u8>>,
    Option<i64>,
);

/// What a search, sort or thread loads beyond the listing and what its
/// keys need.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Need {
    /// The cached meta of every message (SORT by subject or address,
    /// THREAD).
    pub meta: bool,
    /// SORT (DATE)'s values, kept by the store (a row without one gets
    /// its meta read instead).
    pub sort_dates: bool,
    /// THREAD REFERENCES without keys on the bytes: each message's
    /// thread head stands in for its bytes, its meta parsed from it (a
    /// row without one gets its meta and bytes read instead).
    pub thread_heads: bool,
}

/// What was loaded for the messages a search looks at.
pub(super) struct Loaded {
    rows: Vec<Row>,
}

/// What a view shows for a message whose meta was not read: no key
/// that looks at it was asked (`query::needs_meta`).
pub(super) static NO_META: std::sync::LazyLock<MessageMeta> =
    std::sync::LazyLock::new(MessageMeta::default);

/// Messages whose bytes are read together for a search on the bytes.
const RAW_BATCH: usize = 256;
/// Bytes read together at most (one message larger than this is read
/// alone): a count alone let a batch of 256 large messages hold half a
/// gigabyte per SEARCH (bench/memory: 10 concurrent SEARCH TEXT over 2 MB
/// messages peaked above 700 MiB of heap).
const RAW_BATCH_BYTES: u64 = 8 * 1024 * 1024;

impl Loaded {
    pub(super) fn views(&self) -> Vec<MessageView<'_>> {
        views_of(&self.rows)
    }
}

fn views_of(rows: &[Row]) -> Vec<MessageView<'_>> {
    rows.iter()
        .map(|(seq, uid, info, meta, raw, date)| MessageView {
            seq: *seq,
            uid: *uid,
            flags: &info.flags,
            modseq: info.modseq.0,
            size: info.size,
            internal_date: info.internal_date,
            meta: meta.as_ref().unwrap_or(&NO_META),
            raw: raw.as_deref(),
            // With the bytes, the first Date field is read from them.
            sort_date: if raw.is_some() { None } else { *date },
        })
        .collect()
}

impl Need {
    /// What SORT by `criteria` reads.
    pub(super) fn sorting(criteria: &[SortCriterion]) -> Need {
        Need {
            meta: query::sort_needs_meta(criteria),
            sort_dates: query::sort_needs_dates(criteria),
            thread_heads: false,
        }
    }
}

pub(super) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Session {
    /// Loads every message of the selected mailbox: the listing, the
    /// cached meta when `with_meta`, SORT (DATE)'s values when
    /// `need.sort_dates` (`with_bytes` adds the bytes, a batch at a time).
    async fn load(&self, with_meta: bool, need: Need) -> Result<Loaded, postern_store::StoreError> {
        let State::Selected(s) = &self.state else {
            return Ok(Loaded { rows: Vec::new() });
        };
        let infos = self.ctx.store.messages(s.mailbox.id).await?;
        let dates = if need.sort_dates {
            self.ctx.store.sort_dates(s.mailbox.id).await?
        } else {
            Vec::new()
        };
        let heads = if need.thread_heads {
            self.ctx.store.thread_heads(s.mailbox.id).await?
        } else {
            Vec::new()
        };
        let headed: std::collections::HashSet<u32> = heads
            .iter()
            .filter(|(_, h)| h.is_some())
            .map(|(u, _)| *u)
            .collect();
        // The meta of every message (but those with a thread head), or of
        // those whose date the store does not have (rows from before it
        // kept them).
        let meta_uids: Vec<postern_store::Uid> = if with_meta {
            s.uids
                .iter()
                .filter(|u| !headed.contains(u))
                .filter_map(|u| postern_store::Uid::new(*u))
                .collect()
        } else {
            dates
                .iter()
                .filter(|(_, d)| d.is_none())
                .filter_map(|(u, _)| postern_store::Uid::new(*u))
                .collect()
        };
        let mut metas: HashMap<u32, MessageMeta> = if meta_uids.is_empty() {
            HashMap::new()
        } else {
            self.ctx
                .store
                .message_metas(s.mailbox.id, meta_uids)
                .await?
                .into_iter()
                .map(|(u, m)| (u.get(), m))
                .collect()
        };
        // The lists are in UID order: walk them together.
        let mut rows = Vec::with_capacity(s.uids.len());
        let mut infos = infos.into_iter().peekable();
        let mut dates = dates.into_iter().peekable();
        let mut heads = heads.into_iter().peekable();
        for (i, &u) in s.uids.iter().enumerate() {
            while infos.next_if(|m| m.uid.get() < u).is_some() {}
            let Some(info) = infos.next_if(|m| m.uid.get() == u) else {
                continue;
            };
            while dates.next_if(|d| d.0 < u).is_some() {}
            let date = dates.next_if(|d| d.0 == u).and_then(|d| d.1);
            while heads.next_if(|h| h.0 < u).is_some() {}
            if let Some(head) = heads.next_if(|h| h.0 == u).and_then(|h| h.1) {
                // The head is a header of its own: its meta's header span
                // is all of it, as THREAD reads it.
                let meta = postern_store::meta_of(&head);
                rows.push((i as u32 + 1, u, info, Some(meta), Some(head), date));
                continue;
            }
            let meta = if !with_meta && (!need.sort_dates || date.is_some()) {
                None
            } else {
                Some(match metas.remove(&u) {
                    Some(m) if m.version >= postern_store::META_VERSION => m,
                    _ => match self.ctx.store.read_blob(&info.blob).await {
                        Ok(b) => postern_store::meta_of(&b),
                        // Expunged by another session since the listing.
                        Err(e) if super::gone(&e) => continue,
                        Err(e) => return Err(e),
                    },
                })
            };
            rows.push((i as u32 + 1, u, info, meta, None, date));
        }
        Ok(Loaded { rows })
    }

    /// Fills in the bytes of `rows` with one store read. A message another
    /// session expunged since the listing is dropped: it matches nothing.
    async fn with_bytes(
        &self,
        reader: &postern_store::BulkReader,
        rows: Vec<Row>,
    ) -> Result<Vec<Row>, postern_store::StoreError> {
        let State::Selected(s) = &self.state else {
            return Ok(Vec::new());
        };
        let uids = rows
            .iter()
            .filter_map(|r| postern_store::Uid::new(r.1))
            .collect();
        let mut bytes: HashMap<u32, Vec<u8>> = reader
            .messages_bytes(s.mailbox.id, uids)
            .await?
            .into_iter()
            .map(|(u, b)| (u.get(), b))
            .collect();
        Ok(rows
            .into_iter()
            .filter_map(|mut r| {
                r.4 = Some(bytes.remove(&r.1)?);
                Some(r)
            })
            .collect())
    }

    fn context_bounds(&self) -> (u32, u32, Option<Vec<u32>>) {
        match &self.state {
            State::Selected(s) => (
                s.uids.len() as u32,
                s.uids.last().copied().unwrap_or(0),
                s.saved.clone(),
            ),
            _ => (0, 0, None),
        }
    }

    /// The messages `program` selects in the selected mailbox, loaded (with
    /// what `need` asks, their meta when a key needs it, their bytes when
    /// `raw` or a key needs them); or, when the command cannot run, its
    /// reply already written.
    pub(super) async fn matching(
        &mut self,
        tag: &Tag,
        program: &SearchProgram,
        raw: bool,
        need: Need,
        out: &mut Vec<u8>,
    ) -> Result<Loaded, Flow> {
        if !matches!(self.state, State::Selected(_)) {
            return Err(self.bad(Some(tag.clone()), "No mailbox selected", out));
        }
        if let Err(text) = query::check_charset(program) {
            out.extend_from_slice(format!("{} NO {text}\r\n", tag.as_str()).as_bytes());
            return Err(Flow::Continue);
        }
        let with_meta = need.meta || raw || query::needs_meta(program);
        let loaded = match self.load(with_meta, need).await {
            Ok(l) => l,
            Err(e) => return Err(self.store_error(tag.clone(), e, out)),
        };
        let (max_seq, max_uid, saved) = self.context_bounds();
        let (first_recent, mailbox) = match &self.state {
            State::Selected(s) => (s.first_recent, Some(s.mailbox.id)),
            _ => (u32::MAX, None),
        };
        let mut saved_dates = None;
        if let Some(mailbox) = mailbox.filter(|_| query::needs_saved_dates(program)) {
            let uids = loaded.rows.iter().map(|r| r.2.uid).collect();
            match self.ctx.store.saved_dates(mailbox, uids).await {
                Ok(v) => {
                    saved_dates = Some(
                        v.into_iter()
                            .map(|(u, t)| (u.get(), t))
                            .collect::<HashMap<u32, i64>>(),
                    )
                }
                Err(e) => return Err(self.store_error(tag.clone(), e, out)),
            }
        }
        let mut object_ids = None;
        if let Some(mailbox) = mailbox.filter(|_| query::needs_object_ids(program)) {
            let uids = loaded.rows.iter().map(|r| r.2.uid).collect();
            match self.ctx.store.object_ids(mailbox, uids).await {
                Ok(v) => {
                    object_ids = Some(v.into_iter().map(|(u, o)| (u.get(), o)).collect::<HashMap<
                        u32,
                        postern_store::ObjectIds,
                    >>(
                    ))
                }
                Err(e) => return Err(self.store_error(tag.clone(), e, out)),
            }
        }
        let needs_raw = raw || query::needs_raw(program);
        let mut fts = None;
        if let Some(mailbox) = mailbox.filter(|_| needs_raw && self.ctx.store.fts_enabled()) {
            let queries = query::fts_queries(program);
            if !queries.is_empty() {
                match self.ctx.store.fts_search(mailbox, queries).await {
                    Ok(a) => fts = a,
                    Err(e) => return Err(self.store_error(tag.clone(), e, out)),
                }
            }
        }
        let ctx = SearchContext {
            max_seq,
            max_uid,
            saved: saved.as_deref(),
            now: now(),
            first_recent,
            saved_dates: saved_dates.as_ref(),
            object_ids: object_ids.as_ref(),
            fts: fts.as_ref(),
        };
        let pick = |mut rows: Vec<Row>| {
            let keep: Vec<bool> = views_of(&rows)
                .iter()
                .map(|v| query::matches(program, v, &ctx))
                .collect();
            let mut keep = keep.into_iter();
            rows.retain(|_| keep.next().unwrap_or(false));
            rows
        };
        if !needs_raw {
            return Ok(Loaded {
                rows: pick(loaded.rows),
            });
        }
        // The index decides what it can; only the rest are read. With
        // `raw` the matches need their bytes anyway: it only drops.
        let mut kept = Vec::new();
        let mut undecided = loaded.rows;
        if ctx.fts.is_some() {
            let verdicts: Vec<Option<bool>> = views_of(&undecided)
                .iter()
                .map(|v| query::decide(program, v, &ctx))
                .collect();
            let mut rest = Vec::new();
            for (r, v) in undecided.into_iter().zip(verdicts) {
                match v {
                    Some(false) => {}
                    Some(true) if !raw => kept.push(r),
                    _ => rest.push(r),
                }
            }
            undecided = rest;
        }
        // Rows given their thread head instead of their bytes (THREAD,
        // `Need::thread_heads`, only when no key reads the bytes).
        let (headed, undecided): (Vec<Row>, Vec<Row>) =
            undecided.into_iter().partition(|r| r.4.is_some());
        kept.extend(pick(headed));
        // Keys on the bytes: read and test a batch at a time, so a large
        // mailbox costs one store read per batch and never sits in memory
        // whole; the bytes of the matches are kept only when asked for.
        let reader = match self.ctx.store.bulk_reader().await {
            Ok(r) => r,
            Err(e) => return Err(self.store_error(tag.clone(), e, out)),
        };
        let mut rest = undecided.into_iter().peekable();
        loop {
            let mut batch: Vec<Row> = Vec::new();
            let mut size = 0u64;
            while let Some(r) = rest.next_if(|r| {
                batch.is_empty() || (batch.len() < RAW_BATCH && size + r.2.size <= RAW_BATCH_BYTES)
            }) {
                size += r.2.size;
                batch.push(r);
            }
            if batch.is_empty() {
                break;
            }
            let batch = match self.with_bytes(&reader, batch).await {
                Ok(b) => b,
                Err(e) => return Err(self.store_error(tag.clone(), e, out)),
            };
            kept.extend(pick(batch).into_iter().map(|mut r| {
                if !raw {
                    r.4 = None;
                }
                r
            }));
        }
        kept.sort_unstable_by_key(|r| r.0);
        Ok(Loaded { rows: kept })
    }

    pub(super) async fn search(
        &mut self,
        tag: Tag,
        uid: bool,
        ret: Option<Vec<SearchReturn>>,
        program: SearchProgram,
        out: &mut Vec<u8>,
    ) -> Flow {
        // The index alone when it can (`search_index.rs`), or the flags
        // alone (`search_flags.rs`), else per message.
        let mut hits = self.indexed_matches(&program).await;
        if hits.is_none() {
            hits = self.flag_matches_now(&program).await;
        }
        let hits: Vec<Found> = match hits {
            Some(found) => found,
            None => match self
                .matching(&tag, &program, false, Need::default(), out)
                .await
            {
                Ok(l) => l
                    .views()
                    .iter()
                    .map(|v| Found {
                        seq: v.seq,
                        uid: v.uid,
                        modseq: v.modseq,
                    })
                    .collect(),
                Err(flow) => return flow,
            },
        };
        let with_modseq = condstore::uses_modseq(&program);
        if with_modseq {
            self.condstore_implied(out);
        }
        let ids: Vec<u32> = hits
            .iter()
            .map(|v| if uid { v.uid } else { v.seq })
            .collect();
        // RFC 7162 §3.1.5: the highest MODSEQ of the matches, when any.
        let top_modseq = hits.iter().map(|v| v.modseq).max().filter(|_| with_modseq);
        // RFC 9051 §6.4.4: under IMAP4rev2 every SEARCH answers with
        // ESEARCH, a SEARCH without RETURN meaning RETURN (ALL).
        let ret = match ret {
            None if self.enabled.rev2 => Some(vec![SearchReturn::All]),
            r => r,
        };
        match ret {
            None => {
                out.extend_from_slice(b"* SEARCH");
                for id in &ids {
                    let _ = write!(out, " {id}");
                }
                if let Some(m) = top_modseq {
                    out.extend_from_slice(format!(" (MODSEQ {m})").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
            Some(rets) => {
                // RFC 5267 §4.1: UPDATE alone (like no option) means ALL.
                let update = rets.contains(&SearchReturn::Update);
                let mut rets: Vec<SearchReturn> = rets
                    .into_iter()
                    .filter(|r| *r != SearchReturn::Update)
                    .collect();
                if rets.is_empty() {
                    rets.push(SearchReturn::All);
                }
                if rets.contains(&SearchReturn::Save)
                    && let State::Selected(s) = &mut self.state
                {
                    let mut saved: Vec<u32> = hits.iter().map(|v| v.uid).collect();
                    // RFC 5182 §2.4: SAVE with MIN and/or MAX (and not ALL)
                    // saves just those messages.
                    let (min, max) = (
                        rets.contains(&SearchReturn::Min),
                        rets.contains(&SearchReturn::Max),
                    );
                    let partial = rets.iter().find_map(|r| match r {
                        SearchReturn::Partial(p) => Some(*p),
                        _ => None,
                    });
                    if let Some(p) = partial {
                        // RFC 9394: `$` is what PARTIAL returned, a page.
                        saved = p.apply(&saved).to_vec();
                    } else if (min || max) && !rets.contains(&SearchReturn::All) {
                        let (first, last) = (saved.first().copied(), saved.last().copied());
                        saved = [first.filter(|_| min), last.filter(|_| max)]
                            .into_iter()
                            .flatten()
                            .collect();
                        saved.dedup();
                    }
                    s.saved = Some(saved);
                }
                let mut items = esearch_items(&rets, &ids);
                // RFC 4731 §3.2: with MIN and/or MAX but neither ALL nor
                // COUNT, the MODSEQ is that of the MIN or MAX message (the
                // higher of the two with both), not of every match.
                let (min, max) = (
                    rets.contains(&SearchReturn::Min),
                    rets.contains(&SearchReturn::Max),
                );
                let all_or_count =
                    rets.contains(&SearchReturn::All) || rets.contains(&SearchReturn::Count);
                let modseq = if (min || max) && !all_or_count {
                    [hits.first().filter(|_| min), hits.last().filter(|_| max)]
                        .into_iter()
                        .flatten()
                        .map(|v| v.modseq)
                        .max()
                        .filter(|_| with_modseq)
                } else {
                    top_modseq
                };
                if let Some(m) = modseq {
                    items.push(format!("MODSEQ {m}"));
                }
                // RFC 5182 §2.4: SAVE alone sends no ESEARCH response.
                if !(rets.len() == 1 && rets[0] == SearchReturn::Save) {
                    let uid_part = if uid { " UID" } else { "" };
                    let rest: String = items.iter().map(|i| format!(" {i}")).collect();
                    out.extend_from_slice(
                        format!("* ESEARCH (TAG \"{}\"){uid_part}{rest}\r\n", tag.as_str())
                            .as_bytes(),
                    );
                }
                if update {
                    let uids: Vec<u32> = hits.iter().map(|v| v.uid).collect();
                    let spec = ContextSpec {
                        tag: &tag,
                        uid,
                        program: &program,
                        sort: None,
                    };
                    self.context_after(spec, &rets, uids, out);
                }
            }
        }
        self.sync(out, uid).await;
        wire::StatusResponse::new(Some(tag), wire::Status::Ok, "SEARCH completed").encode(out);
        Flow::Continue
    }

    /// SORT, and with RETURN (...) ESORT (RFC 5267 §3): an ESEARCH answer
    /// whose MIN, MAX, ALL and PARTIAL follow the sort order.
    pub(super) async fn sort(
        &mut self,
        tag: Tag,
        uid: bool,
        ret: Option<Vec<SearchReturn>>,
        criteria: Vec<SortCriterion>,
        program: SearchProgram,
        out: &mut Vec<u8>,
    ) -> Flow {
        // (seq, uid) in order: by stored dates alone when it can
        // (`search_flags.rs`), else per message.
        let order: Vec<(u32, u32)> = match self.date_sorted(&criteria, &program).await {
            Some(o) => o,
            None => {
                let loaded = match self
                    .matching(&tag, &program, false, Need::sorting(&criteria), out)
                    .await
                {
                    Ok(l) => l,
                    Err(flow) => return flow,
                };
                let views = loaded.views();
                query::sort(&criteria, &views)
                    .into_iter()
                    .filter_map(|i| views.get(i).map(|v| (v.seq, v.uid)))
                    .collect()
            }
        };
        let ids: Vec<u32> = order
            .iter()
            .map(|&(seq, u)| if uid { u } else { seq })
            .collect();
        match ret {
            None => {
                out.extend_from_slice(b"* SORT");
                for id in &ids {
                    out.extend_from_slice(format!(" {id}").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
            Some(rets) => {
                let uids: Vec<u32> = order.iter().map(|v| v.1).collect();
                // RFC 5267 §4.1: UPDATE alone (like no option) means ALL.
                let update = rets.contains(&SearchReturn::Update);
                let mut rets: Vec<SearchReturn> = rets
                    .into_iter()
                    .filter(|r| *r != SearchReturn::Update)
                    .collect();
                if rets.is_empty() {
                    rets.push(SearchReturn::All);
                }
                self.esort(&tag, uid, &rets, &ids, &uids, out);
                if update {
                    let spec = ContextSpec {
                        tag: &tag,
                        uid,
                        program: &program,
                        sort: Some(&criteria),
                    };
                    self.context_after(spec, &rets, uids, out);
                }
            }
        }
        self.sync(out, uid).await;
        wire::StatusResponse::new(Some(tag), wire::Status::Ok, "SORT completed").encode(out);
        Flow::Continue
    }

    /// After a first answer with UPDATE: keep the context, or say
    /// NOUPDATE for a PARTIAL one (a moving page is not kept up to date).
    fn context_after(
        &mut self,
        spec: ContextSpec<'_>,
        rets: &[SearchReturn],
        uids: Vec<u32>,
        out: &mut Vec<u8>,
    ) {
        if rets.iter().any(|r| matches!(r, SearchReturn::Partial(_))) {
            wire::StatusResponse::new(None, wire::Status::No, "PARTIAL results are not updated")
                .with_code(wire::Code::NoUpdate(spec.tag.as_str().to_string()))
                .encode(out);
            return;
        }
        self.keep_context(spec, uids, out);
    }

    /// The ESEARCH line of an ESORT; `ids` and `uids` in sort order.
    fn esort(
        &mut self,
        tag: &Tag,
        uid: bool,
        rets: &[SearchReturn],
        ids: &[u32],
        uids: &[u32],
        out: &mut Vec<u8>,
    ) {
        let rets = if rets.is_empty() {
            vec![SearchReturn::All]
        } else {
            rets.to_vec()
        };
        let partial = rets.iter().find_map(|r| match r {
            SearchReturn::Partial(p) => Some(*p),
            _ => None,
        });
        if rets.contains(&SearchReturn::Save)
            && let State::Selected(s) = &mut self.state
        {
            // RFC 5182 §2.4 as for SEARCH; `$` is a set, so sorted by UID.
            let mut saved = match partial {
                Some(p) => p.apply(uids).to_vec(),
                None => uids.to_vec(),
            };
            saved.sort_unstable();
            s.saved = Some(saved);
        }
        let items = esearch_items(&rets, ids);
        if rets.len() == 1 && rets[0] == SearchReturn::Save {
            return;
        }
        let uid_part = if uid { " UID" } else { "" };
        let rest: String = items.iter().map(|i| format!(" {i}")).collect();
        out.extend_from_slice(
            format!("* ESEARCH (TAG \"{}\"){uid_part}{rest}\r\n", tag.as_str()).as_bytes(),
        );
    }

    pub(super) async fn thread(
        &mut self,
        tag: Tag,
        uid: bool,
        algorithm: ThreadAlgorithm,
        program: SearchProgram,
        out: &mut Vec<u8>,
    ) -> Flow {
        if let ThreadAlgorithm::Other(name) = &algorithm {
            return self.no(
                tag,
                None,
                &format!("Unsupported THREAD algorithm {name}"),
                out,
            );
        }
        // REFERENCES from the thread heads alone when it can
        // (`search_thread.rs`), else per message.
        if algorithm == ThreadAlgorithm::References
            && let Some(threads) = self.thread_by_heads(&program, uid).await
        {
            write_threads(&threads, out);
            self.sync(out, uid).await;
            wire::StatusResponse::new(Some(tag), wire::Status::Ok, "THREAD completed").encode(out);
            return Flow::Continue;
        }
        let loaded = match self
            .matching(
                &tag,
                &program,
                query::thread_needs_raw(&algorithm),
                Need {
                    meta: true,
                    sort_dates: false,
                    // A head holds only the threading fields: a key on
                    // any other part of the message (FROM, a HEADER, BODY)
                    // reads the message's own meta or bytes.
                    thread_heads: matches!(algorithm, ThreadAlgorithm::References)
                        && !query::needs_meta(&program),
                },
                out,
            )
            .await
        {
            Ok(l) => l,
            Err(flow) => return flow,
        };
        let views = loaded.views();
        let tree = query::thread(algorithm, &views);
        // RFC 5256 §5: `"THREAD" [SP 1*thread-list]`, no space when empty.
        write_threads(&query::encode_thread(&tree, uid, &views), out);
        self.sync(out, uid).await;
        wire::StatusResponse::new(Some(tag), wire::Status::Ok, "THREAD completed").encode(out);
        Flow::Continue
    }
}

/// The THREAD response for a `thread-list` (RFC 5256 §5: `"THREAD" [SP
/// 1*thread-list]`, no space when empty).
fn write_threads(threads: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"* THREAD");
    if !threads.is_empty() {
        out.push(b' ');
        out.extend_from_slice(threads);
    }
    out.extend_from_slice(b"\r\n");
}

/// The ESEARCH return items for `ids` in answer order: ascending for
/// SEARCH, sort order for SORT. MIN and MAX are the first and the last
/// (RFC 5267 §3.2 for SORT; for SEARCH, ascending, the smallest and the
/// largest); ALL and PARTIAL's page keep the order, runs of consecutive
/// ids as ranges (RFC 9394 §3.1: the range as asked, then the page or NIL).
fn esearch_items(rets: &[SearchReturn], ids: &[u32]) -> Vec<String> {
    let mut items = Vec::new();
    for r in rets {
        match r {
            SearchReturn::Min => {
                if let Some(m) = ids.first() {
                    items.push(format!("MIN {m}"));
                }
            }
            SearchReturn::Max => {
                if let Some(m) = ids.last() {
                    items.push(format!("MAX {m}"));
                }
            }
            SearchReturn::Count => items.push(format!("COUNT {}", ids.len())),
            SearchReturn::All => {
                if let Some(list) = wire::response::ordered_id_list(ids) {
                    items.push(format!("ALL {list}"));
                }
            }
            SearchReturn::Partial(p) => {
                let page = wire::response::ordered_id_list(p.apply(ids));
                items.push(format!(
                    "PARTIAL ({p} {})",
                    page.as_deref().unwrap_or("NIL")
                ));
            }
            SearchReturn::Save | SearchReturn::Update => {}
        }
    }
    items
}
