//! Users' passwords (Argon2id, PHC strings) and login tokens (random, stored as SHA-256 only,
//! expiring).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

use crate::catalog::now;
use crate::engine::Warehouse;
use crate::{random, WarehouseError};

pub fn hash_password(password: &str) -> Result<String, WarehouseError> {
    let salt = SaltString::encode_b64(&random::bytes(16))
        .map_err(|e| WarehouseError::Internal(format!("password salt: {e}")))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| WarehouseError::Internal(format!("password hash: {e}")))?
        .to_string())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A hash no password matches, checked in place of a missing one.
fn stand_in_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random::hex_id(16)).unwrap_or_default())
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A bearer token handed out by [`Warehouse::login`].
#[derive(Debug, Clone)]
pub struct Token {
    pub token: String,
    pub user: String,
    pub role: String,
    pub expires_at: i64,
    pub validity_secs: i64,
}

/// Who a valid token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub role: String,
}

impl Warehouse {
    /// Checks a user's password and issues a token (one message for unknown user and bad
    /// password).
    pub fn login(&self, user: &str, password: &str) -> Result<Token, WarehouseError> {
        let name = user.to_uppercase();
        let rec = self.catalog().user_record(&name)?;
        // A hash is checked whatever the user (unknown, disabled, without a password), so the
        // answer takes as long either way.
        let hash = rec.as_ref().map(|u| u.password_hash.as_str()).filter(|h| !h.is_empty());
        let ok = verify_password(password, hash.unwrap_or_else(|| stand_in_hash())) && hash.is_some();
        let rec = rec.filter(|u| ok && !u.disabled()).ok_or(WarehouseError::BadCredentials)?;
        self.token_for(&rec)
    }

    /// Checks a key-pair JWT (see [`crate::keypair`]) for the account and user the client logs
    /// in to, when it names them, and issues a token for the JWT's user.
    pub fn login_jwt(&self, jwt: &str, account: Option<&str>, user: Option<&str>) -> Result<Token, WarehouseError> {
        let user = self.authenticate_jwt(jwt, account, user)?;
        let rec = self.catalog().user_record(&user)?.ok_or(WarehouseError::BadCredentials)?;
        self.token_for(&rec)
    }

    /// A token in the user's starting role ([`Warehouse::starting_role`]).
    fn token_for(&self, rec: &crate::catalog::UserRecord) -> Result<Token, WarehouseError> {
        self.issue_token(&rec.name, &self.starting_role(rec)?)
    }

    /// The user's default role when it is still granted to them, else PUBLIC.
    fn starting_role(&self, rec: &crate::catalog::UserRecord) -> Result<String, WarehouseError> {
        Ok(match &rec.default_role {
            Some(r) if self.user_has_role(&rec.name, r)? => r.clone(),
            _ => crate::catalog::PUBLIC.into(),
        })
    }

    /// The caller a key-pair JWT on a request names (the SQL API's `KEYPAIR_JWT` bearer
    /// token), in the user's starting role; every refusal is [`WarehouseError::JwtInvalid`].
    pub fn authenticate_keypair_jwt(&self, jwt: &str) -> Result<Principal, WarehouseError> {
        let user = self.authenticate_jwt(jwt, None, None)?;
        let rec = self.catalog().user_record(&user)?.ok_or(WarehouseError::BadToken)?;
        Ok(Principal { role: self.starting_role(&rec)?, user })
    }

    /// Whether `role` is granted to `user`, directly or through the roles granted to them.
    pub fn user_has_role(&self, user: &str, role: &str) -> Result<bool, WarehouseError> {
        if role == crate::catalog::PUBLIC {
            return Ok(true);
        }
        for r in self.catalog().user_roles(user)? {
            if self.catalog().effective_roles(&r)?.contains(role) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether `user` exists and is not disabled (a renewal checks this).
    pub fn user_enabled(&self, user: &str) -> Result<bool, WarehouseError> {
        Ok(self.catalog().user_record(&user.to_uppercase())?.is_some_and(|u| !u.disabled()))
    }

    /// A token for a user without a password check (the control plane's short-lived job tokens).
    pub fn issue_token(&self, user: &str, role: &str) -> Result<Token, WarehouseError> {
        let token = format!("ver:1-hint:{}", random::hex_id(32));
        let validity = self.0.token_ttl_secs;
        let expires_at = now() + validity;
        self.catalog().put_token(&token_hash(&token), user, role, expires_at)?;
        Ok(Token { token, user: user.into(), role: role.into(), expires_at, validity_secs: validity })
    }

    /// A token for training jobs that read and write tables: user `RECPIPE_JOBS` (created on
    /// first use with a random password nobody knows, so it cannot log in) acting as SYSADMIN,
    /// the role that owns the lab's tables; it expires after `ttl_secs`.
    pub fn job_token(&self, ttl_secs: i64) -> Result<Token, WarehouseError> {
        const JOBS_USER: &str = "RECPIPE_JOBS";
        let role = crate::catalog::SYSADMIN;
        if self.catalog().user(JOBS_USER)?.is_none() {
            let unusable = hash_password(&random::string_from(random::PASSWORD_CHARS, 32))?;
            self.catalog().put_user(JOBS_USER, &unusable, Some(role), false)?;
            self.catalog().grant_role_to_user(role, JOBS_USER)?;
        }
        let token = format!("ver:1-hint:{}", random::hex_id(32));
        let expires_at = now() + ttl_secs;
        self.catalog().put_token(&token_hash(&token), JOBS_USER, role, expires_at)?;
        Ok(Token { token, user: JOBS_USER.into(), role: role.into(), expires_at, validity_secs: ttl_secs })
    }

    /// Ends a token's validity (logout); an unknown token is no error.
    pub fn logout(&self, token: &str) -> Result<(), WarehouseError> {
        self.catalog().delete_token(&token_hash(token))
    }

    /// The principal behind a bearer token; unknown and expired tokens are refused.
    pub fn authenticate(&self, token: &str) -> Result<Principal, WarehouseError> {
        let (user, role, expires) = self.catalog().token(&token_hash(token))?.ok_or(WarehouseError::BadToken)?;
        if now() >= expires {
            return Err(WarehouseError::TokenExpired);
        }
        Ok(Principal { user, role })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(!h.contains("s3cret"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("S3cret", &h));
        assert!(!verify_password("s3cret", "garbage"));
    }
}
