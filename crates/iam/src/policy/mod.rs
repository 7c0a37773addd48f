//! IAM policy documents: AWS's JSON grammar, parsed into typed statements, and their evaluation
//! (explicit Deny wins, then Allow, else implicit deny), plus API Gateway's rule for combining an
//! identity policy with a resource policy.

mod condition;
mod document;
mod eval;
mod parse;
mod wildcard;

#[cfg(test)]
mod tests;

pub use condition::{Condition, ConditionOperator};
pub use document::{
    Effect, Matcher, PolicyDocument, PolicyKind, PrincipalClause, PrincipalSet, Statement,
};
pub use eval::{
    evaluate, evaluate_api_gateway, ContextKeys, Decision, Evaluation, NamedPolicy, RequestContext,
};
pub use wildcard::wildcard_match;

/// A policy document was refused; the message names the field (shown as
/// `MalformedPolicyDocument: <what>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MalformedPolicyDocument: {0}")]
pub struct PolicyError(pub String);
