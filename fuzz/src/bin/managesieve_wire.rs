//! AFL target `managesieve_wire`: each input goes to
//! `postern_managesieve::fuzzing::command_wire`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        postern_managesieve::fuzzing::command_wire(data);
    });
}
