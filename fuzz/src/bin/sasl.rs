//! AFL target `sasl`: each input goes to `postern_auth::fuzzing::sasl`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        postern_auth::fuzzing::sasl(data);
    });
}
