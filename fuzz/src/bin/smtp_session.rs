//! AFL target `smtp_session`: each input goes to `postern_smtp::fuzzing::smtp_session`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        postern_smtp::fuzzing::smtp_session(data);
    });
}
