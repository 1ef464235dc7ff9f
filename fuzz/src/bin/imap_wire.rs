//! AFL target `imap_wire`: each input goes to `postern_imap::fuzzing::command_wire`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        postern_imap::fuzzing::command_wire(data);
    });
}
