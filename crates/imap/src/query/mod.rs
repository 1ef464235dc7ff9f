//! SEARCH, SORT and THREAD evaluated over messages the session has loaded:
//! pure functions, no I/O. The session decides which messages to load and
//! whether their raw bytes are needed ([`needs_raw`], [`thread_needs_raw`]),
//! builds a [`MessageView`] per message and formats the answer.
//!
//! Choices where the RFCs leave room (Dovecot 2.3's, so the shared corpus
//! answers match; see `../shared/corpus/README.md`):
//! - Text keys are case-insensitive substring matches on decoded text
//!   (BODY and TEXT answered by the store's full-text index where it
//!   knows the answer exactly: [`decide`]):
//!   RFC 2047 words, transfer encodings and charsets are undone; only
//!   text/* and message/* parts are read; HTML is searched as source.
//! - BEFORE/ON/SINCE use INTERNALDATE in UTC; SENT* use the Date field's
//!   calendar date in its own zone; a missing or unparsable Date is the
//!   earliest date for SENT*, and INTERNALDATE for SORT (DATE) and THREAD.
//! - `\Recent` is the session's (RFC 3501 §2.3.2): the messages from
//!   `SearchContext::first_recent` on; none in IMAP4rev2, which dropped it.
//! - SORT's REVERSE reverses its key only; full ties go by sequence number
//!   (RFC 5256 §3).

mod indexed;
mod search;
mod sort;
pub(crate) mod text;
mod thread;
mod thread_keys;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod fts_tests;
#[cfg(test)]
mod tests;

pub use indexed::{IndexedContext, answer as indexed_answer, index_only};
pub use search::{
    check_charset, decide, fts_queries, matches, needs_meta, needs_object_ids, needs_raw,
    needs_saved_dates,
};
pub use sort::{base_subject, sort, sort_needs_dates, sort_needs_meta};
pub use thread::{
    HeadKeys, Links, ThreadNode, encode_thread, encode_thread_numbers, references_by_keys,
    references_by_list, thread, thread_needs_raw,
};
pub use thread_keys::KeyList;

/// What a search sees of one message.
#[derive(Clone, Copy, Debug)]
pub struct MessageView<'a> {
    pub seq: u32,
    pub uid: u32,
    pub flags: &'a postern_store::Flags,
    pub modseq: u64,
    pub size: u64,
    /// INTERNALDATE, Unix seconds.
    pub internal_date: i64,
    pub meta: &'a postern_store::MessageMeta,
    /// The raw message: `None` unless [`needs_raw`] (or, for THREAD,
    /// [`thread_needs_raw`]) said it is needed; THREAD needs the header
    /// only. When present, Date and Subject are read from the first such
    /// field (Dovecot's choice); without it, from the envelope, which keeps
    /// the last. They differ only when a field is duplicated.
    pub raw: Option<&'a [u8]>,
    /// SORT (DATE)'s value as the store keeps it (`None`: derive it from
    /// the meta, or from `raw` when given, which then reads the first
    /// Date field itself).
    pub sort_date: Option<i64>,
}

/// What a search needs beyond the message itself.
#[derive(Clone, Copy, Debug)]
pub struct SearchContext<'a> {
    /// The highest sequence number (`*` in a sequence set).
    pub max_seq: u32,
    /// The highest UID (`*` in `UID` sets).
    pub max_uid: u32,
    /// `$`, the UIDs saved by `SEARCH RETURN (SAVE)` (RFC 5182); `None`
    /// when nothing was saved, and `$` matches nothing.
    pub saved: Option<&'a [u32]>,
    /// Now, Unix seconds, for OLDER and YOUNGER (RFC 5032).
    pub now: i64,
    /// The first UID that is `\Recent` in the session (`u32::MAX`: none).
    pub first_recent: u32,
    /// Save dates by UID (RFC 8514), read only when [`needs_saved_dates`].
    pub saved_dates: Option<&'a std::collections::HashMap<u32, i64>>,
    /// EMAILID and THREADID by UID (RFC 8474), read only when
    /// [`needs_object_ids`].
    pub object_ids: Option<&'a std::collections::HashMap<u32, postern_store::ObjectIds>>,
    /// What the full-text index knows of the mailbox for the program's
    /// BODY and TEXT keys ([`fts_queries`]), read by [`decide`] only.
    pub fts: Option<&'a postern_store::FtsAnswer>,
}
