//! Every corpus message's verdict, one line each, so that a change meant to
//! make the filter cheaper can be shown to change no verdict: run it before
//! and after and compare the outputs byte for byte. A line holds the
//! message's name, the classifier's probability (all its digits) against a
//! model trained on the `-1` sets, a hash of the classifier's features (in
//! order) and of the message view, and the two verdict headers. On stderr:
//! the model's memory, as the server caches it per trained user.
//!
//! usage: spam-verdict-dump CORPUS   (the directory holding spam-1, easy-ham-1 ...)

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use postern_spam::{
    Class, ClassifierOptions, CompactModel, Counts, Evidence, Lookups, MessageView, Model,
    SpamConfig, classifier_contribution, features, score,
};

const SETS: [&str; 5] = ["spam-1", "easy-ham-1", "hard-ham-1", "spam-2", "easy-ham-2"];

fn main() -> ExitCode {
    let Some(corpus) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: spam-verdict-dump CORPUS");
        return ExitCode::from(2);
    };
    match run(&corpus) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spam-verdict-dump: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(corpus: &Path) -> Result<(), String> {
    let config = SpamConfig::default();
    let opts = ClassifierOptions::default();
    let mut messages = Vec::new();
    for set in SETS {
        for (name, raw) in read_set(corpus, set)? {
            let view = MessageView::parse(&raw, &config.limits);
            let f = features(&view, &opts);
            messages.push((set, name, view, f));
        }
    }
    let mut model = Model::new(opts.table_size);
    for (set, _, _, f) in &messages {
        if set.ends_with("-1") {
            let class = if set.starts_with("spam") {
                Class::Spam
            } else {
                Class::Ham
            };
            model.train(f, class);
        }
    }
    let full_bytes = model.memory_bytes();
    let model = CompactModel::from_model(&model);
    // What a trained user costs the server: the scorer caches this compact
    // form per user (the full table is only held while training).
    eprintln!(
        "model on the -1 sets: {} buckets used; in memory {} KiB as the scorer caches it, {} KiB full",
        model.used(),
        model.memory_bytes() / 1024,
        full_bytes / 1024
    );
    let w = &config.weights;
    for (set, name, view, f) in &messages {
        let evidence = Evidence::choose(Some(&model as &dyn Counts), &model, &opts);
        let p = evidence.spam_probability(f, &opts);
        let base = score(view, &config, &Lookups::default(), None);
        let extra: Vec<_> = p
            .map(|p| classifier_contribution(p, w.classifier, w.classifier_ham))
            .into_iter()
            .collect();
        let v = base.adjusted(&extra, config.junk_threshold, config.reject_threshold);
        let mut fh = DefaultHasher::new();
        f.hash(&mut fh);
        let mut vh = DefaultHasher::new();
        format!("{view:?}").hash(&mut vh);
        println!(
            "{set}/{name} p={p:?} features={}:{:016x} view={:016x} {:?}{:?}",
            f.len(),
            fh.finish(),
            vh.finish(),
            v.status_header(),
            v.result_header()
        );
    }
    Ok(())
}

/// Every message of one set in name order, without the mbox "From " line.
fn read_set(corpus: &Path, set: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let dir = corpus.join(set);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for p in names {
        let raw = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let body = match raw.strip_prefix(b"From ") {
            Some(_) => raw
                .iter()
                .position(|&b| b == b'\n')
                .map_or(raw.clone(), |n| raw[n + 1..].to_vec()),
            None => raw,
        };
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        out.push((name, body));
    }
    Ok(out)
}
