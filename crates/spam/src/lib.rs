//! Postern's spam verdict: the rules on a message's content and on how it
//! came (HELO, SPF/DKIM/DMARC/ARC results), the DNS blocklist and FCrDNS
//! lookups, and a per-user statistical classifier with its stored form and
//! its trainer. `postern-delivery` calls it at the end of DATA.
//!
//! # Implementation notes
//! - One pass: [`MessageView::parse`] reads a message once (bounded by
//!   [`ReadLimits`]); the rules and the classifier's [`features`] both read
//!   that view.
//! - Every test is a named, weighted [`Contribution`]; weights, thresholds
//!   and lists are in [`SpamConfig`] with defaults, and no blocklist is
//!   named by default. The [`Verdict`] sums them into an [`Outcome`] and
//!   renders `X-Spam-Status` / `X-Spam-Result`.
//! - GTUBE always gives at least Junk, whatever the weights, so an operator
//!   can test the whole path end to end.
//! - The classifier ([`Model`]) is a hashed table of per-class counts with
//!   Robinson / chi-square combining; `untrain` undoes `train` exactly, and
//!   [`Model::to_bytes`] is canonical and checksummed, so a damaged blob is
//!   an error, never a panic.
//! - [`training`]: models kept in the store (postern-store, the one crate
//!   of ours this one depends on), trained in the background from the
//!   store's journal of `\Junk` moves and `$Junk`/`$NotJunk` flags, read
//!   back cached for scoring, and the per-user sender reputation.
//! - [`prefs`]: a user's own thresholds and allowed/blocked senders; an
//!   allowance needs an authenticated From domain, a block files in Junk.
//! - [`lookup`]: every blocklist and FCrDNS query at once under one
//!   deadline, through the server's resolver; what does not answer in time
//!   scores nothing. The rest of the crate does no I/O.

pub mod classifier;
pub mod compact;
pub mod config;
pub mod dnsbl;
pub mod envelope;
#[doc(hidden)]
pub mod fuzzing;
pub mod html;
pub mod lookup;
pub mod message;
pub mod model_bytes;
pub mod prefs;
pub mod rules;
pub mod tokenize;
pub mod training;
pub mod verdict;
mod weights;

pub use classifier::{Class, ClassifierOptions, Counts, Evidence, Model};
pub use compact::CompactModel;
pub use config::{BlocklistZone, EnvelopeWeights, ReadLimits, RuleWeights, SpamConfig};
pub use dnsbl::{BlocklistAnswer, Fcrdns, Lookups, dnsbl_query, rhsbl_query};
pub use envelope::{AuthFacts, AuthOutcome};
pub use lookup::{LookupLimits, lookups};
pub use message::MessageView;
pub use model_bytes::ModelError;
pub use prefs::{USER_ALLOW, USER_BLOCK, UserPrefs};
pub use rules::{GTUBE, score};
pub use tokenize::features;
pub use verdict::{Contribution, Outcome, Verdict, classifier_contribution};

/// Scores a raw message in one call: parse, rules, lookups made elsewhere,
/// and the classifier when there is evidence to judge by.
pub fn verdict(
    raw: &[u8],
    config: &SpamConfig,
    lookups: &Lookups,
    classifier: Option<(Evidence<'_>, &ClassifierOptions)>,
) -> Verdict {
    let view = MessageView::parse(raw, &config.limits);
    let p = classifier.and_then(|(e, opts)| e.spam_probability(&features(&view, opts), opts));
    score(&view, config, lookups, p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_input_panics_the_view_tokenizer_or_rules(
            raw in proptest::collection::vec(any::<u8>(), 0..2048),
        ) {
            let mut model = Model::new(1024);
            let opts = ClassifierOptions::default();
            let view = MessageView::parse(&raw, &ReadLimits::default());
            let f = features(&view, &opts);
            model.train(&f, Class::Spam);
            let v = verdict(&raw, &SpamConfig::default(), &Lookups::default(), Some((Evidence::One(&model), &opts)));
            prop_assert!(v.score.is_finite());
            let _ = Model::from_bytes(&raw, 1 << 16);
        }

        #[test]
        fn no_mime_shaped_input_panics(
            head in "[A-Za-z-]{1,12}: [ -~]{0,40}",
            ct in prop::sample::select(vec!["text/html", "text/plain", "multipart/alternative; boundary=b", "message/rfc822"]),
            body in "[ -~\r\n<>&;#=\"']{0,400}",
        ) {
            let raw = format!("{head}\r\nContent-Type: {ct}\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n{body}\r\n--b--\r\n");
            let v = verdict(raw.as_bytes(), &SpamConfig::default(), &Lookups::default(), None);
            prop_assert!(v.score.is_finite());
        }
    }

    #[test]
    fn a_trained_classifier_moves_the_verdict() {
        let opts = ClassifierOptions::default();
        let config = SpamConfig::default();
        let mut model = Model::new(opts.table_size);
        let spam = b"From: x@spam.example\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <a@spam.example>\r\n\
Subject: cheap pills\r\n\r\nbuy cheap pills online now discount pharmacy\r\n";
        let ham = b"From: ann@example.org\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <b@example.org>\r\n\
Subject: build failure\r\n\r\nthe nightly build failed in the parser tests again\r\n";
        for (raw, class) in [(&spam[..], Class::Spam), (&ham[..], Class::Ham)] {
            let f = features(&MessageView::parse(raw, &config.limits), &opts);
            for _ in 0..10 {
                model.train(&f, class);
            }
        }
        let judge = |raw: &[u8]| {
            verdict(
                raw,
                &config,
                &Lookups::default(),
                Some((Evidence::One(&model), &opts)),
            )
        };
        assert_eq!(judge(spam).outcome, Outcome::Junk);
        assert_eq!(judge(ham).outcome, Outcome::Inbox);
        assert!(judge(ham).score < 0.0);
    }
}
