//! A model as scoring reads it: only the used buckets, in an open-addressed
//! table sized to them. A full model is 2^20 buckets (8 MiB), of which a
//! few hundred thousand at most are used; judging a message looks up ~1,000
//! of them in the user's and the global model, and with two 8 MiB tables
//! nearly every lookup missed the CPU's cache (bench/smtp/spam_cost.sh:
//! the classifier's cost per message was mostly those misses). The compact
//! form is 12 bytes per used bucket at a load of at most 3/4.

use crate::classifier::{Counts, Model};

/// An empty slot's index (no bucket index reaches it: tables are at most
/// 2^24 buckets).
const EMPTY: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Slot {
    index: u32,
    spam: u32,
    ham: u32,
}

/// The used buckets of a [`Model`], for judging only (it cannot be
/// trained: the trainer works on the full model and the store's copy).
#[derive(Debug, Clone)]
pub struct CompactModel {
    table_size: u32,
    spam_messages: u32,
    ham_messages: u32,
    mask: usize,
    slots: Vec<Slot>,
}

impl CompactModel {
    pub fn from_model(m: &Model) -> Self {
        let used: Vec<(u32, u32, u32)> = (0..m.table_size())
            .filter_map(|i| {
                let (s, h) = m.count(i);
                (s != 0 || h != 0).then_some((i, s, h))
            })
            .collect();
        // At most 3/4 full, so a probe ends soon.
        let cap = (used.len() * 4 / 3 + 1).next_power_of_two().max(8);
        let mut slots = vec![
            Slot {
                index: EMPTY,
                spam: 0,
                ham: 0,
            };
            cap
        ];
        let mask = cap - 1;
        for (index, spam, ham) in used {
            let mut at = slot_of(index, mask);
            while slots[at].index != EMPTY {
                at = (at + 1) & mask;
            }
            slots[at] = Slot { index, spam, ham };
        }
        let (spam_messages, ham_messages) = Counts::trained(m);
        Self {
            table_size: m.table_size(),
            spam_messages,
            ham_messages,
            mask,
            slots,
        }
    }

    /// Buckets in use (non-zero in either class).
    pub fn used(&self) -> usize {
        self.slots.iter().filter(|s| s.index != EMPTY).count()
    }

    /// Bytes this model holds in memory.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.slots.len() * std::mem::size_of::<Slot>()
    }
}

/// Where bucket `index` starts probing. Bucket indices are already hash
/// values, spread evenly; a multiplicative mix keeps neighbours apart.
fn slot_of(index: u32, mask: usize) -> usize {
    (u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & mask
}

impl Counts for CompactModel {
    fn table_size(&self) -> u32 {
        self.table_size
    }

    fn trained(&self) -> (u32, u32) {
        (self.spam_messages, self.ham_messages)
    }

    fn count(&self, i: u32) -> (u32, u32) {
        let mut at = slot_of(i, self.mask);
        loop {
            let s = self.slots[at];
            if s.index == i {
                return (s.spam, s.ham);
            }
            if s.index == EMPTY {
                return (0, 0);
            }
            at = (at + 1) & self.mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::{Class, ClassifierOptions, Evidence};

    #[test]
    fn a_compact_model_judges_exactly_as_the_full_one() {
        let opts = ClassifierOptions {
            table_size: 1 << 16,
            ..ClassifierOptions::default()
        };
        let mut m = Model::new(opts.table_size);
        let msg = |seed: u64| -> Vec<u64> { (0..60).map(|k| seed * 1_000 + k % 37).collect() };
        for seed in 0..40 {
            let class = if seed % 3 == 0 {
                Class::Spam
            } else {
                Class::Ham
            };
            m.train(&msg(seed), class);
        }
        let c = CompactModel::from_model(&m);
        for i in 0..opts.table_size {
            assert_eq!(c.count(i), m.count(i), "bucket {i}");
        }
        assert!(c.memory_bytes() < m.memory_bytes() / 4);
        assert_eq!(c.used(), m.used_buckets());
        for seed in [0, 1, 5, 99] {
            let f = msg(seed);
            assert_eq!(
                Evidence::One(&c).spam_probability(&f, &opts),
                Evidence::One(&m).spam_probability(&f, &opts)
            );
            assert_eq!(
                Evidence::Sum(&c, &c).spam_probability(&f, &opts),
                Evidence::Sum(&m, &m).spam_probability(&f, &opts)
            );
        }
        let empty = CompactModel::from_model(&Model::new(1));
        assert_eq!(empty.count(0), (0, 0));
    }
}
