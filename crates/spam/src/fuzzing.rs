//! Fuzzing entry point (issue 13): the body of the `fuzz/` target
//! `spam_verdict`, kept here so the same code runs under AFL and in the
//! workspace's smoke test (`tests/fuzz_smoke.rs`). Not an API: nothing in
//! the server calls it.

use crate::{
    Class, ClassifierOptions, Evidence, Lookups, MessageView, Model, ReadLimits, SpamConfig,
    features, score,
};

/// Everything the verdict does with a message a sender controls: the view,
/// the rules, the features, training and untraining a small model, its
/// probability, and the stored form read back.
pub fn verdict(data: &[u8]) {
    let opts = ClassifierOptions {
        table_size: 4096,
        ..ClassifierOptions::default()
    };
    let view = MessageView::parse(data, &ReadLimits::default());
    let f = features(&view, &opts);
    let mut model = Model::new(opts.table_size);
    model.train(&f, Class::Spam);
    model.train(&f, Class::Ham);
    let p = Evidence::One(&model).spam_probability(&f, &opts);
    let v = score(&view, &SpamConfig::default(), &Lookups::default(), p);
    assert!(v.score.is_finite() || v.contributions.iter().any(|c| !c.score.is_finite()));
    model.untrain(&f, Class::Ham);
    let bytes = model.to_bytes();
    assert!(Model::from_bytes(&bytes, opts.table_size).is_ok());
}
