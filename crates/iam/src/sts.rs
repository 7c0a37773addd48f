//! STS `AssumeRole`, session credentials, key lookup for the verifier, and the identity-policy
//! side of authorization.

use std::sync::Arc;

use rusqlite::{params, OptionalExtension};
use time::{Duration, OffsetDateTime};

use crate::cache::{KeyEntry, Owner, PolicyEntry};

use crate::policy::{
    evaluate, evaluate_api_gateway, ContextKeys, Decision, Evaluation, NamedPolicy, PolicyDocument,
    PolicyKind, RequestContext,
};
use crate::sigv4::s3::{verify_s3_request, S3Payload};
use crate::sigv4::{verify_request_with, AuthError, HttpRequest};
use crate::store::Iam;
use crate::{random, IamError, Identity, SecretKey, SessionToken};

pub const DEFAULT_SESSION_SECONDS: u32 = 3600;
const MIN_SESSION_SECONDS: u32 = 900;
const MAX_SESSION_SECONDS: u32 = 43_200;

/// Temporary credentials; `Debug` redacts the secret and the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `ASIA...`
    pub access_key_id: String,
    pub secret_access_key: SecretKey,
    pub session_token: SessionToken,
    pub expiration: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumedRoleUser {
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`
    pub arn: String,
    /// `AROA...:<session>`
    pub assumed_role_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleOutput {
    pub credentials: Credentials,
    pub assumed_role_user: AssumedRoleUser,
}

fn validation(value: &str, member: &str, constraint: &str) -> IamError {
    IamError::ValidationError(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

fn check_pattern(
    value: &str,
    member: &str,
    min: usize,
    max: usize,
    extra: &str,
) -> Result<(), IamError> {
    let ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) || extra.contains(c));
    let n = value.chars().count();
    if !ok || n < min || n > max {
        return Err(validation(value, member, &format!("Member must have length between {min} and {max} and satisfy regular expression pattern: [\\w+=,.@{extra}-]*")));
    }
    Ok(())
}

impl Iam {
    /// `AssumeRole`: `caller` (the verified identity) asks for a session of `role_arn`. The role's
    /// trust policy decides, with `sts:ExternalId` in the context; an explicit Deny of
    /// `sts:AssumeRole` in the caller's own policies also refuses. Duration 900–43200 s.
    pub fn assume_role(
        &self,
        caller: &Identity,
        role_arn: &str,
        role_session_name: &str,
        external_id: Option<&str>,
        duration_seconds: Option<u32>,
    ) -> Result<AssumeRoleOutput, IamError> {
        check_pattern(role_session_name, "roleSessionName", 2, 64, "")?;
        if let Some(ext) = external_id {
            check_pattern(ext, "externalId", 2, 1224, ":/")?;
        }
        let duration = duration_seconds.unwrap_or(DEFAULT_SESSION_SECONDS);
        if duration < MIN_SESSION_SECONDS {
            return Err(validation(
                &duration.to_string(),
                "durationSeconds",
                "Member must have value greater than or equal to 900",
            ));
        }
        if duration > MAX_SESSION_SECONDS {
            return Err(validation(
                &duration.to_string(),
                "durationSeconds",
                "Member must have value less than or equal to 43200",
            ));
        }
        let denied = || {
            IamError::AccessDenied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.arn()
            ))
        };
        let role_name = role_arn
            .strip_prefix("arn:aws:iam::")
            .and_then(|r| r.split_once(":role/"))
            .filter(|(acct, name)| acct.len() == 12 && !name.is_empty())
            .ok_or_else(|| {
                validation(
                    role_arn,
                    "roleArn",
                    "Member must be a role ARN (arn:aws:iam::<account>:role/<name>)",
                )
            })?;
        if role_name.0 != self.account_id() {
            return Err(denied());
        }
        let role_name = role_name.1.rsplit('/').next().unwrap_or(role_name.1);
        let role = self
            .read(|c| self.load_role(c, role_name))?
            .ok_or_else(denied)?;

        let trust = PolicyDocument::parse(&role.assume_role_policy_document, PolicyKind::Trust)?;
        let mut extra = ContextKeys::new();
        if let Some(ext) = external_id {
            extra.insert("sts:ExternalId", ext);
        }
        let mut ctx = RequestContext::new(Some(caller), "sts:AssumeRole", &role.arn, &extra);
        let trust_policy = [NamedPolicy {
            name: "trust policy",
            document: &trust,
        }];
        if !evaluate(&trust_policy, &ctx).is_allowed() {
            return Err(denied());
        }
        let identity = self.evaluate_identity_policies(caller, "sts:AssumeRole", &role.arn, &extra)?;
        if identity.decision == Decision::ExplicitDeny {
            return Err(denied());
        }
        // A trust policy that admits the caller only through its account (`ACCT` or
        // `arn:aws:iam::ACCT:root`) delegates the decision to the account: the caller's own
        // policies must then allow sts:AssumeRole too. Naming the caller suffices by itself.
        ctx.only_named_principals = true;
        let named = evaluate(&trust_policy, &ctx).is_allowed();
        if !named && !identity.is_allowed() {
            return Err(denied());
        }

        let now = self.now();
        let expiration = now + Duration::seconds(i64::from(duration));
        let access_key_id = format!("ASIA{}", random::string_from(random::UPPER_ALNUM, 16));
        let secret = random::string_from(random::SECRET_CHARS, 40);
        let token = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            random::bytes(120),
        );
        self.tx(|tx| {
            // Sessions a day past expiry are of no use even for saying "expired".
            tx.execute("DELETE FROM iam_sessions WHERE expires < ?1", params![now.unix_timestamp() - 86_400])?;
            tx.execute(
                "INSERT INTO iam_sessions (access_key_id, secret, token, role_name, role_id, session_name, expires, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![access_key_id, secret, token, role.role_name, role.role_id, role_session_name, expiration.unix_timestamp(), now.unix_timestamp()],
            )?;
            Ok(())
        })?;
        Ok(AssumeRoleOutput {
            credentials: Credentials {
                access_key_id,
                secret_access_key: SecretKey::new(secret),
                session_token: SessionToken::new(token),
                expiration,
            },
            assumed_role_user: AssumedRoleUser {
                arn: format!(
                    "arn:aws:sts::{}:assumed-role/{}/{role_session_name}",
                    self.account_id(),
                    role.role_name
                ),
                assumed_role_id: format!("{}:{role_session_name}", role.role_id),
            },
        })
    }

    /// Resolves an access key id to its identity, secret and (for `ASIA...` keys) session token.
    /// Expired sessions and sessions of a deleted (or deleted and re-created) role are refused.
    pub fn lookup_secret(
        &self,
        access_key_id: &str,
        now: OffsetDateTime,
    ) -> Result<(Identity, SecretKey, Option<SessionToken>), AuthError> {
        let e = self.key_entry(access_key_id, now)?;
        Ok((e.identity.clone(), e.secret.clone(), e.token.clone()))
    }

    /// `GetAccessKeyInfo`: the account an access key id (long-term or temporary, current or
    /// expired) belongs to; a key this account never issued is refused.
    pub fn access_key_account(&self, access_key_id: &str) -> Result<String, IamError> {
        match self.key_entry(access_key_id, self.now()) {
            Ok(_) | Err(AuthError::CredentialsExpired { .. } | AuthError::CredentialsRevoked { .. }) => Ok(self.account_id().to_string()),
            Err(AuthError::Store(detail)) => Err(IamError::Internal(detail)),
            Err(_) => Err(IamError::ValidationError(format!("The access key ID {access_key_id} was not issued by this account."))),
        }
    }

    /// The cached entry of a usable access key (see [`crate::cache`]), read from the store when
    /// the cache has none of the current generation.
    fn key_entry(&self, access_key_id: &str, now: OffsetDateTime) -> Result<Arc<KeyEntry>, AuthError> {
        let store = |e: IamError| AuthError::Store(e.to_string());
        let generation = self.generation().map_err(store)?;
        let entry = match self.cache.key(access_key_id, generation) {
            Some(e) => e,
            None => {
                let e = Arc::new(self.load_key_entry(access_key_id, now)?);
                self.cache.put_key(access_key_id, e.clone());
                e
            }
        };
        if entry.expires.is_some_and(|t| now.unix_timestamp() >= t) {
            return Err(AuthError::CredentialsExpired {
                access_key_id: access_key_id.to_string(),
            });
        }
        Ok(entry)
    }

    /// [`Iam::lookup_secret`] from the store, tagged with the generation it was read at.
    fn load_key_entry(&self, access_key_id: &str, now: OffsetDateTime) -> Result<KeyEntry, AuthError> {
        let store = |e: IamError| AuthError::Store(e.to_string());
        let unknown = || AuthError::UnknownAccessKey {
            access_key_id: access_key_id.to_string(),
        };
        if access_key_id.starts_with("AKIA") {
            let (generation, row) = self
                .read(|c| {
                    let generation = self.generation_locked(c)?;
                    let row = c.prepare_cached(
                        "SELECT k.user_name, k.secret, u.user_id FROM iam_access_keys k JOIN iam_users u ON u.name = k.user_name
                         WHERE k.access_key_id = ?1 AND k.status = 'Active'",
                    )?
                    .query_row(
                        params![access_key_id],
                        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
                    )
                    .optional()?;
                    Ok((generation, row))
                })
                .map_err(store)?;
            let (name, secret, user_id) = row.ok_or_else(unknown)?;
            let identity = Identity::User {
                account: self.account_id().into(),
                arn: self.user_arn(&name),
                name,
                user_id,
            };
            return Ok(KeyEntry::new(generation, identity, SecretKey::new(secret), None, None));
        }
        if !access_key_id.starts_with("ASIA") {
            return Err(unknown());
        }
        let (generation, row) = self
            .read(|c| {
                let generation = self.generation_locked(c)?;
                let s = c
                    .prepare_cached(
                        "SELECT secret, token, role_name, role_id, session_name, expires FROM iam_sessions WHERE access_key_id = ?1",
                    )?
                    .query_row(
                        params![access_key_id],
                        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?, r.get::<_, i64>(5)?)),
                    )
                    .optional()?;
                let current_role = match &s {
                    Some((_, _, role_name, ..)) => self.load_role(c, role_name)?,
                    None => None,
                };
                Ok((generation, s.map(|s| (s, current_role))))
            })
            .map_err(store)?;
        let ((secret, token, role_name, role_id, session_name, expires), role) =
            row.ok_or_else(unknown)?;
        if now.unix_timestamp() >= expires {
            return Err(AuthError::CredentialsExpired {
                access_key_id: access_key_id.to_string(),
            });
        }
        if role.as_ref().is_none_or(|r| r.role_id != role_id) {
            return Err(AuthError::CredentialsRevoked {
                access_key_id: access_key_id.to_string(),
            });
        }
        let identity = Identity::AssumedRole {
            account: self.account_id().into(),
            role_arn: self.role_arn(&role_name),
            session_arn: format!(
                "arn:aws:sts::{}:assumed-role/{role_name}/{session_name}",
                self.account_id()
            ),
            role_name,
            role_id,
            session_name,
        };
        Ok(KeyEntry::new(
            generation,
            identity,
            SecretKey::new(secret),
            Some(SessionToken::new(token)),
            Some(expires),
        ))
    }

    /// Verifies a SigV4 request for `service` in `region` at `now` against the stored keys and
    /// returns who signed it. Key material and derived signing keys come from the cache.
    pub fn authenticate(
        &self,
        req: &HttpRequest,
        service: &str,
        region: &str,
        now: OffsetDateTime,
    ) -> Result<Identity, AuthError> {
        verify_request_with(req, region, service, now, |akid| {
            let entry = self.key_entry(akid, now)?;
            Ok((entry.identity.clone(), entry))
        })
    }

    /// [`Iam::authenticate`] for S3 (service `s3`, the server's region): signed in headers or as
    /// a presigned URL; the payload check comes back for the caller to apply to the body.
    pub fn authenticate_s3(&self, req: &HttpRequest, now: OffsetDateTime) -> Result<(Identity, S3Payload), AuthError> {
        verify_s3_request(req, self.region(), now, |akid| {
            let entry = self.key_entry(akid, now)?;
            Ok((entry.identity.clone(), entry))
        })
    }

    /// The parsed permission policies of `identity` (inline and attached; for a role session,
    /// the role's), from the cache when it has them for the current generation.
    fn identity_policies(&self, identity: &Identity) -> Result<Option<Arc<PolicyEntry>>, IamError> {
        let owner = match identity {
            Identity::User { name, .. } => Owner::User(name.clone()),
            Identity::AssumedRole { role_name, .. } => Owner::Role(role_name.clone()),
            Identity::Service { .. } => return Ok(None),
        };
        let generation = self.generation()?;
        if let Some(e) = self.cache.policies(&owner, generation) {
            return Ok(Some(e));
        }
        let (generation, docs) = self.read(|c| {
            let generation = self.generation_locked(c)?;
            let docs = match &owner {
                Owner::User(name) => self.user_permission_policies(c, name)?,
                Owner::Role(name) => self.role_permission_policies(c, name)?,
            };
            Ok((generation, docs))
        })?;
        let policies = docs
            .into_iter()
            .map(|(name, text)| Ok((name, PolicyDocument::parse(&text, PolicyKind::Identity)?)))
            .collect::<Result<Vec<_>, IamError>>()?;
        let entry = Arc::new(PolicyEntry { generation, policies });
        self.cache.put_policies(owner, entry.clone());
        Ok(Some(entry))
    }

    /// Evaluates the identity's own permission policies (inline and attached; for a role session,
    /// the role's) for `action` on `resource`.
    pub fn evaluate_identity_policies(
        &self,
        identity: &Identity,
        action: &str,
        resource: &str,
        extra: &ContextKeys,
    ) -> Result<Evaluation, IamError> {
        let entry = self.identity_policies(identity)?;
        let named = named_policies(entry.as_deref());
        let ctx = context_for(&named, identity, action, resource, extra);
        Ok(evaluate(&named, &ctx))
    }

    /// Default deny: `Ok` only when the identity's policies allow `action` on `resource` (with
    /// `extra` context keys such as `iam:PassedToService`); otherwise
    /// [`IamError::AccessDenied`] in AWS's words, naming the caller, the action, the resource and
    /// whether no policy allowed it or one denied it explicitly.
    pub fn authorize(&self, identity: &Identity, action: &str, resource: &str, extra: &ContextKeys) -> Result<(), IamError> {
        let eval = self.evaluate_identity_policies(identity, action, resource, extra)?;
        let why = match eval.decision {
            Decision::Allow => return Ok(()),
            Decision::ExplicitDeny => "with an explicit deny in an identity-based policy".to_string(),
            Decision::ImplicitDeny => format!("because no identity-based policy allows the {action} action"),
        };
        Err(IamError::AccessDenied(format!("User: {} is not authorized to perform: {action} on resource: {resource} {why}", identity.arn())))
    }

    /// API Gateway's decision for `identity` invoking `resource` (owned by `resource_account`)
    /// under `resource_policy`: see [`evaluate_api_gateway`].
    pub fn authorize_with_resource_policy(
        &self,
        identity: &Identity,
        action: &str,
        resource: &str,
        resource_policy: &PolicyDocument,
        resource_account: &str,
        extra: &ContextKeys,
    ) -> Result<Evaluation, IamError> {
        let entry = self.identity_policies(identity)?;
        let named = named_policies(entry.as_deref());
        let resource_named = [NamedPolicy {
            name: "resource policy",
            document: resource_policy,
        }];
        // One context for both evaluations, with the principal's keys only if a condition reads them.
        let all: Vec<NamedPolicy> = named.iter().chain(resource_named.iter()).copied().collect();
        let ctx = context_for(&all, identity, action, resource, extra);
        let id_eval = evaluate(&named, &ctx);
        let res_eval = evaluate(&resource_named, &ctx);
        Ok(evaluate_api_gateway(
            &id_eval,
            &res_eval,
            identity.account() == Some(resource_account),
        ))
    }
}

fn named_policies(entry: Option<&PolicyEntry>) -> Vec<NamedPolicy<'_>> {
    entry
        .map(|e| {
            e.policies
                .iter()
                .map(|(name, document)| NamedPolicy { name, document })
                .collect()
        })
        .unwrap_or_default()
}

/// The request context for evaluating `policies`. Condition keys are only read by conditions, so
/// when no statement has one the principal's keys are not built (the decision is the same).
fn context_for<'a>(
    policies: &[NamedPolicy],
    identity: &'a Identity,
    action: &'a str,
    resource: &'a str,
    extra: &ContextKeys,
) -> RequestContext<'a> {
    let conditional = policies
        .iter()
        .any(|p| p.document.statements.iter().any(|s| !s.conditions.is_empty()));
    if conditional {
        RequestContext::new(Some(identity), action, resource, extra)
    } else {
        RequestContext {
            principal: Some(identity),
            action,
            resource,
            keys: ContextKeys::new(),
            only_named_principals: false,
        }
    }
}
