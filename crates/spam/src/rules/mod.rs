//! The scoring pipeline: every rule that fires adds its configured weight as
//! a named contribution, lookups made elsewhere (DNSBL, RHSBL, FCrDNS) and
//! the classifier's probability add theirs, and the total decides the
//! outcome. The rules themselves are in `header.rs`, `body.rs`,
//! `wording.rs` and `shape.rs`; GTUBE is here because it overrides the thresholds.

pub mod body;
pub mod header;
pub mod shape;
pub mod wording;

use std::sync::LazyLock;

use memchr::memmem;

use crate::config::SpamConfig;
use crate::dnsbl::Lookups;
use crate::message::MessageView;
use crate::verdict::{Contribution, Verdict};

/// The Generic Test for Unsolicited Bulk Email, as SpamAssassin defines it
/// (its `GTUBE` body rule): 68 characters that no real message contains.
pub const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/// A rule that fired: its name, and what it saw (for the reader).
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub test: &'static str,
    pub detail: String,
}

impl Hit {
    fn new(test: &'static str, detail: &str) -> Self {
        Self {
            test,
            detail: detail.to_string(),
        }
    }
}

/// Whether `bytes` contain the GTUBE string.
pub fn contains_gtube(bytes: &[u8]) -> bool {
    // Every message on port 25 is scanned (the raw message, then each
    // decoded text): one vectorised substring search, built once.
    static FINDER: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(GTUBE.as_bytes()));
    FINDER.find(bytes).is_some()
}

/// An approximation of the organisational domain (the part a registrant
/// controls): the last two labels, or three under a two-letter country code
/// whose second level is short (`co.uk`, `com.au`). Without the Public
/// Suffix List this errs towards "same organisation" for deep suffixes,
/// which only makes the mismatch rules fire less.
pub fn org_domain(domain: &str) -> String {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = d.split('.').collect();
    let n = labels.len();
    let keep = if n >= 3 && labels[n - 1].len() == 2 && labels[n - 2].len() <= 3 {
        3
    } else {
        2
    };
    labels[n.saturating_sub(keep)..].join(".")
}

/// Every header, body and wording rule that fires on `view` (GTUBE aside),
/// before weights: what [`score`] weighs.
pub fn hits(view: &MessageView, config: &SpamConfig) -> Vec<Hit> {
    let mut out = header::hits(view, config);
    out.extend(body::hits(view, config));
    out.extend(wording::hits(view, config));
    out.extend(shape::hits(view, config));
    out
}

/// Scores one message: the rules on `view`, the `lookups` made for it, and
/// the classifier's spam probability if there is one.
pub fn score(
    view: &MessageView,
    config: &SpamConfig,
    lookups: &Lookups,
    spam_probability: Option<f64>,
) -> Verdict {
    let w = &config.weights;
    let mut contributions = Vec::new();
    let gtube = view.raw_has_gtube
        || view.plain.iter().any(|t| contains_gtube(t.as_bytes()))
        || view.html.iter().any(|h| contains_gtube(h.text.as_bytes()));
    if gtube {
        contributions.push(Contribution::new("GTUBE", w.gtube, ""));
    }
    for hit in hits(view, config) {
        // Every rule has its weight in `weights.rs`; a new rule without one
        // scores nothing rather than panicking the session.
        let weight = config.weight(hit.test).unwrap_or(0.0);
        contributions.push(Contribution::new(hit.test, weight, &hit.detail));
    }
    contributions.extend(lookups.contributions(config));
    if let Some(p) = spam_probability {
        contributions.push(crate::verdict::classifier_contribution(
            p,
            w.classifier,
            w.classifier_ham,
        ));
    }
    Verdict::decide(contributions, config, gtube)
}

/// The names of the tests `rules` (one module's `hits`) fires on `raw`
/// with the default config: the header and body rules' unit tests.
#[cfg(test)]
pub(crate) fn fired(
    rules: fn(&MessageView, &SpamConfig) -> Vec<Hit>,
    raw: &str,
) -> Vec<&'static str> {
    let view = MessageView::parse(raw.as_bytes(), &crate::config::ReadLimits::default());
    rules(&view, &SpamConfig::default())
        .into_iter()
        .map(|h| h.test)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReadLimits;
    use crate::verdict::Outcome;

    fn verdict(raw: &[u8], p: Option<f64>) -> Verdict {
        let config = SpamConfig::default();
        let view = MessageView::parse(raw, &ReadLimits::default());
        score(&view, &config, &Lookups::default(), p)
    }

    const PLAIN: &[u8] = b"From: Ann <ann@example.org>\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\n\
Message-ID: <1@example.org>\r\nSubject: Lunch\r\n\r\nSee you at noon.\r\n";

    #[test]
    fn gtube_is_the_published_string() {
        assert_eq!(GTUBE.len(), 68);
        assert!(GTUBE.starts_with("XJS*C4JDBQADN1") && GTUBE.ends_with("*C.34X"));
    }

    #[test]
    fn gtube_is_always_spam_even_if_its_weight_is_zero_and_the_classifier_says_ham() {
        let raw = [PLAIN, GTUBE.as_bytes(), b"\r\n"].concat();
        let v = verdict(&raw, Some(0.0));
        assert_eq!(v.outcome, Outcome::Reject);
        let mut config = SpamConfig::default();
        config.weights.gtube = 0.0;
        config.reject_threshold = None;
        let view = MessageView::parse(&raw, &ReadLimits::default());
        let v = score(&view, &config, &Lookups::default(), Some(0.0));
        assert_eq!(v.outcome, Outcome::Junk);
    }

    #[test]
    fn gtube_in_base64_is_found_after_decoding() {
        // base64 of GTUBE, as a text/plain part.
        let b64 = "WEpTKkM0SkRCUUFETjEuTlNCTjMqMklETkVOKkdUVUJFLVNUQU5EQVJELUFOVEktVUJFLVRFU1QtRU1BSUwqQy4zNFg=";
        let raw = format!(
            "From: a@example.org\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n"
        );
        assert_eq!(verdict(raw.as_bytes(), None).outcome, Outcome::Reject);
    }

    #[test]
    fn a_plain_message_goes_to_the_inbox() {
        let v = verdict(PLAIN, None);
        assert_eq!(v.outcome, Outcome::Inbox);
        assert!(v.contributions.is_empty());
        assert_eq!(v.score, 0.0);
    }

    #[test]
    fn the_classifier_spans_minus_its_ham_weight_to_plus_its_weight() {
        let w = SpamConfig::default().weights;
        assert_eq!(verdict(PLAIN, Some(1.0)).score, w.classifier);
        assert_eq!(verdict(PLAIN, Some(0.0)).score, -w.classifier_ham);
        assert_eq!(verdict(PLAIN, Some(0.75)).score, w.classifier / 2.0);
        assert_eq!(verdict(PLAIN, Some(0.25)).score, -w.classifier_ham / 2.0);
        assert_eq!(verdict(PLAIN, Some(f64::NAN)).score, 0.0);
        assert_eq!(verdict(PLAIN, Some(1.0)).outcome, Outcome::Junk);
    }

    #[test]
    fn org_domain_keeps_the_registrable_part() {
        assert_eq!(org_domain("mail.example.org"), "example.org");
        assert_eq!(org_domain("www.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(org_domain("example"), "example");
        assert_eq!(org_domain(""), "");
    }
}
