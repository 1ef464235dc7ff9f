//! AFL target `imap_session`: each input goes to `postern_imap::fuzzing::imap_session`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        postern_imap::fuzzing::imap_session(data);
    });
}
