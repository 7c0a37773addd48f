//! Asynchronous calls (Snowflake's 202 protocol): one entry per batch id, so a repeated POST joins
//! the running or finished call instead of running it twice, and polls find the result. Finished
//! results are kept `ttl` (at least 10 minutes); the table is bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{GatewayError, WireError};

/// A finished call: the response document, or the error the caller sees.
pub type Outcome = Result<Value, WireError>;

type Slot = Option<(Arc<Outcome>, Instant)>;

/// Aborts the task when the entry goes (at eviction or shutdown).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub struct Entry {
    rx: watch::Receiver<Slot>,
    _task: Mutex<Option<AbortOnDrop>>,
}

impl Entry {
    fn finished_at(&self) -> Option<Instant> {
        self.rx.borrow().as_ref().map(|(_, t)| *t)
    }

    /// The outcome, waiting at most `patience` for it.
    pub async fn wait(&self, patience: Duration) -> Option<Arc<Outcome>> {
        let mut rx = self.rx.clone();
        let ready = tokio::time::timeout(patience, rx.wait_for(|s| s.is_some())).await;
        match ready {
            Ok(Ok(slot)) => slot.as_ref().map(|(o, _)| o.clone()),
            _ => self.rx.borrow().as_ref().map(|(o, _)| o.clone()),
        }
    }
}

/// Sends a call's outcome to everyone waiting on its entry.
pub struct Completion(watch::Sender<Slot>);

impl Completion {
    pub fn finish(self, outcome: Outcome) {
        let _ = self.0.send(Some((Arc::new(outcome), Instant::now())));
    }
}

pub struct Results {
    map: Mutex<HashMap<String, Arc<Entry>>>,
    ttl: Duration,
    cap: usize,
}

impl Results {
    pub fn new(ttl: Duration, cap: usize) -> Self {
        Results { map: Mutex::new(HashMap::new()), ttl, cap: cap.max(1) }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn get(&self, key: &str) -> Option<Arc<Entry>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    /// The entry of `key`; if there is none, `start` is given the completion and spawns the call.
    /// A full table first drops expired results, then the oldest finished ones; a table full of
    /// running calls refuses (429, which the caller retries).
    pub fn join(&self, key: &str, stage: &str, start: impl FnOnce(Completion) -> JoinHandle<()>) -> Result<Arc<Entry>, GatewayError> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.get(key) {
            return Ok(e.clone());
        }
        if map.len() >= self.cap {
            let now = Instant::now();
            map.retain(|_, e| e.finished_at().is_none_or(|t| now.duration_since(t) < self.ttl));
            while map.len() >= self.cap {
                let oldest = map.iter().filter_map(|(k, e)| e.finished_at().map(|t| (t, k.clone()))).min();
                match oldest {
                    Some((_, k)) => {
                        map.remove(&k);
                    }
                    None => return Err(GatewayError::Throttled { stage: stage.to_string() }),
                }
            }
        }
        let (tx, rx) = watch::channel(None);
        let entry = Arc::new(Entry { rx, _task: Mutex::new(None) });
        let handle = start(Completion(tx));
        *entry._task.lock().unwrap_or_else(|p| p.into_inner()) = Some(AbortOnDrop(handle));
        map.insert(key.to_string(), entry.clone());
        Ok(entry)
    }

    /// Entries held, running or finished.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_call_per_key_and_bounded() {
        let r = Results::new(Duration::from_secs(600), 2);
        let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let start = |runs: Arc<std::sync::atomic::AtomicUsize>| {
            move |c: Completion| {
                tokio::spawn(async move {
                    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    c.finish(Ok(serde_json::json!({"data": []})));
                })
            }
        };
        let a = r.join("a", "dev", start(runs.clone())).unwrap();
        assert!(a.wait(Duration::from_secs(5)).await.is_some());
        let again = r.join("a", "dev", start(runs.clone())).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert!(again.wait(Duration::from_millis(1)).await.is_some());
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        // A running call that never finishes fills the table with "b"; "c" evicts finished "a".
        r.join("b", "dev", |_c| tokio::spawn(std::future::pending::<()>())).unwrap();
        r.join("c", "dev", |_c| tokio::spawn(std::future::pending::<()>())).unwrap();
        assert!(r.get("a").is_none() && r.get("b").is_some() && r.get("c").is_some());
        assert!(matches!(r.join("d", "dev", |_c| tokio::spawn(async {})), Err(GatewayError::Throttled { .. })));
    }
}
