//! AFL target `smtp_wire`: each input goes to `postern_smtp::fuzzing::session_wire`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        postern_smtp::fuzzing::session_wire(data);
    });
}
