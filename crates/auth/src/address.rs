//! Address and domain normalisation (the form every lookup key takes) and
//! splitting of plus-addresses (`user+tag`).

use thiserror::Error;

/// RFC 5321 §4.5.3.1.1: the local part is at most 64 octets.
pub const MAX_LOCAL_PART: usize = 64;
/// RFC 5321 §4.5.3.1.2: the domain is at most 255 octets.
pub const MAX_DOMAIN: usize = 255;
/// RFC 1035 §2.3.4: a label is at most 63 octets.
pub const MAX_LABEL: usize = 63;

/// Why a string is not an address or domain we accept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    /// Nothing but whitespace.
    #[error("address is empty")]
    Empty,
    /// No `@` at all.
    #[error("address has no @")]
    MissingAt,
    /// More than one `@` (quoted local parts are not supported).
    #[error("address has more than one @")]
    ExtraAt,
    /// Nothing before the `@`.
    #[error("local part is empty")]
    EmptyLocalPart,
    /// Local part over [`MAX_LOCAL_PART`] octets.
    #[error("local part is longer than 64 octets")]
    LocalPartTooLong,
    /// A character not allowed in a local part.
    #[error("local part contains {0:?}")]
    BadLocalChar(char),
    /// Nothing after the `@`, or an empty domain.
    #[error("domain is empty")]
    EmptyDomain,
    /// Domain over [`MAX_DOMAIN`] octets.
    #[error("domain is longer than 255 octets")]
    DomainTooLong,
    /// A label that is empty (leading, trailing or doubled dot) or over 63 octets.
    #[error("domain has an empty or over-long label")]
    BadLabelLength,
    /// A label starting or ending with `-`.
    #[error("domain label starts or ends with a hyphen")]
    HyphenAtLabelEdge,
    /// A character not allowed in a domain.
    #[error("domain contains {0:?}")]
    BadDomainChar(char),
}

/// Checks an address and returns its lookup form: surrounding whitespace
/// trimmed, local part and domain lowercased.
///
/// Accepted: exactly one `@`; a local part of 1..=64 octets made of RFC 5322
/// `atext`, dots, and non-ASCII UTF-8 (RFC 6531, SMTPUTF8); a domain as
/// [`normalize_domain`] accepts. Quoted local parts, domain literals and
/// anything with whitespace, control characters or `<>` are refused.
///
/// Lowercasing the local part is a deliberate departure from RFC 5321 §2.4
/// (which lets the receiving host treat it case-sensitively): people type
/// `Alice@` and `alice@` interchangeably, and no one wants those to be
/// different mailboxes.
pub fn normalize_address(s: &str) -> Result<String, AddressError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(AddressError::Empty);
    }
    let (local, domain) = s.rsplit_once('@').ok_or(AddressError::MissingAt)?;
    if local.contains('@') {
        return Err(AddressError::ExtraAt);
    }
    let local = normalize_local_part(local)?;
    let domain = check_domain(domain)?;
    Ok(format!("{local}@{domain}"))
}

/// Checks a domain and returns it trimmed and lowercased.
///
/// Labels are 1..=63 octets of ASCII letters, digits and `-` (not at either
/// end of a label) or non-ASCII UTF-8 (U-labels, kept as they are: no IDNA
/// conversion, so `bücher.example` and `xn--bcher-kva.example` are different
/// keys). No leading, trailing or doubled dot; at most 255 octets.
pub fn normalize_domain(s: &str) -> Result<String, AddressError> {
    check_domain(s.trim())
}

/// Splits a local part at the first `separator`: `("user", Some("tag"))` for
/// `user+tag`, `(local, None)` when there is no separator or nothing before it
/// (`+tag` is a whole local part, not an empty user with a tag). The tag may
/// be empty (`user+`).
pub fn split_plus(local: &str, separator: char) -> (&str, Option<&str>) {
    match local.split_once(separator) {
        Some((base, tag)) if !base.is_empty() => (base, Some(tag)),
        _ => (local, None),
    }
}

/// Validates and lowercases a local part.
fn normalize_local_part(local: &str) -> Result<String, AddressError> {
    if local.is_empty() {
        return Err(AddressError::EmptyLocalPart);
    }
    if let Some(c) = local.chars().find(|&c| !is_local_char(c)) {
        return Err(AddressError::BadLocalChar(c));
    }
    let lower = local.to_lowercase();
    // Checked after lowercasing: a few characters change length when
    // lowercased, and the stored key is what must fit.
    if lower.len() > MAX_LOCAL_PART || local.len() > MAX_LOCAL_PART {
        return Err(AddressError::LocalPartTooLong);
    }
    Ok(lower)
}

/// RFC 5322 §3.2.3 `atext`, the dot of `dot-atom`, and RFC 6531
/// `UTF8-non-ascii` (minus control and whitespace characters).
fn is_local_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)
    } else {
        !c.is_control() && !c.is_whitespace()
    }
}

/// Validates and lowercases a domain that is already trimmed.
fn check_domain(domain: &str) -> Result<String, AddressError> {
    if domain.is_empty() {
        return Err(AddressError::EmptyDomain);
    }
    if let Some(c) = domain.chars().find(|&c| !is_domain_char(c)) {
        return Err(AddressError::BadDomainChar(c));
    }
    let lower = domain.to_lowercase();
    if lower.len() > MAX_DOMAIN || domain.len() > MAX_DOMAIN {
        return Err(AddressError::DomainTooLong);
    }
    for label in lower.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL {
            return Err(AddressError::BadLabelLength);
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(AddressError::HyphenAtLabelEdge);
        }
    }
    Ok(lower)
}

/// Letters, digits, hyphen and dot in ASCII; non-ASCII UTF-8 that is neither
/// a control nor whitespace character.
fn is_domain_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '-' || c == '.'
    } else {
        !c.is_control() && !c.is_whitespace()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_addresses_are_trimmed_and_lowercased() {
        let table = [
            ("alice@example.org", "alice@example.org"),
            ("  Alice@Example.ORG\t", "alice@example.org"),
            ("a.b+tag@mail.example.org", "a.b+tag@mail.example.org"),
            ("o'brien@example.org", "o'brien@example.org"),
            ("x@localhost", "x@localhost"),
            ("user@123.example", "user@123.example"),
            ("ÜSER@BÜCHER.example", "üser@bücher.example"),
            ("δοκιμή@παράδειγμα.δοκιμή", "δοκιμή@παράδειγμα.δοκιμή"),
            ("a-b@a-b.example", "a-b@a-b.example"),
        ];
        for (input, want) in table {
            assert_eq!(normalize_address(input).as_deref(), Ok(want), "{input:?}");
        }
    }

    #[test]
    fn invalid_addresses_are_refused_with_a_reason() {
        use AddressError::*;
        let long_local = format!("{}@example.org", "a".repeat(65));
        let long_label = format!("a@{}.org", "b".repeat(64));
        let long_domain = format!("a@{}", ["abcdefghi"; 26].join("."));
        let table: Vec<(&str, AddressError)> = vec![
            ("", Empty),
            ("   ", Empty),
            ("alice", MissingAt),
            ("a@b@example.org", ExtraAt),
            ("@example.org", EmptyLocalPart),
            ("alice@", EmptyDomain),
            (&long_local, LocalPartTooLong),
            ("al ice@example.org", BadLocalChar(' ')),
            ("<alice@example.org>", BadLocalChar('<')),
            ("alice@example.org>", BadDomainChar('>')),
            ("al\u{0}ice@example.org", BadLocalChar('\0')),
            ("al\rice@example.org", BadLocalChar('\r')),
            ("\"a b\"@example.org", BadLocalChar('"')),
            ("a\u{85}b@example.org", BadLocalChar('\u{85}')),
            ("alice@exa mple.org", BadDomainChar(' ')),
            ("alice@[192.0.2.1]", BadDomainChar('[')),
            ("alice@exa_mple.org", BadDomainChar('_')),
            ("alice@.example.org", BadLabelLength),
            ("alice@example.org.", BadLabelLength),
            ("alice@example..org", BadLabelLength),
            (&long_label, BadLabelLength),
            (&long_domain, DomainTooLong),
            ("alice@-example.org", HyphenAtLabelEdge),
            ("alice@example-.org", HyphenAtLabelEdge),
        ];
        for (input, want) in table {
            assert_eq!(normalize_address(input), Err(want), "{input:?}");
        }
    }

    #[test]
    fn local_part_of_exactly_64_octets_is_accepted() {
        let addr = format!("{}@example.org", "a".repeat(64));
        assert!(normalize_address(&addr).is_ok());
        // 32 two-octet characters are 64 octets too.
        let addr = format!("{}@example.org", "é".repeat(32));
        assert!(normalize_address(&addr).is_ok());
        let addr = format!("{}a@example.org", "é".repeat(32));
        assert_eq!(
            normalize_address(&addr),
            Err(AddressError::LocalPartTooLong)
        );
    }

    #[test]
    fn domain_of_exactly_255_octets_is_accepted() {
        // 63 + 1 + 63 + 1 + 63 + 1 + 63 = 255
        let d = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63),
        ]
        .join(".");
        assert_eq!(d.len(), 255);
        assert!(normalize_domain(&d).is_ok());
        assert_eq!(
            normalize_domain(&format!("{d}e")),
            Err(AddressError::DomainTooLong)
        );
    }

    #[test]
    fn normalize_domain_trims_and_lowercases() {
        assert_eq!(
            normalize_domain(" Example.ORG ").as_deref(),
            Ok("example.org")
        );
        assert_eq!(
            normalize_domain("a@b"),
            Err(AddressError::BadDomainChar('@'))
        );
        assert_eq!(normalize_domain(""), Err(AddressError::EmptyDomain));
    }

    #[test]
    fn normalizing_is_idempotent() {
        for input in ["Alice@Example.org", "ÜSER@BÜCHER.example", "x+y@z.example"] {
            let once = normalize_address(input).expect("valid test input");
            assert_eq!(normalize_address(&once).as_deref(), Ok(once.as_str()));
        }
    }

    #[test]
    fn split_plus_splits_at_the_first_separator() {
        let table = [
            ("user+tag", '+', ("user", Some("tag"))),
            ("user+a+b", '+', ("user", Some("a+b"))),
            ("user+", '+', ("user", Some(""))),
            ("user", '+', ("user", None)),
            ("+tag", '+', ("+tag", None)),
            ("user-tag", '-', ("user", Some("tag"))),
            ("user+tag", '-', ("user+tag", None)),
            ("", '+', ("", None)),
        ];
        for (local, sep, want) in table {
            assert_eq!(split_plus(local, sep), want, "{local:?} {sep:?}");
        }
    }
}
