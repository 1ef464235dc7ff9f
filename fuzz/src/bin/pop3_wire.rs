//! AFL target `pop3_wire`: each input goes to `postern_pop3::fuzzing::command_wire`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        postern_pop3::fuzzing::command_wire(data);
    });
}
