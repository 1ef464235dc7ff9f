//! The console's one stylesheet and its small script, built into the
//! binary and served under names that hold a hash of their content, so
//! browsers may cache them for a year and still see every change.

pub const CSS: &str = include_str!("assets/console.css");
pub const JS: &str = include_str!("assets/console.js");

/// FNV-1a (64-bit): enough to tell versions of our own files apart.
const fn fnv(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < b.len() {
        h ^= b[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

const CSS_HASH: u64 = fnv(CSS);
const JS_HASH: u64 = fnv(JS);

/// The stylesheet's path, `/static/console-<hash>.css`.
pub fn css_path() -> String {
    format!("/static/console-{CSS_HASH:016x}.css")
}

/// The script's path, `/static/console-<hash>.js`.
pub fn js_path() -> String {
    format!("/static/console-{JS_HASH:016x}.js")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_paths_carry_a_hash_of_their_content() {
        assert!(css_path().starts_with("/static/console-") && css_path().ends_with(".css"));
        assert_ne!(fnv(CSS), fnv("body{}"));
        assert_eq!(css_path().len(), "/static/console-".len() + 16 + 4);
    }
}
