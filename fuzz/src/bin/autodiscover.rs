//! AFL target `autodiscover`: each input goes to `postern_web::fuzzing::autodiscover`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        postern_web::fuzzing::autodiscover(data);
    });
}
