//! AFL target `message_render`: each input goes to `postern_imap::fuzzing::message_render`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        postern_imap::fuzzing::message_render(data);
    });
}
