//! Statements submitted over the API: their state, results and partitions, by handle and by
//! request id (a resubmitted request id does not run the statement twice).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{QueryResult, WarehouseError};

pub enum State {
    Running,
    Done(Arc<QueryResult>),
    /// Several statements: the handles of each.
    Multi(Vec<String>),
    Failed(Arc<WarehouseError>),
    /// A connector `PUT`/`GET`: the `data` of the answer telling the driver where the files go.
    Transfer(Arc<serde_json::Value>),
}

pub struct Entry {
    pub user: String,
    pub created_ms: i64,
    pub state: State,
    pub interrupt: Option<Arc<duckdb::InterruptHandle>>,
    /// Stops the statement's external-function calls.
    pub cancel: Option<Arc<crate::extfn::Cancel>>,
    pub request_id: Option<String>,
    /// The session's context after the statement (recpipe's extension, for clients).
    pub context: serde_json::Value,
    finished: Option<Instant>,
}

#[derive(Default)]
pub struct Store {
    entries: Mutex<HashMap<String, Entry>>,
    requests: Mutex<HashMap<String, String>>,
    notify: tokio::sync::Notify,
}

/// Finished statements are kept this long (Snowflake keeps results for a day; the protocol
/// needs at least the polling window).
const RETENTION: Duration = Duration::from_secs(3600);

impl Store {
    pub fn insert(&self, handle: &str, user: &str, request_id: Option<String>) {
        let now = Instant::now();
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.retain(|_, v| v.finished.is_none_or(|f| now.duration_since(f) < RETENTION));
        e.insert(
            handle.to_string(),
            Entry {
                user: user.to_string(),
                created_ms: time::OffsetDateTime::now_utc().unix_timestamp() * 1000,
                state: State::Running,
                interrupt: None,
                cancel: None,
                request_id: request_id.clone(),
                context: serde_json::Value::Null,
                finished: None,
            },
        );
        if let Some(r) = request_id {
            self.requests.lock().unwrap_or_else(|p| p.into_inner()).insert(r, handle.to_string());
        }
    }

    pub fn handle_for_request(&self, request_id: &str) -> Option<String> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).get(request_id).cloned()
    }

    pub fn set_interrupt(&self, handle: &str, i: Arc<duckdb::InterruptHandle>, cancel: Arc<crate::extfn::Cancel>) {
        if let Some(e) = self.entries.lock().unwrap_or_else(|p| p.into_inner()).get_mut(handle) {
            e.interrupt = Some(i);
            e.cancel = Some(cancel);
        }
    }

    /// Records the outcome unless the statement was already ended (canceled, timed out).
    pub fn finish(&self, handle: &str, state: State, context: serde_json::Value) {
        if let Some(e) = self.entries.lock().unwrap_or_else(|p| p.into_inner()).get_mut(handle) {
            if matches!(e.state, State::Running) {
                e.state = state;
                e.context = context;
                e.finished = Some(Instant::now());
            }
        }
        self.notify.notify_waiters();
    }

    /// Ends a running statement with `err` and interrupts it.
    pub fn abort(&self, handle: &str, err: WarehouseError) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let Some(e) = entries.get_mut(handle) else { return false };
        if !matches!(e.state, State::Running) {
            return false;
        }
        if let Some(c) = &e.cancel {
            c.cancel();
        }
        if let Some(i) = &e.interrupt {
            i.interrupt();
        }
        e.state = State::Failed(Arc::new(err));
        e.finished = Some(Instant::now());
        drop(entries);
        self.notify.notify_waiters();
        true
    }

    pub fn with<T>(&self, handle: &str, f: impl FnOnce(&Entry) -> T) -> Option<T> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).get(handle).map(f)
    }

    pub fn is_running(&self, handle: &str) -> bool {
        self.with(handle, |e| matches!(e.state, State::Running)).unwrap_or(false)
    }

    /// Waits until `handle` is no longer running or `limit` passes.
    pub async fn wait(&self, handle: &str, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.is_running(handle) {
            let notified = self.notify.notified();
            if !self.is_running(handle) {
                break;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
    }
}
