//! POP3 for Postern: download-and-delete over the same store as IMAP
//! (RFC 1939, CAPA RFC 2449, AUTH RFC 5034, STLS RFC 2595, response codes
//! RFC 2449 §8 and RFC 3206).
//!
//! Layers, as in every protocol crate:
//! - `wire/` (sans-IO, std only): line framing with a length limit, the
//!   command parser, status lines and multi-line responses with
//!   dot-stuffing;
//! - `session/`: AUTHORIZATION / TRANSACTION / UPDATE over a snapshot of
//!   INBOX taken at login, the per-user maildrop lock;
//! - `server.rs`: the tokio driver (pipelining, STLS, idle timeout).
//!
//! Implementation notes (choices where the RFCs leave room):
//! - The maildrop is the user's INBOX. Its message list is a snapshot taken
//!   at login; numbers never shift during a session.
//! - UIDL is `%08X` of the UID then `%08X` of UIDVALIDITY (Dovecot's
//!   default shape), so it is stable across sessions and restarts and never
//!   given to another message.
//! - Sizes (LIST, STAT) are the stored octet counts. Stored mail has CRLF
//!   line endings (SMTP and imports store CRLF), so they equal what RETR
//!   sends before dot-stuffing; a message stored with bare LFs (possible
//!   only through IMAP APPEND) goes out with CRLF and is longer than listed.
//! - The lock is per user, in-process, held from login to the end of the
//!   session; a second POP3 login gets `-ERR [IN-USE]` and stays in
//!   AUTHORIZATION. IMAP and delivery do not take it.
//! - DELE marks; QUIT in TRANSACTION removes the marked messages in one
//!   store commit (`Store::pop3_update`), whose feed entry IMAP sessions
//!   turn into EXPUNGE or VANISHED. A dropped connection, the idle timeout
//!   and server shutdown remove nothing.
//! - EXPIRE (RFC 2449 §6.7) says what `expire_days` says: `NEVER` by
//!   default; with N days, a message is removed at the first QUIT N days
//!   after a POP3 client first retrieved it (RETR; TOP does not count, and
//!   mail never retrieved is never expired); `EXPIRE 0` removes what was
//!   retrieved at this session's QUIT. The retrieval times and the removal
//!   are in the same commit as the DELEs.
//! - RETR does not set `\Seen` unless `retr_sets_seen` is configured (then
//!   at QUIT), as Dovecot's `pop3_no_flag_updates` does by default.
//! - A message expunged by IMAP during the session keeps its number; RETR
//!   and TOP of it answer `-ERR Message N was removed by another session`.
//! - TOP's line count saturates: a count too large for a u32 (`TOP 1
//!   99999999999`) sends the whole message, as any count past the body
//!   does (RFC 1939 §7), and is not an error; a message number that large
//!   is one.
//! - RETR in order reads ahead (16 messages or 256 KiB per trip to the
//!   store); the session watches INBOX's change feed so an expunge reaches
//!   the read-ahead before any later RETR (`session/readahead.rs`).
//! - Response codes: `[AUTH]` for failed credentials and plaintext logins
//!   refused before TLS, `[SYS/TEMP]` for throttling and our own failures,
//!   `[IN-USE]`, `[LOGIN-DELAY]`. Syntax, state and message-number errors
//!   have no code (RFC 2449 defines none for them); each counts toward
//!   `max_errors`, as do failed logins, and the last one closes the session.
//! - Not offered: APOP (it needs the plaintext password on the server).
//!
//! Invariant to keep: nothing is removed from the store except at QUIT in
//! TRANSACTION, and then in one commit.

pub mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod server;
pub mod session;
pub mod wire;

pub use config::Pop3Config;
pub use server::Pop3Handler;
pub use session::{Context, Flow, Maildrops, Session};
