//! The verdict: the total, each named contribution, the outcome by
//! thresholds, and the header lines a person reads in the delivered message
//! (`X-Spam-Status` as SpamAssassin spells it, and `X-Spam-Result` with one
//! folded line per contribution).

use crate::config::SpamConfig;

/// Where the message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Inbox,
    Junk,
    /// Refused at DATA with `550 5.7.1`.
    Reject,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Inbox => "Inbox",
            Outcome::Junk => "Junk",
            Outcome::Reject => "Reject",
        }
    }
}

/// One test's part of the total.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    /// The test's name (`MISSING_DATE`, `DNSBL`, `CLASSIFIER` ...).
    pub test: String,
    pub score: f64,
    /// What the test saw, shown to the reader; already safe for a header.
    pub detail: String,
}

impl Contribution {
    pub fn new(test: &str, score: f64, detail: &str) -> Self {
        Self {
            test: test.to_string(),
            score,
            detail: header_safe(detail, 80),
        }
    }
}

/// The classifier's part: `weight * (2p - 1)`, up to `+spam_weight` for a
/// certain spam and down to `-ham_weight` for a certain ham (spam-ward and
/// ham-ward have their own weights: a ham-ward classifier as strong as a
/// spam-ward one would cancel every rule); a probability that is not a
/// number counts as undecided (0.5).
pub fn classifier_contribution(p: f64, spam_weight: f64, ham_weight: f64) -> Contribution {
    let p = if p.is_finite() {
        p.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let weight = if p >= 0.5 { spam_weight } else { ham_weight };
    let mut detail = String::with_capacity(8);
    detail.push_str("p=");
    push_fixed(&mut detail, p, 3);
    Contribution::new("CLASSIFIER", weight * (2.0 * p - 1.0), &detail)
}

/// The decision on one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub score: f64,
    pub outcome: Outcome,
    /// Largest first.
    pub contributions: Vec<Contribution>,
    pub junk_threshold: f64,
    pub reject_threshold: Option<f64>,
}

impl Verdict {
    /// Sums `contributions` and applies the thresholds. `force_spam` (GTUBE)
    /// makes the outcome at least Junk whatever the total.
    pub fn decide(contributions: Vec<Contribution>, config: &SpamConfig, force_spam: bool) -> Self {
        Self::decide_at(
            contributions,
            config.junk_threshold,
            config.reject_threshold,
            force_spam,
        )
    }

    /// This verdict with `extra` contributions (the ones that differ per
    /// recipient: their classifier, their sender reputation, their allowed
    /// or blocked senders) and one recipient's thresholds.
    pub fn adjusted(
        &self,
        extra: &[Contribution],
        junk_threshold: f64,
        reject_threshold: Option<f64>,
    ) -> Self {
        let block: f64 = extra
            .iter()
            .filter(|c| c.test == crate::prefs::USER_BLOCK)
            .map(|c| c.score)
            .sum();
        let force = block != 0.0 || self.contributions.iter().any(|c| c.test == "GTUBE");
        let all = self.contributions.iter().chain(extra).cloned().collect();
        let mut v = Self::decide_at(all, junk_threshold, reject_threshold, force);
        // A blocked sender's mail goes to Junk; it is refused only when it
        // would have been without the block.
        if v.outcome == Outcome::Reject && reject_threshold.is_some_and(|r| v.score - block < r) {
            v.outcome = Outcome::Junk;
        }
        v
    }

    fn decide_at(
        mut contributions: Vec<Contribution>,
        junk_threshold: f64,
        reject_threshold: Option<f64>,
        force_spam: bool,
    ) -> Self {
        // A weight of 0 switches a test off; GTUBE stays listed so the
        // header says why the message is spam.
        contributions.retain(|c| c.score != 0.0 || c.test == "GTUBE");
        contributions.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.test.cmp(&b.test))
        });
        let score: f64 = contributions
            .iter()
            .map(|c| c.score)
            .filter(|s| s.is_finite())
            .sum::<f64>()
            // An empty sum is -0.0; a reader expects "score=0.0".
            + 0.0;
        let mut outcome = if reject_threshold.is_some_and(|r| score >= r) {
            Outcome::Reject
        } else if score >= junk_threshold {
            Outcome::Junk
        } else {
            Outcome::Inbox
        };
        if force_spam {
            outcome = outcome.max(Outcome::Junk);
        }
        Self {
            score,
            outcome,
            contributions,
            junk_threshold,
            reject_threshold,
        }
    }

    /// Whether the message counts as spam (Junk or Reject).
    pub fn is_spam(&self) -> bool {
        self.outcome != Outcome::Inbox
    }

    /// `X-Spam-Status: Yes, score=7.3 required=5.0`, with CRLF.
    pub fn status_header(&self) -> String {
        let yes = if self.is_spam() { "Yes" } else { "No" };
        let mut out = String::with_capacity(64);
        out.push_str("X-Spam-Status: ");
        out.push_str(yes);
        out.push_str(", score=");
        push_fixed(&mut out, self.score, 1);
        out.push_str(" required=");
        push_fixed(&mut out, self.junk_threshold, 1);
        out.push_str("\r\n");
        out
    }

    /// `X-Spam-Result:` with the outcome and totals, then one folded line per
    /// contribution (RFC 5322 §2.2.3: CRLF followed by a tab is folding
    /// white space), ending with CRLF.
    pub fn result_header(&self) -> String {
        // Written into one buffer sized for the usual header: every message
        // on port 25 gets one.
        let mut out = String::with_capacity(96 + 48 * self.contributions.len());
        out.push_str("X-Spam-Result: ");
        out.push_str(self.outcome.as_str());
        out.push_str(", score=");
        push_fixed(&mut out, self.score, 2);
        out.push_str(", junk=");
        push_fixed(&mut out, self.junk_threshold, 2);
        out.push_str(", reject=");
        match self.reject_threshold {
            Some(r) => push_fixed(&mut out, r, 2),
            None => out.push_str("off"),
        }
        for c in &self.contributions {
            out.push_str(";\r\n\t");
            out.push_str(&c.test);
            out.push('=');
            push_fixed(&mut out, c.score, 2);
            if !c.detail.is_empty() {
                out.push_str(" [");
                out.push_str(&c.detail);
                out.push(']');
            }
        }
        out.push_str("\r\n");
        out
    }

    /// A short reason for a `550 5.7.1` refusal: the largest contributions.
    pub fn reject_reason(&self) -> String {
        let names: Vec<&str> = self
            .contributions
            .iter()
            .filter(|c| c.score > 0.0)
            .take(3)
            .map(|c| c.test.as_str())
            .collect();
        format!(
            "message refused as spam (score {:.1}: {})",
            self.score,
            names.join(", ")
        )
    }
}

/// Appends `v` with `decimals` (at most 3) digits after the point, as
/// `{v:.decimals$}` writes it: the nearest such decimal, ties to even on
/// the exact binary value. Every message's headers hold several scores,
/// and `core::fmt` settles a tie-prone value such as 1.5 or 0.25 by
/// arbitrary-precision arithmetic (its `dragon` path), a visible share of
/// the verdict's cost in a profile of the server. Here the scaled value
/// is rounded directly when it cannot be a tie: `v * 10^decimals` below
/// 1e9 is within 2^-23 of the exact product, so when it is more than
/// 1e-6 from a half its nearest integer is the exact product's. Anything
/// else (a near-tie, a huge or non-finite value, a negative zero) is left
/// to `core::fmt`.
pub(crate) fn push_fixed(out: &mut String, v: f64, decimals: usize) {
    use std::fmt::Write as _;
    const SCALE: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];
    const POW: [u64; 4] = [1, 10, 100, 1000];
    let d = decimals.min(3);
    let s = v * SCALE[d];
    let r = s.round();
    let clear = s.is_finite()
        && s.abs() < 1e9
        && ((s - s.trunc()).abs() - 0.5).abs() > 1e-6
        && !(r == 0.0 && v.is_sign_negative());
    if !clear {
        let _ = write!(out, "{v:.d$}");
        return;
    }
    if r < 0.0 {
        out.push('-');
    }
    let k = r.abs() as u64;
    let _ = write!(out, "{}", k / POW[d]);
    if d > 0 {
        let _ = write!(out, ".{:0d$}", k % POW[d]);
    }
}

/// Printable ASCII only (no CR/LF can reach a header from a message's own
/// text), `[`/`]`/`;` replaced so the list stays parseable, at most `max`.
fn header_safe(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| match c {
            '[' | ']' | ';' => '_',
            ' '..='~' => c,
            _ => '?',
        })
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(test: &str, score: f64, detail: &str) -> Contribution {
        Contribution::new(test, score, detail)
    }

    #[test]
    fn thresholds_pick_the_outcome() {
        let cfg = SpamConfig::default();
        assert_eq!(
            Verdict::decide(vec![c("A", 4.9, "")], &cfg, false).outcome,
            Outcome::Inbox
        );
        assert_eq!(
            Verdict::decide(vec![c("A", 5.0, "")], &cfg, false).outcome,
            Outcome::Junk
        );
        assert_eq!(
            Verdict::decide(vec![c("A", 15.0, "")], &cfg, false).outcome,
            Outcome::Reject
        );
        let never = SpamConfig {
            reject_threshold: None,
            ..cfg
        };
        assert_eq!(
            Verdict::decide(vec![c("A", 99.0, "")], &never, false).outcome,
            Outcome::Junk
        );
    }

    #[test]
    fn headers_read_as_documented() {
        let v = Verdict::decide(
            vec![
                c("MISSING_DATE", 1.0, ""),
                c("BAD_ATTACHMENT", 4.5, "a.exe"),
                c("CLASSIFIER", -0.5, "p=0.46"),
            ],
            &SpamConfig::default(),
            false,
        );
        assert_eq!(
            v.status_header(),
            "X-Spam-Status: Yes, score=5.0 required=5.0\r\n"
        );
        assert_eq!(
            v.result_header(),
            "X-Spam-Result: Junk, score=5.00, junk=5.00, reject=15.00;\r\n\
             \tBAD_ATTACHMENT=4.50 [a.exe];\r\n\tMISSING_DATE=1.00;\r\n\tCLASSIFIER=-0.50 [p=0.46]\r\n"
        );
        assert_eq!(
            v.reject_reason(),
            "message refused as spam (score 5.0: BAD_ATTACHMENT, MISSING_DATE)"
        );
    }

    #[test]
    fn details_cannot_break_the_header() {
        let v = Verdict::decide(
            vec![c("X", 1.0, "a\r\nBcc: evil; [x]é")],
            &SpamConfig::default(),
            false,
        );
        let h = v.result_header();
        assert_eq!(h.matches("\r\n").count(), 2, "{h:?}");
        assert!(h.contains("[a??Bcc: evil_ _x_?]"), "{h:?}");
    }

    #[test]
    fn a_block_files_in_junk_but_never_refuses_alone() {
        let cfg = SpamConfig::default();
        let base = Verdict::decide(vec![c("A", 6.0, "")], &cfg, false);
        let block = [c("USER_BLOCK", 10.0, "@spam.test")];
        let v = base.adjusted(&block, 5.0, Some(15.0));
        assert_eq!((v.score, v.outcome), (16.0, Outcome::Junk));
        let clean = Verdict::decide(vec![], &cfg, false);
        let v = clean.adjusted(
            &[c("USER_BLOCK", 0.5, "x@y.z"), c("CLASSIFIER", -3.0, "")],
            5.0,
            None,
        );
        assert_eq!(
            v.outcome,
            Outcome::Junk,
            "a block is Junk whatever the total"
        );
        let spam = Verdict::decide(vec![c("A", 15.0, "")], &cfg, false);
        assert_eq!(
            spam.adjusted(&block, 5.0, Some(15.0)).outcome,
            Outcome::Reject
        );
        let allowed = spam.adjusted(&[c("USER_ALLOW", -100.0, "a@b.c")], 5.0, Some(15.0));
        assert_eq!(allowed.outcome, Outcome::Inbox);
        let gtube = Verdict::decide(vec![c("GTUBE", 1000.0, "")], &cfg, true);
        let v = gtube.adjusted(&[c("USER_ALLOW", -100.0, "a@b.c")], 5.0, None);
        assert_eq!(v.outcome, Outcome::Junk, "an allowance never beats GTUBE");
    }

    #[test]
    fn zero_weight_tests_are_left_out() {
        let v = Verdict::decide(
            vec![c("OFF", 0.0, ""), c("GTUBE", 0.0, "")],
            &SpamConfig::default(),
            true,
        );
        assert_eq!(v.contributions.len(), 1);
        assert_eq!(v.outcome, Outcome::Junk);
    }

    fn fixed(v: f64, d: usize) -> String {
        let mut s = String::new();
        push_fixed(&mut s, v, d);
        s
    }

    #[test]
    fn scores_are_written_as_core_fmt_writes_them() {
        // Ties on the exact binary value (1.5, 0.125, 2.675 just below a
        // half), signs, zeros of both signs, huge and non-finite values.
        let edge = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            0.25,
            0.125,
            0.375,
            2.675,
            1.005,
            -1.005,
            0.0005,
            -0.0004,
            -1e-12,
            1e-12,
            4.999_999_9,
            1e9,
            -1e12,
            123_456.789,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
        ];
        for v in edge {
            for d in 0..=3 {
                assert_eq!(fixed(v, d), format!("{v:.d$}"), "{v:e} to {d}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_score_is_written_as_core_fmt_writes_it(
            v in proptest::num::f64::ANY,
            m in -100_000i64..100_000,
            d in 0usize..=3,
        ) {
            proptest::prop_assert_eq!(fixed(v, d), format!("{v:.d$}"));
            // Multiples of 1/8 and of 1/1000: ties and near-ties.
            let t = m as f64 / 8.0;
            proptest::prop_assert_eq!(fixed(t, d), format!("{t:.d$}"));
            let k = m as f64 / 1000.0;
            proptest::prop_assert_eq!(fixed(k, d), format!("{k:.d$}"));
        }
    }
}
