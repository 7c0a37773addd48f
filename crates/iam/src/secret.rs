//! Secret values whose `Debug` output is redacted, so a stray `{:?}` cannot leak them.

use std::fmt;

use subtle::ConstantTimeEq;

/// A secret access key. `Debug` prints `SecretKey(<redacted>)`; read it with [`SecretKey::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

/// A session token of temporary credentials, redacted like [`SecretKey`].
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SecretKey {
    pub fn new(value: impl Into<String>) -> Self {
        SecretKey(value.into())
    }
    /// The secret itself, for signing or for handing to its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl SessionToken {
    pub fn new(value: impl Into<String>) -> Self {
        SessionToken(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Constant-time comparison with a presented token.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let t = SessionToken::new("tok-123");
        let shown = format!("{s:?} {t:?} {:?}", Some(&s));
        assert!(
            !shown.contains("wJalr") && !shown.contains("tok-123"),
            "{shown}"
        );
        assert!(t.matches("tok-123") && !t.matches("tok-124") && !t.matches("tok-12"));
    }
}
