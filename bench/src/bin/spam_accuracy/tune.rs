//! `--tune`: the verdict's weights by coordinate search on cross-validated
//! figures, as SpamAssassin fits its rule scores to a corpus, but on the
//! `-1` sets only. For each value of the classifier's ham-ward weight, each
//! round tries every value of a small grid for one weight at a time, the
//! others held, and keeps a value only if it catches at least
//! [`MIN_GAIN`] more held-out spam with the held-out false-positive rate
//! within [`MAX_FP`](super::MAX_FP) under every fold assignment given; the
//! best ham-ward weight's result wins (the largest among equals). Rules that
//! fire on fewer than [`MIN_FIRES`] messages of the sets keep their weight:
//! there is no evidence to move them by. Each trial sums weights over the
//! rule hits the cross-validation found once per message, so the rules
//! themselves run once, not once a trial.

use postern_spam::SpamConfig;

use super::{CrossValidation, MAX_FP, Rates};

/// A rule must fire this often in the `-1` sets before its weight is tuned.
const MIN_FIRES: usize = 10;
/// Values tried for a rule's weight.
const RULE_GRID: &[f64] = &[0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0];
/// Values tried for the classifier's ham-ward weight.
const HAM_GRID: &[f64] = &[1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 14.0];
/// Held-out spam (summed over the assignments) a move must gain.
const MIN_GAIN: usize = 2;
/// Rounds over all the weights.
const ROUNDS: usize = 3;

/// Held-out spam caught over every assignment, if every one's false
/// positives are within the target.
fn objective(cvs: &[CrossValidation<'_>], config: &SpamConfig) -> Option<usize> {
    let mut caught = 0;
    for cv in cvs {
        let r: Rates = cv.rates(config);
        if r.fp_rate() > MAX_FP {
            return None;
        }
        caught += r.caught;
    }
    Some(caught)
}

/// Tunes `config`'s weights on `cvs` and prints each change and the result.
pub(super) fn tune(
    cvs: &[CrossValidation<'_>],
    config: &SpamConfig,
    spam_weights: &[f64],
) -> SpamConfig {
    let cv = &cvs[0];
    // Which rules fire often enough to tune.
    let mut tests: Vec<String> = vec!["CLASSIFIER".into(), "CLASSIFIER_HAM".into()];
    let mut fires: std::collections::BTreeMap<&str, usize> = Default::default();
    for hits in cv.hits_ham.iter().chain(&cv.hits_spam) {
        for test in hits {
            *fires.entry(test).or_default() += 1;
        }
    }
    for (test, n) in fires {
        // A rule switched off (weight 0) stays off: the operator's choice.
        if n >= MIN_FIRES && config.weight(test).is_some_and(|w| w != 0.0) {
            tests.push(test.to_string());
        }
    }
    // The ham-ward weight decides how far rules can outvote the classifier,
    // so each of its values gets a search of its own; among equals the
    // largest (the one trusting the classifier most) is kept.
    let mut best = config.clone();
    let mut best_score = None;
    for &ham in HAM_GRID.iter().rev() {
        let mut start = config.clone();
        start.weights.classifier_ham = ham;
        let (cand, sc) = search(cvs, start, &tests[2..], spam_weights);
        eprintln!("tune: ham-ward weight {ham}: {sc:?} spam caught");
        if sc.zip(best_score).is_some_and(|(a, b)| a >= b + MIN_GAIN)
            || (best_score.is_none() && sc.is_some())
        {
            best = cand;
            best_score = sc;
        }
    }
    for test in &tests {
        let v = best.weight(test).unwrap_or(f64::NAN);
        println!("TUNED {test} {v}");
    }
    best
}

/// Coordinate search over the classifier's spam-ward weight and `tests`.
fn search(
    cvs: &[CrossValidation<'_>],
    mut best: SpamConfig,
    tests: &[String],
    spam_weights: &[f64],
) -> (SpamConfig, Option<usize>) {
    let mut best_score = objective(cvs, &best);
    for _ in 0..ROUNDS {
        let mut moved = false;
        for test in std::iter::once("CLASSIFIER").chain(tests.iter().map(String::as_str)) {
            let grid = if test == "CLASSIFIER" {
                spam_weights
            } else {
                RULE_GRID
            };
            for &v in grid {
                let mut cand = best.clone();
                if !cand.set_weight(test, v) {
                    continue;
                }
                let sc = objective(cvs, &cand);
                // A move must win at least MIN_GAIN more held-out spam:
                // one message either way is noise.
                if sc.zip(best_score).is_some_and(|(a, b)| a >= b + MIN_GAIN)
                    || (best_score.is_none() && sc.is_some())
                {
                    best = cand;
                    best_score = sc;
                    moved = true;
                }
            }
        }
        if !moved {
            break;
        }
    }
    (best, best_score)
}
