//! Mailboxes in the formats people bring to a mail server and take away from
//! it: mbox (read and written as mboxrd) and Maildir (read only). The admin
//! CLI's `import` and `export` are built on this; nothing here knows the store.
//!
//! Implementation notes, the choices made where the formats leave room:
//!
//! - mbox is streamed: [`MboxReader`] holds one message at a time, never the
//!   file (briefly twice, while it is converted to CRLF). A message is as big
//!   as it is; there is no size limit here: the admin imports their own files.
//! - Every line that begins with `From ` starts a message (mboxrd quotes such
//!   body lines as `>From `). No blank line before it is required and its date
//!   need not parse (then INTERNALDATE is `None`).
//! - The file must start with a `From ` line, after optional blank lines.
//!   Anything else is refused, naming the file and line, rather than imported
//!   as a message without an envelope. An empty file holds no messages.
//! - The last line end before the next `From ` line (or the end of the file)
//!   belongs to the mbox, not to the message: it is the blank separator line
//!   when the message ends with a newline, and the end of the message's last
//!   line when it does not. The writer follows the same rule, which is what
//!   lets a message without a final newline round-trip. The price: an mbox
//!   from elsewhere that omits the blank line gives messages without their
//!   final line end, which IMAP does not mind.
//! - `Status`, `X-Status` and `X-Keywords` are mbox metadata (mutt,
//!   Thunderbird, Dovecot): read into flags and removed from the header section
//!   on import, never from the body. On export, such headers already in the
//!   message are replaced by ones built from the flags.
//! - Round trip: a CRLF message (lone CRs allowed) comes back byte for byte,
//!   unless it carries metadata headers of its own, or ends in a lone CR right
//!   after a line end (taken for a CRLF mbox's blank line).
//! - Keywords must be IMAP atoms (RFC 9051 §9 `flag-keyword`); others are
//!   dropped, and on export so are keywords holding a comma, which
//!   `X-Keywords` cannot carry. Unknown system flags (`\Recent`) are dropped.
//! - Maildir: `cur/` and `new/` must both exist. The info part is read after
//!   `:2,` (or `!2,`, used where `:` is not allowed in file names), in either
//!   directory. Files that vanish while listing (a running IMAP server moved
//!   them) are skipped; Maildir++ subfolders (`.Name/`) are not descended into.

mod date;
mod maildir;
mod mbox;
mod uidlist;

pub(crate) use date::{days_from_civil, utc_minutes};
pub use maildir::{MaildirFiles, read_maildir, read_maildir_message};
#[allow(
    unused_imports,
    reason = "read_mbox's return type; callers may not need to name it"
)]
pub use mbox::MboxReader;
pub use mbox::{read_mbox, write_mbox_message};
pub use uidlist::{UidList, read_uidlist, x_uidl};

/// One message read from an mbox or Maildir, ready for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedMessage {
    /// The raw message with CRLF line endings (LF-only input is converted; existing CRLF kept; a lone CR left as is).
    pub raw: Vec<u8>,
    /// INTERNALDATE, seconds since the Unix epoch, if known.
    pub internal_date: Option<i64>,
    /// IMAP system flag names present (e.g. "\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft") and keywords.
    pub flags: Vec<String>,
}

/// The flags both formats can say, gathered before they become names.
#[derive(Default)]
struct Flags {
    seen: bool,
    answered: bool,
    flagged: bool,
    deleted: bool,
    draft: bool,
    keywords: Vec<String>,
}

impl Flags {
    fn add_keyword(&mut self, keyword: &str) {
        if is_keyword(keyword)
            && !self
                .keywords
                .iter()
                .any(|k| k.eq_ignore_ascii_case(keyword))
        {
            self.keywords.push(keyword.to_owned());
        }
    }

    fn into_vec(self) -> Vec<String> {
        let system = [
            (self.seen, "\\Seen"),
            (self.answered, "\\Answered"),
            (self.flagged, "\\Flagged"),
            (self.deleted, "\\Deleted"),
            (self.draft, "\\Draft"),
        ];
        let set = system
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| name.to_owned());
        set.chain(self.keywords).collect()
    }
}

/// An IMAP keyword is an atom (RFC 9051 §9): no specials, spaces or controls.
fn is_keyword(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| (0x21..0x7f).contains(&b) && !b"(){%*\"\\]".contains(&b))
}

/// A line without its LF or CRLF; an unterminated line as is.
fn trim_line_end(line: &[u8]) -> &[u8] {
    match line.strip_suffix(b"\n") {
        Some(text) => text.strip_suffix(b"\r").unwrap_or(text),
        None => line,
    }
}

/// Appends one line (as split after `\n`), turning a bare LF into CRLF.
fn push_crlf(out: &mut Vec<u8>, line: &[u8]) {
    match line.strip_suffix(b"\n") {
        Some(text) if !text.ends_with(b"\r") => {
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
        _ => out.extend_from_slice(line),
    }
}
