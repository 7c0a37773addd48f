//! Condition operators and their evaluation against the request context.

use super::eval::ContextKeys;
use super::wildcard::wildcard_match;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionOperator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    ArnEquals,
    ArnNotEquals,
    ArnLike,
    ArnNotLike,
    Bool,
    /// `"true"`: the key must be absent; `"false"`: it must be present.
    Null,
}

/// One `operator: {key: values}` entry. Holds if any value matches (negated operators: if none
/// does). A key absent from the context fails positive operators and satisfies negated ones; with
/// `...IfExists` an absent key always satisfies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: ConditionOperator,
    pub if_exists: bool,
    /// Lowercased: condition keys are case-insensitive.
    pub key: String,
    pub values: Vec<String>,
}

impl ConditionOperator {
    /// `"StringLikeIfExists"` → `(StringLike, true)`. `Null` has no IfExists form.
    pub fn parse(name: &str) -> Option<(ConditionOperator, bool)> {
        let (base, if_exists) = match name.strip_suffix("IfExists") {
            Some(b) => (b, true),
            None => (name, false),
        };
        let op = match base {
            "StringEquals" => ConditionOperator::StringEquals,
            "StringNotEquals" => ConditionOperator::StringNotEquals,
            "StringEqualsIgnoreCase" => ConditionOperator::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => ConditionOperator::StringNotEqualsIgnoreCase,
            "StringLike" => ConditionOperator::StringLike,
            "StringNotLike" => ConditionOperator::StringNotLike,
            "ArnEquals" => ConditionOperator::ArnEquals,
            "ArnNotEquals" => ConditionOperator::ArnNotEquals,
            "ArnLike" => ConditionOperator::ArnLike,
            "ArnNotLike" => ConditionOperator::ArnNotLike,
            "Bool" => ConditionOperator::Bool,
            "Null" if !if_exists => ConditionOperator::Null,
            _ => return None,
        };
        Some((op, if_exists))
    }

    fn negated(self) -> bool {
        matches!(
            self,
            ConditionOperator::StringNotEquals
                | ConditionOperator::StringNotEqualsIgnoreCase
                | ConditionOperator::StringNotLike
                | ConditionOperator::ArnNotEquals
                | ConditionOperator::ArnNotLike
        )
    }

    /// The positive comparison of one policy value with one context value.
    fn matches(self, policy: &str, context: &str) -> bool {
        match self {
            ConditionOperator::StringEquals | ConditionOperator::StringNotEquals => {
                policy == context
            }
            ConditionOperator::StringEqualsIgnoreCase
            | ConditionOperator::StringNotEqualsIgnoreCase => {
                policy.to_lowercase() == context.to_lowercase()
            }
            ConditionOperator::StringLike | ConditionOperator::StringNotLike => {
                wildcard_match(policy, context, false)
            }
            ConditionOperator::ArnEquals
            | ConditionOperator::ArnNotEquals
            | ConditionOperator::ArnLike
            | ConditionOperator::ArnNotLike => arn_like(policy, context),
            ConditionOperator::Bool => policy.eq_ignore_ascii_case(context),
            ConditionOperator::Null => false,
        }
    }
}

/// ARN matching: both have six `:`-separated parts and each part matches with wildcards
/// (AWS treats ArnEquals and ArnLike alike).
fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| wildcard_match(p, a, false))
}

impl Condition {
    pub fn holds(&self, ctx: &ContextKeys) -> bool {
        let present = ctx.get(&self.key).filter(|v| !v.is_empty());
        if self.operator == ConditionOperator::Null {
            let want_absent = self.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            return present.is_none() == want_absent;
        }
        let Some(values) = present else {
            return self.if_exists || self.operator.negated();
        };
        let any = values
            .iter()
            .any(|cv| self.values.iter().any(|pv| self.operator.matches(pv, cv)));
        any != self.operator.negated()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        let (operator, if_exists) = ConditionOperator::parse(op).unwrap();
        Condition {
            operator,
            if_exists,
            key: key.to_ascii_lowercase(),
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn operators_table() {
        let ctx = ContextKeys::new()
            .with("sts:ExternalId", "ext-1")
            .with(
                "aws:PrincipalArn",
                "arn:aws:iam::111122223333:role/snowflake",
            )
            .with("aws:SecureTransport", "true");
        let role = "aws:PrincipalArn";
        let cases: Vec<(Condition, bool)> = vec![
            (cond("StringEquals", "sts:ExternalId", &["ext-1"]), true),
            (cond("StringEquals", "STS:EXTERNALID", &["ext-1"]), true), // keys are case-insensitive
            (cond("StringEquals", "sts:ExternalId", &["EXT-1"]), false),
            (
                cond("StringEquals", "sts:ExternalId", &["x", "ext-1"]),
                true,
            ), // values OR-ed
            (cond("StringEquals", "aws:SourceIp", &["1.2.3.4"]), false),
            (
                cond("StringEqualsIfExists", "aws:SourceIp", &["1.2.3.4"]),
                true,
            ),
            (
                cond("StringEqualsIfExists", "sts:ExternalId", &["other"]),
                false,
            ),
            (cond("StringNotEquals", "sts:ExternalId", &["ext-1"]), false),
            (cond("StringNotEquals", "sts:ExternalId", &["other"]), true),
            (cond("StringNotEquals", "aws:SourceIp", &["1.2.3.4"]), true),
            (
                cond("StringNotEqualsIfExists", "sts:ExternalId", &["ext-1"]),
                false,
            ),
            (
                cond("StringEqualsIgnoreCase", "sts:ExternalId", &["EXT-1"]),
                true,
            ),
            (cond("StringLike", "sts:ExternalId", &["ext-?"]), true),
            (cond("StringLike", "sts:ExternalId", &["foo*"]), false),
            (cond("StringLikeIfExists", "aws:username", &["a*"]), true),
            (cond("StringNotLike", "sts:ExternalId", &["ext-*"]), false),
            (cond("StringNotLike", "sts:ExternalId", &["foo*"]), true),
            (
                cond("StringNotLikeIfExists", "sts:ExternalId", &["ext*"]),
                false,
            ),
            (
                cond(
                    "ArnEquals",
                    role,
                    &["arn:aws:iam::111122223333:role/snowflake"],
                ),
                true,
            ),
            (
                cond("ArnEquals", role, &["arn:aws:iam::111122223333:role/other"]),
                false,
            ),
            (
                cond(
                    "ArnEqualsIfExists",
                    "aws:SourceArn",
                    &["arn:aws:iam::1:role/x"],
                ),
                true,
            ),
            (cond("ArnLike", role, &["arn:aws:iam::*:role/snow*"]), true),
            (cond("ArnLike", role, &["arn:aws:iam::*:user/*"]), false),
            (cond("ArnLike", role, &["not-an-arn"]), false),
            (
                cond("ArnLikeIfExists", role, &["arn:aws:iam::*:user/*"]),
                false,
            ),
            (cond("ArnNotLike", role, &["arn:aws:iam::*:user/*"]), true),
            (cond("Bool", "aws:SecureTransport", &["true"]), true),
            (cond("Bool", "aws:SecureTransport", &["false"]), false),
            (cond("Bool", "aws:MultiFactorAuthPresent", &["true"]), false),
            (
                cond("BoolIfExists", "aws:MultiFactorAuthPresent", &["true"]),
                true,
            ),
            (
                cond("BoolIfExists", "aws:SecureTransport", &["false"]),
                false,
            ),
            (cond("Null", "aws:SourceIp", &["true"]), true),
            (cond("Null", "sts:ExternalId", &["true"]), false),
            (cond("Null", "sts:ExternalId", &["false"]), true),
        ];
        for (c, want) in cases {
            assert_eq!(c.holds(&ctx), want, "{c:?}");
        }
    }

    #[test]
    fn unknown_operators_are_none() {
        assert!(ConditionOperator::parse("StringSortOf").is_none());
        assert!(ConditionOperator::parse("NullIfExists").is_none());
        assert_eq!(
            ConditionOperator::parse("ArnLikeIfExists"),
            Some((ConditionOperator::ArnLike, true))
        );
    }
}
