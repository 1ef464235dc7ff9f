//! [`Delivery::inbound`]: mail authentication and the spam verdict for one
//! message on port 25, and how each recipient's copy is filed: scored
//! once, then per recipient their classifier, sender reputation, allowed
//! or blocked senders and thresholds (their own settings over the
//! admin's, `SpamSettings::thresholds_for`).

use std::sync::Arc;

use postern_spam::{
    Contribution, Counts, Evidence, MessageView, Outcome, UserPrefs, Verdict,
    classifier_contribution, envelope,
};
use postern_store::DeliveryTarget;

use crate::mailauth::Disposition;
use crate::{Decision, Delivery, Filing, Inbound, Recipient};

impl Delivery {
    /// Decides what happens to `m`: refused, or filed per recipient. Never
    /// fails: a check that cannot run counts nothing.
    pub async fn inbound(&self, m: &Inbound<'_>) -> Decision {
        if let Some(text) = crate::mailauth::from_count_refusal(m.raw) {
            tracing::info!(
                from = m.mail_from,
                reason = text,
                "refused for its From fields"
            );
            return Decision::Reject(text);
        }
        let spam = &self.cfg.spam;
        let view = spam
            .enabled
            .then(|| MessageView::parse(m.raw, &spam.config.limits));
        let auth = async {
            match &self.mailauth {
                Some(ma) if ma.cfg.verify => Some(ma.check(m.raw, m.ip, m.helo, m.mail_from).await),
                _ => None,
            }
        };
        let lookups = async {
            match (&view, &self.resolver) {
                (Some(view), Some(resolver)) => Some(
                    postern_spam::lookups(
                        resolver,
                        m.ip,
                        view,
                        &spam.config,
                        &spam.lookups,
                        spam.fcrdns && !m.ip.is_loopback(),
                    )
                    .await,
                ),
                _ => None,
            }
        };
        let (auth, lookups) = tokio::join!(auth, lookups);
        self.record_dmarc(auth.as_ref());

        let mut headers = Vec::new();
        let mut dmarc_junk = false;
        if let Some(a) = &auth {
            match &a.disposition {
                Disposition::Reject(text) => {
                    tracing::info!(from = m.mail_from, "refused by DMARC policy");
                    return Decision::Reject(text.trim_start_matches("5.7.1 ").to_string());
                }
                Disposition::Junk => dmarc_junk = true,
                Disposition::Deliver => {}
            }
            // RFC 8601 §5: above the message's own headers (below our
            // trace headers, which come first).
            headers.extend_from_slice(a.header.as_bytes());
        }
        let Some(view) = view else {
            return Decision::Deliver(vec![Filing {
                headers,
                targets: m.recipients.iter().map(|r| target(r, dmarc_junk)).collect(),
            }]);
        };

        let ours = self.our_names(m.recipients);
        let facts = auth.as_ref().map(|a| a.facts).unwrap_or_default();
        let shared = envelope::contributions(m.ip, m.helo, &facts, &ours, &spam.config.envelope);
        let base = postern_spam::score(&view, &spam.config, &lookups.unwrap_or_default(), None);
        let mut filings: Vec<Filing> = Vec::new();
        let mut verdicts: Vec<Verdict> = Vec::new();
        // Computed at the first recipient whose classifier can judge.
        let mut features = None;
        // The From address speaks for the sender only when DMARC says the
        // domain sent it; otherwise anyone could borrow a good name.
        let from = view
            .from_address
            .as_deref()
            .filter(|_| facts.dmarc == Some(postern_spam::AuthOutcome::Pass));
        for r in m.recipients {
            let own = self.own_prefs(r).await;
            let mut extra = shared.clone();
            extra.extend(self.per_user(r, &view, &mut features, from).await);
            extra.extend(own.sender_contribution(
                view.from_address.as_deref(),
                facts.from_aligned,
                m.mail_from,
                &spam.config.weights,
            ));
            let t = spam.thresholds_for(&r.address, &own);
            let v = base.adjusted(&extra, t.junk, t.reject);
            verdicts.push(v);
        }
        // No local recipient (an alias that only forwards): the shared part
        // alone decides whether to refuse.
        let all_refuse = if verdicts.is_empty() {
            let v = base.adjusted(
                &shared,
                spam.config.junk_threshold,
                spam.config.reject_threshold,
            );
            let refuse = v.outcome == Outcome::Reject;
            verdicts.push(v);
            refuse
        } else {
            verdicts.iter().all(|v| v.outcome == Outcome::Reject)
        };
        if all_refuse && let Some(v) = verdicts.first() {
            tracing::info!(
                ip = %m.ip,
                from = m.mail_from,
                score = v.score,
                "refused as spam"
            );
            crate::events::verdict(Outcome::Reject);
            return Decision::Reject(v.reject_reason());
        }
        for (i, v) in verdicts.iter_mut().enumerate() {
            // Refused for this recipient, accepted for another: Junk.
            if v.outcome == Outcome::Reject {
                v.outcome = Outcome::Junk;
            }
            crate::events::verdict(v.outcome);
            let mut h = headers.clone();
            h.extend_from_slice(v.status_header().as_bytes());
            h.extend_from_slice(v.result_header().as_bytes());
            let Some(r) = m.recipients.get(i) else {
                filings.push(Filing {
                    headers: h,
                    targets: Vec::new(),
                });
                continue;
            };
            let t = target(r, dmarc_junk || v.outcome == Outcome::Junk);
            match filings.iter_mut().find(|f| f.headers == h) {
                Some(f) => f.targets.push(t),
                None => filings.push(Filing {
                    headers: h,
                    targets: vec![t],
                }),
            }
        }
        Decision::Deliver(filings)
    }

    /// A stored message scored again now, for `postern spam explain`: the
    /// content rules, the recipient's classifier as trained today, their
    /// sender reputation when `dmarc_pass` (as recorded at delivery), and
    /// their thresholds; no network lookups (those are in the headers the
    /// message was delivered with).
    pub async fn rescore(&self, r: &Recipient, raw: &[u8], dmarc_pass: bool) -> Verdict {
        let spam = &self.cfg.spam;
        let view = MessageView::parse(raw, &spam.config.limits);
        let from = view.from_address.as_deref().filter(|_| dmarc_pass);
        let own = self.own_prefs(r).await;
        let mut extra = self.per_user(r, &view, &mut None, from).await;
        extra.extend(own.sender_contribution(
            view.from_address.as_deref(),
            dmarc_pass,
            "",
            &spam.config.weights,
        ));
        let base = postern_spam::score(&view, &spam.config, &Default::default(), None);
        let t = spam.thresholds_for(&r.address, &own);
        base.adjusted(&extra, t.junk, t.reject)
    }

    /// The recipient's own thresholds and sender rules (cached; none when
    /// there is no store, and a store error counts as none).
    async fn own_prefs(&self, r: &Recipient) -> Arc<UserPrefs> {
        if let Some(c) = &self.classifiers {
            match c.prefs(r.user).await {
                Ok(p) => return p,
                Err(e) => {
                    tracing::warn!(error = %e, user = r.user.0, "reading the spam settings failed")
                }
            }
        }
        Arc::new(UserPrefs::default())
    }

    /// This server's names, for `HELO_CLAIMS_US`: the host name and the
    /// domains of the local recipients.
    fn our_names(&self, recipients: &[Recipient]) -> Vec<String> {
        let mut ours = vec![self.hostname.to_ascii_lowercase()];
        for r in recipients {
            if let Some((_, d)) = r.address.rsplit_once('@') {
                let d = d.to_ascii_lowercase();
                if !ours.contains(&d) {
                    ours.push(d);
                }
            }
        }
        ours
    }

    /// The contributions that depend on the recipient: their classifier
    /// (their model, summed with the global one until they have trained
    /// enough) and their sender reputation. A store error scores nothing.
    async fn per_user(
        &self,
        r: &Recipient,
        view: &MessageView,
        features: &mut Option<Vec<u64>>,
        from: Option<&str>,
    ) -> Vec<Contribution> {
        let mut out = Vec::new();
        let Some(c) = &self.classifiers else {
            return out;
        };
        match c.models(r.user).await {
            Ok((user, global)) => {
                let evidence = Evidence::choose(
                    user.as_deref().map(|m| m as &dyn Counts),
                    &*global,
                    c.options(),
                );
                // Tokenizing is most of the classifier's cost: not for
                // evidence that lacks a class and could not judge anyway.
                let (spam, ham) = evidence.totals();
                let features = match features {
                    _ if spam == 0 || ham == 0 => None,
                    Some(f) => Some(f),
                    None => Some(features.insert(postern_spam::features(view, c.options()))),
                };
                if let Some(p) = features.and_then(|f| evidence.spam_probability(f, c.options())) {
                    let w = &self.cfg.spam.config.weights;
                    out.push(classifier_contribution(p, w.classifier, w.classifier_ham));
                }
            }
            Err(e) => tracing::warn!(error = %e, user = r.user.0, "reading the classifier failed"),
        }
        if let Some(from) = from {
            match c.reputation(r.user, from).await {
                Ok(Some(rep)) => out.push(rep),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, user = r.user.0, "reading the reputation failed")
                }
            }
        }
        out
    }
}

fn target(r: &Recipient, junk: bool) -> DeliveryTarget {
    if junk {
        DeliveryTarget::junk(r.user)
    } else {
        DeliveryTarget::inbox(r.user)
    }
}
