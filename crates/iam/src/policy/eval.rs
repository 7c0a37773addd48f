//! Evaluation: explicit Deny wins, then Allow, else implicit deny; and API Gateway's combination
//! of identity and resource policies.

use std::collections::BTreeMap;

use super::document::{Effect, Matcher, PolicyDocument, PrincipalClause, PrincipalSet, Statement};
use super::wildcard::wildcard_match;
use crate::Identity;

/// Condition keys of a request, by lowercased name (keys are case-insensitive); a key may have
/// several values. A key that is absent is simply not in the map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextKeys(BTreeMap<String, Vec<String>>);

impl ContextKeys {
    pub fn new() -> Self {
        ContextKeys::default()
    }
    /// Adds a value to `key`.
    pub fn insert(&mut self, key: &str, value: &str) {
        self.0
            .entry(key.to_ascii_lowercase())
            .or_default()
            .push(value.to_string());
    }
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.insert(key, value);
        self
    }
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.0.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }
    /// Adds every key of `other` (values appended).
    pub fn extend(&mut self, other: &ContextKeys) {
        for (k, v) in &other.0 {
            self.0
                .entry(k.clone())
                .or_default()
                .extend(v.iter().cloned());
        }
    }
}

/// What is being asked: who (if known), which action on which resource, in which context.
#[derive(Debug, Clone)]
pub struct RequestContext<'a> {
    pub principal: Option<&'a Identity>,
    pub action: &'a str,
    pub resource: &'a str,
    pub keys: ContextKeys,
    /// Principal entries that name a whole account (`ACCT`, `arn:aws:iam::ACCT:root`) do not
    /// match: used to tell whether a trust policy names the caller itself.
    pub only_named_principals: bool,
}

impl<'a> RequestContext<'a> {
    /// A context whose keys start with the principal's own (`aws:PrincipalArn`, ...) plus `extra`.
    pub fn new(
        principal: Option<&'a Identity>,
        action: &'a str,
        resource: &'a str,
        extra: &ContextKeys,
    ) -> Self {
        let mut keys = principal.map(Identity::context_keys).unwrap_or_default();
        keys.extend(extra);
        RequestContext {
            principal,
            action,
            resource,
            keys,
            only_named_principals: false,
        }
    }
}

/// A document and the name reasons use for it (policy name or ARN).
#[derive(Debug, Clone, Copy)]
pub struct NamedPolicy<'a> {
    pub name: &'a str,
    pub document: &'a PolicyDocument,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// A decision and why: which statement of which policy decided, or that none allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub reason: String,
}

impl Evaluation {
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allow
    }
}

fn principal_set_matches(set: &PrincipalSet, who: Option<&Identity>, only_named: bool) -> bool {
    if set.any {
        return !only_named;
    }
    let Some(who) = who else { return false };
    set.aws
        .iter()
        .filter(|p| !(only_named && crate::identity::account_principal(p).is_some()))
        .any(|p| who.matches_aws_principal(p))
        || set.service.iter().any(|s| who.matches_service_principal(s))
}

fn matcher_matches(m: &Matcher, value: &str, ignore_case: bool) -> bool {
    match m {
        Matcher::Is(patterns) => patterns
            .iter()
            .any(|p| wildcard_match(p, value, ignore_case)),
        Matcher::Not(patterns) => !patterns
            .iter()
            .any(|p| wildcard_match(p, value, ignore_case)),
    }
}

/// Does `statement` apply to the request (principal, action, resource and every condition)?
fn applies(statement: &Statement, ctx: &RequestContext) -> bool {
    let principal_ok = match &statement.principal {
        None => true,
        Some(PrincipalClause::Is(set)) => principal_set_matches(set, ctx.principal, ctx.only_named_principals),
        Some(PrincipalClause::Not(set)) => !principal_set_matches(set, ctx.principal, false),
    };
    principal_ok
        && matcher_matches(&statement.action, ctx.action, true)
        && statement
            .resource
            .as_ref()
            .is_none_or(|r| matcher_matches(r, ctx.resource, false))
        && statement.conditions.iter().all(|c| c.holds(&ctx.keys))
}

/// Evaluates `policies` together: any applicable Deny statement wins; else any applicable Allow
/// allows; else the request is implicitly denied.
pub fn evaluate(policies: &[NamedPolicy], ctx: &RequestContext) -> Evaluation {
    let mut allowed_by: Option<String> = None;
    for policy in policies {
        for (i, st) in policy.document.statements.iter().enumerate() {
            if !applies(st, ctx) {
                continue;
            }
            match st.effect {
                Effect::Deny => {
                    return Evaluation {
                        decision: Decision::ExplicitDeny,
                        reason: format!(
                            "explicitly denied by {} of policy '{}'",
                            st.label(i),
                            policy.name
                        ),
                    }
                }
                Effect::Allow => {
                    if allowed_by.is_none() {
                        allowed_by = Some(format!(
                            "allowed by {} of policy '{}'",
                            st.label(i),
                            policy.name
                        ));
                    }
                }
            }
        }
    }
    match allowed_by {
        Some(reason) => Evaluation {
            decision: Decision::Allow,
            reason,
        },
        None => Evaluation {
            decision: Decision::ImplicitDeny,
            reason: format!("no statement allows {} on {}", ctx.action, ctx.resource),
        },
    }
}

/// API Gateway's rule for `AWS_IAM` authorization plus a resource policy: an explicit Deny in
/// either wins; in the same account either allowing suffices; across accounts both must allow.
pub fn evaluate_api_gateway(
    identity: &Evaluation,
    resource: &Evaluation,
    same_account: bool,
) -> Evaluation {
    for e in [identity, resource] {
        if e.decision == Decision::ExplicitDeny {
            return e.clone();
        }
    }
    let (id_ok, res_ok) = (identity.is_allowed(), resource.is_allowed());
    if same_account && (id_ok || res_ok) {
        return if res_ok {
            resource.clone()
        } else {
            identity.clone()
        };
    }
    if id_ok && res_ok {
        return Evaluation {
            decision: Decision::Allow,
            reason: format!(
                "cross-account: identity policy {} and resource policy {}",
                identity.reason, resource.reason
            ),
        };
    }
    let reason = if same_account {
        "neither an identity policy nor the resource policy allows it".to_string()
    } else if id_ok {
        format!(
            "cross-account access needs the resource policy to allow it too: {}",
            resource.reason
        )
    } else {
        format!(
            "cross-account access needs an identity policy to allow it too: {}",
            identity.reason
        )
    };
    Evaluation {
        decision: Decision::ImplicitDeny,
        reason,
    }
}
