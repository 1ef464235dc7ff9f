//! Small value types the store API speaks in: ids, UIDs, MODSEQs, flags.
//!
//! They carry meaning the bare integers do not (a `Uid` is never zero, a
//! `MailboxId` is not a `UserId`), so a protocol cannot mix them up.

use std::fmt;
use std::num::NonZeroU32;

/// A user's row id in the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// A mailbox's row id. Stable across renames; never reused for another mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxId(pub i64);

/// An IMAP UID (RFC 9051 §2.3.1.1): non-zero, strictly ascending within a
/// mailbox, never reused within one UIDVALIDITY.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid(pub NonZeroU32);

impl Uid {
    /// The UID for a raw value, or `None` for zero.
    pub fn new(v: u32) -> Option<Uid> {
        NonZeroU32::new(v).map(Uid)
    }
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// UIDVALIDITY of a mailbox (RFC 9051 §2.3.1.1). A name that is deleted and
/// created again gets a greater value, so clients drop their caches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UidValidity(pub u32);

/// A modification sequence (RFC 7162). Per mailbox, grows with every change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ModSeq(pub u64);

/// The IMAP system flags, as a bit set. `\Recent` is not stored: it is a
/// per-session notion that IMAP4rev2 dropped (RFC 9051 §2.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SystemFlags(pub u8);

impl SystemFlags {
    pub const SEEN: SystemFlags = SystemFlags(1);
    pub const ANSWERED: SystemFlags = SystemFlags(2);
    pub const FLAGGED: SystemFlags = SystemFlags(4);
    pub const DELETED: SystemFlags = SystemFlags(8);
    pub const DRAFT: SystemFlags = SystemFlags(16);
    const ALL: [(SystemFlags, &'static str); 5] = [
        (SystemFlags::SEEN, "\\Seen"),
        (SystemFlags::ANSWERED, "\\Answered"),
        (SystemFlags::FLAGGED, "\\Flagged"),
        (SystemFlags::DELETED, "\\Deleted"),
        (SystemFlags::DRAFT, "\\Draft"),
    ];

    pub fn empty() -> SystemFlags {
        SystemFlags(0)
    }
    pub fn contains(self, other: SystemFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn union(self, other: SystemFlags) -> SystemFlags {
        SystemFlags(self.0 | other.0)
    }
    pub fn minus(self, other: SystemFlags) -> SystemFlags {
        SystemFlags(self.0 & !other.0)
    }
    /// The flag for an IMAP name such as `\Seen` (case-insensitive).
    pub fn from_name(name: &str) -> Option<SystemFlags> {
        SystemFlags::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(f, _)| *f)
    }
    /// IMAP names of the flags set, in a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        SystemFlags::ALL
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| n)
    }
}

/// System flags plus keywords (`$Junk`, `NonJunk`, …) of one message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Flags {
    pub system: SystemFlags,
    /// Keywords, deduplicated case-insensitively, in the order first seen.
    pub keywords: Vec<String>,
}

impl Flags {
    pub fn new(system: SystemFlags, keywords: impl IntoIterator<Item = String>) -> Flags {
        let mut f = Flags {
            system,
            keywords: Vec::new(),
        };
        for k in keywords {
            f.add_keyword(k);
        }
        f
    }
    pub fn has_keyword(&self, k: &str) -> bool {
        self.keywords.iter().any(|x| x.eq_ignore_ascii_case(k))
    }
    fn add_keyword(&mut self, k: String) {
        if !self.has_keyword(&k) {
            self.keywords.push(k);
        }
    }
    /// Applies a STORE-style operation; returns whether anything changed.
    pub fn apply(&mut self, op: FlagOp, other: &Flags) -> bool {
        let before = self.clone();
        match op {
            FlagOp::Replace => *self = Flags::new(other.system, other.keywords.iter().cloned()),
            FlagOp::Add => {
                self.system = self.system.union(other.system);
                for k in &other.keywords {
                    self.add_keyword(k.clone());
                }
            }
            FlagOp::Remove => {
                self.system = self.system.minus(other.system);
                self.keywords.retain(|k| !other.has_keyword(k));
            }
        }
        let same = before.system == self.system
            && before.keywords.len() == self.keywords.len()
            && before.keywords.iter().all(|k| self.has_keyword(k));
        !same
    }
    pub(crate) fn keywords_column(&self) -> String {
        self.keywords.join(" ")
    }
    /// These flags as a read of the row they are written into gives them
    /// back (what the change feed carries, so a session keeping flags in
    /// memory holds what a read would find).
    pub(crate) fn as_stored(&self) -> Flags {
        Flags::from_columns(i64::from(self.system.0), &self.keywords_column())
    }
    pub(crate) fn from_columns(system: i64, keywords: &str) -> Flags {
        Flags::new(
            SystemFlags(u8::try_from(system & 0x1f).unwrap_or(0)),
            keywords
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(String::from),
        )
    }
}

/// How `set_flags` combines the given flags with the stored ones
/// (IMAP STORE `FLAGS`, `+FLAGS`, `-FLAGS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOp {
    Replace,
    Add,
    Remove,
}

/// The special-use attribute of a mailbox (RFC 6154).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpecialUse {
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
}

impl SpecialUse {
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialUse::All => "\\All",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Flagged => "\\Flagged",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
        }
    }
    /// Parses `\Sent` etc., case-insensitively.
    pub fn parse(s: &str) -> Option<SpecialUse> {
        [
            SpecialUse::All,
            SpecialUse::Archive,
            SpecialUse::Drafts,
            SpecialUse::Flagged,
            SpecialUse::Junk,
            SpecialUse::Sent,
            SpecialUse::Trash,
        ]
        .into_iter()
        .find(|u| u.as_str().eq_ignore_ascii_case(s))
    }
}

/// Mailboxes every new user gets, with their special use (RFC 6154).
pub const DEFAULT_MAILBOXES: [(&str, Option<SpecialUse>); 6] = [
    ("INBOX", None),
    ("Sent", Some(SpecialUse::Sent)),
    ("Drafts", Some(SpecialUse::Drafts)),
    ("Trash", Some(SpecialUse::Trash)),
    ("Junk", Some(SpecialUse::Junk)),
    ("Archive", Some(SpecialUse::Archive)),
];

/// The mailbox hierarchy delimiter.
pub const DELIMITER: char = '/';

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names_round_trip_case_insensitively() {
        for n in ["\\Seen", "\\answered", "\\FLAGGED", "\\Deleted", "\\Draft"] {
            let f = SystemFlags::from_name(n).expect("known flag");
            assert!(f.names().next().expect("one name").eq_ignore_ascii_case(n));
        }
        assert_eq!(SystemFlags::from_name("\\Recent"), None);
    }

    #[test]
    fn add_remove_replace_report_change() {
        let mut f = Flags::new(SystemFlags::SEEN, ["$Junk".to_string()]);
        assert!(!f.apply(
            FlagOp::Add,
            &Flags::new(SystemFlags::SEEN, ["$junk".into()])
        ));
        assert!(f.apply(FlagOp::Add, &Flags::new(SystemFlags::FLAGGED, [])));
        assert!(f.system.contains(SystemFlags::FLAGGED));
        assert!(f.apply(
            FlagOp::Remove,
            &Flags::new(SystemFlags::empty(), ["$JUNK".into()])
        ));
        assert!(f.keywords.is_empty());
        assert!(f.apply(FlagOp::Replace, &Flags::default()));
        assert_eq!(f, Flags::default());
    }

    #[test]
    fn keywords_column_round_trips() {
        let f = Flags::new(SystemFlags::DRAFT, ["a".into(), "B".into(), "b".into()]);
        let back = Flags::from_columns(i64::from(f.system.0), &f.keywords_column());
        assert_eq!(
            back,
            Flags::new(SystemFlags::DRAFT, ["a".into(), "B".into()])
        );
    }
}
