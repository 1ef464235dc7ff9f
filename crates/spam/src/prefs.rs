//! A user's own spam settings as the scorer reads them (issues 15 and 18):
//! their junk threshold and reject choice, and their allowed and blocked
//! senders as two hash maps, so a message's rule is found in a few lookups
//! whatever the list's length. Loaded and cached per user by
//! [`crate::training::Classifiers::prefs`]; the thresholds' precedence is
//! postern-delivery's (`SpamSettings::thresholds_for`).
//!
//! What a rule does, and why:
//! - `USER_BLOCK` (the weight `[spam.weights] USER_BLOCK`): the From
//!   address or the envelope sender matches a blocked address or domain.
//!   The message goes to Junk whatever its score; the block alone never
//!   refuses it (the user asked for Junk, and a refusal would tell the
//!   sender). A forged From only hurts the forger, so no authentication is
//!   needed.
//! - `USER_ALLOW` (`[spam.weights] USER_ALLOW`, -100 by default, like
//!   SpamAssassin's `whitelist_from_rcvd`): the From address matches an
//!   allowed one, *and* the From domain is authenticated: DMARC pass, or
//!   an SPF or DKIM pass for exactly that domain. SpamAssassin's plain
//!   `whitelist_from` trusts the From alone and is the first thing a
//!   spammer forges (From: your bank); rspamd's DMARC-based whitelists and
//!   mox's allow lists require the domain to be aligned, and so do we. An
//!   allowance outweighs rules, blocklists and the classifier, but not
//!   GTUBE (the operator's test always reads as spam) nor a DMARC reject
//!   (decided before scoring).
//! - An address rule beats a domain rule, and a domain rule beats one for
//!   a parent domain (`allow ann@example.org` with `block @example.org`:
//!   Ann's mail is allowed, the rest of the domain blocked). A domain rule
//!   covers its subdomains (`@example.org` matches `news.example.org`).

use std::collections::HashMap;

use postern_store::{SenderRuleKind, SpamPrefs};

use crate::config::RuleWeights;
use crate::verdict::Contribution;

/// The contribution's name for an allowed sender.
pub const USER_ALLOW: &str = "USER_ALLOW";
/// The contribution's name for a blocked sender.
pub const USER_BLOCK: &str = "USER_BLOCK";

/// One user's settings, ready for scoring.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPrefs {
    /// `None`: the server's.
    pub junk_threshold: Option<f64>,
    /// `Some(false)`: never refused, at most Junk.
    pub reject: Option<bool>,
    /// Lowercased address → rule.
    addresses: HashMap<String, SenderRuleKind>,
    /// Lowercased domain (without `@`) → rule.
    domains: HashMap<String, SenderRuleKind>,
}

impl UserPrefs {
    pub fn from_stored(p: &SpamPrefs) -> UserPrefs {
        let mut out = UserPrefs {
            junk_threshold: p.junk_threshold,
            reject: p.reject,
            ..UserPrefs::default()
        };
        for (pattern, kind) in &p.senders {
            match pattern.domain() {
                Some(d) => out.domains.insert(d.to_string(), *kind),
                None => out.addresses.insert(pattern.as_str().to_string(), *kind),
            };
        }
        out
    }

    /// The rule for `address` and the pattern that gave it (`a@b.c` or
    /// `@b.c`): its own, else its domain's, else the nearest parent's.
    pub fn rule_for(&self, address: &str) -> Option<(SenderRuleKind, String)> {
        let address = address.trim().to_lowercase();
        if let Some(k) = self.addresses.get(&address) {
            return Some((*k, address));
        }
        if self.domains.is_empty() {
            return None;
        }
        let (_, mut domain) = address.rsplit_once('@')?;
        domain = domain.strip_suffix('.').unwrap_or(domain);
        loop {
            if let Some(k) = self.domains.get(domain) {
                return Some((*k, format!("@{domain}")));
            }
            domain = domain.split_once('.')?.1;
        }
    }

    /// The allow or block contribution for a message with From `from`
    /// (whose domain is authenticated when `from_aligned`) and envelope
    /// sender `mail_from`; `None` when no rule applies.
    pub fn sender_contribution(
        &self,
        from: Option<&str>,
        from_aligned: bool,
        mail_from: &str,
        w: &RuleWeights,
    ) -> Option<Contribution> {
        if self.addresses.is_empty() && self.domains.is_empty() {
            return None;
        }
        let from_rule = from.and_then(|f| self.rule_for(f));
        match from_rule {
            Some((SenderRuleKind::Allow, p)) if from_aligned => {
                return Some(Contribution::new(USER_ALLOW, w.user_allow, &p));
            }
            Some((SenderRuleKind::Block, p)) => {
                return Some(Contribution::new(USER_BLOCK, w.user_block, &p));
            }
            _ => {}
        }
        match self.rule_for(mail_from) {
            Some((SenderRuleKind::Block, p)) => {
                Some(Contribution::new(USER_BLOCK, w.user_block, &p))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_store::SenderPattern;

    fn prefs(rules: &[(&str, SenderRuleKind)]) -> UserPrefs {
        UserPrefs::from_stored(&SpamPrefs {
            senders: rules
                .iter()
                .map(|(p, k)| (SenderPattern::parse(p).expect("pattern"), *k))
                .collect(),
            ..SpamPrefs::default()
        })
    }

    #[test]
    fn an_address_rule_beats_its_domain_and_a_domain_covers_subdomains() {
        use SenderRuleKind::{Allow, Block};
        let p = prefs(&[
            ("ann@example.org", Allow),
            ("@example.org", Block),
            ("@news.example.org", Allow),
            ("@xyz", Block),
        ]);
        for (address, want) in [
            ("Ann@Example.org", Some((Allow, "ann@example.org"))),
            ("bob@example.org", Some((Block, "@example.org"))),
            (
                "bob@deep.news.example.org",
                Some((Allow, "@news.example.org")),
            ),
            ("bob@mail.example.org", Some((Block, "@example.org"))),
            ("x@spam.xyz", Some((Block, "@xyz"))),
            ("x@example.com", None),
            ("x@notexample.org", None),
            ("no-at-sign", None),
            ("", None),
        ] {
            assert_eq!(
                p.rule_for(address),
                want.map(|(k, s)| (k, s.to_string())),
                "{address}"
            );
        }
    }

    #[test]
    fn an_allowance_needs_an_aligned_from_and_a_block_does_not() {
        use SenderRuleKind::{Allow, Block};
        let w = RuleWeights::default();
        let p = prefs(&[("friend@remote.test", Allow), ("@spam.test", Block)]);
        let name = |c: Option<Contribution>| c.map(|c| (c.test, c.score, c.detail));
        assert_eq!(
            name(p.sender_contribution(Some("friend@remote.test"), true, "x@y.test", &w)),
            Some((USER_ALLOW.into(), w.user_allow, "friend@remote.test".into()))
        );
        assert_eq!(
            name(p.sender_contribution(Some("friend@remote.test"), false, "x@y.test", &w)),
            None,
            "a forged From gets no allowance"
        );
        assert_eq!(
            name(p.sender_contribution(Some("a@spam.test"), false, "", &w)),
            Some((USER_BLOCK.into(), w.user_block, "@spam.test".into()))
        );
        assert_eq!(
            name(p.sender_contribution(Some("a@other.test"), true, "bounce@spam.test", &w)),
            Some((USER_BLOCK.into(), w.user_block, "@spam.test".into())),
            "the envelope sender is blocked too"
        );
        assert_eq!(
            p.sender_contribution(None, false, "", &w),
            None,
            "no From, no envelope sender"
        );
        assert_eq!(
            UserPrefs::default().sender_contribution(Some("a@spam.test"), true, "", &w),
            None
        );
    }
}
