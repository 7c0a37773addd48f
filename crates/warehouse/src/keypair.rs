//! Key-pair authentication as Snowflake defines it: a user's RSA public keys (`RSA_PUBLIC_KEY`,
//! `RSA_PUBLIC_KEY_2`, base64 DER `SubjectPublicKeyInfo`) with their `SHA256:` fingerprints, and
//! the RS256 JWT a client signs with the private key: issuer `<ACCOUNT>.<USER>.SHA256:<fingerprint>`,
//! subject `<ACCOUNT>.<USER>`, `iat` and `exp` at most an hour apart.
//!
//! A refused token gets one answer whatever was wrong (`JWT token is invalid. [<id>]`); the
//! reason goes to the server's log under the same id, never to the caller.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::catalog::{now, UserRecord};
use crate::{random, Warehouse, WarehouseError};

/// The longest a JWT may live (`exp - iat`), as Snowflake allows.
pub const MAX_LIFETIME_SECS: i64 = 3600;
/// Clock difference tolerated between client and server for `iat` and `exp`.
const SKEW_SECS: i64 = 60;

/// A public key as `alter user ... set rsa_public_key = '...'` stores it: base64 of the DER
/// `SubjectPublicKeyInfo`, PEM armour and white space removed, checked to be RSA of 2048 to
/// 8192 bits.
pub fn normalize_public_key(given: &str) -> Result<String, WarehouseError> {
    let body: String = given
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let bad = |why: &str| WarehouseError::Invalid(format!("Invalid RSA public key: {why}."));
    let der = base64::engine::general_purpose::STANDARD.decode(&body).map_err(|_| bad("it is not base64"))?;
    aws_lc_rs::rsa::PublicEncryptingKey::from_der(&der).map_err(|e| bad(&format!("not an RSA SubjectPublicKeyInfo of 2048 to 8192 bits ({e})")))?;
    Ok(body)
}

/// `SHA256:<base64 of the SHA-256 of the DER key>` for a key stored by [`normalize_public_key`].
pub fn fingerprint(stored: &str) -> Option<String> {
    let der = base64::engine::general_purpose::STANDARD.decode(stored).ok()?;
    Some(format!("SHA256:{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(der))))
}

/// The claims recpipe reads.
#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    iat: i64,
    exp: i64,
}

/// Why a token was refused: for the log only.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    Malformed(&'static str),
    Algorithm(String),
    Subject,
    Account,
    Expired,
    NotYetValid,
    TooLong,
    UnknownUser,
    Disabled,
    NoKey,
    Fingerprint,
    Signature,
    /// The login names another user than the token's subject.
    OtherUser,
    /// The catalog could not be read.
    Lookup(String),
}

fn b64url(part: &str) -> Result<Vec<u8>, Refused> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).map_err(|_| Refused::Malformed("a part is not base64url"))
}

/// The token's parts, before anything is looked up: (signed text, signature, user as named by
/// the subject, account, fingerprint, claims).
struct Parsed<'a> {
    signed: &'a str,
    signature: Vec<u8>,
    account: String,
    user: String,
    fingerprint: String,
    claims: Claims,
}

fn parse(token: &str) -> Result<Parsed<'_>, Refused> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Refused::Malformed("not three dot-separated parts"));
    };
    let header: serde_json::Value = serde_json::from_slice(&b64url(h)?).map_err(|_| Refused::Malformed("the header is not JSON"))?;
    match header.get("alg").and_then(|a| a.as_str()) {
        Some("RS256") => {}
        other => return Err(Refused::Algorithm(other.unwrap_or("none").to_string())),
    }
    let claims: Claims = serde_json::from_slice(&b64url(p)?).map_err(|_| Refused::Malformed("the claims lack iss, sub, iat or exp"))?;
    let (prefix, fingerprint) = claims.iss.rsplit_once(".SHA256:").ok_or(Refused::Malformed("the issuer has no SHA256 fingerprint"))?;
    if !prefix.eq_ignore_ascii_case(&claims.sub) {
        return Err(Refused::Subject);
    }
    let (account, user) = claims.sub.split_once('.').ok_or(Refused::Malformed("the subject is not ACCOUNT.USER"))?;
    let (account, user, fingerprint) = (account.to_uppercase(), user.to_uppercase(), format!("SHA256:{fingerprint}"));
    let signed = &token.trim()[..h.len() + 1 + p.len()];
    Ok(Parsed { signed, signature: b64url(s)?, account, user, fingerprint, claims })
}

/// Checks `token` for `user` (its record, if the user exists) at time `at`.
fn check(p: &Parsed<'_>, user: Option<&UserRecord>, expected_account: Option<&str>, at: i64) -> Result<(), Refused> {
    if expected_account.is_some_and(|a| !a.split('.').next().unwrap_or(a).eq_ignore_ascii_case(&p.account)) {
        return Err(Refused::Account);
    }
    let c = &p.claims;
    if c.exp - c.iat > MAX_LIFETIME_SECS {
        return Err(Refused::TooLong);
    }
    if c.exp + SKEW_SECS <= at {
        return Err(Refused::Expired);
    }
    if c.iat > at + SKEW_SECS {
        return Err(Refused::NotYetValid);
    }
    let user = user.ok_or(Refused::UnknownUser)?;
    if user.disabled() {
        return Err(Refused::Disabled);
    }
    let keys: Vec<&str> = ["RSA_PUBLIC_KEY", "RSA_PUBLIC_KEY_2"].iter().filter_map(|k| user.prop(k)).collect();
    if keys.is_empty() {
        return Err(Refused::NoKey);
    }
    let key = keys
        .into_iter()
        .find(|k| fingerprint(k).is_some_and(|f| subtle_eq(f.as_bytes(), p.fingerprint.as_bytes())))
        .ok_or(Refused::Fingerprint)?;
    let der = base64::engine::general_purpose::STANDARD.decode(key).map_err(|_| Refused::NoKey)?;
    aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, der)
        .verify(p.signed.as_bytes(), &p.signature)
        .map_err(|_| Refused::Signature)
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Warehouse {
    /// The user a key-pair JWT authenticates, or the one refusal for every reason. For the
    /// connector, `expected_account` and `expected_user` are the account and user the client
    /// logs in to.
    pub fn authenticate_jwt(&self, token: &str, expected_account: Option<&str>, expected_user: Option<&str>) -> Result<String, WarehouseError> {
        let outcome = parse(token).map_err(|r| (r, None)).and_then(|p| {
            if expected_user.is_some_and(|u| !u.eq_ignore_ascii_case(&p.user)) {
                return Err((Refused::OtherUser, Some(p.user.clone())));
            }
            let user = self.catalog().user_record(&p.user).map_err(|e| (Refused::Lookup(e.to_string()), Some(p.user.clone())))?;
            check(&p, user.as_ref(), expected_account, now()).map_err(|r| (r, Some(p.user.clone())))?;
            Ok(p.user)
        });
        outcome.map_err(|(why, user)| {
            let id = random::uuid();
            eprintln!("key-pair login refused [{id}]: user {}: {why:?}", user.as_deref().unwrap_or("?"));
            WarehouseError::JwtInvalid(id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair as _;
    use std::collections::BTreeMap;

    pub(crate) struct Key(aws_lc_rs::rsa::KeyPair);

    impl Key {
        pub(crate) fn new() -> Key {
            Key(aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap())
        }

        pub(crate) fn public_b64(&self) -> String {
            let der = self.0.public_key().as_der().unwrap();
            base64::engine::general_purpose::STANDARD.encode(der.as_ref())
        }

        pub(crate) fn jwt(&self, account: &str, user: &str, iat: i64, exp: i64) -> String {
            let fp = fingerprint(&self.public_b64()).unwrap();
            let enc = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            let head = enc(&serde_json::json!({"alg": "RS256", "typ": "JWT"}));
            let claims = enc(&serde_json::json!({"iss": format!("{account}.{user}.{fp}"), "sub": format!("{account}.{user}"), "iat": iat, "exp": exp}));
            let signed = format!("{head}.{claims}");
            let mut sig = vec![0; self.0.public_modulus_len()];
            self.0.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), signed.as_bytes(), &mut sig).unwrap();
            format!("{signed}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig))
        }
    }

    fn user(keys: &[&Key], disabled: bool) -> UserRecord {
        let mut props = BTreeMap::new();
        for (k, name) in keys.iter().zip(["RSA_PUBLIC_KEY", "RSA_PUBLIC_KEY_2"]) {
            props.insert(name.to_string(), k.public_b64());
        }
        if disabled {
            props.insert("DISABLED".into(), "true".into());
        }
        UserRecord { name: "SVC".into(), password_hash: String::new(), default_role: None, created: 0, props }
    }

    fn verdict(token: &str, u: Option<&UserRecord>, account: Option<&str>, at: i64) -> Result<(), Refused> {
        let p = parse(token)?;
        check(&p, u, account, at)
    }

    #[test]
    fn keys_are_normalized_and_fingerprinted() {
        let k = Key::new();
        let b64 = k.public_b64();
        let pem: String = format!("-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n", &b64[..64], &b64[64..]);
        assert_eq!(normalize_public_key(&pem).unwrap(), b64);
        let fp = fingerprint(&b64).unwrap();
        assert!(fp.starts_with("SHA256:") && fp.len() == 7 + 44, "{fp}");
        assert!(normalize_public_key("bm90IGEga2V5").unwrap_err().to_string().contains("Invalid RSA public key"));
        assert!(normalize_public_key("%%").is_err());
    }

    #[test]
    fn a_jwt_passes_only_for_its_user_key_and_lifetime() {
        let (k1, k2, other) = (Key::new(), Key::new(), Key::new());
        let t = 1_700_000_000;
        let good = k1.jwt("RECPIPE", "SVC", t, t + 3600);
        assert_eq!(verdict(&good, Some(&user(&[&k1], false)), Some("recpipe"), t + 10), Ok(()));
        // The second key slot works as the first (rotation).
        assert_eq!(verdict(&k2.jwt("RECPIPE", "SVC", t, t + 60), Some(&user(&[&k1, &k2], false)), None, t), Ok(()));
        assert_eq!(verdict(&good, Some(&user(&[&k1], false)), None, t + 3600 + SKEW_SECS), Err(Refused::Expired));
        assert_eq!(verdict(&k1.jwt("RECPIPE", "SVC", t, t + 3601), Some(&user(&[&k1], false)), None, t), Err(Refused::TooLong));
        assert_eq!(verdict(&k1.jwt("RECPIPE", "SVC", t + 600, t + 900), Some(&user(&[&k1], false)), None, t), Err(Refused::NotYetValid));
        assert_eq!(verdict(&other.jwt("RECPIPE", "SVC", t, t + 60), Some(&user(&[&k1], false)), None, t), Err(Refused::Fingerprint));
        assert_eq!(verdict(&good, Some(&user(&[&k1], true)), None, t), Err(Refused::Disabled));
        assert_eq!(verdict(&good, Some(&user(&[], false)), None, t), Err(Refused::NoKey));
        assert_eq!(verdict(&good, None, None, t), Err(Refused::UnknownUser));
        assert_eq!(verdict(&good, Some(&user(&[&k1], false)), Some("elsewhere"), t), Err(Refused::Account));
        // A signature moved onto other claims does not verify.
        let forged = k1.jwt("RECPIPE", "SVC", t, t + 60);
        let (head_claims, _) = forged.rsplit_once('.').unwrap();
        let (_, sig) = good.rsplit_once('.').unwrap();
        assert_eq!(verdict(&format!("{head_claims}.{sig}"), Some(&user(&[&k1], false)), None, t), Err(Refused::Signature));
        assert!(matches!(verdict("a.b", None, None, t), Err(Refused::Malformed(_))));
        let none_alg = format!("{}.{}.", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), good.split('.').nth(1).unwrap());
        assert!(matches!(verdict(&none_alg, Some(&user(&[&k1], false)), None, t), Err(Refused::Algorithm(_))));
    }
}
