//! End-to-end tests: the real `postern` binary on 127.0.0.1 with port 0 and a
//! temporary data directory, driven through its CLI and real sockets. One
//! test binary (ripgrep's layout) keeps link time and CI short.

mod support;

mod abuse;
mod acme;
mod app_passwords;
mod arc;
mod backup;
mod cli;
mod dane;
mod deliverability;
mod disk_full;
mod doctor;
mod fts;
mod fuzz_smoke;
mod imap;
mod imap_async;
mod imap_bad_input;
mod imap_bigfetch;
mod imap_clients;
mod imap_corpus;
mod imap_faults;
mod imap_rfc;
mod imap_rfc_ext;
mod imap_rfc_ext2;
mod imap_rfc_ext3;
mod imap_rfc_sync;
mod imap_stress;
mod imap_thread;
mod imap_transcript;
mod import;
mod mailauth;
mod managesieve;
mod oauth;
mod ops;
mod outbound;
mod pop3;
mod pop3_bad_input;
mod privileges;
mod queue_answers;
mod real_clients;
mod reports;
mod serve;
mod sieve;
mod sieve_forward;
mod smtp;
mod smtp_bad_input;
mod smtp_durability;
mod spam;
mod spam_prefs;
mod spam_training;
mod tidy;
mod web;
mod web_account_sieve;
mod web_console;
