//! Sieve (RFC 5228) at delivery: users' and the admin's scripts, compiled
//! by the `sieve-rs` interpreter (`compile.rs`), run for each local
//! recipient after the spam verdict (`run.rs`), their actions turned into
//! the store's one commit (`actions.rs`): targets with flags, redirects
//! with an SRS sender (`srs.rs`), vacation replies (`vacation.rs`), and
//! rejects answered at SMTP time.
//!
//! The interpreter is the dependency; what it sees (envelope, spam score,
//! environment), what it may cost and what its actions become are ours.

mod compile;

pub use compile::{EXTENSIONS, SieveError, check};
