//! SMTP for Postern: inbound MX (port 25), authenticated submission (587
//! with STARTTLS, 465 with implicit TLS) and outbound delivery (`outbound/`:
//! the queue runner, MX routing, our SMTP client, DSNs). What happens to a
//! message between DATA and the store (SPF/DKIM/DMARC, the spam verdict,
//! DKIM signing of submitted mail) is `postern-delivery`'s: the session
//! hands it each message and stores the copies it returns.
//!
//! Layers: `wire/` (sans-IO: command framing and parsing, replies, the DATA
//! ingester, BDAT chunks), `session/` (the RFC 5321 state machine over the
//! store and the directory), `server.rs` (the tokio driver).
//!
//! Implementation notes
//! - Only CRLF.CRLF ends DATA. A bare CR or LF anywhere in the message is
//!   refused with `550 5.6.11` (or, by config, turned into CRLF), so no
//!   message can smuggle another (CVE-2023-51766 class).
//! - The final `250` after DATA or BDAT LAST is sent only after
//!   `Store::accept` returns: the message is durable. Local recipients and the
//!   outbound queue entry are committed together.
//! - Port 25 never relays: a recipient at a domain that is not ours is
//!   refused at RCPT (`550 5.7.1`), an unknown local one too (`550 5.1.1`),
//!   so nothing accepted has to be bounced later. Submission requires TLS,
//!   then AUTH; the envelope sender and every From address must be the
//!   user's own (`may_send_as`).
//! - Mail loops (RFC 5321 §6.3): a message with more than
//!   `max_received_headers` Received fields (counted while DATA or BDAT is
//!   read) is refused with `554 5.4.6` on every listener, before any
//!   mailbox, alias or queue sees it.
//! - Junk commands (NOOP, RSET, VRFY, EXPN, HELP, a repeated EHLO/HELO or
//!   RCPT, a RCPT past twice `max_recipients`) are counted between accepted messages: past `junk_before_delay`
//!   each reply waits a little longer (bounded), past `max_junk_commands`
//!   the session ends with `421 4.7.0`, so no client holds a connection
//!   for ever without sending mail. Errors keep their own counter.
//! - Abuse: a client the directory's abuse tracker has blocked gets a
//!   `554 5.7.1` greeting and then only `503` until QUIT (RFC 5321 §3.1,
//!   bounded); the junk-command limit, a mail loop, a session closed for
//!   too many errors and a RCPT to a spam trap (answered as an unknown
//!   user) are reported to it. Greylisting (off by default) defers a new
//!   (client /24 or /64, sender, recipient) at RCPT on port 25 with
//!   `451 4.7.1`, never on submission or for allowlisted clients.
//! - Quota is checked at RCPT (`452 4.2.2`, per recipient); a message
//!   accepted there is delivered even if it takes the mailbox over.
//! - After STARTTLS every byte the client sent in plaintext is dropped and
//!   the session starts again (RFC 3207 §4.2, CVE-2011-0411).
//! - Replies are flushed before the server waits for input, never while
//!   complete commands are buffered (RFC 2920 §3.2).
//! - A command must arrive within `command_timeout` of the previous reply,
//!   however slowly its bytes trickle in; DATA has a per-read and a total
//!   deadline.
//! - Mail for an alias that points outside is queued for forwarding as is
//!   (no SRS rewriting yet).
//! - On port 25 the verdict comes before the store: a `550 5.7.1` refusal
//!   (DMARC policy, spam) is given at the end of DATA, so nothing accepted
//!   is bounced later; submission is signed and never scored.

pub mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod outbound;
pub mod server;
pub mod session;
pub mod wire;

pub use config::{Mode, SmtpConfig};
pub use server::SmtpHandler;
pub use session::{Action, Context, Session};
