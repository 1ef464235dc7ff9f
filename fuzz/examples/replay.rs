//! Replays a directory of inputs (an AFL queue, a seed directory) through
//! one target's entry function in a loop, in one process as AFL's
//! persistent mode runs them, and prints the executions per second: where
//! a target's time goes, measured without AFL (`perf record` on this
//! binary), and counts the inputs whose panic escaped the entry (what
//! AFL saves as a crash; a panic the code catches is printed by the
//! default hook but not counted). Usage, from fuzz/:
//!   cargo afl build --release --example replay
//!   TMPDIR=/dev/shm target/release/examples/replay imap_session out/imap_session/default/queue [passes]
//!   target/release/examples/replay message_render out/message_render/default/crashes

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(target), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: replay <target> <dir> [passes]");
        std::process::exit(2);
    };
    let passes: u32 = args.next().and_then(|p| p.parse().ok()).unwrap_or(1);
    let entry: fn(&[u8]) = match target.as_str() {
        "imap_session" => postern_imap::fuzzing::imap_session,
        "smtp_session" => postern_smtp::fuzzing::smtp_session,
        "pop3_session" => postern_pop3::fuzzing::pop3_session,
        "message_render" => postern_imap::fuzzing::message_render,
        other => {
            eprintln!("replay: no target {other} here");
            std::process::exit(2);
        }
    };
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("the input directory")
        .flatten()
        // AFL's README.txt beside its crashes is not an input.
        .filter(|e| e.path().is_file() && e.file_name() != "README.txt")
        .filter_map(|e| std::fs::read(e.path()).ok())
        .collect();
    inputs.sort();
    let start = Instant::now();
    let (mut n, mut escaped) = (0u64, 0u64);
    for _ in 0..passes {
        for input in &inputs {
            if std::panic::catch_unwind(|| entry(input)).is_err() {
                escaped += 1;
            }
            n += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{target}: {n} executions in {secs:.2} s, {:.0} exec/s, {escaped} escaped panics",
        n as f64 / secs
    );
}
