//! What the request path needs from the store, kept in memory: per access key its identity,
//! secret, session token and expiry (plus the derived signing keys of the scopes it signed for),
//! and per user or role its parsed permission policies.
//!
//! Every entry carries the store *generation* it was read at. The generation moves on after every
//! committed write through this [`Iam`](crate::Iam) (bumped while the connection is still locked),
//! so a deleted role or key, a changed policy or a new key takes effect on the very next request.
//! The server process is the only writer of its `state.db`; should another connection (another
//! process) commit to the same file, SQLite's `PRAGMA data_version` shows it, and the request path
//! looks at it at most every [`FOREIGN_CHECK`] (the pragma opens a read transaction, file locks
//! and all, which would cost more than the rest of the lookup). Expiry is checked on every use
//! against the caller's clock. Entries of a past generation are simply reloaded.
//!
//! Secrets stay secrets: entries hold [`SecretKey`] and [`SessionToken`] (redacted `Debug`), and
//! the derived keys are never formatted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use crate::policy::PolicyDocument;
use crate::sigv4::{signing_key, SigningSecret};
use crate::{Identity, SecretKey, SessionToken};

/// Entries kept at most per map; a full map is emptied (sessions come and go, so the map must
/// not grow without bound).
const MAX_ENTRIES: usize = 4096;
/// Derived signing keys kept per access key (one per date/region/service scope).
const MAX_DERIVED: usize = 4;
/// How often the request path looks for commits by other connections.
pub(crate) const FOREIGN_CHECK: Duration = Duration::from_millis(250);

#[derive(Default)]
pub(crate) struct Caches {
    generation: AtomicU64,
    /// The last `PRAGMA data_version` seen; -1 before the first look.
    data_version: AtomicI64,
    /// When it was last looked at, in nanoseconds since [`epoch`].
    checked_at: AtomicU64,
    keys: RwLock<HashMap<String, Arc<KeyEntry>>>,
    policies: RwLock<HashMap<Owner, Arc<PolicyEntry>>>,
}

/// Whose permission policies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Owner {
    User(String),
    Role(String),
}

/// A verified-usable access key as the store had it.
pub(crate) struct KeyEntry {
    pub generation: u64,
    pub identity: Identity,
    pub secret: SecretKey,
    pub token: Option<SessionToken>,
    /// Unix seconds; sessions only.
    pub expires: Option<i64>,
    derived: Mutex<Vec<Derived>>,
}

struct Derived {
    date: String,
    region: String,
    service: String,
    key: [u8; 32],
}

impl KeyEntry {
    pub fn new(
        generation: u64,
        identity: Identity,
        secret: SecretKey,
        token: Option<SessionToken>,
        expires: Option<i64>,
    ) -> Self {
        KeyEntry {
            generation,
            identity,
            secret,
            token,
            expires,
            derived: Mutex::new(Vec::new()),
        }
    }
}

impl SigningSecret for KeyEntry {
    fn session_token(&self) -> Option<&SessionToken> {
        self.token.as_ref()
    }

    fn signing_key(&self, date: &str, region: &str, service: &str) -> [u8; 32] {
        let mut derived = self.derived.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = derived
            .iter()
            .find(|d| d.date == date && d.region == region && d.service == service)
        {
            return d.key;
        }
        let key = signing_key(&self.secret, date, region, service);
        if derived.len() == MAX_DERIVED {
            derived.remove(0);
        }
        derived.push(Derived {
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
            key,
        });
        key
    }
}

impl SigningSecret for Arc<KeyEntry> {
    fn session_token(&self) -> Option<&SessionToken> {
        self.as_ref().session_token()
    }
    fn signing_key(&self, date: &str, region: &str, service: &str) -> [u8; 32] {
        self.as_ref().signing_key(date, region, service)
    }
}

/// A user's or role's permission policies, parsed, as (name, document).
pub(crate) struct PolicyEntry {
    pub generation: u64,
    pub policies: Vec<(String, PolicyDocument)>,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn since_epoch() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

fn put<K: std::hash::Hash + Eq, V>(map: &RwLock<HashMap<K, V>>, key: K, value: V) {
    let mut m = map.write().unwrap_or_else(|p| p.into_inner());
    if m.len() >= MAX_ENTRIES {
        m.clear();
    }
    m.insert(key, value);
}

impl Caches {
    /// The current generation (without looking at other connections' commits).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// After a commit through this handle; called with the connection still locked.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Notes the store's `PRAGMA data_version` (read with the connection locked): a change means
    /// another connection committed, so every entry is stale. Returns the generation.
    pub fn observe_data_version(&self, version: i64) -> u64 {
        self.checked_at.store(since_epoch(), Ordering::Release);
        if self.data_version.swap(version, Ordering::AcqRel) != version {
            self.bump();
        }
        self.generation()
    }

    /// Whether the data version was last looked at more than [`FOREIGN_CHECK`] ago.
    pub fn foreign_check_due(&self) -> bool {
        since_epoch().saturating_sub(self.checked_at.load(Ordering::Acquire)) > FOREIGN_CHECK.as_nanos() as u64
    }

    pub fn key(&self, access_key_id: &str, generation: u64) -> Option<Arc<KeyEntry>> {
        let m = self.keys.read().unwrap_or_else(|p| p.into_inner());
        m.get(access_key_id)
            .filter(|e| e.generation == generation)
            .cloned()
    }

    pub fn put_key(&self, access_key_id: &str, entry: Arc<KeyEntry>) {
        put(&self.keys, access_key_id.to_string(), entry);
    }

    pub fn policies(&self, owner: &Owner, generation: u64) -> Option<Arc<PolicyEntry>> {
        let m = self.policies.read().unwrap_or_else(|p| p.into_inner());
        m.get(owner).filter(|e| e.generation == generation).cloned()
    }

    pub fn put_policies(&self, owner: Owner, entry: Arc<PolicyEntry>) {
        put(&self.policies, owner, entry);
    }

    pub fn new() -> Self {
        Caches {
            data_version: AtomicI64::new(-1),
            ..Caches::default()
        }
    }
}
