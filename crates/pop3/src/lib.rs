//! POP3 for Postern: download-and-delete over the same store as IMAP
//! (RFC 1939, CAPA RFC 2449, AUTH RFC 5034, STLS RFC 2595).
//!
//! Not built yet (issue 6). Layers, as in every protocol crate:
//! - `wire/`: command parser and the multi-line response encoder with
//!   dot-stuffing;
//! - `session/`: AUTHORIZATION / TRANSACTION / UPDATE over a snapshot of
//!   INBOX taken at login;
//! - `server.rs`: the tokio driver.
//!
//! Invariants to keep: DELE takes effect only at QUIT, as one
//! `Store::expunge` that IMAP sessions see; UIDL is derived from UIDVALIDITY
//! and UID, so it is stable and never reused.
