//! The typed form of a policy document.

use super::condition::Condition;

/// Where a document is used, which decides the fields it must and must not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a user or role: no `Principal`, `Resource` required.
    Identity,
    /// Attached to a resource (API Gateway's resource policy): `Principal` and `Resource` required.
    Resource,
    /// A role's trust policy: `Principal` required, `Resource` prohibited (the role is the resource).
    Trust,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: patterns with `*` and `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    Is(Vec<String>),
    Not(Vec<String>),
}

/// The principals a statement names. `any` is `"*"` (or `{"AWS": "*"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalSet {
    pub any: bool,
    /// Account ids, `arn:aws:iam::ACCT:root`, user, role or session ARNs.
    pub aws: Vec<String>,
    /// Service principals such as `sagemaker.amazonaws.com`.
    pub service: Vec<String>,
    pub federated: Vec<String>,
    pub canonical_user: Vec<String>,
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalClause {
    Is(PrincipalSet),
    Not(PrincipalSet),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<PrincipalClause>,
    pub action: Matcher,
    /// `None` only in trust policies, where the resource is the role itself.
    pub resource: Option<Matcher>,
    /// All must hold (AND); each holds if any of its values matches (OR).
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// How a reason names this statement: its Sid, else its position.
    pub fn label(&self, index: usize) -> String {
        match &self.sid {
            Some(sid) if !sid.is_empty() => format!("statement '{sid}'"),
            _ => format!("statement #{index}"),
        }
    }
}
