//! AFL target `pop3_session`: each input goes to `postern_pop3::fuzzing::pop3_session`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        postern_pop3::fuzzing::pop3_session(data);
    });
}
