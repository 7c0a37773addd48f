//! A fresh warehouse in a temp dir, with its IAM store, and helpers.

use std::sync::Arc;
use std::time::Duration;

use warehouse::extfn::CallConfig;
use warehouse::{QueryResult, Session, Warehouse, WarehouseConfig, WarehouseError};

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub iam: Arc<iam::Iam>,
    pub wh: Warehouse,
    pub admin_password: Option<String>,
}

pub fn fast_calls() -> CallConfig {
    CallConfig {
        retry_timeout: Duration::from_secs(5),
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        initial_poll_delay: Duration::from_millis(20),
        max_poll_delay: Duration::from_millis(100),
        poll_timeout: Duration::from_secs(10),
        ..CallConfig::default()
    }
}

pub fn fixture() -> Fixture {
    fixture_with(WarehouseConfig { call: fast_calls(), ..WarehouseConfig::default() })
}

pub fn fixture_with(config: WarehouseConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let iam = Arc::new(iam::Iam::open(dir.path().join("state.db")).unwrap());
    let opened = Warehouse::open_with(dir.path(), Arc::clone(&iam), config).unwrap();
    Fixture { _dir: dir, iam, wh: opened.warehouse, admin_password: opened.admin_password }
}

/// Polls `f` every 20 ms until it returns `Some`, for at most `secs` seconds.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Fixture {
    pub fn admin(&self) -> Session {
        self.wh.session("admin", Some("ACCOUNTADMIN")).unwrap()
    }
}

pub fn run(s: &mut Session, sql: &str) -> QueryResult {
    match s.execute(sql) {
        Ok(mut r) => r.pop().unwrap(),
        Err(e) => panic!("{sql}\n  failed: {e}"),
    }
}

pub fn fails(s: &mut Session, sql: &str) -> WarehouseError {
    match s.execute(sql) {
        Ok(r) => panic!("{sql}\n  unexpectedly succeeded: {r:?}"),
        Err(e) => e,
    }
}

/// Column `i` of every row.
pub fn col(r: &QueryResult, i: usize) -> Vec<Option<String>> {
    r.rows.iter().map(|row| row[i].clone()).collect()
}
