//! What the spam verdict's CPU work costs per message, stage by stage, on
//! one thread and without SMTP around it: the message view (mail-parser,
//! HTML to text, links), the rules, the classifier's features and its
//! probability against a trained model, and the verdict headers, each
//! timed alone by the CPU time the thread ran. The
//! SMTP-level figure is `bench/smtp/spam_cost.sh`; this one says where the
//! time goes, and moves far less on a busy machine. MESSAGE may be a
//! directory: its files are then judged in turn, so that the branch
//! predictor cannot learn one message (the server judges each message
//! once, with SQLite and the SMTP code between two, and one message
//! judged over and over runs up to twice as fast as mail does).
//!
//! usage: spam-verdict-cost MESSAGE|DIRECTORY [ITERATIONS]   (default 2000)

use std::process::ExitCode;

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
    let raws = match read_messages(std::path::Path::new(path)) {
        Ok(r) if !r.is_empty() => r,
        Ok(_) => {
            eprintln!("{path}: no messages");
            return ExitCode::FAILURE;
        }
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
    // Each stage runs `n` times on its own, timed by the CPU time this
    // thread ran (the kernel's schedstat), not by the clock: on a shared
    // machine the clock also counts the time other work held the CPU.
    // Each message judged once ahead, so that every stage reads what the
    // one before it made; stage `i` of iteration `k` takes message `k % m`.
    let m = raws.len();
    let views: Vec<MessageView> = raws
        .iter()
        .map(|r| MessageView::parse(r, &config.limits))
        .collect();
    let feats: Vec<Vec<u64>> = views.iter().map(|v| features(v, &opts)).collect();
    let evidence = Evidence::choose(Some(&model as &dyn Counts), &model, &opts);
    let probs: Vec<f64> = feats
        .iter()
        .map(|f| evidence.spam_probability(f, &opts).unwrap_or(0.5))
        .collect();
    let bases: Vec<_> = views
        .iter()
        .map(|v| score(v, &config, &lookups, None))
        .collect();
    let cs: Vec<_> = probs
        .iter()
        .map(|&p| classifier_contribution(p, 3.0, 3.0))
        .collect();
    let stages: [(&str, &dyn Fn(usize) -> usize); 5] = [
        ("view", &|k| {
            MessageView::parse(&raws[k % m], &config.limits).plain.len()
        }),
        ("rules", &|k| {
            score(&views[k % m], &config, &lookups, None)
                .contributions
                .len()
        }),
        ("features", &|k| features(&views[k % m], &opts).len()),
        ("classifier", &|k| {
            let evidence = Evidence::choose(Some(&model as &dyn Counts), &model, &opts);
            usize::from(evidence.spam_probability(&feats[k % m], &opts).is_some())
        }),
        ("headers", &|k| {
            let v = bases[k % m].adjusted(
                std::slice::from_ref(&cs[k % m]),
                config.junk_threshold,
                config.reject_threshold,
            );
            v.status_header().len() + v.result_header().len()
        }),
    ];
    let mut total = 0.0;
    let mut sink = 0usize;
    for (name, stage) in stages {
        let Some(t0) = cpu_ns() else {
            eprintln!("/proc/thread-self/schedstat is not readable");
            return ExitCode::FAILURE;
        };
        for k in 0..n as usize {
            sink = sink.wrapping_add(std::hint::black_box(stage(k)));
        }
        let us = (cpu_ns().unwrap_or(t0) - t0) as f64 / f64::from(n) / 1000.0;
        total += us;
        println!("{name:<11} {us:8.1} us");
    }
    println!("{:<11} {total:8.1} us", "total");
    println!(
        "({m} messages, p of the first {:.3}, {} outputs)",
        probs[0],
        sink % 10
    );
    ExitCode::SUCCESS
}

/// The message at `path`, or every file in the directory `path` (sorted
/// by name).
fn read_messages(path: &std::path::Path) -> std::io::Result<Vec<Vec<u8>>> {
    if !path.is_dir() {
        return Ok(vec![std::fs::read(path)?]);
    }
    let mut names: Vec<_> = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    names.sort();
    names
        .iter()
        .filter(|p| p.is_file())
        .map(std::fs::read)
        .collect()
}

/// The CPU time this thread has run, in nanoseconds.
fn cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}
