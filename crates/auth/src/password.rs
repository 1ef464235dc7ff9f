//! Argon2id password hashing and verification (PHC strings), and the dummy
//! hash verified for unknown users so that timing does not reveal who exists.
//!
//! These functions are CPU-heavy and synchronous: async code calls them
//! through `Directory`, which runs them on the blocking pool under a bound.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use crate::{AuthError, Secret};

/// An argon2id hash, with the default parameters `hash_password` uses, of a
/// random password nobody knows (it was discarded after hashing). Verifying
/// against it costs what verifying a real user's default hash costs, and it
/// never succeeds.
pub(crate) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$/qKqbOVnO4W/Wu+k/pG2MQ$xyNQLLLAmsqgF0Bt3v7q2303dAKlS43BfZlUGkZa1Sk";

/// Hashes a password as an argon2id PHC string (`$argon2id$v=19$m=19456,...`)
/// with the crate's default parameters and a 16-byte salt from the operating
/// system's random number generator.
pub fn hash_password(pw: &Secret<String>) -> Result<String, AuthError> {
    hash_with(Params::DEFAULT, pw)
}

/// Hashes with the cheapest parameters argon2 allows (8 KiB, one pass).
///
/// For tests only, here and in other crates, where default-cost hashes would
/// make suites slow. Never store such a hash for a real user.
#[doc(hidden)]
pub fn hash_password_cheap_for_tests(pw: &Secret<String>) -> Result<String, AuthError> {
    let params = Params::new(
        Params::MIN_M_COST,
        Params::MIN_T_COST,
        Params::MIN_P_COST,
        None,
    )
    .map_err(|e| AuthError::Hash(e.to_string()))?;
    hash_with(params, pw)
}

/// Hashes `pw` with argon2id v19 and the given parameters.
fn hash_with(params: Params, pw: &Secret<String>) -> Result<String, AuthError> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let phc = argon
        .hash_password(pw.expose().as_bytes())
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    Ok(phc.to_string())
}

/// Checks `pw` against a PHC string. The parameters (and variant: argon2id,
/// argon2i or argon2d) come from the string. A string that does not parse
/// is a mismatch, never a panic.
pub fn verify_password(phc: &str, pw: &Secret<String>) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(pw.expose().as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret<String> {
        Secret::new(s.to_owned())
    }

    #[test]
    fn default_hash_is_argon2id_and_verifies() -> Result<(), AuthError> {
        let phc = hash_password(&secret("correct horse"))?;
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password(&phc, &secret("correct horse")));
        Ok(())
    }

    #[test]
    fn wrong_password_does_not_verify() -> Result<(), AuthError> {
        let phc = hash_password_cheap_for_tests(&secret("right"))?;
        assert!(verify_password(&phc, &secret("right")));
        assert!(!verify_password(&phc, &secret("wrong")));
        assert!(!verify_password(&phc, &secret("")));
        assert!(!verify_password(&phc, &secret("right ")));
        Ok(())
    }

    #[test]
    fn two_hashes_of_one_password_differ_by_salt() -> Result<(), AuthError> {
        let a = hash_password_cheap_for_tests(&secret("pw"))?;
        let b = hash_password_cheap_for_tests(&secret("pw"))?;
        assert_ne!(a, b);
        Ok(())
    }

    #[test]
    fn garbage_phc_strings_do_not_verify() {
        for phc in [
            "",
            "plain",
            "$argon2id$",
            "$argon2id$v=19$m=8,t=1,p=1$",
            "$bcrypt$x$y",
        ] {
            assert!(!verify_password(phc, &secret("pw")), "{phc:?}");
        }
    }

    #[test]
    fn dummy_hash_has_default_cost_and_never_verifies() {
        let parsed = PasswordHash::new(DUMMY_HASH).expect("DUMMY_HASH is a valid PHC string");
        let params = Params::try_from(&parsed).expect("DUMMY_HASH has argon2 params");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert_eq!(params.m_cost(), Params::DEFAULT_M_COST);
        assert_eq!(params.t_cost(), Params::DEFAULT_T_COST);
        assert_eq!(params.p_cost(), Params::DEFAULT_P_COST);
        assert!(!verify_password(DUMMY_HASH, &secret("")));
    }
}
