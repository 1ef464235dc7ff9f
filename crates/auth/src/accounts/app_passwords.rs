//! App passwords and recovery codes: generation from the operating system's
//! CSPRNG, the forms users may type them in, and their hashes.
//!
//! Both are random, high-entropy strings we generate, never chosen by a
//! person, so they are stored as a plain SHA-256 (domain-separated) rather
//! than argon2: argon2's cost defends weak human passwords against offline
//! guessing, and 100 random bits cannot be guessed offline at any hash
//! speed (2^100 SHA-256 at 10^12 per second is ~4·10^10 years). A fast,
//! unsalted hash also lets a login find the app password by one indexed
//! lookup instead of running argon2 once per app password the user has.

use sha2::{Digest, Sha256};

use crate::Secret;

/// 32 symbols without the look-alikes `l`, `o`, `0`, `1`: each carries 5
/// bits, and 256 is a multiple of 32, so masking a random byte is unbiased.
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// Symbols in an app password: 20 × 5 = 100 bits.
const APP_PASSWORD_LEN: usize = 20;
/// Symbols in a recovery code: 10 × 5 = 50 bits, enough for a code that is
/// typed once and checked behind the login throttle.
const RECOVERY_CODE_LEN: usize = 10;

/// `len` random symbols from [`ALPHABET`], in groups of `group` joined by
/// `-` for reading aloud and typing.
fn random_symbols(len: usize, group: usize) -> String {
    // `rand::random` draws from the thread's ChaCha CSPRNG, seeded and
    // periodically reseeded from the operating system.
    let bytes: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
    let mut out = String::with_capacity(len + len / group);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % group == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    out
}

/// A new app password as shown to the user once: `abcd-efgh-ijkm-npqr-stuv`.
pub fn generate_app_password() -> Secret<String> {
    Secret::new(random_symbols(APP_PASSWORD_LEN, 4))
}

/// A new recovery code as shown to the user once: `abcde-fghij`.
pub fn generate_recovery_code() -> Secret<String> {
    Secret::new(random_symbols(RECOVERY_CODE_LEN, 5))
}

/// The canonical form of something typed as a generated secret of `len`
/// symbols: dashes and spaces dropped, lowercased; `None` when what is left
/// is not `len` symbols of the alphabet (so it is not one of ours).
fn canonical(typed: &str, len: usize) -> Option<String> {
    let s: String = typed
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (s.len() == len && s.bytes().all(|b| ALPHABET.contains(&b))).then_some(s)
}

/// The hash `sha256:HEX` of `canonical` under the purpose `label`.
fn hash(label: &str, canonical: &str) -> String {
    let mut h = Sha256::new();
    h.update(label.as_bytes());
    h.update([0]);
    h.update(canonical.as_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The stored hash of a typed app password, or `None` when it cannot be an
/// app password (then only the account password is checked).
pub fn app_password_hash(typed: &Secret<String>) -> Option<String> {
    canonical(typed.expose(), APP_PASSWORD_LEN).map(|c| hash("postern app password v1", &c))
}

/// The stored hash of a typed recovery code, or `None` when it cannot be one.
pub fn recovery_code_hash(typed: &str) -> Option<String> {
    canonical(typed, RECOVERY_CODE_LEN).map(|c| hash("postern recovery code v1", &c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_passwords_are_five_groups_of_four_and_hash_in_any_typed_form() {
        let pw = generate_app_password();
        let s = pw.expose();
        assert_eq!(s.len(), 24, "{s}");
        assert!(s.split('-').all(|g| g.len() == 4), "{s}");
        let h = app_password_hash(&pw).expect("ours");
        let squashed = Secret::new(s.replace('-', " ").to_uppercase());
        assert_eq!(app_password_hash(&squashed), Some(h.clone()));
        assert_ne!(generate_app_password().expose(), s);
        assert!(h.starts_with("sha256:") && h.len() == 71, "{h}");
    }

    #[test]
    fn ordinary_passwords_are_not_taken_for_app_passwords() {
        for typed in [
            "hunter2",
            "",
            "abcd-efgh-ijkm-npqr-stu1",
            "abcdefghijkmnpqrstuvw",
        ] {
            assert_eq!(
                app_password_hash(&Secret::new(typed.into())),
                None,
                "{typed}"
            );
        }
    }

    #[test]
    fn recovery_codes_and_app_passwords_hash_apart() {
        let code = generate_recovery_code();
        assert_eq!(code.expose().len(), 11);
        let h = recovery_code_hash(code.expose()).expect("ours");
        assert_eq!(recovery_code_hash(&code.expose().to_uppercase()), Some(h));
        assert_eq!(recovery_code_hash("123456"), None);
        // The same symbols under the two purposes give different hashes.
        let twenty = "abcdeabcdeabcdeabcde";
        assert_ne!(
            app_password_hash(&Secret::new(twenty.into())),
            Some(hash("postern recovery code v1", twenty))
        );
    }
}
