//! Parsing AWS's policy JSON, with an error naming the field for anything malformed.

use serde_json::{Map, Value};

use super::condition::{Condition, ConditionOperator};
use super::document::{
    Effect, Matcher, PolicyDocument, PolicyKind, PrincipalClause, PrincipalSet, Statement,
};
use super::PolicyError;

/// The largest document accepted, in bytes (AWS's managed-policy limit is 6,144 characters of
/// compacted JSON; this is a generous cap taken before parsing).
pub const MAX_DOCUMENT_BYTES: usize = 131_072;

fn err<T>(msg: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(msg.into()))
}

impl PolicyDocument {
    /// Parses and validates `text` for use as `kind`.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<PolicyDocument, PolicyError> {
        if text.len() > MAX_DOCUMENT_BYTES {
            return err(format!(
                "document is {} bytes, more than the {MAX_DOCUMENT_BYTES} allowed",
                text.len()
            ));
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| PolicyError(format!("not valid JSON: {e}")))?;
        let Value::Object(top) = value else {
            return err("the document must be a JSON object");
        };
        let (mut version, mut id, mut statements) = (None, None, None);
        for (key, v) in &top {
            match key.as_str() {
                "Version" => {
                    let s = v
                        .as_str()
                        .ok_or_else(|| PolicyError("Version must be a string".into()))?;
                    if s != "2012-10-17" && s != "2008-10-17" {
                        return err(format!("Version '{s}' is not 2012-10-17 or 2008-10-17"));
                    }
                    version = Some(s.to_string());
                }
                "Id" => {
                    id = Some(
                        v.as_str()
                            .ok_or_else(|| PolicyError("Id must be a string".into()))?
                            .to_string(),
                    )
                }
                "Statement" => statements = Some(parse_statements(v, kind)?),
                other => return err(format!("unknown field '{other}' at the top level")),
            }
        }
        let statements =
            statements.ok_or_else(|| PolicyError("missing field 'Statement'".into()))?;
        Ok(PolicyDocument {
            version,
            id,
            statements,
        })
    }
}

fn parse_statements(v: &Value, kind: PolicyKind) -> Result<Vec<Statement>, PolicyError> {
    let items: Vec<&Value> = match v {
        Value::Object(_) => vec![v],
        Value::Array(a) if !a.is_empty() => a.iter().collect(),
        Value::Array(_) => return err("Statement must not be empty"),
        _ => return err("Statement must be an object or an array of objects"),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, s)| parse_statement(s, i, kind))
        .collect()
}

fn parse_statement(v: &Value, i: usize, kind: PolicyKind) -> Result<Statement, PolicyError> {
    let Value::Object(m) = v else {
        return err(format!("Statement[{i}] must be an object"));
    };
    for key in m.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return err(format!("Statement[{i}] has unknown field '{key}'"));
        }
    }
    let sid = match m.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return err(format!("Statement[{i}].Sid must be a string")),
    };
    let effect = match m.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(other) => {
            return err(format!(
                "Statement[{i}].Effect must be \"Allow\" or \"Deny\", not {other}"
            ))
        }
        None => return err(format!("Statement[{i}] is missing field 'Effect'")),
    };
    let principal = match (m.get("Principal"), m.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return err(format!(
                "Statement[{i}] has both Principal and NotPrincipal"
            ))
        }
        (Some(p), None) => Some(PrincipalClause::Is(parse_principal(
            p,
            &format!("Statement[{i}].Principal"),
        )?)),
        (None, Some(p)) => Some(PrincipalClause::Not(parse_principal(
            p,
            &format!("Statement[{i}].NotPrincipal"),
        )?)),
        (None, None) => None,
    };
    match (kind, &principal) {
        (PolicyKind::Identity, Some(_)) => {
            return err(format!(
                "Statement[{i}]: an identity policy must not specify Principal or NotPrincipal"
            ))
        }
        (PolicyKind::Resource | PolicyKind::Trust, None) => {
            return err(format!("Statement[{i}] is missing field 'Principal'"))
        }
        _ => {}
    }
    let action = match pair(m, "Action", "NotAction", i)? {
        Some(a) => a,
        None => return err(format!("Statement[{i}] is missing field 'Action'")),
    };
    for a in matcher_values(&action) {
        if a != "*"
            && !a
                .split_once(':')
                .is_some_and(|(svc, op)| !svc.is_empty() && !op.is_empty())
        {
            return err(format!(
                "Statement[{i}].Action '{a}' is not \"*\" or of the form service:action"
            ));
        }
    }
    let resource = pair(m, "Resource", "NotResource", i)?;
    match (kind, &resource) {
        (PolicyKind::Trust, Some(_)) => {
            return err(format!(
                "Statement[{i}]: a trust policy has prohibited field Resource"
            ))
        }
        (PolicyKind::Identity | PolicyKind::Resource, None) => {
            return err(format!("Statement[{i}] is missing field 'Resource'"))
        }
        _ => {}
    }
    if let Some(r) = &resource {
        for res in matcher_values(r) {
            if res != "*" && !res.starts_with("arn:") {
                return err(format!(
                    "Statement[{i}].Resource '{res}' must be \"*\" or an ARN"
                ));
            }
        }
    }
    let conditions = match m.get("Condition") {
        None => Vec::new(),
        Some(c) => parse_conditions(c, i)?,
    };
    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

fn matcher_values(m: &Matcher) -> &[String] {
    match m {
        Matcher::Is(v) | Matcher::Not(v) => v,
    }
}

fn pair(
    m: &Map<String, Value>,
    is: &str,
    not: &str,
    i: usize,
) -> Result<Option<Matcher>, PolicyError> {
    match (m.get(is), m.get(not)) {
        (Some(_), Some(_)) => err(format!("Statement[{i}] has both {is} and {not}")),
        (Some(v), None) => Ok(Some(Matcher::Is(strings(
            v,
            &format!("Statement[{i}].{is}"),
        )?))),
        (None, Some(v)) => Ok(Some(Matcher::Not(strings(
            v,
            &format!("Statement[{i}].{not}"),
        )?))),
        (None, None) => Ok(None),
    }
}

/// A string or a non-empty array of strings.
fn strings(v: &Value, field: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) if a.is_empty() => err(format!("{field} must not be empty")),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| PolicyError(format!("{field} must hold only strings")))
            })
            .collect(),
        _ => err(format!("{field} must be a string or an array of strings")),
    }
}

fn parse_principal(v: &Value, field: &str) -> Result<PrincipalSet, PolicyError> {
    let mut set = PrincipalSet::default();
    match v {
        Value::String(s) if s == "*" => set.any = true,
        Value::Object(m) if !m.is_empty() => {
            for (key, val) in m {
                let values = strings(val, &format!("{field}.{key}"))?;
                match key.as_str() {
                    "AWS" => {
                        for p in values {
                            let account = p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit());
                            if p == "*" {
                                set.any = true;
                            } else if account || p.starts_with("arn:") {
                                set.aws.push(p);
                            } else {
                                return err(format!("{field}.AWS: invalid principal '{p}' (not \"*\", an account id or an ARN)"));
                            }
                        }
                    }
                    "Service" => set.service.extend(values),
                    "Federated" => set.federated.extend(values),
                    "CanonicalUser" => set.canonical_user.extend(values),
                    other => return err(format!("{field} has unknown principal type '{other}'")),
                }
            }
        }
        _ => {
            return err(format!(
                "{field} must be \"*\" or an object such as {{\"AWS\": ...}}"
            ))
        }
    }
    Ok(set)
}

fn parse_conditions(v: &Value, i: usize) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(ops) = v else {
        return err(format!("Statement[{i}].Condition must be an object"));
    };
    let mut out = Vec::new();
    for (op_name, block) in ops {
        let (operator, if_exists) = ConditionOperator::parse(op_name).ok_or_else(|| {
            PolicyError(format!(
                "Statement[{i}].Condition: unknown operator '{op_name}'"
            ))
        })?;
        let Value::Object(keys) = block else {
            return err(format!(
                "Statement[{i}].Condition.{op_name} must be an object of key: value(s)"
            ));
        };
        if keys.is_empty() {
            return err(format!(
                "Statement[{i}].Condition.{op_name} must not be empty"
            ));
        }
        for (key, values) in keys {
            let field = format!("Statement[{i}].Condition.{op_name}.{key}");
            let list: Vec<&Value> = match values {
                Value::Array(a) if a.is_empty() => {
                    return err(format!("{field} must not be empty"))
                }
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            let values = list
                .into_iter()
                .map(|x| match x {
                    Value::String(s) => Ok(s.clone()),
                    Value::Bool(b) => Ok(b.to_string()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => err(format!(
                        "{field} values must be strings, booleans or numbers"
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Condition {
                operator,
                if_exists,
                key: key.to_ascii_lowercase(),
                values,
            });
        }
    }
    Ok(out)
}
