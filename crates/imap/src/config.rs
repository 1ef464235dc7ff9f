//! The IMAP section of the configuration, as the server runs with it.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ImapConfig {
    pub hostname: String,
    /// Longest command line between literals; sequence sets may have as
    /// many ranges as fit in it.
    pub max_line: usize,
    /// Largest literal (and APPEND message) accepted; advertised as APPENDLIMIT.
    pub max_literal: u64,
    /// Silence allowed before LOGIN (short: an unauthenticated connection is cheap to open).
    pub login_timeout: Duration,
    /// Silence allowed once logged in (RFC 9051 §5.4: at least 30 minutes).
    pub idle_timeout: Duration,
    /// Accept LOGIN and AUTHENTICATE without TLS from 127.0.0.0/8 and ::1
    /// (for local tools); everywhere else TLS comes first.
    pub plaintext_on_loopback: bool,
    /// Bad commands before `* BYE` and close.
    pub max_errors: usize,
    /// Logged-in connections one user may hold at once (phones, laptops,
    /// each client's several connections); past it LOGIN answers NO [LIMIT].
    pub max_connections_per_user: usize,
    /// Rendered ENVELOPE/BODY/BODYSTRUCTURE kept for repeated syncs, in
    /// bytes, shared by all sessions (`render_cache.rs`); 0 turns it off.
    pub render_cache_bytes: usize,
    /// FETCH PREVIEW (RFC 8970): characters kept (at most 256, §3.3) and
    /// encoded bytes of the chosen part read for them.
    pub preview_chars: usize,
    pub preview_scan_bytes: usize,
    /// Messages in one APPEND (MULTIAPPEND, RFC 3502); their bytes
    /// together are bounded by the command limit (`max_literal`).
    pub max_append_messages: usize,
    /// Search results one session keeps up to date (RFC 5267 CONTEXT);
    /// each is searched again when its mailbox changes.
    pub max_search_contexts: usize,
    /// Parts of one CATENATE (RFC 4469).
    pub max_catenate_parts: usize,
    /// METADATA (RFC 5464): bytes of one value, annotations per user.
    pub metadata_max_size: usize,
    pub metadata_max_entries: usize,
    /// Mailboxes one NOTIFY SET may watch (RFC 5465), each a feed
    /// subscription and a small task.
    pub notify_max_mailboxes: usize,
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            hostname: "localhost".into(),
            max_line: crate::wire::DEFAULT_MAX_LINE,
            max_literal: 50 * 1024 * 1024,
            login_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30 * 60),
            plaintext_on_loopback: false,
            max_errors: 20,
            max_connections_per_user: 50,
            render_cache_bytes: 16 * 1024 * 1024,
            preview_chars: crate::render::MAX_PREVIEW_CHARS,
            preview_scan_bytes: 16 * 1024,
            max_append_messages: 1000,
            max_search_contexts: 8,
            max_catenate_parts: 100,
            metadata_max_size: 64 * 1024,
            metadata_max_entries: 1000,
            notify_max_mailboxes: 1000,
        }
    }
}
