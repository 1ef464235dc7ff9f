//! What storing one more script may cost: the `[sieve]` size and count
//! limits, asked before the checker runs (RFC 5804 §2.3 HAVESPACE asks
//! exactly this). ManageSieve's PUTSCRIPT and HAVESPACE and the web
//! console's script pages call the same function, so the two ways in
//! keep one quota.

use postern_store::SieveScript;

use crate::config::SieveLimits;

/// Why a script cannot be stored, before it is compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quota {
    /// Larger than `max_script_bytes`.
    Size,
    /// A new name when the user already keeps `max_scripts`.
    Count,
}

impl Quota {
    /// The refusal in words, with the limit.
    pub fn describe(self, limits: &SieveLimits) -> String {
        match self {
            Quota::Size => format!("Scripts are at most {} bytes", limits.max_script_bytes),
            Quota::Count => format!("At most {} scripts per user", limits.max_scripts),
        }
    }
}

/// What storing `size` bytes under `name` would break, given the user's
/// `existing` scripts (a script replaced keeps its place in the count).
pub fn quota(
    limits: &SieveLimits,
    existing: &[SieveScript],
    name: &str,
    size: u64,
) -> Option<Quota> {
    if size > limits.max_script_bytes as u64 {
        return Some(Quota::Size);
    }
    let replaces = existing.iter().any(|s| s.name == name);
    if !replaces && existing.len() >= limits.max_scripts {
        return Some(Quota::Count);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_count_are_refused_but_a_replacement_is_not_counted() {
        let limits = SieveLimits {
            max_script_bytes: 10,
            max_scripts: 1,
            ..SieveLimits::default()
        };
        let one = [SieveScript {
            name: "a".into(),
            active: true,
            size: 3,
        }];
        assert_eq!(quota(&limits, &[], "a", 11), Some(Quota::Size));
        assert_eq!(quota(&limits, &[], "a", 10), None);
        assert_eq!(quota(&limits, &one, "a", 5), None);
        assert_eq!(quota(&limits, &one, "b", 5), Some(Quota::Count));
        assert_eq!(Quota::Count.describe(&limits), "At most 1 scripts per user");
    }
}
