//! The deploy configuration (`config.dev.yml`, the upstream Serverless project's keys): a flat
//! `key: value` file, parsed by hand, and its validation against the account's IAM state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Every key the file must have, in the upstream order.
pub const KEYS: [&str; 6] = [
    "unique_id",
    "region",
    "sagemaker_role_arn",
    "training_image_ecr_path",
    "snf_ef_role_arn",
    "snf_ef_role_principal",
];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("config line {line}: {what}")]
    Syntax { line: usize, what: String },
    #[error("config key '{key}' is missing")]
    Missing { key: &'static str },
    #[error("config key '{key}' is not one of {}", KEYS.join(", "))]
    Unknown { key: String },
    #[error("config key '{key}' appears twice (lines {first} and {second})")]
    Duplicate { key: String, first: usize, second: usize },
    #[error("config key '{key}' = '{value}': {reason}")]
    Invalid { key: &'static str, value: String, reason: String },
}

/// A deploy configuration whose keys are all present (values not yet validated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployConfig {
    pub unique_id: String,
    pub region: String,
    pub sagemaker_role_arn: String,
    pub training_image_ecr_path: String,
    pub snf_ef_role_arn: String,
    pub snf_ef_role_principal: String,
}

fn unquote(v: &str, line: usize) -> Result<String, ConfigError> {
    for q in ['"', '\''] {
        if let Some(rest) = v.strip_prefix(q) {
            return match rest.strip_suffix(q) {
                Some(inner) if !inner.contains(q) => Ok(inner.to_string()),
                _ => Err(ConfigError::Syntax { line, what: format!("unbalanced quote in {v}") }),
            };
        }
    }
    // An unquoted value ends at " #" (a YAML comment).
    Ok(v.split(" #").next().unwrap_or("").trim().to_string())
}

impl DeployConfig {
    /// Parses the flat YAML file: `key: value` lines, `#` comments, blank lines, values plain or
    /// in single or double quotes. Nesting, lists and multi-line values are refused by line.
    pub fn parse(text: &str) -> Result<DeployConfig, ConfigError> {
        let mut seen: BTreeMap<String, (usize, String)> = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim_end();
            if trimmed.trim().is_empty() || trimmed.trim_start().starts_with('#') || trimmed == "---" {
                continue;
            }
            if trimmed.starts_with([' ', '\t', '-']) {
                return Err(ConfigError::Syntax { line, what: "nested values and lists are not part of this file; write `key: value` at the start of the line".into() });
            }
            let Some((k, v)) = trimmed.split_once(':') else {
                return Err(ConfigError::Syntax { line, what: format!("expected `key: value`, got '{trimmed}'") });
            };
            let key = k.trim().to_string();
            if !KEYS.contains(&key.as_str()) {
                return Err(ConfigError::Unknown { key });
            }
            let value = unquote(v.trim(), line)?;
            if let Some((first, _)) = seen.get(&key) {
                return Err(ConfigError::Duplicate { key, first: *first, second: line });
            }
            seen.insert(key, (line, value));
        }
        let mut take = |key: &'static str| seen.remove(key).map(|(_, v)| v).ok_or(ConfigError::Missing { key });
        Ok(DeployConfig {
            unique_id: take("unique_id")?,
            region: take("region")?,
            sagemaker_role_arn: take("sagemaker_role_arn")?,
            training_image_ecr_path: take("training_image_ecr_path")?,
            snf_ef_role_arn: take("snf_ef_role_arn")?,
            snf_ef_role_principal: take("snf_ef_role_principal")?,
        })
    }

    /// The file as `recpipe init` writes it.
    pub fn render(&self) -> String {
        format!(
            "# recpipe deploy configuration (the upstream Serverless project's config.dev.yml keys)\n\
             unique_id: {}\nregion: {}\nsagemaker_role_arn: {}\ntraining_image_ecr_path: {}\nsnf_ef_role_arn: {}\nsnf_ef_role_principal: {}\n",
            self.unique_id, self.region, self.sagemaker_role_arn, self.training_image_ecr_path, self.snf_ef_role_arn, self.snf_ef_role_principal
        )
    }

    /// `recpipe-<unique_id>`.
    pub fn service_name(&self) -> String {
        format!("recpipe-{}", self.unique_id)
    }

    /// `sagemaker-recpipe-<unique_id>`.
    pub fn bucket_name(&self) -> String {
        format!("sagemaker-recpipe-{}", self.unique_id)
    }

    /// Checks every value's syntax and, through `role_exists`, that both roles are in this
    /// `account`. The first fault is reported, naming its key and value.
    pub fn validate(&self, account: &str, role_exists: impl Fn(&str) -> bool) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, value: &str, reason: String| ConfigError::Invalid { key, value: value.to_string(), reason };
        let id = &self.unique_id;
        let id_ok = !id.is_empty()
            && id.len() <= 40
            && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !id.starts_with('-')
            && !id.ends_with('-')
            && !id.contains("--");
        if !id_ok {
            return Err(invalid("unique_id", id, "must be 1-40 lowercase letters, digits and single hyphens, starting and ending with a letter or digit (it names the bucket sagemaker-recpipe-<unique_id>)".into()));
        }
        if !is_region(&self.region) {
            return Err(invalid("region", &self.region, "is not a region name like us-east-1".into()));
        }
        for (key, arn) in [("sagemaker_role_arn", &self.sagemaker_role_arn), ("snf_ef_role_arn", &self.snf_ef_role_arn)] {
            let name = role_name(arn).ok_or_else(|| invalid(key, arn, "is not a role ARN of the form arn:aws:iam::<12-digit account>:role/<name>".into()))?;
            let acct = &arn["arn:aws:iam::".len().."arn:aws:iam::".len() + 12];
            if acct != account {
                return Err(invalid(key, arn, format!("names account {acct}, but this recpipe is account {account}")));
            }
            if !role_exists(name) {
                return Err(invalid(key, arn, format!("role '{name}' does not exist (create it with `recpipe init` or `recpipe iam create-role`)")));
            }
        }
        let img = &self.training_image_ecr_path;
        if img.is_empty() || !img.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/:@".contains(&b)) {
            return Err(invalid("training_image_ecr_path", img, "must be an image name such as <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> or a local image name".into()));
        }
        let p = &self.snf_ef_role_principal;
        let shape = "must be arn:aws:sts::<account>:assumed-role/<role>/<session>";
        let rest = p.strip_prefix("arn:aws:sts::").ok_or_else(|| invalid("snf_ef_role_principal", p, shape.into()))?;
        let parts: Vec<&str> = rest.splitn(2, ':').collect();
        let segs: Vec<&str> = parts.get(1).map(|s| s.split('/').collect()).unwrap_or_default();
        let well_formed = parts[0].len() == 12
            && parts[0].bytes().all(|b| b.is_ascii_digit())
            && segs.len() == 3
            && segs[0] == "assumed-role"
            && segs[1..].iter().all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)));
        if !well_formed {
            return Err(invalid("snf_ef_role_principal", p, shape.into()));
        }
        if parts[0] != account {
            return Err(invalid("snf_ef_role_principal", p, format!("names account {}, but this recpipe is account {account}", parts[0])));
        }
        let ef_role = role_name(&self.snf_ef_role_arn).unwrap_or_default();
        if segs[1] != ef_role {
            return Err(invalid("snf_ef_role_principal", p, format!("is a session of role '{}', but snf_ef_role_arn names role '{ef_role}'", segs[1])));
        }
        Ok(())
    }
}

fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
}

/// The role name of `arn:aws:iam::<12 digits>:role/<name>` (no path), or `None`.
pub fn role_name(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (acct, rest) = rest.split_once(':')?;
    let name = rest.strip_prefix("role/")?;
    let ok = acct.len() == 12
        && acct.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    ok.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCT: &str = "111122223333";

    fn good() -> String {
        format!(
            "# comment\nunique_id: abc123\nregion: 'us-east-1'\nsagemaker_role_arn: arn:aws:iam::{ACCT}:role/sm-exec\ntraining_image_ecr_path: \"recpipe/recommender:latest\"\nsnf_ef_role_arn: arn:aws:iam::{ACCT}:role/ef  # the external-function role\nsnf_ef_role_principal: arn:aws:sts::{ACCT}:assumed-role/ef/snowflake\n"
        )
    }

    fn exists(name: &str) -> bool {
        name == "sm-exec" || name == "ef"
    }

    #[test]
    fn a_good_file_parses_round_trips_and_validates() {
        let c = DeployConfig::parse(&good()).unwrap();
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.snf_ef_role_arn, format!("arn:aws:iam::{ACCT}:role/ef"));
        assert_eq!(c.training_image_ecr_path, "recpipe/recommender:latest");
        c.validate(ACCT, exists).unwrap();
        assert_eq!(DeployConfig::parse(&c.render()).unwrap(), c);
        assert_eq!((c.service_name().as_str(), c.bucket_name().as_str()), ("recpipe-abc123", "sagemaker-recpipe-abc123"));
    }

    #[test]
    fn syntax_mistakes_name_the_line_or_key() {
        let cases = [
            (good().replace("unique_id: abc123\n", ""), "config key 'unique_id' is missing"),
            (good() + "stage: dev\n", "config key 'stage' is not one of"),
            (good() + "region: eu-west-1\n", "config key 'region' appears twice (lines 3 and 8)"),
            (good().replace("region: 'us-east-1'", "region: 'us-east-1"), "config line 3: unbalanced quote"),
            (good().replace("region: 'us-east-1'", "  region: x"), "config line 3: nested values"),
            (good().replace("region: 'us-east-1'", "just words"), "config line 3: expected `key: value`"),
        ];
        for (text, want) in cases {
            let err = DeployConfig::parse(&text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err} !~ {want}");
        }
    }

    #[test]
    fn each_value_mistake_names_key_and_value() {
        let cases: Vec<(&str, &str, &str)> = vec![
            ("unique_id: abc123", "unique_id: ABC_1", "config key 'unique_id' = 'ABC_1': must be 1-40 lowercase"),
            ("unique_id: abc123", "unique_id: a--b", "config key 'unique_id' = 'a--b'"),
            ("region: 'us-east-1'", "region: mars", "config key 'region' = 'mars': is not a region name"),
            ("role/sm-exec", "user/sm-exec", "config key 'sagemaker_role_arn' = 'arn:aws:iam::111122223333:user/sm-exec': is not a role ARN"),
            ("arn:aws:iam::111122223333:role/sm-exec", "arn:aws:iam::999988887777:role/sm-exec", "config key 'sagemaker_role_arn' = 'arn:aws:iam::999988887777:role/sm-exec': names account 999988887777"),
            ("role/sm-exec", "role/nope", "config key 'sagemaker_role_arn' = 'arn:aws:iam::111122223333:role/nope': role 'nope' does not exist"),
            ("role/ef ", "role/gone ", "config key 'snf_ef_role_arn' = 'arn:aws:iam::111122223333:role/gone': role 'gone' does not exist"),
            ("\"recpipe/recommender:latest\"", "'has space'", "config key 'training_image_ecr_path' = 'has space'"),
            ("assumed-role/ef/snowflake", "role/ef", "config key 'snf_ef_role_principal' = 'arn:aws:sts::111122223333:role/ef': must be arn:aws:sts::<account>:assumed-role/<role>/<session>"),
            ("assumed-role/ef/snowflake", "assumed-role/ef/", "config key 'snf_ef_role_principal' = 'arn:aws:sts::111122223333:assumed-role/ef/': must be"),
            ("assumed-role/ef/snowflake", "assumed-role/sm-exec/snowflake", "is a session of role 'sm-exec', but snf_ef_role_arn names role 'ef'"),
            ("arn:aws:sts::111122223333", "arn:aws:sts::999988887777", "config key 'snf_ef_role_principal' = 'arn:aws:sts::999988887777:assumed-role/ef/snowflake': names account"),
        ];
        for (from, to, want) in cases {
            let text = good().replacen(from, to, 1);
            assert_ne!(text, good(), "{from} not found");
            let err = DeployConfig::parse(&text).unwrap().validate(ACCT, exists).unwrap_err().to_string();
            assert!(err.contains(want), "{err} !~ {want}");
        }
    }
}
