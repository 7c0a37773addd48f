//! The connector's sessions: one warehouse [`Session`] (its own DuckDB connection, `USE`, temp
//! tables, transaction) per login, found by its session token (a warehouse login token, so the
//! SQL API accepts it too); a master token renews it. Tokens are kept only as SHA-256 digests.
//! Sessions live in memory; the catalog keeps each one's user, role, context and master-token
//! digest, so after a restart the client's renewal (its answer to "session expired") opens a
//! fresh session in the same context.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::catalog::SavedSession;
use crate::{random, Session, WarehouseError};

/// One logged-in connection.
pub struct ConnSession {
    pub id: u64,
    pub user: String,
    /// Hex SHA-256 of the master token: the key of the session's record in the catalog.
    pub master_hash: String,
    /// Held while a statement of this connection runs: its statements run one at a time.
    pub session: Mutex<Session>,
    /// The context last recorded in the catalog.
    saved: Mutex<Option<SavedSession>>,
}

impl ConnSession {
    /// The durable part of `s` (the caller holds its lock) as it stands.
    pub fn durable(s: &Session, expires: i64) -> SavedSession {
        let name = |i: &Option<crate::sql::Ident>| i.as_ref().map(|i| i.as_str().to_string());
        SavedSession { user: s.user.clone(), role: s.role.clone(), database: name(&s.database), schema: name(&s.schema), warehouse: name(&s.warehouse), expires }
    }

    /// Records the context of `s` in the catalog when a statement changed it.
    pub fn save_context(&self, s: &Session) -> Result<(), WarehouseError> {
        let mut saved = self.saved.lock().unwrap_or_else(|p| p.into_inner());
        let now = ConnSession::durable(s, saved.as_ref().map_or(0, |p| p.expires));
        if saved.as_ref() != Some(&now) {
            s.warehouse_handle().catalog().update_connector_context(&self.master_hash, &now)?;
            *saved = Some(now);
        }
        Ok(())
    }
}

struct Entry {
    conn: Arc<ConnSession>,
    session_hash: [u8; 32],
    session_expires: Instant,
    master_expires: Instant,
}

/// Why a token was refused, in the terms the connector reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The session token is unknown or past its validity: renew it.
    SessionExpired,
    /// The master token is unknown or past its validity: log in again.
    MasterExpired,
}

#[derive(Default)]
pub struct Sessions {
    /// By master-token digest.
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    /// Session-token digest → master-token digest.
    by_session: Mutex<HashMap<[u8; 32], [u8; 32]>>,
    next_id: std::sync::atomic::AtomicU64,
}

pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn new_master_token() -> String {
    format!("ver:1-hint:{}", random::hex_id(32))
}

impl Sessions {
    /// Registers a session under its session and master tokens; `saved` is its record in the
    /// catalog as last written.
    pub fn open(&self, session: Session, token: &str, master_token: &str, session_ttl: Duration, master_ttl: Duration, saved: SavedSession) -> Arc<ConnSession> {
        let now = Instant::now();
        self.sweep(now);
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let (sh, mh) = (digest(token), digest(master_token));
        let conn = Arc::new(ConnSession {
            id,
            user: session.user.clone(),
            master_hash: hex::encode(mh),
            session: Mutex::new(session),
            saved: Mutex::new(Some(saved)),
        });
        let entry = Entry { conn: Arc::clone(&conn), session_hash: sh, session_expires: now + session_ttl, master_expires: now + master_ttl };
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).insert(mh, entry);
        self.by_session.lock().unwrap_or_else(|p| p.into_inner()).insert(sh, mh);
        conn
    }

    /// The session of a master token held in memory, if the token is still valid.
    pub fn by_master(&self, master_token: &str) -> Option<Arc<ConnSession>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(&digest(master_token)).filter(|e| Instant::now() < e.master_expires).map(|e| Arc::clone(&e.conn))
    }

    /// The live session of a session token.
    pub fn get(&self, token: &str) -> Result<Arc<ConnSession>, Refusal> {
        let now = Instant::now();
        let mh = *self.by_session.lock().unwrap_or_else(|p| p.into_inner()).get(&digest(token)).ok_or(Refusal::SessionExpired)?;
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = entries.get(&mh).ok_or(Refusal::SessionExpired)?;
        if now >= e.session_expires || now >= e.master_expires {
            return Err(Refusal::SessionExpired);
        }
        Ok(Arc::clone(&e.conn))
    }

    /// Makes `token` the session token of the session of `master_token` (the previous one stops
    /// working here).
    pub fn renew(&self, master_token: &str, token: &str, session_ttl: Duration) -> Result<(), Refusal> {
        let now = Instant::now();
        let mh = digest(master_token);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = entries.get_mut(&mh).filter(|e| now < e.master_expires).ok_or(Refusal::MasterExpired)?;
        let mut by_session = self.by_session.lock().unwrap_or_else(|p| p.into_inner());
        by_session.remove(&e.session_hash);
        e.session_hash = digest(token);
        e.session_expires = now + session_ttl;
        by_session.insert(e.session_hash, mh);
        Ok(())
    }

    /// Ends the session of a session token (logout); returns its master-token digest (hex).
    pub fn close(&self, token: &str) -> Option<String> {
        let mh = self.by_session.lock().unwrap_or_else(|p| p.into_inner()).remove(&digest(token))?;
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(&mh);
        Some(hex::encode(mh))
    }

    /// Drops sessions whose master token has expired (their DuckDB connections close).
    fn sweep(&self, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let dead: Vec<[u8; 32]> = entries.iter().filter(|(_, e)| now >= e.master_expires).map(|(k, _)| *k).collect();
        let mut by_session = self.by_session.lock().unwrap_or_else(|p| p.into_inner());
        for k in dead {
            if let Some(e) = entries.remove(&k) {
                by_session.remove(&e.session_hash);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_renew_expire_and_close() {
        let dir = tempfile::tempdir().unwrap();
        let iam = Arc::new(iam::Iam::open(dir.path().join("iam.db")).unwrap());
        let wh = crate::Warehouse::open(dir.path(), iam).unwrap().warehouse;
        let s = wh.session("ADMIN", None).unwrap();
        let saved = ConnSession::durable(&s, 0);
        let sessions = Sessions::default();
        let conn = sessions.open(s, "t1", "m1", Duration::from_secs(60), Duration::from_secs(60), saved);
        assert_eq!(sessions.get("t1").unwrap().id, conn.id);
        assert!(matches!(sessions.get("m1"), Err(Refusal::SessionExpired)));
        assert_eq!(sessions.renew("t1", "t2", Duration::from_secs(60)).unwrap_err(), Refusal::MasterExpired);
        sessions.renew("m1", "t2", Duration::from_secs(60)).unwrap();
        assert!(matches!(sessions.get("t1"), Err(Refusal::SessionExpired)));
        assert_eq!(sessions.get("t2").unwrap().id, conn.id);
        sessions.renew("m1", "t3", Duration::ZERO).unwrap();
        assert!(matches!(sessions.get("t3"), Err(Refusal::SessionExpired)));
        assert_eq!(sessions.close("t3"), Some(hex::encode(digest("m1"))));
        assert!(sessions.by_master("m1").is_none());
    }
}
