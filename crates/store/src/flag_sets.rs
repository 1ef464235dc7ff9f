//! Flags kept compactly (issue 19: a session keeps the flags of a
//! 100,000-message mailbox in memory): each distinct set of flags (system
//! flags and keywords, as a read of the row gives them) once, numbered,
//! and a message known by its set's number, a `u16`. A mailbox's messages
//! share few sets (`\Seen`, none, `\Seen \Answered`, ...), so 100,000
//! messages take 200 KB and a table of a handful of entries.

use std::collections::HashMap;

use crate::types::Flags;

/// The number no set has: a message whose flags are not known (IMAP's
/// session uses it for a message the store no longer has).
pub const NO_SET: u16 = u16::MAX;

/// Distinct sets of flags, each known by a number below [`NO_SET`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlagSets {
    sets: Vec<Flags>,
    numbers: HashMap<Flags, u16>,
}

impl FlagSets {
    /// The number of `f`, given one if it is new; `None` when every
    /// number is taken.
    pub fn number(&mut self, f: &Flags) -> Option<u16> {
        if let Some(&n) = self.numbers.get(f) {
            return Some(n);
        }
        let n = u16::try_from(self.sets.len())
            .ok()
            .filter(|&n| n != NO_SET)?;
        self.sets.push(f.clone());
        self.numbers.insert(f.clone(), n);
        Some(n)
    }

    /// The set numbered `n`.
    pub fn get(&self, n: u16) -> Option<&Flags> {
        self.sets.get(usize::from(n))
    }

    /// How many sets are numbered.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The sets, by number.
    pub fn iter(&self) -> impl Iterator<Item = &Flags> {
        self.sets.iter()
    }

    /// Drops the sets no entry of `slots` names and numbers the rest
    /// anew, rewriting `slots` ([`NO_SET`] stays).
    pub fn compact(&mut self, slots: &mut [u16]) {
        let mut used = vec![false; self.sets.len()];
        for &s in slots.iter() {
            if let Some(u) = used.get_mut(usize::from(s)) {
                *u = true;
            }
        }
        let mut renumber = vec![NO_SET; self.sets.len()];
        let old = std::mem::take(&mut self.sets);
        self.numbers.clear();
        for (i, f) in old.into_iter().enumerate() {
            if used[i] {
                // Fewer sets than before: every one gets a number.
                renumber[i] = self.sets.len() as u16;
                self.numbers.insert(f.clone(), renumber[i]);
                self.sets.push(f);
            }
        }
        for s in slots.iter_mut() {
            if let Some(&n) = renumber.get(usize::from(*s)) {
                *s = n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SystemFlags;

    #[test]
    fn equal_sets_share_a_number_and_compaction_keeps_what_is_named() {
        let seen = Flags::new(SystemFlags::SEEN, []);
        let work = Flags::new(SystemFlags::SEEN, ["$Work".to_string()]);
        let mut t = FlagSets::default();
        assert_eq!(t.number(&seen), Some(0));
        assert_eq!(t.number(&work), Some(1));
        assert_eq!(t.number(&Flags::new(SystemFlags::SEEN, [])), Some(0));
        let mut slots = vec![1, NO_SET, 1];
        t.compact(&mut slots);
        assert_eq!(slots, [0, NO_SET, 0]);
        assert_eq!(t.get(0), Some(&work));
        assert_eq!(t.len(), 1);
        assert_eq!(t.number(&seen), Some(1), "a dropped set comes back anew");
    }
}
