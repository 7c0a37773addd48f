//! Statements submitted over the API: their state, results and partitions, by handle and by
//! request id (a resubmitted request id does not run the statement twice).

use std::collections::{HashMap, VecDeque};
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
}

#[derive(Default)]
pub struct Store {
    entries: Mutex<HashMap<String, Entry>>,
    /// Finished handles, oldest first: what expires next is at the front, so expiring costs
    /// nothing per statement however many are kept. Locked after `entries`, before `requests`.
    finished: Mutex<VecDeque<(Instant, String)>>,
    requests: Mutex<HashMap<String, String>>,
    notify: tokio::sync::Notify,
}

/// Finished statements are kept this long (Snowflake keeps results for a day; the protocol
/// needs at least the polling window) ...
const RETENTION: Duration = Duration::from_secs(3600);
/// ... and at most this many, the oldest forgotten first, so that a client running small queries
/// back to back does not grow the server without bound.
const MAX_FINISHED: usize = 10_000;

impl Store {
    pub fn insert(&self, handle: &str, user: &str, request_id: Option<String>) {
        let now = Instant::now();
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.expire(&mut e, now);
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
            },
        );
        if let Some(r) = request_id {
            self.requests.lock().unwrap_or_else(|p| p.into_inner()).insert(r, handle.to_string());
        }
    }

    /// Forgets finished statements past their retention or beyond the count kept.
    fn expire(&self, entries: &mut HashMap<String, Entry>, now: Instant) {
        let mut finished = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((at, _)) = finished.front() {
            if finished.len() <= MAX_FINISHED && now.duration_since(*at) < RETENTION {
                break;
            }
            let Some((_, handle)) = finished.pop_front() else { break };
            if let Some(gone) = entries.remove(&handle) {
                if let Some(r) = gone.request_id {
                    self.requests.lock().unwrap_or_else(|p| p.into_inner()).remove(&r);
                }
            }
        }
    }

    /// Queues `handle` for expiry from now (the caller holds `entries`).
    fn mark_finished(&self, handle: &str) {
        let now = Instant::now();
        self.finished.lock().unwrap_or_else(|p| p.into_inner()).push_back((now, handle.to_string()));
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
                self.mark_finished(handle);
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
        self.mark_finished(handle);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn done() -> State {
        State::Done(Arc::new(QueryResult::status("ok")))
    }

    #[test]
    fn finished_statements_beyond_the_count_kept_are_forgotten_oldest_first_with_their_request_ids() {
        let s = Store::default();
        for n in 0..MAX_FINISHED + 5 {
            let h = format!("q{n}");
            s.insert(&h, "U", Some(format!("r{n}")));
            s.finish(&h, done(), serde_json::Value::Null);
        }
        // Expiry runs on insert: the running statement is kept whatever the count.
        s.insert("running", "U", Some("r-running".into()));
        let kept = s.entries.lock().unwrap().len();
        assert_eq!(kept, MAX_FINISHED + 1);
        assert!(s.with("q0", |_| ()).is_none() && s.with("q4", |_| ()).is_none());
        assert!(s.with("q5", |_| ()).is_some() && s.is_running("running"));
        assert_eq!(s.handle_for_request("r4"), None);
        assert_eq!(s.handle_for_request("r5").as_deref(), Some("q5"));
        assert_eq!(s.requests.lock().unwrap().len(), MAX_FINISHED + 1);
    }

    #[test]
    fn an_aborted_statement_expires_like_a_finished_one() {
        let s = Store::default();
        s.insert("a", "U", None);
        assert!(s.abort("a", WarehouseError::Invalid("stop".into())));
        assert_eq!(s.finished.lock().unwrap().len(), 1);
        // Finishing after the abort changes nothing and is not queued twice.
        s.finish("a", done(), serde_json::Value::Null);
        assert_eq!(s.finished.lock().unwrap().len(), 1);
        assert!(matches!(s.with("a", |e| matches!(e.state, State::Failed(_))), Some(true)));
    }
}
