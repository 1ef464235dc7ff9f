//! AFL target `spam_verdict`: each input goes to `postern_spam::fuzzing::verdict`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        postern_spam::fuzzing::verdict(data);
    });
}
