//! ManageSieve for Postern (RFC 5804): users upload, check, list, fetch,
//! rename, delete and activate their Sieve scripts over port 4190.
//!
//! Layers, as in every protocol crate:
//! - `wire/` (sans-IO, std only): command framing with literals under a
//!   line and a literal limit, the command parser, response encoding;
//! - `session/`: the states (not authenticated, authenticated) and each
//!   command over the store and the script checker;
//! - `server.rs`: the tokio driver (STARTTLS, SASL continuations, idle
//!   timeout, shutdown).
//!
//! Implementation notes (choices where the RFC leaves room):
//! - Client literals: RFC 5804 §4 defines only the non-synchronizing
//!   `{n+}` from clients and no continuation response. `{n}` is accepted
//!   too and read the same way, with nothing sent before the octets (as
//!   Dovecot does), so a client that sends one is served either way.
//! - A literal over `max_script_bytes` (or a command's literals together
//!   over that plus `max_line`) is read and dropped as it arrives, never
//!   held, and answered `NO (QUOTA/MAXSIZE)`; a command line over
//!   `max_line` the same, with `NO`. Either counts toward `max_errors`.
//! - Logins: AUTHENTICATE PLAIN and LOGIN only, through the directory
//!   and its throttle as for IMAP and POP3; before TLS they are refused
//!   with `NO (ENCRYPT-NEEDED)` and SASL is advertised empty, unless
//!   `plaintext_on_loopback` allows a loopback client.
//! - After STARTTLS the capabilities are sent again unasked (RFC 5804
//!   §2.2); after AUTHENTICATE they are not (no SASL security layer).
//! - PUTSCRIPT and CHECKSCRIPT compile the script with the same checker
//!   delivery uses (`postern_delivery::sieve::check`); an error is `NO`
//!   with `line L, column C: message`. A script that is not UTF-8 is
//!   refused the same way (RFC 5228 §2.1: scripts are UTF-8).
//! - Limits: `[sieve]`'s script size and count are the quota
//!   (`QUOTA/MAXSIZE`, `QUOTA/MAXSCRIPTS`); HAVESPACE answers the same
//!   checks PUTSCRIPT would make. Replacing a script does not count as
//!   another one.
//! - DELETESCRIPT refuses the active script with `(ACTIVE)` (RFC 5804
//!   §2.10); RENAMESCRIPT keeps the active mark with the script.
//! - Bad commands and failed logins count toward `max_errors`; the last
//!   one is answered with `BYE` and closes, and is reported to the abuse
//!   tracker as the other protocols do.
//!
//! Invariant to keep: a script reaches the store only after it compiled;
//! the store holds at most one active script per user.

pub mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod server;
pub mod session;
pub mod wire;

pub use config::ManageSieveConfig;
pub use server::ManageSieveHandler;
pub use session::{Context, Flow, Session};
