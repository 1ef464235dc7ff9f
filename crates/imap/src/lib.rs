//! IMAP for Postern: IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) with the
//! extensions modern clients use, every device kept in sync through the
//! store's change feed.
//!
//! Layers, as in every protocol crate:
//! - `wire/` (sans-IO, std only): command framing with literals
//!   (synchronizing, LITERAL+/LITERAL- with its 4096-octet rule, binary
//!   `~{n}`), every command parsed into typed values (sequence sets with a
//!   range limit, the SEARCH key tree with a depth limit, FETCH attributes
//!   and sections, LIST-EXTENDED, QRESYNC parameters), modified UTF-7
//!   names, and the response building blocks (quoted or literal strings,
//!   status responses with their codes, id sets).
//! - `render/`: FETCH rendering from the store's cached meta: ENVELOPE,
//!   BODY and BODYSTRUCTURE with extension data, BODY[section]<partial> and
//!   BINARY. A test compares every answer of the shared corpus against
//!   Dovecot 2.3.19's, byte for byte. `query/`: SEARCH, SORT and THREAD.
//! - `session/`: the state machine (not authenticated, authenticated,
//!   selected, logout), one file per command family, with the selected
//!   mailbox kept in step through the store's change feed.
//! - `server.rs`: the tokio driver (framing and literals, STARTTLS, IDLE
//!   with the socket and the feed watched together), with `compress.rs`
//!   for COMPRESS=DEFLATE (RFC 4978).
//!
//! Invariant to keep: APPEND answers `OK` only after `Store::append` returns.
//!
//! Issue 14's extensions, each advertised once it works:
//! - WITHIN (RFC 5032): `OLDER n` / `YOUNGER n` against INTERNALDATE and
//!   the clock when the SEARCH runs; a message exactly `n` seconds old is
//!   YOUNGER, so the two keys split a mailbox.
//! - SAVEDATE (RFC 8514): the store's `saved_at`, the commit time of the
//!   delivery, APPEND, COPY or MOVE that put the message in its mailbox;
//!   read only for FETCH SAVEDATE and the SAVED* keys, days taken in UTC
//!   as for INTERNALDATE. Every mailbox has save dates, so
//!   SAVEDATESUPPORTED matches all and SAVEDATE is NIL only for a
//!   message expunged between the listing and the read.
//! - UNAUTHENTICATE (RFC 8437): from authenticated or selected state back
//!   to not authenticated; the mailbox is left without an expunge (as
//!   UNSELECT), ENABLE's state and the per-user connection slot go, TLS
//!   and COMPRESS stay; the OK carries the new capabilities.
//! - PREVIEW (RFC 8970): computed at FETCH from the cached MIME tree and
//!   the first readable part's first `[imap] preview_scan_kib`
//!   (`render/preview.rs` has the rules), at most `preview_chars` (256);
//!   LAZY is accepted and changes nothing, as a preview is always ready.
//! - MULTIAPPEND (RFC 3502): every message of one APPEND is prepared
//!   (blobs fsynced), then inserted in one writer job, so one commit and
//!   all or none (quota is checked message by message inside it); a
//!   zero-length literal cancels. The whole command is buffered, so it is
//!   bounded by the framer's command limit (APPENDLIMIT plus a few lines)
//!   and by `[imap] max_append_messages`.
//! - REPLACE (RFC 8508): `Store::replace` expunges the old message and
//!   stores the new one in one writer job (old first, so the quota sees
//!   the swap, §3.4); a read-only mailbox answers `NO [READ-ONLY]`, an
//!   unknown UID `NO [NONEXISTENT]`. APPENDUID goes in an untagged OK,
//!   then the EXPUNGE and (same mailbox) EXISTS, in that order.
//! - PARTIAL (RFC 9394, `wire/partial.rs`): SEARCH RETURN (PARTIAL r)
//!   answers the page of the ascending results (COUNT, MIN, MAX still of
//!   all; SAVE keeps the page); FETCH and UID FETCH take (PARTIAL r) as a
//!   modifier, applied after CHANGEDSINCE. The whole search still runs:
//!   PARTIAL saves the client bandwidth, not the server work.
//! - OBJECTID (RFC 8474): the store's ids (`object_ids.rs` there says how
//!   each is made): MAILBOXID in SELECT/EXAMINE, CREATE's OK and STATUS;
//!   FETCH EMAILID/THREADID and the SEARCH keys, read only when asked
//!   for. THREADID is never NIL: a message with no Message-ID, In-Reply-To
//!   or References is a thread of its own.
//! - UIDONLY (RFC 9586): an ENABLE flag; commands with message numbers
//!   (non-UID forms, sequence sets in search keys; `$` is UIDs and
//!   allowed) get `BAD [UIDREQUIRED]` before they run; every FETCH line,
//!   solicited or not, is `* uid UIDFETCH (...)` without a UID item;
//!   expunges are VANISHED; SELECT sends no `[UNSEEN n]`. The session
//!   still keeps its UID list (EXISTS is a count).
//! - ESORT (RFC 5267 §3): SORT RETURN (...) answers ESEARCH; MIN/MAX are
//!   the first/last in sort order, ALL and PARTIAL's page are listed in
//!   sort order (ranges only for ascending runs), SAVE saves the set.
//! - CONTEXT=SEARCH, CONTEXT=SORT (RFC 5267 §4, `session/context.rs`):
//!   RETURN (UPDATE) keeps the result; when the mailbox changed, each
//!   context is searched again where unsolicited data may go (command
//!   end, IDLE) and the difference sent as REMOVEFROM/ADDTO. At most
//!   `[imap] max_search_contexts` per session, none for a PARTIAL result
//!   (`NO [NOUPDATE "tag"]`); CANCELUPDATE and leaving the mailbox end
//!   them.
//! - CATENATE (RFC 4469, `wire/catenate.rs`, `session/catenate.rs`):
//!   TEXT literals and IMAP URLs (absolute, `/mailbox...` or `;UID=...`
//!   in the selected mailbox; UIDVALIDITY, SECTION, PARTIAL) of the
//!   user's own mailboxes only; a URL naming nothing is `NO [BADURL url]`
//!   for the whole APPEND; the result is bounded by APPENDLIMIT, the
//!   parts by `[imap] max_catenate_parts`. A section is cut by re-parsing
//!   the source message (no cached meta read).
//! - METADATA, METADATA-SERVER (RFC 5464, `wire/metadata.rs`,
//!   `session/metadata.rs`, the store's `metadata.rs`, migration 14):
//!   per-user entries on a mailbox or the server (`""`); values up to
//!   `[imap] metadata_max_size`, at most `metadata_max_entries` per user;
//!   `/shared/` entries are kept per user too (nobody else sees a
//!   mailbox here). RENAME keeps them, DELETE drops them.
//! - NOTIFY (RFC 5465, `wire/notify.rs`, `session/notify.rs`): the
//!   selected mailbox as ever, with MessageNew's fetch attributes as a
//!   FETCH after the EXISTS; other watched mailboxes (at most `[imap]
//!   notify_max_mailboxes`) answered with STATUS; the user's list feed
//!   brings MailboxName and SubscriptionChange as LIST lines and keeps
//!   the watched set in step with created, renamed, deleted and
//!   (un)subscribed names. AnnotationChange and the METADATA events are
//!   BADEVENT; SELECTED-DELAYED is served as SELECTED.

mod compress;
pub mod config;
#[cfg(test)]
mod corpus_fixture;
#[doc(hidden)]
pub mod fuzzing;
pub mod render;
pub mod render_cache;
pub mod server;
pub mod session;
pub mod wire;

pub use config::ImapConfig;
pub use render_cache::RenderCache;
pub use server::ImapHandler;
pub use session::{Context, Flow, PerUser, Session};
pub mod query;
