//! Recipient resolution (user, alias expansion, plus-addressing, catch-all)
//! and the submission sender check, as synchronous code over a
//! `DirectoryBackend`; `Directory` runs it on the blocking pool.

use std::collections::{HashMap, HashSet};

use tracing::warn;

use crate::{AuthConfig, BackendError, DirectoryBackend, normalize_address, split_plus};

/// Most alias targets looked at while resolving one recipient. A guard
/// against huge or pathological alias graphs; what is past it is dropped and
/// logged.
pub(crate) const MAX_EXPANDED_TARGETS: usize = 1_000;

/// Where mail for one recipient address goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Not an address we accept mail for (also: not a valid address, or a
    /// domain that is not local).
    Unknown,
    /// Deliver to these local users and forward to these external addresses.
    /// At least one of the two is non-empty; neither holds duplicates.
    Deliver {
        /// Local mailboxes, in the order first reached.
        local: Vec<LocalRecipient>,
        /// Normalised addresses on domains that are not local.
        external: Vec<String>,
    },
}

/// A local user mail is delivered to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LocalRecipient {
    /// The user's id.
    pub user_id: i64,
    /// The user's primary address (not the alias or plus-address used).
    pub address: String,
}

/// Splits a normalised address into local part and domain.
fn parts(address: &str) -> (&str, &str) {
    address.rsplit_once('@').unwrap_or((address, ""))
}

/// Resolves one recipient; see `Directory::resolve_recipient` for the rules.
pub(crate) fn resolve(
    backend: &dyn DirectoryBackend,
    cfg: &AuthConfig,
    address: &str,
) -> Result<Resolution, BackendError> {
    let Ok(address) = normalize_address(address) else {
        return Ok(Resolution::Unknown);
    };
    let mut ex = Expansion {
        backend,
        cfg,
        local: Vec::new(),
        users_seen: HashSet::new(),
        external: Vec::new(),
        visited: HashSet::new(),
        path: Vec::new(),
        domains: HashMap::new(),
        expanded: 0,
    };
    if !ex.is_local(parts(&address).1)? || !ex.resolve_local(&address, 0)? {
        return Ok(Resolution::Unknown);
    }
    if ex.local.is_empty() && ex.external.is_empty() {
        // An alias whose every branch dangles, loops or is too deep: refusing
        // is better than accepting mail that would go nowhere.
        return Ok(Resolution::Unknown);
    }
    Ok(Resolution::Deliver {
        local: ex.local,
        external: ex.external,
    })
}

/// The state of one resolution.
struct Expansion<'a> {
    backend: &'a dyn DirectoryBackend,
    cfg: &'a AuthConfig,
    local: Vec<LocalRecipient>,
    users_seen: HashSet<i64>,
    external: Vec<String>,
    /// Alias sources already expanded (or being expanded): each is expanded
    /// once, which removes duplicates and stops cycles.
    visited: HashSet<String>,
    /// Alias sources on the current branch, to tell a cycle from a diamond.
    path: Vec<String>,
    /// Answers of `domain_exists` so far.
    domains: HashMap<String, bool>,
    /// Targets looked at so far, against `MAX_EXPANDED_TARGETS`.
    expanded: usize,
}

impl Expansion<'_> {
    fn is_local(&mut self, domain: &str) -> Result<bool, BackendError> {
        if let Some(&known) = self.domains.get(domain) {
            return Ok(known);
        }
        let exists = self.backend.domain_exists(domain)?;
        self.domains.insert(domain.to_owned(), exists);
        Ok(exists)
    }

    /// Resolves an address on a local domain: exact user or alias, then the
    /// plus-address base, then the domain's catch-all. `false` when nothing
    /// matched.
    fn resolve_local(&mut self, address: &str, depth: usize) -> Result<bool, BackendError> {
        if self.exact(address, depth)? {
            return Ok(true);
        }
        let (local, domain) = parts(address);
        if let Some(sep) = self.cfg.plus_separator
            && let (base, Some(_tag)) = split_plus(local, sep)
            && self.exact(&format!("{base}@{domain}"), depth)?
        {
            return Ok(true);
        }
        self.alias(&format!("@{domain}"), depth)
    }

    /// A user with exactly this address, or an alias with exactly this source.
    fn exact(&mut self, address: &str, depth: usize) -> Result<bool, BackendError> {
        if let Some(user) = self.backend.user_by_address(address)? {
            // Disabled users still receive: disabling blocks login only.
            if self.users_seen.insert(user.id) {
                self.local.push(LocalRecipient {
                    user_id: user.id,
                    address: user.address,
                });
            }
            return Ok(true);
        }
        self.alias(address, depth)
    }

    /// Expands the alias `source` (`a@b.c` or `@b.c`) if it exists.
    fn alias(&mut self, source: &str, depth: usize) -> Result<bool, BackendError> {
        if self.visited.contains(source) {
            if self.path.iter().any(|s| s == source) {
                warn!(alias = source, "alias cycle, branch dropped");
            }
            // Already expanded elsewhere (a diamond): its recipients are in.
            return Ok(true);
        }
        let targets = self.backend.alias_targets(source)?;
        if targets.is_empty() {
            return Ok(false);
        }
        if depth >= self.cfg.max_alias_depth {
            // Not marked visited: a shorter path may still reach it in depth.
            warn!(
                alias = source,
                depth, "alias nesting too deep, branch dropped"
            );
            return Ok(true);
        }
        self.visited.insert(source.to_owned());
        self.path.push(source.to_owned());
        for target in &targets {
            self.target(target, depth + 1)?;
        }
        self.path.pop();
        Ok(true)
    }

    /// Adds one alias target: external address, or a local one resolved again.
    fn target(&mut self, target: &str, depth: usize) -> Result<(), BackendError> {
        self.expanded += 1;
        if self.expanded > MAX_EXPANDED_TARGETS {
            if self.expanded == MAX_EXPANDED_TARGETS + 1 {
                warn!(
                    limit = MAX_EXPANDED_TARGETS,
                    "alias expansion too large, rest dropped"
                );
            }
            return Ok(());
        }
        let Ok(address) = normalize_address(target) else {
            warn!(target, "alias target is not a valid address, skipped");
            return Ok(());
        };
        if !self.is_local(parts(&address).1)? {
            if !self.external.contains(&address) {
                self.external.push(address);
            }
            return Ok(());
        }
        if !self.resolve_local(&address, depth)? {
            warn!(target = address, "alias target does not exist, skipped");
        }
        Ok(())
    }
}

/// The user's address and the sources of aliases that list it as a target;
/// a source `@b.c` stands for the catch-all of `b.c`. Empty for an unknown
/// or disabled user.
pub(crate) fn sender_addresses(
    backend: &dyn DirectoryBackend,
    user_id: i64,
) -> Result<Vec<String>, BackendError> {
    let Some(user) = backend.user_by_id(user_id)? else {
        return Ok(Vec::new());
    };
    if user.disabled {
        return Ok(Vec::new());
    }
    let mut out = vec![user.address.clone()];
    for source in backend.alias_sources_for(&user.address)? {
        if !out.contains(&source) {
            out.push(source);
        }
    }
    Ok(out)
}

/// Whether the user may use `address` as envelope sender; see
/// `Directory::may_send_as`.
pub(crate) fn may_send_as(
    backend: &dyn DirectoryBackend,
    cfg: &AuthConfig,
    user_id: i64,
    address: &str,
) -> Result<bool, BackendError> {
    let Ok(address) = normalize_address(address) else {
        return Ok(false);
    };
    let own = sender_addresses(backend, user_id)?;
    if own.is_empty() {
        return Ok(false);
    }
    if own.contains(&address) {
        return Ok(true);
    }
    let (local, domain) = parts(&address);
    let base = match cfg.plus_separator.map(|sep| split_plus(local, sep)) {
        Some((base, Some(_tag))) => Some(format!("{base}@{domain}")),
        _ => None,
    };
    if base.as_ref().is_some_and(|b| own.contains(b)) {
        return Ok(true);
    }
    if !own.contains(&format!("@{domain}")) {
        return Ok(false);
    }
    // The catch-all reaches this user, but only addresses nobody else owns
    // fall through to it: a catch-all must not let one impersonate `bob@`.
    for candidate in std::iter::once(&address).chain(base.as_ref()) {
        if backend.user_by_address(candidate)?.is_some()
            || !backend.alias_targets(candidate)?.is_empty()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBackend;

    /// Users: alice (1), bob (2) on example.org; carol (3, disabled) and
    /// x+y (4, a literal plus in the name) on example.net. example.net has a
    /// catch-all to alice. other.example is not local.
    fn backend() -> MemoryBackend {
        let b = MemoryBackend::new();
        b.add_domain("example.org");
        b.add_domain("example.net");
        b.add_domain("loopy.example");
        b.add_user("alice@example.org", "Alice", "$a");
        b.add_user("bob@example.org", "Bob", "$b");
        let carol = b.add_user("carol@example.net", "Carol", "$c");
        b.set_disabled(carol, true);
        b.add_user("x+y@example.net", "", "$x");
        b.add_alias(
            "team@example.org",
            &[
                "alice@example.org",
                "bob@example.org",
                "Alice@Example.ORG",
                "ext@other.example",
            ],
        );
        b.add_alias("@example.net", &["alice@example.org"]);
        b.add_alias("loop1@example.org", &["loop2@example.org"]);
        b.add_alias(
            "loop2@example.org",
            &["loop1@example.org", "bob@example.org"],
        );
        b.add_alias("dangling@example.org", &["ghost@example.org"]);
        b.add_alias(
            "half@example.org",
            &["ghost@example.org", "not an address", "bob@example.org"],
        );
        b.add_alias("lists@example.org", &["bob+lists@example.org"]);
        b.add_alias(
            "fwd@example.org",
            &["Someone@Other.Example", "someone@other.example"],
        );
        b.add_alias("@loopy.example", &["nobody@loopy.example"]);
        b.add_alias("d1@example.org", &["d2@example.org", "d3@example.org"]);
        b.add_alias("d2@example.org", &["d4@example.org"]);
        b.add_alias("d3@example.org", &["d4@example.org"]);
        b.add_alias("d4@example.org", &["alice@example.org"]);
        b
    }

    fn run(b: &MemoryBackend, cfg: &AuthConfig, address: &str) -> Resolution {
        resolve(b, cfg, address).expect("memory backend does not fail")
    }

    fn local(ids: &[(i64, &str)]) -> Vec<LocalRecipient> {
        ids.iter()
            .map(|&(user_id, a)| LocalRecipient {
                user_id,
                address: a.to_owned(),
            })
            .collect()
    }

    fn deliver(ids: &[(i64, &str)], external: &[&str]) -> Resolution {
        Resolution::Deliver {
            local: local(ids),
            external: external.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    const ALICE: (i64, &str) = (1, "alice@example.org");
    const BOB: (i64, &str) = (2, "bob@example.org");

    #[test]
    fn resolution_table() {
        let b = backend();
        let cfg = AuthConfig::default();
        let table: Vec<(&str, Resolution)> = vec![
            ("alice@example.org", deliver(&[ALICE], &[])),
            ("  ALICE@Example.Org ", deliver(&[ALICE], &[])),
            ("alice@other.example", Resolution::Unknown),
            ("not an address", Resolution::Unknown),
            ("nobody@example.org", Resolution::Unknown),
            (
                "team@example.org",
                deliver(&[ALICE, BOB], &["ext@other.example"]),
            ),
            ("loop1@example.org", deliver(&[BOB], &[])),
            ("loop2@example.org", deliver(&[BOB], &[])),
            ("dangling@example.org", Resolution::Unknown),
            ("half@example.org", deliver(&[BOB], &[])),
            ("alice+news@example.org", deliver(&[ALICE], &[])),
            ("alice+@example.org", deliver(&[ALICE], &[])),
            (
                "team+x@example.org",
                deliver(&[ALICE, BOB], &["ext@other.example"]),
            ),
            ("nobody+x@example.org", Resolution::Unknown),
            ("lists@example.org", deliver(&[BOB], &[])),
            ("fwd@example.org", deliver(&[], &["someone@other.example"])),
            ("anyone@example.net", deliver(&[ALICE], &[])),
            (
                "carol@example.net",
                deliver(&[(3, "carol@example.net")], &[]),
            ),
            ("x+y@example.net", deliver(&[(4, "x+y@example.net")], &[])),
            ("x+z@example.net", deliver(&[ALICE], &[])),
            ("anyone@loopy.example", Resolution::Unknown),
            ("d1@example.org", deliver(&[ALICE], &[])),
        ];
        for (address, want) in table {
            assert_eq!(run(&b, &cfg, address), want, "{address}");
        }
    }

    #[test]
    fn plus_addressing_off_treats_tags_literally() {
        let b = backend();
        let cfg = AuthConfig {
            plus_separator: None,
            ..AuthConfig::default()
        };
        assert_eq!(run(&b, &cfg, "alice+news@example.org"), Resolution::Unknown);
        // The catch-all still applies.
        assert_eq!(run(&b, &cfg, "x+z@example.net"), deliver(&[ALICE], &[]));
    }

    #[test]
    fn other_plus_separator_is_honoured() {
        let b = backend();
        let cfg = AuthConfig {
            plus_separator: Some('-'),
            ..AuthConfig::default()
        };
        assert_eq!(
            run(&b, &cfg, "alice-news@example.org"),
            deliver(&[ALICE], &[])
        );
        assert_eq!(run(&b, &cfg, "alice+news@example.org"), Resolution::Unknown);
    }

    #[test]
    fn alias_chains_past_max_depth_are_dropped() {
        let b = MemoryBackend::new();
        b.add_domain("example.org");
        b.add_user("end@example.org", "", "$h");
        for i in 0..5 {
            b.add_alias(
                &format!("c{i}@example.org"),
                &[&format!("c{}@example.org", i + 1)],
            );
        }
        b.add_alias("c5@example.org", &["end@example.org"]);
        // c0 → c1 → ... → c5 → end: six alias hops.
        let end = deliver(&[(1, "end@example.org")], &[]);
        let cfg = |max_alias_depth| AuthConfig {
            max_alias_depth,
            ..AuthConfig::default()
        };
        assert_eq!(run(&b, &cfg(6), "c0@example.org"), end);
        assert_eq!(run(&b, &cfg(5), "c0@example.org"), Resolution::Unknown);
        assert_eq!(run(&b, &cfg(1), "c5@example.org"), end);
        assert_eq!(run(&b, &cfg(0), "c5@example.org"), Resolution::Unknown);
        assert_eq!(run(&b, &cfg(0), "end@example.org"), end);
    }

    #[test]
    fn deep_first_visit_does_not_hide_a_shallow_path() {
        let b = MemoryBackend::new();
        b.add_domain("example.org");
        b.add_user("end@example.org", "", "$h");
        // top → [a1 → a2 → x, x]; x → end. With depth 3, x is too deep to
        // expand via a1 (reached first) but in depth directly.
        b.add_alias("top@example.org", &["a1@example.org", "x@example.org"]);
        b.add_alias("a1@example.org", &["a2@example.org"]);
        b.add_alias("a2@example.org", &["x@example.org"]);
        b.add_alias("x@example.org", &["end@example.org"]);
        let cfg = AuthConfig {
            max_alias_depth: 3,
            ..AuthConfig::default()
        };
        assert_eq!(
            run(&b, &cfg, "top@example.org"),
            deliver(&[(1, "end@example.org")], &[])
        );
    }

    #[test]
    fn huge_alias_expansion_is_cut_at_the_limit() {
        let b = MemoryBackend::new();
        b.add_domain("example.org");
        let targets: Vec<String> = (0..MAX_EXPANDED_TARGETS + 500)
            .map(|i| format!("u{i}@other.example"))
            .collect();
        let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
        b.add_alias("big@example.org", &refs);
        match run(&b, &AuthConfig::default(), "big@example.org") {
            Resolution::Deliver { local, external } => {
                assert!(local.is_empty());
                assert_eq!(external.len(), MAX_EXPANDED_TARGETS);
            }
            Resolution::Unknown => panic!("expected a partial expansion"),
        }
    }

    #[test]
    fn backend_errors_propagate() {
        let b = backend();
        b.set_failing(Some("down"));
        assert!(resolve(&b, &AuthConfig::default(), "alice@example.org").is_err());
        assert!(sender_addresses(&b, 1).is_err());
        assert!(may_send_as(&b, &AuthConfig::default(), 1, "alice@example.org").is_err());
    }

    #[test]
    fn sender_addresses_list_own_and_alias_sources() -> Result<(), BackendError> {
        let b = backend();
        assert_eq!(
            sender_addresses(&b, 1)?,
            vec![
                "alice@example.org",
                "team@example.org",
                "@example.net",
                "d4@example.org"
            ]
        );
        assert_eq!(
            sender_addresses(&b, 2)?,
            vec![
                "bob@example.org",
                "team@example.org",
                "loop2@example.org",
                "half@example.org"
            ]
        );
        assert!(sender_addresses(&b, 3)?.is_empty(), "disabled user");
        assert!(sender_addresses(&b, 99)?.is_empty(), "unknown user");
        Ok(())
    }

    #[test]
    fn may_send_as_table() -> Result<(), BackendError> {
        let b = backend();
        let cfg = AuthConfig::default();
        let table = [
            (1, "alice@example.org", true),
            (1, "ALICE@example.org", true),
            (1, "alice+news@example.org", true),
            (1, "team@example.org", true),
            (1, "team+x@example.org", true),
            (1, "random@example.net", true),
            (1, "random+x@example.net", true),
            (1, "carol@example.net", false),
            (1, "x+y@example.net", false),
            (1, "bob@example.org", false),
            (1, "bob+x@example.org", false),
            (1, "random@example.org", false),
            (1, "alice@other.example", false),
            (1, "not an address", false),
            (2, "team@example.org", true),
            (2, "alice@example.org", false),
            (2, "random@example.net", false),
            (3, "carol@example.net", false),
            (99, "alice@example.org", false),
        ];
        for (user, address, want) in table {
            assert_eq!(
                may_send_as(&b, &cfg, user, address)?,
                want,
                "{user} {address}"
            );
        }
        Ok(())
    }

    #[test]
    fn may_send_as_without_plus_separator_refuses_tags() -> Result<(), BackendError> {
        let b = backend();
        let cfg = AuthConfig {
            plus_separator: None,
            ..AuthConfig::default()
        };
        assert!(!may_send_as(&b, &cfg, 1, "alice+news@example.org")?);
        Ok(())
    }
}
