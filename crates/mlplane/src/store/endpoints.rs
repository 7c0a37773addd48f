//! Model, endpoint-config and endpoint rows.

use mlapi::{CreateEndpointConfigRequest, CreateModelRequest, EndpointStatus};
use rusqlite::{params, Connection, OptionalExtension};

use super::{enum_parse, enum_str, from_json, to_json, Store};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq)]
pub struct ModelRow {
    pub name: String,
    pub arn: String,
    pub request: CreateModelRequest,
    pub creation_time: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRow {
    pub name: String,
    pub arn: String,
    pub request: CreateEndpointConfigRequest,
    pub creation_time: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRow {
    pub name: String,
    pub arn: String,
    /// The config serving traffic (for a new endpoint: the one being deployed).
    pub config_name: String,
    /// During an update: the config being deployed.
    pub pending_config: Option<String>,
    pub status: EndpointStatus,
    pub failure_reason: Option<String>,
    pub creation_time: f64,
    pub last_modified: f64,
}

/// `ml_models` and `ml_endpoint_configs` share one shape: name, arn, request JSON, time.
fn load_named<T: serde::de::DeserializeOwned>(c: &Connection, table: &str, name: &str) -> Result<Option<(String, String, T, f64)>> {
    let raw: Option<(String, String, String, f64)> = c
        .query_row(
            &format!("SELECT name, arn, request, creation_time FROM {table} WHERE name = ?1"),
            params![name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    raw.map(|(n, a, req, t)| Ok((n, a, from_json(&req)?, t))).transpose()
}

fn list_named<T: serde::de::DeserializeOwned>(c: &Connection, table: &str) -> Result<Vec<(String, String, T, f64)>> {
    let mut st = c.prepare(&format!("SELECT name, arn, request, creation_time FROM {table} ORDER BY creation_time, name"))?;
    let raw: Vec<(String, String, String, f64)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<rusqlite::Result<_>>()?;
    raw.into_iter().map(|(n, a, req, t)| Ok((n, a, from_json(&req)?, t))).collect()
}

fn insert_named<T: serde::Serialize>(c: &Connection, table: &str, name: &str, arn: &str, req: &T, t: f64) -> Result<bool> {
    let n = c.execute(
        &format!("INSERT OR IGNORE INTO {table} (name, arn, request, creation_time) VALUES (?1, ?2, ?3, ?4)"),
        params![name, arn, to_json(req), t],
    )?;
    Ok(n == 1)
}

const EP_COLUMNS: &str = "name, arn, config_name, pending_config, status, failure_reason, creation_time, last_modified";

fn load_endpoint(c: &Connection, name: &str) -> Result<Option<EndpointRow>> {
    let raw = c.query_row(&format!("SELECT {EP_COLUMNS} FROM ml_endpoints WHERE name = ?1"), params![name], ep_row).optional()?;
    raw.map(ep_finish).transpose()
}

type RawEndpoint = (EndpointRow, String);

fn ep_row(r: &rusqlite::Row) -> rusqlite::Result<RawEndpoint> {
    Ok((
        EndpointRow {
            name: r.get(0)?,
            arn: r.get(1)?,
            config_name: r.get(2)?,
            pending_config: r.get(3)?,
            status: EndpointStatus::Creating,
            failure_reason: r.get(5)?,
            creation_time: r.get(6)?,
            last_modified: r.get(7)?,
        },
        r.get(4)?,
    ))
}

fn ep_finish((mut row, status): RawEndpoint) -> Result<EndpointRow> {
    row.status = enum_parse(&status)?;
    Ok(row)
}

impl Store {
    pub fn insert_model(&self, m: &ModelRow) -> Result<bool> {
        self.tx(|tx| insert_named(tx, "ml_models", &m.name, &m.arn, &m.request, m.creation_time))
    }

    pub fn model(&self, name: &str) -> Result<Option<ModelRow>> {
        self.read(|c| {
            Ok(load_named(c, "ml_models", name)?.map(|(name, arn, request, creation_time)| ModelRow { name, arn, request, creation_time }))
        })
    }

    pub fn models(&self) -> Result<Vec<ModelRow>> {
        self.read(|c| {
            Ok(list_named(c, "ml_models")?
                .into_iter()
                .map(|(name, arn, request, creation_time)| ModelRow { name, arn, request, creation_time })
                .collect())
        })
    }

    pub fn insert_config(&self, m: &ConfigRow) -> Result<bool> {
        self.tx(|tx| insert_named(tx, "ml_endpoint_configs", &m.name, &m.arn, &m.request, m.creation_time))
    }

    pub fn config(&self, name: &str) -> Result<Option<ConfigRow>> {
        self.read(|c| {
            Ok(load_named(c, "ml_endpoint_configs", name)?
                .map(|(name, arn, request, creation_time)| ConfigRow { name, arn, request, creation_time }))
        })
    }

    pub fn configs(&self) -> Result<Vec<ConfigRow>> {
        self.read(|c| {
            Ok(list_named(c, "ml_endpoint_configs")?
                .into_iter()
                .map(|(name, arn, request, creation_time)| ConfigRow { name, arn, request, creation_time })
                .collect())
        })
    }

    /// Deletes a model unless an endpoint serves (or is moving to) a config that uses it.
    /// `Ok(Err(endpoint))` names the endpoint in the way; `Ok(Ok(false))`: no such model.
    pub fn delete_model(&self, name: &str) -> Result<std::result::Result<bool, String>> {
        self.tx(|tx| {
            for ep in endpoints_in(tx)? {
                for cfg in std::iter::once(&ep.config_name).chain(ep.pending_config.as_ref()) {
                    if let Some((_, _, req, _)) = load_named::<CreateEndpointConfigRequest>(tx, "ml_endpoint_configs", cfg)? {
                        if req.production_variants.iter().flatten().any(|v| v.model_name == name) {
                            return Ok(Err(ep.name));
                        }
                    }
                }
            }
            Ok(Ok(tx.execute("DELETE FROM ml_models WHERE name = ?1", params![name])? == 1))
        })
    }

    /// Deletes a config unless an endpoint uses it; see [`Store::delete_model`].
    pub fn delete_config(&self, name: &str) -> Result<std::result::Result<bool, String>> {
        self.tx(|tx| {
            if let Some(ep) = endpoints_in(tx)?
                .into_iter()
                .find(|e| e.config_name == name || e.pending_config.as_deref() == Some(name))
            {
                return Ok(Err(ep.name));
            }
            Ok(Ok(tx.execute("DELETE FROM ml_endpoint_configs WHERE name = ?1", params![name])? == 1))
        })
    }

    pub fn insert_endpoint(&self, e: &EndpointRow) -> Result<bool> {
        self.tx(|tx| {
            let n = tx.execute(
                &format!("INSERT OR IGNORE INTO ml_endpoints ({EP_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![e.name, e.arn, e.config_name, e.pending_config, enum_str(&e.status), e.failure_reason, e.creation_time, e.last_modified],
            )?;
            Ok(n == 1)
        })
    }

    pub fn endpoint(&self, name: &str) -> Result<Option<EndpointRow>> {
        self.read(|c| load_endpoint(c, name))
    }

    pub fn endpoints(&self) -> Result<Vec<EndpointRow>> {
        self.read(endpoints_in)
    }

    /// Loads, changes and saves one endpoint in one transaction; `None` if it does not exist.
    pub fn update_endpoint<T>(&self, name: &str, f: impl FnOnce(&mut EndpointRow) -> T) -> Result<Option<(EndpointRow, T)>> {
        self.tx(|tx| {
            let Some(mut e) = load_endpoint(tx, name)? else { return Ok(None) };
            let out = f(&mut e);
            tx.execute(
                "UPDATE ml_endpoints SET config_name = ?2, pending_config = ?3, status = ?4, failure_reason = ?5, last_modified = ?6 WHERE name = ?1",
                params![e.name, e.config_name, e.pending_config, enum_str(&e.status), e.failure_reason, e.last_modified],
            )?;
            Ok(Some((e, out)))
        })
    }

    pub fn delete_endpoint(&self, name: &str) -> Result<bool> {
        self.tx(|tx| Ok(tx.execute("DELETE FROM ml_endpoints WHERE name = ?1", params![name])? == 1))
    }
}

fn endpoints_in(c: &Connection) -> Result<Vec<EndpointRow>> {
    let mut st = c.prepare(&format!("SELECT {EP_COLUMNS} FROM ml_endpoints ORDER BY creation_time, name"))?;
    let raw: Vec<RawEndpoint> = st.query_map([], ep_row)?.collect::<rusqlite::Result<_>>()?;
    raw.into_iter().map(ep_finish).collect()
}
