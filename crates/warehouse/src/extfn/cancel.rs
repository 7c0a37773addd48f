//! A statement's cancellation, seen by its external-function calls: set by the SQL API's cancel,
//! its timeout or a client that went away, and by the first failed batch for its siblings. A call
//! waiting on it (a request in flight, a backoff sleep, a poll) stops at once.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct Cancel {
    flag: AtomicBool,
    notify: Notify,
}

impl Cancel {
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Resolves once [`Cancel::cancel`] has been called (at once if it already was).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_waiter_wakes_when_cancelled_before_or_after_it_waits() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let c = Arc::new(Cancel::default());
        let waiter = rt.spawn({
            let c = Arc::clone(&c);
            async move { c.cancelled().await }
        });
        c.cancel();
        rt.block_on(waiter).unwrap();
        rt.block_on(c.cancelled());
        assert!(c.is_cancelled());
    }
}
