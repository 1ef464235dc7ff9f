//! The spam verdict's counter, `postern_spam_verdicts_total{result}`: one
//! per recipient judged (`inbox`, `junk`), or one per message refused
//! (`reject`). Literal labels: a static key, nothing allocated.

use postern_spam::Outcome;

pub(crate) fn verdict(outcome: Outcome) {
    match outcome {
        Outcome::Inbox => metrics::counter!("postern_spam_verdicts_total", "result" => "inbox"),
        Outcome::Junk => metrics::counter!("postern_spam_verdicts_total", "result" => "junk"),
        Outcome::Reject => metrics::counter!("postern_spam_verdicts_total", "result" => "reject"),
    }
    .increment(1);
}
