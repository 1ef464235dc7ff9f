//! The statistical classifier: per class, how many trained messages had a
//! feature, in a hashed table of fixed size (so a model's memory is bounded
//! whatever it is trained on); a spam probability by Gary Robinson's method
//! as SpamBayes uses it: each feature's probability smoothed towards 0.5 by
//! how often it was seen, the strongest ones combined by Fisher's
//! chi-square method into a spam and a ham indicator, and the answer
//! `(1 + S - H) / 2`, which stays near 0.5 when the evidence disagrees
//! (an honest "unsure", where naive Bayes would claim certainty).
//!
//! Training counts a feature once per message, and untraining subtracts
//! exactly what training added, so undoing a wrong move restores the model
//! byte for byte. Ageing is a separate step the owner runs when the model
//! has seen more than `max_messages`: every count is halved, so tokens seen
//! once long ago drop to zero and recent mail weighs more.

use crate::tokenize::fnv1a;

/// The classifier's tunables; defaults are SpamBayes' where it has one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifierOptions {
    /// Buckets in a new model's table; memory is 8 bytes a bucket (8 MiB by
    /// default; the stored form keeps only used buckets, about 1 MiB after
    /// 3,250 messages). At 2^18 the SpamAssassin corpus's -1 sets filled
    /// four buckets in five and cross-validated recall fell from 93 % to 90 %.
    pub table_size: u32,
    /// Largest table a stored model may declare (bounds what reading a
    /// damaged or hostile blob can allocate).
    pub max_table_size: u32,
    /// Below this many trained spam or ham, a user's model is summed with
    /// the global one instead of used alone.
    pub min_user_messages: u32,
    /// Robinson's `s`: how strongly an unseen feature is pulled to `x`.
    pub strength: f64,
    /// Robinson's `x`: the probability assumed for a feature never seen.
    pub unknown_prob: f64,
    /// Features whose probability is closer to 0.5 than this are ignored.
    pub min_deviation: f64,
    /// Only the most extreme this-many features are combined.
    pub max_discriminators: usize,
    /// Body words read per message.
    pub max_words: usize,
    /// Each body word is also paired with this many following words (OSB;
    /// 1 is plain bigrams, 0 words alone). Wider spans catch more phrasing
    /// but fill the table faster and tie the model to the phrasing of the
    /// spam it was trained on: on the SpamAssassin corpus, words alone
    /// cross-validated as well as bigrams with folds drawn at random, and
    /// better (95.8 % against 94.4 % recall, fewer false positives) with
    /// spam folded by sender, the nearer proxy for spam not seen yet.
    pub osb_span: usize,
    /// Also read the words of every header field (prefixed by its name) and
    /// the relays and network prefixes of Received hops, as SpamAssassin's
    /// Bayes does. Off by default: on the SpamAssassin corpus they raised
    /// cross-validated recall (94 % to 96 %) but lowered it on the later
    /// held-out spam (83.3 % to 82.7 %, more ham to Junk), because the
    /// strongest of them name the corpus's own mailboxes and relays
    /// (`Delivered-To:` one mailbox for 91 % of the training spam and 5 %
    /// of the ham): they learn where mail was collected, not what it is.
    pub header_words: bool,
    /// When trained messages exceed this, [`Model::age`] halves every count.
    pub max_messages: u32,
}

impl Default for ClassifierOptions {
    fn default() -> Self {
        Self {
            table_size: 1 << 20,
            max_table_size: 1 << 24,
            min_user_messages: 50,
            strength: 0.45,
            unknown_prob: 0.5,
            min_deviation: 0.1,
            max_discriminators: 150,
            max_words: 5000,
            osb_span: 0,
            header_words: false,
            max_messages: 20_000,
        }
    }
}

/// Which way a message is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Spam,
    Ham,
}

/// Per-class message counts for one bucket.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub(crate) spam: u32,
    pub(crate) ham: u32,
}

/// One trained model (a user's or the global one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub(crate) table: Vec<Bucket>,
    pub(crate) spam_messages: u32,
    pub(crate) ham_messages: u32,
}

impl Model {
    /// An empty model with `table_size` buckets (at least 1).
    pub fn new(table_size: u32) -> Self {
        Self {
            table: vec![Bucket::default(); table_size.max(1) as usize],
            spam_messages: 0,
            ham_messages: 0,
        }
    }

    /// Trained spam and ham messages.
    pub fn trained(&self) -> (u32, u32) {
        (self.spam_messages, self.ham_messages)
    }

    /// Bytes this model holds in memory.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.table.len() * std::mem::size_of::<Bucket>()
    }

    /// Buckets in use (non-zero in either class).
    pub fn used_buckets(&self) -> usize {
        self.table
            .iter()
            .filter(|b| b.spam != 0 || b.ham != 0)
            .count()
    }

    /// The distinct buckets `features` fall in.
    fn buckets(&self, features: &[u64]) -> Vec<u32> {
        buckets(self.table.len() as u32, features)
    }

    /// Counts a message with `features` as `class`. Counts saturate rather
    /// than wrap, so a model cannot be overflowed into nonsense.
    pub fn train(&mut self, features: &[u64], class: Class) {
        for i in self.buckets(features) {
            let b = &mut self.table[i as usize];
            match class {
                Class::Spam => b.spam = b.spam.saturating_add(1),
                Class::Ham => b.ham = b.ham.saturating_add(1),
            }
        }
        match class {
            Class::Spam => self.spam_messages = self.spam_messages.saturating_add(1),
            Class::Ham => self.ham_messages = self.ham_messages.saturating_add(1),
        }
    }

    /// Takes back a [`Model::train`] of the same features and class. After
    /// `train` then `untrain` the model is what it was (unless an `age`
    /// came between; then the counts floor at zero).
    pub fn untrain(&mut self, features: &[u64], class: Class) {
        for i in self.buckets(features) {
            let b = &mut self.table[i as usize];
            match class {
                Class::Spam => b.spam = b.spam.saturating_sub(1),
                Class::Ham => b.ham = b.ham.saturating_sub(1),
            }
        }
        match class {
            Class::Spam => self.spam_messages = self.spam_messages.saturating_sub(1),
            Class::Ham => self.ham_messages = self.ham_messages.saturating_sub(1),
        }
    }

    /// Whether the model has seen more than `max_messages` and should age.
    pub fn needs_ageing(&self, opts: &ClassifierOptions) -> bool {
        self.spam_messages.saturating_add(self.ham_messages) > opts.max_messages
    }

    /// Halves every count (rounding down): features not seen again fade out.
    pub fn age(&mut self) {
        for b in &mut self.table {
            b.spam /= 2;
            b.ham /= 2;
        }
        self.spam_messages /= 2;
        self.ham_messages /= 2;
    }
}

/// The distinct buckets of a table of `size` that `features` fall in, in
/// the order their first feature comes. Repeats are found with a bitmap of
/// the table, one per thread and cleared after use bit by bit, not by
/// sorting: the sort was a sixth of scoring a message. A feature seen
/// again (a word the message repeats: most of its words) is known from a
/// small table of recent features before its bucket is hashed again or
/// the bitmap, mostly cache misses in the server, is read.
fn buckets(size: u32, features: &[u64]) -> Vec<u32> {
    thread_local! {
        static SEEN: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let n = u64::from(size.max(1));
    // Remix before the modulo so a table size that is a power of two
    // still uses every bit of the hash.
    // The default table is a power of two: a mask gives what the modulo
    // gives without a 64-bit division per feature (tens of cycles each).
    let mask = n.is_power_of_two().then(|| n - 1);
    let bucket = |f: u64| {
        let h = fnv1a(&[&f.to_le_bytes()]);
        (match mask {
            Some(m) => h & m,
            None => h % n,
        }) as u32
    };
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        let words = (n as usize).div_ceil(64);
        if seen.len() < words {
            seen.resize(words, 0);
        }
        let mut out = Vec::with_capacity(features.len());
        // Feature → its bucket; `NO_BUCKET` marks an empty slot (a bucket
        // is below the table size, a u32). Direct-mapped on the top bits.
        const NO_BUCKET: u32 = u32::MAX;
        let mut recent = [(0u64, NO_BUCKET); 512];
        for &f in features {
            let slot = &mut recent[(f >> 55) as usize];
            if slot.1 != NO_BUCKET && slot.0 == f {
                // Its bucket is already in `out`.
                continue;
            }
            let b = bucket(f);
            *slot = (f, b);
            let (word, bit) = ((b / 64) as usize, 1u64 << (b % 64));
            if seen[word] & bit == 0 {
                seen[word] |= bit;
                out.push(b);
            }
        }
        for &b in &out {
            seen[(b / 64) as usize] = 0;
        }
        out
    })
}

/// What judging reads of a model: its table size (for hashing), its
/// messages per class, and one bucket's counts. [`Model`] (the full table,
/// for training) and [`CompactModel`] (only the used buckets, for scoring)
/// both answer.
pub trait Counts: std::fmt::Debug + Send + Sync {
    fn table_size(&self) -> u32;
    /// Trained spam and ham messages.
    fn trained(&self) -> (u32, u32);
    /// The spam and ham counts of bucket `i`.
    fn count(&self, i: u32) -> (u32, u32);
}

impl Counts for Model {
    fn table_size(&self) -> u32 {
        self.table.len() as u32
    }

    fn trained(&self) -> (u32, u32) {
        (self.spam_messages, self.ham_messages)
    }

    fn count(&self, i: u32) -> (u32, u32) {
        self.table
            .get(i as usize)
            .map_or((0, 0), |b| (b.spam, b.ham))
    }
}

/// The evidence a message is judged against: a user's model alone once it
/// has enough training, otherwise the user's and the global model summed.
#[derive(Debug, Clone, Copy)]
pub enum Evidence<'a> {
    One(&'a dyn Counts),
    Sum(&'a dyn Counts, &'a dyn Counts),
}

impl<'a> Evidence<'a> {
    /// Picks the evidence for a user with `user` (maybe none yet).
    pub fn choose(
        user: Option<&'a dyn Counts>,
        global: &'a dyn Counts,
        opts: &ClassifierOptions,
    ) -> Self {
        match user {
            Some(u)
                if u.trained().0 >= opts.min_user_messages
                    && u.trained().1 >= opts.min_user_messages =>
            {
                Evidence::One(u)
            }
            // Summing needs the same hashing; a user model built with
            // another table size is left out until it is rebuilt.
            Some(u) if u.table_size() == global.table_size() => Evidence::Sum(u, global),
            _ => Evidence::One(global),
        }
    }

    fn first(&self) -> &'a dyn Counts {
        match *self {
            Evidence::One(m) | Evidence::Sum(m, _) => m,
        }
    }

    /// Messages per class the evidence has seen.
    pub fn totals(&self) -> (u32, u32) {
        match *self {
            Evidence::One(m) => m.trained(),
            Evidence::Sum(a, b) => {
                let ((s1, h1), (s2, h2)) = (a.trained(), b.trained());
                (s1.saturating_add(s2), h1.saturating_add(h2))
            }
        }
    }

    fn counts(&self, i: u32) -> (u32, u32) {
        match *self {
            Evidence::One(m) => m.count(i),
            Evidence::Sum(a, b) => {
                let ((s1, h1), (s2, h2)) = (a.count(i), b.count(i));
                (s1.saturating_add(s2), h1.saturating_add(h2))
            }
        }
    }

    /// The spam probability of a message with `features`, in [0, 1]; `None`
    /// while the evidence lacks either class (nothing to compare against).
    pub fn spam_probability(&self, features: &[u64], opts: &ClassifierOptions) -> Option<f64> {
        let (ns, nh) = self.totals();
        if ns == 0 || nh == 0 {
            return None;
        }
        let (ns, nh) = (f64::from(ns), f64::from(nh));
        // Counts are taken as if both classes had been trained equally
        // often: users train far more ham than spam (here 5 to 1), and with
        // raw counts every rare word seen once in ham would be stronger
        // evidence than the same word seen once in spam.
        let balanced = ns.min(nh);
        // Each clue with its bucket: ties in strength are kept in bucket
        // order, so which clues `max_discriminators` keeps never depends on
        // the order the features came in.
        let distinct = buckets(self.first().table_size(), features);
        let mut clues: Vec<(f64, u32)> = Vec::with_capacity(distinct.len());
        for i in distinct {
            let (s, h) = self.counts(i);
            if s == 0 && h == 0 {
                continue;
            }
            // Robinson: p(w) from the per-class frequencies, then f(w)
            // pulled towards x with strength s for rarely seen features.
            let (sr, hr) = (f64::from(s) / ns, f64::from(h) / nh);
            let p = sr / (sr + hr);
            let n = balanced * (sr + hr);
            let f = (opts.strength * opts.unknown_prob + n * p) / (opts.strength + n);
            if (f - 0.5).abs() >= opts.min_deviation {
                clues.push((f, i));
            }
        }
        if clues.is_empty() {
            return Some(0.5);
        }
        clues.sort_unstable_by(|(a, i), (b, j)| {
            (b - 0.5).abs().total_cmp(&(a - 0.5).abs()).then(i.cmp(j))
        });
        clues.truncate(opts.max_discriminators);
        let clues: Vec<f64> = clues.into_iter().map(|(f, _)| f).collect();
        Some(chi_square_combine(&clues))
    }
}

/// Fisher's method as SpamBayes applies it: S is high when many clues are
/// near 1, H when many are near 0; `(1 + S - H) / 2`.
fn chi_square_combine(clues: &[f64]) -> f64 {
    let n = clues.len();
    let clamp = |p: f64| p.clamp(1e-9, 1.0 - 1e-9);
    let ln_ham: f64 = clues.iter().map(|&p| clamp(p).ln()).sum();
    let ln_spam: f64 = clues.iter().map(|&p| (1.0 - clamp(p)).ln()).sum();
    let s = 1.0 - chi2q(-2.0 * ln_spam, 2 * n);
    let h = 1.0 - chi2q(-2.0 * ln_ham, 2 * n);
    ((1.0 + s - h) / 2.0).clamp(0.0, 1.0)
}

/// P(chi² with `dof` degrees of freedom ≥ `x2`), for even `dof` (the closed
/// form: e^-m Σ m^i / i! for i < dof/2, with m = x2/2).
fn chi2q(x2: f64, dof: usize) -> f64 {
    let m = x2 / 2.0;
    let mut term = (-m).exp();
    let mut sum = term;
    for i in 1..dof / 2 {
        term *= m / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_the_hash_modulo_the_table_size_in_first_seen_order() {
        let features: Vec<u64> = (0..2000u64)
            .map(|i| (i % 700).wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        for size in [1, 2, 64, 1000, 1 << 16, 1 << 20, (1 << 20) + 1, 3 << 20] {
            let mut want = Vec::new();
            for &f in &features {
                let b = (fnv1a(&[&f.to_le_bytes()]) % u64::from(size)) as u32;
                if !want.contains(&b) {
                    want.push(b);
                }
            }
            assert_eq!(buckets(size, &features), want, "{size}");
        }
    }

    fn feats(words: &[&str]) -> Vec<u64> {
        words.iter().map(|w| fnv1a(&[w.as_bytes()])).collect()
    }

    fn trained() -> Model {
        let mut m = Model::new(4096);
        for _ in 0..20 {
            m.train(&feats(&["viagra", "cheap", "offer", "click"]), Class::Spam);
            m.train(&feats(&["meeting", "patch", "review", "offer"]), Class::Ham);
        }
        m
    }

    #[test]
    fn chi2q_matches_known_values() {
        // P(chi²₂ ≥ x) = e^(-x/2).
        assert!((chi2q(2.0, 2) - (-1.0f64).exp()).abs() < 1e-12);
        assert!((chi2q(0.0, 10) - 1.0).abs() < 1e-12);
        assert!(chi2q(1e4, 300) < 1e-100);
    }

    #[test]
    fn spam_words_score_high_and_ham_words_low() {
        let m = trained();
        let opts = ClassifierOptions::default();
        let e = Evidence::One(&m);
        let spam = e
            .spam_probability(&feats(&["cheap", "viagra", "click"]), &opts)
            .expect("trained");
        let ham = e
            .spam_probability(&feats(&["patch", "review"]), &opts)
            .expect("trained");
        assert!(spam > 0.99, "{spam}");
        assert!(ham < 0.01, "{ham}");
        let unsure = e
            .spam_probability(&feats(&["offer", "unseen"]), &opts)
            .expect("trained");
        assert!((unsure - 0.5).abs() < 1e-9, "{unsure}");
    }

    #[test]
    fn an_untrained_class_gives_no_probability() {
        let mut m = Model::new(64);
        m.train(&feats(&["x"]), Class::Spam);
        assert_eq!(
            Evidence::One(&m).spam_probability(&feats(&["x"]), &ClassifierOptions::default()),
            None
        );
    }

    #[test]
    fn train_then_untrain_restores_the_model() {
        let before = trained();
        let mut m = before.clone();
        let f = feats(&["new", "words", "cheap"]);
        m.train(&f, Class::Spam);
        assert_ne!(m, before);
        m.untrain(&f, Class::Spam);
        assert_eq!(m, before);
    }

    #[test]
    fn a_thin_user_model_is_summed_with_the_global_one() {
        let global = trained();
        let opts = ClassifierOptions::default();
        let mut user = Model::new(4096);
        user.train(&feats(&["offer"]), Class::Spam);
        assert!(matches!(
            Evidence::choose(Some(&user), &global, &opts),
            Evidence::Sum(..)
        ));
        assert!(
            matches!(Evidence::choose(None, &global, &opts), Evidence::One(g) if std::ptr::eq(g, &global))
        );
        for _ in 0..opts.min_user_messages {
            user.train(&feats(&["a"]), Class::Spam);
            user.train(&feats(&["b"]), Class::Ham);
        }
        assert!(
            matches!(Evidence::choose(Some(&user), &global, &opts), Evidence::One(u) if std::ptr::eq(u, &user))
        );
    }

    #[test]
    fn ageing_halves_counts_and_drops_singletons() {
        let mut m = Model::new(4096);
        m.train(&feats(&["once"]), Class::Ham);
        m.train(&feats(&["twice"]), Class::Ham);
        m.train(&feats(&["twice"]), Class::Ham);
        let opts = ClassifierOptions {
            max_messages: 2,
            ..ClassifierOptions::default()
        };
        assert!(m.needs_ageing(&opts));
        m.age();
        assert_eq!(m.trained(), (0, 1));
        assert_eq!(m.used_buckets(), 1);
    }

    #[test]
    fn memory_is_the_table() {
        assert!(Model::new(1 << 10).memory_bytes() >= 8 << 10);
    }
}
