//! JSON Web Tokens (RFC 7519) signed with a key of the issuer's JWKS
//! (RFC 7517), verified with aws-lc-rs: the compact form parsed, the
//! algorithm checked against a fixed list of asymmetric ones (never `none`,
//! never HMAC: RFC 8725 §2.1 and §3.1), the key chosen by `kid` and by type,
//! and the claims checked (`iss`, `aud`, `exp`, `nbf`, the user claim).

use aws_lc_rs::signature::{self, RsaParameters, UnparsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

/// Base64url as JOSE writes it (RFC 7515 §2: no padding); padding is
/// tolerated in JWK members, which some issuers add.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The signature algorithms accepted (RFC 7518 §3.1 names). Anything else,
/// `none` and `HS*` included, is refused before any key is looked at: an
/// HMAC "verified" with a public key would let anyone who knows the key
/// (everyone) sign tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    EdDsa,
}

impl Alg {
    fn from_name(name: &str) -> Option<Alg> {
        Some(match name {
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "PS256" => Alg::Ps256,
            "PS384" => Alg::Ps384,
            "PS512" => Alg::Ps512,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            "EdDSA" => Alg::EdDsa,
            _ => return None,
        })
    }

    fn rsa(self) -> Option<&'static RsaParameters> {
        Some(match self {
            Alg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Alg::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Alg::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Alg::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
            Alg::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
            Alg::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
            _ => return None,
        })
    }
}

/// A public key of the JWKS, in the form aws-lc-rs verifies with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyMaterial {
    /// Modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed P-256 point (`04 || x || y`).
    P256(Vec<u8>),
    /// An uncompressed P-384 point.
    P384(Vec<u8>),
    /// 32 octets.
    Ed25519(Vec<u8>),
}

/// One signing key of the JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Jwk {
    pub kid: Option<String>,
    /// The algorithm the key is limited to, when the JWKS says.
    pub alg: Option<String>,
    pub material: KeyMaterial,
}

impl Jwk {
    /// Whether this key may check a signature made with `alg`.
    fn fits(&self, alg: Alg, name: &str) -> bool {
        if self.alg.as_deref().is_some_and(|a| a != name) {
            return false;
        }
        match &self.material {
            KeyMaterial::Rsa { .. } => alg.rsa().is_some(),
            KeyMaterial::P256(_) => alg == Alg::Es256,
            KeyMaterial::P384(_) => alg == Alg::Es384,
            KeyMaterial::Ed25519(_) => alg == Alg::EdDsa,
        }
    }

    fn verify(&self, alg: Alg, message: &[u8], sig: &[u8]) -> bool {
        let unparsed = |a: &'static dyn VerificationAlgorithm, key: &[u8]| {
            UnparsedPublicKey::new(a, key).verify(message, sig).is_ok()
        };
        match (&self.material, alg) {
            (KeyMaterial::Rsa { n, e }, _) => alg.rsa().is_some_and(|params| {
                signature::RsaPublicKeyComponents { n, e }
                    .verify(params, message, sig)
                    .is_ok()
            }),
            (KeyMaterial::P256(p), Alg::Es256) => unparsed(&signature::ECDSA_P256_SHA256_FIXED, p),
            (KeyMaterial::P384(p), Alg::Es384) => unparsed(&signature::ECDSA_P384_SHA384_FIXED, p),
            (KeyMaterial::Ed25519(k), Alg::EdDsa) => unparsed(&signature::ED25519, k),
            _ => false,
        }
    }
}

/// The signing keys of a JWKS document (RFC 7517 §5). Keys for
/// encryption (`use: enc`), of unknown types or curves, or malformed, are
/// skipped: an issuer may publish them beside the ones we use.
pub(crate) fn parse_jwks(doc: &Value) -> Result<Vec<Jwk>, String> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("JWKS has no \"keys\" array")?;
    Ok(keys.iter().filter_map(parse_jwk).collect())
}

fn parse_jwk(key: &Value) -> Option<Jwk> {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    let bytes = |name: &str| text(name).and_then(|s| B64URL.decode(s).ok());
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let material = match (text("kty")?, text("crv")) {
        ("RSA", _) => KeyMaterial::Rsa {
            n: bytes("n")?,
            e: bytes("e")?,
        },
        ("EC", Some(crv @ ("P-256" | "P-384"))) => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            let len = if crv == "P-256" { 32 } else { 48 };
            if x.len() != len || y.len() != len {
                return None;
            }
            let point = [&[4u8][..], &x, &y].concat();
            if crv == "P-256" {
                KeyMaterial::P256(point)
            } else {
                KeyMaterial::P384(point)
            }
        }
        ("OKP", Some("Ed25519")) => KeyMaterial::Ed25519(bytes("x").filter(|x| x.len() == 32)?),
        _ => return None,
    };
    Some(Jwk {
        kid: text("kid").map(str::to_owned),
        alg: text("alg").map(str::to_owned),
        material,
    })
}

/// A token split and decoded, its signature not checked yet.
#[derive(Debug)]
pub(crate) struct Unverified<'a> {
    alg: Alg,
    alg_name: String,
    pub kid: Option<String>,
    /// `header.payload` as sent: what the signature covers.
    signing_input: &'a [u8],
    signature: Vec<u8>,
    pub claims: Map<String, Value>,
}

/// Splits and decodes a compact JWS (RFC 7515 §7.1). Refuses other
/// algorithms than [`Alg`]'s and headers with `crit` (RFC 7515 §4.1.11:
/// we understand no extension).
pub(crate) fn parse(token: &str) -> Result<Unverified<'_>, String> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWS (three dot-separated parts)".into());
    };
    let decode = |part: &str, what: &str| {
        B64URL
            .decode(part)
            .map_err(|_| format!("{what} is not base64url"))
    };
    let header: Map<String, Value> = serde_json::from_slice(&decode(h, "header")?)
        .map_err(|_| "header is not a JSON object".to_string())?;
    let claims: Map<String, Value> = serde_json::from_slice(&decode(p, "payload")?)
        .map_err(|_| "payload is not a JSON object".to_string())?;
    let signature = decode(s, "signature")?;
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or("header has no alg")?
        .to_owned();
    let alg = Alg::from_name(&alg_name).ok_or_else(|| format!("algorithm {alg_name:?} refused"))?;
    if header.contains_key("crit") {
        return Err("header has crit extensions".into());
    }
    Ok(Unverified {
        alg,
        alg_name,
        kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
        signing_input: &token.as_bytes()[..h.len() + 1 + p.len()],
        signature,
        claims,
    })
}

impl Unverified<'_> {
    /// Whether any key of `keys` that may be the signer verifies the
    /// signature. With a `kid`, only keys with that `kid` are tried; without,
    /// every key of the right type. `None` when no key could be the signer
    /// (the caller may refetch the JWKS).
    pub(crate) fn verify_with(&self, keys: &[Jwk]) -> Option<bool> {
        let mut candidates = keys
            .iter()
            .filter(|k| self.kid.is_none() || k.kid == self.kid)
            .filter(|k| k.fits(self.alg, &self.alg_name))
            .peekable();
        candidates.peek()?;
        Some(candidates.any(|k| k.verify(self.alg, self.signing_input, &self.signature)))
    }
}

/// How strictly [`check_claims`] wants the registered claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Presence {
    /// A JWT must carry `iss`, `aud` and `exp`.
    Required,
    /// An introspection answer (RFC 7662 §2.2) may leave them out; those
    /// present are checked.
    IfPresent,
}

/// What the claims must say.
pub(crate) struct Expect<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub user_claim: &'a str,
    pub leeway_secs: i64,
    pub now_secs: i64,
}

/// Checks `iss`, `aud`, `exp` and `nbf` and returns the user claim.
pub(crate) fn check_claims(
    claims: &Map<String, Value>,
    expect: &Expect<'_>,
    presence: Presence,
) -> Result<String, String> {
    let required = presence == Presence::Required;
    match claims.get("iss") {
        Some(Value::String(iss)) if iss == expect.issuer => {}
        None if !required => {}
        other => return Err(format!("iss {other:?} is not the issuer")),
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == expect.audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expect.audience)),
        None => !required,
        Some(_) => false,
    };
    if !audience_ok {
        return Err(format!("aud {:?} lacks the audience", claims.get("aud")));
    }
    let time = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(|t| Some(t as i64))
            .ok_or_else(|| format!("{name} is not a number")),
    };
    match time("exp")? {
        // RFC 7519 §4.1.4: not accepted on or after exp.
        Some(exp) if expect.now_secs >= exp.saturating_add(expect.leeway_secs) => {
            return Err("expired".into());
        }
        None if required => return Err("no exp".into()),
        _ => {}
    }
    if let Some(nbf) = time("nbf")?
        && expect.now_secs.saturating_add(expect.leeway_secs) < nbf
    {
        return Err("not valid yet (nbf)".into());
    }
    match claims.get(expect.user_claim) {
        Some(Value::String(user)) if !user.is_empty() => Ok(user.clone()),
        _ => Err(format!("no string claim {:?}", expect.user_claim)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};

    fn b64(bytes: &[u8]) -> String {
        B64URL.encode(bytes)
    }

    fn es256() -> (EcdsaKeyPair, Jwk) {
        let kp = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).expect("key");
        let jwk = Jwk {
            kid: Some("k1".into()),
            alg: None,
            material: KeyMaterial::P256(kp.public_key().as_ref().to_vec()),
        };
        (kp, jwk)
    }

    fn signed(kp: &EcdsaKeyPair, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = kp
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("sign");
        format!("{input}.{}", b64(sig.as_ref()))
    }

    #[test]
    fn a_signed_token_verifies_with_its_key_only() {
        let (kp, jwk) = es256();
        let (_, other) = es256();
        let token = signed(
            &kp,
            &serde_json::json!({"alg":"ES256","kid":"k1"}),
            &serde_json::json!({"a":1}),
        );
        let jwt = parse(&token).expect("parses");
        assert_eq!(jwt.verify_with(std::slice::from_ref(&jwk)), Some(true));
        assert_eq!(jwt.verify_with(std::slice::from_ref(&other)), Some(false));
        let unnamed = Jwk {
            kid: Some("k2".into()),
            ..jwk.clone()
        };
        assert_eq!(jwt.verify_with(&[unnamed]), None, "no key with that kid");
        // A changed payload no longer verifies.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64(br#"{"a":2}"#);
        parts[1] = &forged;
        let forged = parts.join(".");
        assert_eq!(
            parse(&forged).expect("parses").verify_with(&[jwk]),
            Some(false)
        );
    }

    #[test]
    fn none_and_hmac_and_crit_are_refused_before_any_key() {
        for header in [
            serde_json::json!({"alg":"none"}),
            serde_json::json!({"alg":"HS256"}),
            serde_json::json!({"alg":"hs256"}),
            serde_json::json!({}),
            serde_json::json!({"alg":"ES256","crit":["exp"]}),
        ] {
            let token = format!("{}.{}.", b64(header.to_string().as_bytes()), b64(b"{}"));
            assert!(parse(&token).is_err(), "{header}");
        }
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.",
            "e30.!!.",
            "e30.e30.!!",
            "W10.e30.",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_types_match_their_algorithms() {
        let (kp, p256) = es256();
        let ed = Ed25519KeyPair::generate().expect("ed25519");
        let ed_jwk = Jwk {
            kid: None,
            alg: None,
            material: KeyMaterial::Ed25519(ed.public_key().as_ref().to_vec()),
        };
        let token = signed(
            &kp,
            &serde_json::json!({"alg":"ES256"}),
            &serde_json::json!({}),
        );
        let jwt = parse(&token).expect("parses");
        assert_eq!(jwt.verify_with(std::slice::from_ref(&ed_jwk)), None);
        let limited = Jwk {
            alg: Some("ES384".into()),
            ..p256.clone()
        };
        assert_eq!(
            jwt.verify_with(&[limited]),
            None,
            "key limited to another alg"
        );
        assert_eq!(jwt.verify_with(&[ed_jwk, p256]), Some(true));
        let input = format!("{}.{}", b64(br#"{"alg":"EdDSA"}"#), b64(b"{}"));
        let token = format!("{input}.{}", b64(ed.sign(input.as_bytes()).as_ref()));
        let ed_jwk = Jwk {
            kid: None,
            alg: None,
            material: KeyMaterial::Ed25519(ed.public_key().as_ref().to_vec()),
        };
        assert_eq!(
            parse(&token).expect("parses").verify_with(&[ed_jwk]),
            Some(true)
        );
    }

    #[test]
    fn jwks_documents_keep_signing_keys_of_known_types() {
        let (_, jwk) = es256();
        let KeyMaterial::P256(point) = &jwk.material else {
            unreachable!()
        };
        let (x, y) = (b64(&point[1..33]), b64(&point[33..]));
        let doc = serde_json::json!({"keys":[
            {"kty":"EC","crv":"P-256","x":x,"y":y,"kid":"k1"},
            {"kty":"EC","crv":"P-256","x":x,"y":y,"kid":"enc","use":"enc"},
            {"kty":"EC","crv":"P-521","x":x,"y":y},
            {"kty":"EC","crv":"P-256","x":"AA","y":y},
            {"kty":"oct","k":"c2VjcmV0"},
            {"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r","alg":"RS256"},
            {"kty":"RSA","n":"AQAB"},
            "junk"
        ]});
        let keys = parse_jwks(&doc).expect("parses");
        let kids: Vec<_> = keys.iter().map(|k| k.kid.as_deref()).collect();
        assert_eq!(kids, [Some("k1"), Some("r")]);
        assert_eq!(keys[0], jwk);
        assert!(parse_jwks(&serde_json::json!({})).is_err());
        assert!(parse_jwks(&serde_json::json!({"keys": "k"})).is_err());
    }

    fn expect(now: i64) -> Expect<'static> {
        Expect {
            issuer: "https://id.example",
            audience: "mail",
            user_claim: "email",
            leeway_secs: 30,
            now_secs: now,
        }
    }

    #[test]
    fn claims_table() {
        let good =
            serde_json::json!({"iss":"https://id.example","aud":"mail","exp":1000,"email":"a@x"});
        let with = |k: &str, v: Value| {
            let mut c = good.as_object().expect("object").clone();
            c.insert(k.into(), v);
            c
        };
        let without = |k: &str| {
            let mut c = good.as_object().expect("object").clone();
            c.remove(k);
            c
        };
        use Presence::*;
        let ok = |c: &Map<String, Value>, now, p| check_claims(c, &expect(now), p).is_ok();
        let g = good.as_object().expect("object");
        assert!(ok(g, 999, Required));
        assert!(ok(g, 1029, Required), "within the leeway");
        assert!(!ok(g, 1030, Required), "past exp + leeway");
        assert!(ok(
            &with("aud", serde_json::json!(["x", "mail"])),
            0,
            Required
        ));
        assert!(!ok(&with("aud", serde_json::json!(["x"])), 0, Required));
        assert!(!ok(&with("aud", serde_json::json!("mail2")), 0, Required));
        assert!(!ok(&with("aud", serde_json::json!(5)), 0, Required));
        assert!(!ok(
            &with("iss", serde_json::json!("https://id.example/")),
            0,
            Required
        ));
        assert!(!ok(&with("exp", serde_json::json!("1000")), 0, Required));
        assert!(ok(&with("nbf", serde_json::json!(120)), 90, Required));
        assert!(!ok(&with("nbf", serde_json::json!(120)), 89, Required));
        assert!(!ok(&with("email", serde_json::json!("")), 0, Required));
        assert!(!ok(&with("email", serde_json::json!(["a@x"])), 0, Required));
        for k in ["iss", "aud", "exp"] {
            assert!(!ok(&without(k), 0, Required), "{k} required");
            assert!(ok(&without(k), 0, IfPresent), "{k} optional");
        }
        assert!(!ok(&without("email"), 0, IfPresent));
        assert!(!ok(
            &with("iss", serde_json::json!("https://evil")),
            0,
            IfPresent
        ));
        assert_eq!(check_claims(g, &expect(0), Required), Ok("a@x".to_owned()));
    }
}
