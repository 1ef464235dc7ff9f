//! Which of our mailboxes a folder of the old server goes to: special-use
//! folders (RFC 6154 attributes, Gmail's XLIST ones, else well-known names
//! such as "Sent Items" or "INBOX.Trash") to ours of that use, other names
//! with the old hierarchy delimiter turned into ours. Virtual folders
//! (`\All`, `\Flagged`, Gmail's Important) are views of the others and
//! are not copied, so no message comes twice.

use postern_store::{DELIMITER, SpecialUse};

use super::wire::{Listed, decode_mailbox_name};

/// Where one source folder goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Inbox,
    /// Our mailbox with this use (created with `name` if the user has none).
    Special(SpecialUse, String),
    Named(String),
    /// Not copied, and why.
    Skip(&'static str),
}

/// Prefixes under which servers keep their special folders.
const PREFIXES: [&str; 2] = ["[Gmail]", "[Google Mail]"];

pub fn target(l: &Listed) -> Target {
    let has = |a: &str| l.attrs.iter().any(|x| x.eq_ignore_ascii_case(a));
    if has("\\Noselect") || has("\\NonExistent") {
        return Target::Skip("not a folder that holds messages");
    }
    let name = decode_mailbox_name(&l.raw_name);
    if name.eq_ignore_ascii_case("INBOX") || has("\\Inbox") {
        return Target::Inbox;
    }
    if has("\\All")
        || has("\\AllMail")
        || has("\\Flagged")
        || has("\\Starred")
        || has("\\Important")
    {
        return Target::Skip("a view of the other folders");
    }
    let levels = levels(&name, l.delimiter);
    let attr_use = [
        ("\\Sent", SpecialUse::Sent),
        ("\\Drafts", SpecialUse::Drafts),
        ("\\Trash", SpecialUse::Trash),
        ("\\Junk", SpecialUse::Junk),
        ("\\Spam", SpecialUse::Junk),
        ("\\Archive", SpecialUse::Archive),
    ]
    .into_iter()
    .find(|(a, _)| has(a))
    .map(|(_, u)| u);
    let last = levels.last().map(String::as_str).unwrap_or_default();
    // A name is a special folder only at the top (or under INBOX or Gmail's
    // prefix, which `levels` took away): "Lists/Sent" stays a list's folder.
    let use_ = attr_use.or_else(|| {
        if levels.len() == 1 {
            use_by_name(last)
        } else {
            None
        }
    });
    match use_ {
        Some(u) => Target::Special(u, special_name(u).to_string()),
        None => Target::Named(levels.join(&DELIMITER.to_string())),
    }
}

/// The levels of a source name without the INBOX (Courier, Cyrus) or Gmail
/// prefix the server puts before personal folders; a level holding our
/// delimiter gets `_` for it.
fn levels(name: &str, delimiter: Option<char>) -> Vec<String> {
    let mut parts: Vec<String> = match delimiter {
        Some(d) => name.split(d).map(String::from).collect(),
        None => vec![name.to_string()],
    };
    if parts.len() > 1
        && (parts[0].eq_ignore_ascii_case("INBOX")
            || PREFIXES.iter().any(|p| parts[0].eq_ignore_ascii_case(p)))
    {
        parts.remove(0);
    }
    parts
        .into_iter()
        .map(|p| p.replace(DELIMITER, "_"))
        .filter(|p| !p.is_empty())
        .collect()
}

/// Well-known names of special folders across servers and clients
/// (Outlook/Exchange, Thunderbird, Apple Mail, Gmail, Courier).
fn use_by_name(name: &str) -> Option<SpecialUse> {
    let n = name.to_lowercase();
    let u = match n.as_str() {
        "sent" | "sent items" | "sent messages" | "sent mail" | "sent-mail" | "outbox" => {
            SpecialUse::Sent
        }
        "drafts" | "draft" => SpecialUse::Drafts,
        "trash" | "deleted items" | "deleted messages" | "deleted" | "bin" => SpecialUse::Trash,
        "junk" | "spam" | "junk e-mail" | "junk email" | "bulk mail" => SpecialUse::Junk,
        "archive" | "archives" => SpecialUse::Archive,
        _ => return None,
    };
    Some(u)
}

/// The name a special mailbox gets when the user has none of that use.
fn special_name(u: SpecialUse) -> &'static str {
    match u {
        SpecialUse::Sent => "Sent",
        SpecialUse::Drafts => "Drafts",
        SpecialUse::Trash => "Trash",
        SpecialUse::Junk => "Junk",
        SpecialUse::Archive => "Archive",
        SpecialUse::All => "All",
        SpecialUse::Flagged => "Flagged",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(attrs: &[&str], delim: Option<char>, name: &str) -> Listed {
        Listed {
            attrs: attrs.iter().map(|s| s.to_string()).collect(),
            delimiter: delim,
            raw_name: name.as_bytes().to_vec(),
        }
    }

    fn special(u: SpecialUse, n: &str) -> Target {
        Target::Special(u, n.into())
    }

    #[test]
    fn special_use_attributes_and_gmail_folders_map_to_ours() {
        use SpecialUse::*;
        assert_eq!(
            target(&l(&["\\Sent"], Some('/'), "Gesendet")),
            special(Sent, "Sent")
        );
        assert_eq!(
            target(&l(&["\\Junk"], Some('/'), "[Gmail]/Spam")),
            special(Junk, "Junk")
        );
        assert_eq!(
            target(&l(&["\\Spam"], Some('/'), "[Gmail]/Spam")),
            special(Junk, "Junk")
        );
        assert_eq!(
            target(&l(&[], Some('/'), "[Google Mail]/Sent Mail")),
            special(Sent, "Sent")
        );
        assert_eq!(
            target(&l(&["\\Trash"], Some('/'), "[Gmail]/Bin")),
            special(Trash, "Trash")
        );
        assert!(matches!(
            target(&l(&["\\All"], Some('/'), "[Gmail]/All Mail")),
            Target::Skip(_)
        ));
        assert!(matches!(
            target(&l(&["\\Noselect"], Some('/'), "[Gmail]")),
            Target::Skip(_)
        ));
        assert!(matches!(
            target(&l(&["\\Important"], Some('/'), "[Gmail]/Important")),
            Target::Skip(_)
        ));
    }

    #[test]
    fn common_names_map_without_attributes_at_the_top_only() {
        use SpecialUse::*;
        assert_eq!(
            target(&l(&[], Some('/'), "Sent Items")),
            special(Sent, "Sent")
        );
        assert_eq!(
            target(&l(&[], Some('/'), "Deleted Items")),
            special(Trash, "Trash")
        );
        assert_eq!(
            target(&l(&[], Some('.'), "INBOX.Sent")),
            special(Sent, "Sent")
        );
        assert_eq!(
            target(&l(&[], Some('.'), "INBOX.Junk E-mail")),
            special(Junk, "Junk")
        );
        assert_eq!(
            target(&l(&[], Some('/'), "Lists/Sent")),
            Target::Named("Lists/Sent".into())
        );
        assert_eq!(target(&l(&[], Some('/'), "inbox")), Target::Inbox);
    }

    #[test]
    fn hierarchy_delimiters_become_ours() {
        assert_eq!(
            target(&l(&[], Some('.'), "INBOX.Lists.rust")),
            Target::Named("Lists/rust".into())
        );
        assert_eq!(
            target(&l(&[], Some('.'), "Projects.a/b")),
            Target::Named("Projects/a_b".into())
        );
        assert_eq!(
            target(&l(&[], Some('/'), "Entw&APw-rfe/2024")),
            Target::Named("Entwürfe/2024".into())
        );
        assert_eq!(
            target(&l(&[], None, "Flat.Name")),
            Target::Named("Flat.Name".into())
        );
    }
}
