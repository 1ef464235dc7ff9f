//! The console's HTML, one module per area; pages render what handlers
//! give them and never fetch anything themselves.

pub mod account;
pub mod account_mbox;
pub mod account_security;
pub mod account_sieve;
pub mod account_spam;
pub mod admin;
pub mod admin_ops;
pub mod layout;
pub mod qr;
