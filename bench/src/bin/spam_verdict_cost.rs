//! What the spam verdict's CPU work costs per message, stage by stage, on
//! one thread and without SMTP around it: the message view (mail-parser,
//! HTML to text, links), the rules, the classifier's features and its
//! probability against a trained model, and the verdict headers. The
//! SMTP-level figure is `bench/smtp/spam_cost.sh`; this one says where the
//! time goes, and moves far less on a busy machine.
//!
//! usage: spam-verdict-cost MESSAGE [ITERATIONS]   (default 2000)

use std::process::ExitCode;
use std::time::Instant;

use postern_spam::{
    Class, ClassifierOptions, CompactModel, Counts, Evidence, Lookups, MessageView, Model,
    SpamConfig, classifier_contribution, features, score,
};

/// A made-up training set: 200 spam and 200 ham of 120 words each from
/// two small vocabularies (the same shape `spam_cost.sh TRAINED=1` trains).
fn trained(opts: &ClassifierOptions, config: &SpamConfig) -> Model {
    let spam = "cheap pills offer winner money free click now discount casino loan viagra";
    let ham = "meeting build report tomorrow review patch release notes agenda lunch team";
    let mut model = Model::new(opts.table_size);
    let mut seed: u64 = 7;
    for (kind, vocabulary, class) in [("spam", spam, Class::Spam), ("ham", ham, Class::Ham)] {
        let words: Vec<&str> = vocabulary.split(' ').collect();
        for i in 0..200 {
            let body: Vec<&str> = (0..120)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    words[(seed >> 33) as usize % words.len()]
                })
                .collect();
            let raw = format!(
                "From: a{i}@{kind}.test\r\nSubject: {kind} {i}\r\n\r\n{}\r\n",
                body.join(" ")
            );
            let view = MessageView::parse(raw.as_bytes(), &config.limits);
            model.train(&features(&view, opts), class);
        }
    }
    model
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: spam-verdict-cost MESSAGE [ITERATIONS]");
        return ExitCode::from(2);
    };
    let n: u32 = match args.get(1).map(|s| s.parse()) {
        None => 2000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("ITERATIONS: a positive number");
            return ExitCode::from(2);
        }
    };
    let raw = match std::fs::read(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = SpamConfig::default();
    let opts = ClassifierOptions::default();
    // Scoring reads the compact form, as the server does.
    let model = CompactModel::from_model(&trained(&opts, &config));
    let lookups = Lookups::default();
    let mut times = [0u128; 5];
    let mut total_score = 0.0;
    for _ in 0..n {
        let t0 = Instant::now();
        let view = MessageView::parse(&raw, &config.limits);
        let t1 = Instant::now();
        let base = score(&view, &config, &lookups, None);
        let t2 = Instant::now();
        let f = features(&view, &opts);
        let t3 = Instant::now();
        let evidence = Evidence::choose(Some(&model as &dyn Counts), &model, &opts);
        let p = evidence.spam_probability(&f, &opts).unwrap_or(0.5);
        let c = classifier_contribution(p, 3.0, 3.0);
        let t4 = Instant::now();
        let v = base.adjusted(&[c], config.junk_threshold, config.reject_threshold);
        let headers = v.status_header().len() + v.result_header().len();
        let t5 = Instant::now();
        total_score += v.score + headers as f64 * 0.0;
        for (slot, d) in times
            .iter_mut()
            .zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4])
        {
            *slot += d.as_nanos();
        }
    }
    let us = |ns: u128| ns as f64 / f64::from(n) / 1000.0;
    let names = ["view", "rules", "features", "classifier", "headers"];
    for (name, t) in names.iter().zip(times) {
        println!("{name:<11} {:8.1} us", us(t));
    }
    println!("{:<11} {:8.1} us", "total", us(times.iter().sum()));
    println!("(score {:.2})", total_score / f64::from(n));
    ExitCode::SUCCESS
}
