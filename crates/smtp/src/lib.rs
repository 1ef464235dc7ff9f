//! SMTP for Postern: inbound MX (port 25), authenticated submission (587
//! with STARTTLS, 465 with implicit TLS), and later the outbound queue runner
//! and mail authentication (DKIM, SPF, DMARC).
//!
//! Not built yet (issue 4 builds the server, issue 7 outbound delivery). The
//! crate will have the three layers every protocol crate has:
//! - `wire/`: sans-IO command parser, reply encoder, the DATA ingester that
//!   ends only on CRLF.CRLF (no SMTP smuggling), the BDAT chunk counter;
//! - `session/`: the RFC 5321 state machine over the store and the directory;
//! - `server.rs`: the tokio driver plugged into `postern-net`'s accept path.
//!
//! Invariant to keep: the final `250` after DATA/BDAT is sent only after
//! `Store::deliver` returns (the message is durable).
