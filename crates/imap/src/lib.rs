//! IMAP for Postern: IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) with the
//! extensions modern clients use, every device kept in sync through the
//! store's change feed.
//!
//! Not built yet (issue 5). Layers, as in every protocol crate:
//! - `wire/`: sans-IO command parser with literal framing (synchronizing,
//!   LITERAL+/-, binary `~{n}`), response encoder, modified UTF-7 names;
//! - `session/`: not-authenticated / authenticated / selected / logout, one
//!   file per command family, over the store's cached ENVELOPE and MIME
//!   offsets (`postern_store::MessageMeta`) so FETCH does not re-parse;
//! - `server.rs`: the tokio driver with concurrent read and write, IDLE and
//!   COMPRESS.
//!
//! Invariant to keep: APPEND answers `OK` only after `Store::append` returns.
