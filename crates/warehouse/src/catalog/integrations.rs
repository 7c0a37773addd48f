//! API integrations, stored as JSON records keyed by name.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::Catalog;
use crate::WarehouseError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationRecord {
    pub name: String,
    pub provider: String,
    pub role_arn: String,
    pub api_key: Option<String>,
    pub enabled: bool,
    pub allowed: Vec<String>,
    pub blocked: Vec<String>,
    pub comment: Option<String>,
    /// `API_AWS_EXTERNAL_ID`: new for every (re-)creation.
    pub external_id: String,
    /// `API_CALL_TIMEOUT` (recpipe's): a batch's overall deadline in seconds, retries included.
    #[serde(default)]
    pub call_timeout_secs: Option<u64>,
    pub owner: String,
    pub created: i64,
}

/// Parses `API_CALL_TIMEOUT`: whole seconds from 1 to 3600.
pub fn call_timeout(v: &str) -> Result<u64, WarehouseError> {
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|s| (1..=3600).contains(s))
        .ok_or_else(|| WarehouseError::Invalid(format!("invalid value '{v}' for property 'API_CALL_TIMEOUT': expected whole seconds from 1 to 3600")))
}

impl IntegrationRecord {
    /// Whether `url` starts with an allowed prefix and with no blocked one (blocked wins).
    pub fn admits(&self, url: &str) -> bool {
        self.allowed.iter().any(|p| url.starts_with(p.as_str()))
            && !self.blocked.iter().any(|p| url.starts_with(p.as_str()))
    }
}

impl Catalog {
    pub fn integration(&self, name: &str) -> Result<Option<IntegrationRecord>, WarehouseError> {
        let text: Option<String> = self.read(|c| {
            Ok(c.query_row("SELECT record FROM integrations WHERE name = ?1", params![name], |r| r.get(0))
                .optional()?)
        })?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| WarehouseError::Internal(format!("integration record {name}: {e}"))))
            .transpose()
    }

    pub fn integrations(&self) -> Result<Vec<IntegrationRecord>, WarehouseError> {
        let texts: Vec<String> = self.read(|c| {
            let mut st = c.prepare_cached("SELECT record FROM integrations ORDER BY name")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(|e| WarehouseError::Internal(format!("integration record: {e}"))))
            .collect()
    }

    pub fn put_integration(&self, rec: &IntegrationRecord) -> Result<(), WarehouseError> {
        let text = serde_json::to_string(rec).map_err(|e| WarehouseError::Internal(e.to_string()))?;
        self.tx(|tx| {
            tx.execute("INSERT OR REPLACE INTO integrations (name, record) VALUES (?1, ?2)", params![rec.name, text])?;
            Ok(())
        })
    }

    pub fn drop_integration(&self, name: &str) -> Result<bool, WarehouseError> {
        self.tx(|tx| Ok(tx.execute("DELETE FROM integrations WHERE name = ?1", params![name])? > 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_prefix_wins_over_allowed() {
        let rec = IntegrationRecord {
            name: "I".into(),
            provider: "AWS_API_GATEWAY".into(),
            role_arn: String::new(),
            api_key: None,
            enabled: true,
            allowed: vec!["https://x/dev/".into()],
            blocked: vec!["https://x/dev/admin".into()],
            comment: None,
            external_id: String::new(),
            call_timeout_secs: None,
            owner: String::new(),
            created: 0,
        };
        assert!(rec.admits("https://x/dev/train"));
        assert!(!rec.admits("https://x/dev/admin/x"));
        assert!(!rec.admits("https://x/prod/train"));
    }
}
