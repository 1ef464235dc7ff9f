//! The `* FLAGS` and `PERMANENTFLAGS` a selected mailbox announces (RFC
//! 3501 §7.2.6, RFC 9051 §7.3.5): at SELECT, and again whenever a STORE
//! (this session's or another's) brings a keyword the mailbox had not had,
//! so that every session with it selected learns the new flag list.

use std::collections::BTreeSet;

use postern_store::Flags;

/// `* FLAGS (...)` and `* OK [PERMANENTFLAGS (...)]` for a mailbox whose
/// messages use `keywords`. RFC 9051 §7.1: PERMANENTFLAGS lists what STORE
/// may change for good, nothing in a read-only (EXAMINE) session.
pub(super) fn flags_lines(out: &mut Vec<u8>, keywords: &BTreeSet<String>, read_only: bool) {
    let kw: String = keywords.iter().map(|k| format!(" {k}")).collect();
    out.extend_from_slice(
        format!("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft{kw})\r\n").as_bytes(),
    );
    if read_only {
        out.extend_from_slice(b"* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
    } else {
        out.extend_from_slice(
            format!("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft{kw} \\*)] Flags permitted\r\n").as_bytes(),
        );
    }
}

/// Adds the keywords of `flags` to `known`; when that brings new ones,
/// announces the whole list again (before the FETCH that shows them).
pub(super) fn announce<'a>(
    known: &mut BTreeSet<String>,
    read_only: bool,
    flags: impl IntoIterator<Item = &'a Flags>,
    out: &mut Vec<u8>,
) {
    let mut grew = false;
    for f in flags {
        for k in &f.keywords {
            if !known.contains(k) {
                known.insert(k.clone());
                grew = true;
            }
        }
    }
    if grew {
        flags_lines(out, known, read_only);
    }
}
