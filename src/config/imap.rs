//! The `[imap]` section: what the file says, and its check into
//! `postern_imap::ImapConfig`.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawImap {
    pub max_line: usize,
    pub login_timeout_secs: u64,
    pub idle_timeout_secs: u64,
    /// LOGIN without TLS from 127.0.0.1/::1 (local tools); off by default.
    pub plaintext_on_loopback: bool,
    pub max_errors: usize,
    pub max_connections_per_user: usize,
    /// Rendered ENVELOPE/BODYSTRUCTURE kept for repeated syncs, KiB.
    pub render_cache_kib: usize,
    /// FETCH PREVIEW: characters (1..=256, RFC 8970 §3.3) and the bytes of
    /// a part read for them.
    pub preview_chars: usize,
    pub preview_scan_kib: usize,
    /// Messages in one MULTIAPPEND (RFC 3502).
    pub max_append_messages: usize,
    /// Search results kept up to date per session (RFC 5267 CONTEXT).
    pub max_search_contexts: usize,
    /// Parts of one CATENATE (RFC 4469).
    pub max_catenate_parts: usize,
    /// METADATA (RFC 5464): bytes of one value, annotations per user.
    pub metadata_max_size: usize,
    pub metadata_max_entries: usize,
    /// Mailboxes one NOTIFY SET may watch (RFC 5465).
    pub notify_max_mailboxes: usize,
}

impl Default for RawImap {
    fn default() -> Self {
        let d = postern_imap::ImapConfig::default();
        RawImap {
            max_line: d.max_line,
            login_timeout_secs: d.login_timeout.as_secs(),
            idle_timeout_secs: d.idle_timeout.as_secs(),
            plaintext_on_loopback: d.plaintext_on_loopback,
            max_errors: d.max_errors,
            max_connections_per_user: d.max_connections_per_user,
            render_cache_kib: d.render_cache_bytes / 1024,
            preview_chars: d.preview_chars,
            preview_scan_kib: d.preview_scan_bytes / 1024,
            max_append_messages: d.max_append_messages,
            max_search_contexts: d.max_search_contexts,
            max_catenate_parts: d.max_catenate_parts,
            metadata_max_size: d.metadata_max_size,
            metadata_max_entries: d.metadata_max_entries,
            notify_max_mailboxes: d.notify_max_mailboxes,
        }
    }
}

impl RawImap {
    /// The checked section; `max_literal` is `limits.max_message_size`
    /// (APPENDLIMIT). A refusal is (key, reason).
    pub fn check(
        &self,
        hostname: &str,
        max_literal: u64,
    ) -> Result<postern_imap::ImapConfig, (String, String)> {
        let refuse = |key: &str, reason: String| Err((format!("imap.{key}"), reason));
        if self.max_line < 1000 {
            return refuse(
                "max_line",
                format!(
                    "{} is too short for real clients (at least 1000)",
                    self.max_line
                ),
            );
        }
        if self.idle_timeout_secs < 1800 {
            return refuse(
                "idle_timeout_secs",
                format!(
                    "{} is below 1800 (RFC 9051 §5.4: at least 30 minutes)",
                    self.idle_timeout_secs
                ),
            );
        }
        if !(1..=postern_imap::render::MAX_PREVIEW_CHARS).contains(&self.preview_chars) {
            return refuse(
                "preview_chars",
                format!(
                    "{} is outside 1..={} (RFC 8970 §3.3)",
                    self.preview_chars,
                    postern_imap::render::MAX_PREVIEW_CHARS
                ),
            );
        }
        for (key, v) in [
            ("login_timeout_secs", self.login_timeout_secs),
            ("preview_scan_kib", self.preview_scan_kib as u64),
            ("max_append_messages", self.max_append_messages as u64),
            ("max_catenate_parts", self.max_catenate_parts as u64),
            ("max_search_contexts", self.max_search_contexts as u64),
            ("max_errors", self.max_errors as u64),
            (
                "max_connections_per_user",
                self.max_connections_per_user as u64,
            ),
        ] {
            if v == 0 {
                return refuse(key, "must be greater than 0".into());
            }
        }
        Ok(postern_imap::ImapConfig {
            hostname: hostname.to_string(),
            max_line: self.max_line,
            max_literal,
            login_timeout: Duration::from_secs(self.login_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            plaintext_on_loopback: self.plaintext_on_loopback,
            max_errors: self.max_errors,
            max_connections_per_user: self.max_connections_per_user,
            render_cache_bytes: self.render_cache_kib.saturating_mul(1024),
            preview_chars: self.preview_chars,
            preview_scan_bytes: self.preview_scan_kib.saturating_mul(1024),
            max_append_messages: self.max_append_messages,
            max_search_contexts: self.max_search_contexts,
            max_catenate_parts: self.max_catenate_parts,
            metadata_max_size: self.metadata_max_size,
            metadata_max_entries: self.metadata_max_entries,
            notify_max_mailboxes: self.notify_max_mailboxes,
        })
    }
}
