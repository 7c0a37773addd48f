//! Services, stages and routes in `state.db` (`gw_*` tables, WAL). Every change is one
//! transaction; the live gateway reloads from here after each one.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::config::{ConfigError, DeployConfig};
use crate::error::GatewayError;
use crate::Function;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS gw_services (
    name TEXT PRIMARY KEY, api_id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
    config TEXT NOT NULL, resource_policy TEXT NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS gw_stages (
    service TEXT NOT NULL REFERENCES gw_services(name) ON DELETE CASCADE, stage TEXT NOT NULL,
    rate_limit REAL NOT NULL, burst_limit INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL,
    PRIMARY KEY (service, stage));
CREATE TABLE IF NOT EXISTS gw_routes (
    service TEXT NOT NULL, stage TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
    function TEXT NOT NULL, authorization TEXT NOT NULL, PRIMARY KEY (service, stage, method, path),
    FOREIGN KEY (service, stage) REFERENCES gw_stages(service, stage) ON DELETE CASCADE);
";

/// A stage's throttling: API Gateway's steady rate (requests/s) and burst (bucket size).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Throttle {
    pub rate_limit: f64,
    pub burst_limit: u32,
}

impl Default for Throttle {
    /// API Gateway's account defaults: 10,000 requests/s, burst 5,000.
    fn default() -> Self {
        Throttle { rate_limit: 10_000.0, burst_limit: 5_000 }
    }
}

/// One deployed stage of one service, as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Deployment {
    pub service: String,
    pub stage: String,
    pub api_id: String,
    pub account: String,
    pub config: DeployConfig,
    /// The resource policy as stored (upstream short form `execute-api:/*/*/*`).
    pub resource_policy: String,
    pub throttle: Throttle,
    /// `(method, path, authorization)`, e.g. `("POST", "/train", "AWS_IAM")`.
    pub routes: Vec<(String, String, String)>,
}

pub struct Store {
    conn: Mutex<Connection>,
}

/// The REST API id of `service` in `account`: 10 lowercase alphanumerics, the same every time.
pub fn api_id(account: &str, service: &str) -> String {
    let digest = Sha256::digest(format!("{account}:{service}").as_bytes());
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    digest.iter().take(10).map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

/// The resource policy a deploy writes: only `principal` may invoke, on every stage/method/path.
pub fn resource_policy_for(principal: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": "execute-api:Invoke",
            "Resource": "execute-api:/*/*/*"
        }]
    })
    .to_string()
}

/// API Gateway stage names: 1-128 letters, digits, hyphens and underscores.
pub fn validate_stage(stage: &str) -> Result<(), ConfigError> {
    if stage.is_empty() || stage.len() > 128 || !stage.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(ConfigError::Invalid { key: "stage", value: stage.to_string(), reason: "must be 1-128 letters, digits, hyphens or underscores".into() });
    }
    Ok(())
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, GatewayError> {
        let conn = Connection::open(path).map_err(|e| GatewayError::Internal(format!("opening {}: {e}", path.display())))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates or updates, in one transaction, the service of `config`, its `stage` and the four
    /// routes. A repeat with the same input changes nothing but `updated`.
    pub fn deploy(&self, config: &DeployConfig, account: &str, stage: &str, throttle: Throttle) -> Result<Deployment, GatewayError> {
        validate_stage(stage)?;
        let service = config.service_name();
        let api = api_id(account, &service);
        let policy = resource_policy_for(&config.snf_ef_role_principal);
        let config_json = serde_json::to_string(config).map_err(|e| GatewayError::Internal(e.to_string()))?;
        let t = now();
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO gw_services (name, api_id, account, config, resource_policy, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT(name) DO UPDATE SET config = excluded.config, resource_policy = excluded.resource_policy, updated = excluded.updated",
            params![service, api, account, config_json, policy, t],
        )?;
        tx.execute(
            "INSERT INTO gw_stages (service, stage, rate_limit, burst_limit, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT(service, stage) DO UPDATE SET rate_limit = excluded.rate_limit, burst_limit = excluded.burst_limit, updated = excluded.updated",
            params![service, stage, throttle.rate_limit, throttle.burst_limit, t],
        )?;
        tx.execute("DELETE FROM gw_routes WHERE service = ?1 AND stage = ?2", params![service, stage])?;
        for f in Function::ALL {
            tx.execute(
                "INSERT INTO gw_routes (service, stage, method, path, function, authorization) VALUES (?1, ?2, 'POST', ?3, ?4, 'AWS_IAM')",
                params![service, stage, format!("/{}", f.name()), f.name()],
            )?;
        }
        tx.commit()?;
        drop(conn);
        self.get(&service, stage)?.ok_or_else(|| GatewayError::Internal("a deployed stage vanished".into()))
    }

    pub fn get(&self, service: &str, stage: &str) -> Result<Option<Deployment>, GatewayError> {
        Ok(self.all()?.into_iter().find(|d| d.service == service && d.stage == stage))
    }

    /// Every deployed stage, by service and stage name.
    pub fn all(&self) -> Result<Vec<Deployment>, GatewayError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT s.name, g.stage, s.api_id, s.account, s.config, s.resource_policy, g.rate_limit, g.burst_limit
             FROM gw_stages g JOIN gw_services s ON s.name = g.service ORDER BY s.name, g.stage",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?, r.get::<_, String>(5)?, r.get::<_, f64>(6)?, r.get::<_, u32>(7)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (service, stage, api_id, account, config, resource_policy, rate_limit, burst_limit) in rows {
            let config: DeployConfig = serde_json::from_str(&config).map_err(|e| GatewayError::Internal(format!("gw_services.config of {service}: {e}")))?;
            let mut rs = conn.prepare("SELECT method, path, authorization FROM gw_routes WHERE service = ?1 AND stage = ?2 ORDER BY rowid")?;
            let routes = rs.query_map(params![service, stage], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<Vec<_>, _>>()?;
            out.push(Deployment { service, stage, api_id, account, config, resource_policy, throttle: Throttle { rate_limit, burst_limit }, routes });
        }
        Ok(out)
    }

    /// Tears `stage` down (routes with it); the service goes when its last stage does. Returns
    /// whether the stage existed. Buckets and their objects are kept.
    pub fn remove(&self, service: &str, stage: &str) -> Result<bool, GatewayError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let n = tx.execute("DELETE FROM gw_stages WHERE service = ?1 AND stage = ?2", params![service, stage])?;
        let left: Option<i64> = tx.query_row("SELECT 1 FROM gw_stages WHERE service = ?1 LIMIT 1", params![service], |r| r.get(0)).optional()?;
        if left.is_none() {
            tx.execute("DELETE FROM gw_services WHERE name = ?1", params![service])?;
        }
        tx.commit()?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> DeployConfig {
        DeployConfig {
            unique_id: "abc".into(),
            region: "us-east-1".into(),
            sagemaker_role_arn: "arn:aws:iam::111122223333:role/sm".into(),
            training_image_ecr_path: "recpipe/recommender:latest".into(),
            snf_ef_role_arn: "arn:aws:iam::111122223333:role/ef".into(),
            snf_ef_role_principal: "arn:aws:sts::111122223333:assumed-role/ef/snowflake".into(),
        }
    }

    #[test]
    fn deploy_is_idempotent_and_remove_tears_down() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.db")).unwrap();
        let a = store.deploy(&config(), "111122223333", "dev", Throttle::default()).unwrap();
        assert_eq!(a.api_id.len(), 10);
        assert!(a.api_id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_eq!(a.routes.len(), 4);
        assert_eq!(a.routes[0], ("POST".into(), "/train".into(), "AWS_IAM".into()));
        let b = store.deploy(&config(), "111122223333", "dev", Throttle::default()).unwrap();
        assert_eq!(a, b);
        store.deploy(&config(), "111122223333", "prod", Throttle { rate_limit: 5.0, burst_limit: 2 }).unwrap();
        assert_eq!(store.all().unwrap().len(), 2);
        drop(store);
        let store = Store::open(&dir.path().join("state.db")).unwrap();
        assert_eq!(store.get("recpipe-abc", "prod").unwrap().unwrap().throttle.burst_limit, 2);
        assert!(store.remove("recpipe-abc", "dev").unwrap());
        assert!(!store.remove("recpipe-abc", "dev").unwrap());
        assert!(store.remove("recpipe-abc", "prod").unwrap());
        assert!(store.all().unwrap().is_empty());
        assert_eq!(store.deploy(&config(), "111122223333", "dev", Throttle::default()).unwrap().api_id, a.api_id, "api id is stable per service");
        let err = store.deploy(&config(), "111122223333", "bad stage", Throttle::default()).unwrap_err();
        assert!(err.to_string().contains("'stage' = 'bad stage'"), "{err}");
    }
}
