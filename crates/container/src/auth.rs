//! How the container proves who it is to a warehouse's SQL API: recpipe's own bearer token (the
//! control plane hands one to each job), or Snowflake's key-pair JWT, which a real Snowflake
//! account accepts from a service user: RS256 over `{"iss": "<ACCOUNT>.<USER>.SHA256:<fingerprint
//! of the public key>", "sub": "<ACCOUNT>.<USER>", "iat", "exp"}`, sent as `Authorization: Bearer
//! <JWT>` with `X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT`.
//!
//! The private key is read from a PEM file or an environment variable, kept in memory only as
//! the parsed key, and never printed: errors name the file, not its content.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use sha2::{Digest, Sha256};

/// A JWT is made for this long (Snowflake accepts at most an hour) and renewed when less than
/// [`RENEW_BEFORE`] of it is left.
const JWT_LIFETIME: Duration = Duration::from_secs(59 * 60);
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the private key {source_name} is not usable: {why}")]
    BadKey { source_name: String, why: String },
    #[error("reading the private key file {path}: {source}")]
    KeyFile { path: String, source: std::io::Error },
    #[error("key-pair authentication needs {0}")]
    Missing(&'static str),
}

/// A private RSA key and the identity it signs for.
pub struct KeyPairAuth {
    account: String,
    user: String,
    key: aws_lc_rs::rsa::KeyPair,
    fingerprint: String,
    current: Option<(String, SystemTime)>,
}

impl std::fmt::Debug for KeyPairAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPairAuth").field("account", &self.account).field("user", &self.user).field("fingerprint", &self.fingerprint).finish()
    }
}

/// The label and DER of the first PEM block in `pem` (or of the whole text as bare base64).
fn pem_body(pem: &str) -> Result<(String, Vec<u8>), String> {
    let mut label = String::new();
    let mut body = String::new();
    for line in pem.lines().map(str::trim) {
        if let Some(l) = line.strip_prefix("-----BEGIN ").and_then(|r| r.strip_suffix("-----")) {
            label = l.to_string();
            body.clear();
        } else if line.starts_with("-----END ") {
            break;
        } else {
            body.push_str(line);
        }
    }
    let der = base64::engine::general_purpose::STANDARD.decode(body.as_bytes()).map_err(|_| "it is not PEM (base64 between BEGIN and END lines)".to_string())?;
    Ok((label, der))
}

impl KeyPairAuth {
    /// Parses an unencrypted PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`)
    /// RSA key; `source_name` says where it came from, for messages.
    pub fn new(account: &str, user: &str, pem: &str, source_name: &str) -> Result<KeyPairAuth, AuthError> {
        let bad = |why: String| AuthError::BadKey { source_name: source_name.to_string(), why };
        let (label, der) = pem_body(pem).map_err(bad)?;
        let key = match label.as_str() {
            "ENCRYPTED PRIVATE KEY" => return Err(bad("it is encrypted; give the key unencrypted (openssl pkcs8 -topk8 -nocrypt)".into())),
            "RSA PRIVATE KEY" => aws_lc_rs::rsa::KeyPair::from_der(&der),
            _ => aws_lc_rs::rsa::KeyPair::from_pkcs8(&der),
        }
        .map_err(|e| bad(format!("not an RSA private key of 2048 bits or more ({e})")))?;
        let spki = key.public_key().as_der().map_err(|_| bad("its public key cannot be encoded".into()))?;
        let fingerprint = format!("SHA256:{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki.as_ref())));
        Ok(KeyPairAuth { account: account.to_uppercase(), user: user.to_uppercase(), key, fingerprint, current: None })
    }

    /// The public key's fingerprint as Snowflake shows it (`RSA_PUBLIC_KEY_FP`).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// A JWT valid now, made anew when the last one is about to expire.
    pub fn jwt(&mut self) -> String {
        let now = SystemTime::now();
        if let Some((t, exp)) = &self.current {
            if exp.duration_since(now).is_ok_and(|left| left > RENEW_BEFORE) {
                return t.clone();
            }
        }
        let iat = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let token = self.sign(iat, iat + JWT_LIFETIME.as_secs());
        self.current = Some((token.clone(), now + JWT_LIFETIME));
        token
    }

    fn sign(&self, iat: u64, exp: u64) -> String {
        let enc = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let subject = format!("{}.{}", self.account, self.user);
        let head = enc(serde_json::json!({"alg": "RS256", "typ": "JWT"}));
        let claims = enc(serde_json::json!({"iss": format!("{subject}.{}", self.fingerprint), "sub": subject, "iat": iat, "exp": exp}));
        let signed = format!("{head}.{claims}");
        let mut sig = vec![0; self.key.public_modulus_len()];
        // Signing with a parsed key into a buffer of the modulus' length cannot fail.
        self.key
            .sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), signed.as_bytes(), &mut sig)
            .expect("RSA signing with a valid key");
        format!("{signed}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig))
    }
}

/// What a request carries to authenticate.
#[derive(Debug)]
pub enum Credentials {
    /// recpipe's bearer token.
    Token(String),
    KeyPair(Box<KeyPairAuth>),
}

impl Credentials {
    /// The request headers that authenticate it.
    pub fn headers(&mut self) -> Vec<(&'static str, String)> {
        match self {
            Credentials::Token(t) => vec![("authorization", format!("Bearer {t}"))],
            Credentials::KeyPair(k) => vec![("authorization", format!("Bearer {}", k.jwt())), ("x-snowflake-authorization-token-type", "KEYPAIR_JWT".into())],
        }
    }

    pub fn is_key_pair(&self) -> bool {
        matches!(self, Credentials::KeyPair(_))
    }
}

/// The account a Snowflake URL addresses: the first label of its host, upper case
/// (`https://myorg-myaccount.snowflakecomputing.com` → `MYORG-MYACCOUNT`).
pub fn account_of_url(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':']).next()?;
    let first = host.split('.').next()?;
    (!first.is_empty()).then(|| first.to_uppercase())
}

/// Reads a private key from `path` (errors name the file, never its content).
pub fn read_key_file(path: &str) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(|source| AuthError::KeyFile { path: path.to_string(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem_of(key: &aws_lc_rs::rsa::KeyPair) -> String {
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(key).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"))
    }

    #[test]
    fn a_jwt_names_the_account_user_and_key_and_is_reused_until_near_expiry() {
        let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let mut auth = KeyPairAuth::new("myorg-acct", "svc_user", &pem_of(&key), "test key").unwrap();
        let jwt = auth.jwt();
        assert_eq!(auth.jwt(), jwt, "reused while fresh");
        let parts: Vec<&str> = jwt.split('.').collect();
        let claims: serde_json::Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["sub"], "MYORG-ACCT.SVC_USER");
        assert_eq!(claims["iss"], format!("MYORG-ACCT.SVC_USER.{}", auth.fingerprint()));
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 59 * 60);
        let spki = key.public_key().as_der().unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, spki.as_ref()).verify(signed.as_bytes(), &sig).unwrap();
        auth.current = Some(("old".into(), SystemTime::now() + Duration::from_secs(60)));
        assert_ne!(auth.jwt(), "old", "renewed when about to expire");
    }

    #[test]
    fn bad_keys_are_refused_without_their_content() {
        let e = KeyPairAuth::new("a", "u", "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n", "/run/secrets/k.p8").unwrap_err().to_string();
        assert!(e.contains("/run/secrets/k.p8") && !e.contains("c2VjcmV0"), "{e}");
        let e = KeyPairAuth::new("a", "u", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "k").unwrap_err().to_string();
        assert!(e.contains("encrypted"), "{e}");
        assert_eq!(account_of_url("https://myorg-acct.snowflakecomputing.com").as_deref(), Some("MYORG-ACCT"));
        assert_eq!(account_of_url("http://127.0.0.1:4747").as_deref(), Some("127"));
    }
}
