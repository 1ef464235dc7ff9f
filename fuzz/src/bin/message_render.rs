//! AFL target `message_render`: each input goes to `postern_imap::fuzzing::message_render`.
//! Without afl.rs's panic hook (`fuzz_nohook!`): the hook aborts on every
//! panic, even one our code catches, and mail-parser 0.11.9 panics on
//! some malformed multiparts, which the store and the verdict catch at
//! their boundary (`tests/fuzz_smoke.rs`). A panic that escapes the entry
//! still aborts: afl.rs catches it around the input and aborts.

fn main() {
    afl::fuzz_nohook!(|data: &[u8]| {
        postern_imap::fuzzing::message_render(data);
    });
}
