//! Opening the warehouse: the catalog, one DuckDB instance with every database file attached,
//! the integration's IAM user, the admin user and the external-function runtime.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use iam::Iam;

use crate::catalog::{Catalog, ACCOUNTADMIN, PUBLIC, SYSADMIN};
use crate::extfn::{CallConfig, IntegrationUser, Runtime};
use crate::sql::{literal, Ident};
use crate::{random, users, WarehouseError};

/// The admin user created at first start.
pub const ADMIN_USER: &str = "ADMIN";
/// If set at first start, the admin's password (scripts, tests); otherwise one is generated and
/// returned once by [`Warehouse::open`].
pub const ADMIN_PASSWORD_ENV: &str = "RECPIPE_ADMIN_PASSWORD";

/// The warehouse: cheap to clone, shared by every session and the SQL API.
#[derive(Clone)]
pub struct Warehouse(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub dir: PathBuf,
    pub catalog: Catalog,
    /// The connection that owns the DuckDB instance; sessions clone it.
    pub root: Mutex<duckdb::Connection>,
    pub iam: Arc<Iam>,
    pub ext: Arc<Runtime>,
    /// Names of existing external functions: the rewriter's cheap first check.
    pub fn_names: RwLock<HashSet<String>>,
    pub account_locator: String,
    pub token_ttl_secs: i64,
    /// How often the task scheduler looks for due tasks.
    pub task_tick: std::time::Duration,
    pub result_spill_bytes: usize,
    /// Counts changes to the engine's catalog (see [`Warehouse::catalog_change`]).
    pub catalog_generation: std::sync::atomic::AtomicU64,
    /// What name lookups in the engine's catalog answered in the current generation.
    pub lookups: Mutex<crate::exec::Remembered>,
    /// The engine functions whose value may change between runs (see `exec::reuse`), read once;
    /// `None` if they could not be read (then no result is reused).
    pub changing_functions: std::sync::OnceLock<Option<std::collections::HashSet<String>>>,
}

/// See [`Warehouse::catalog_change`].
pub(crate) struct CatalogChange<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for CatalogChange<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// What [`Warehouse::open`] returns: the warehouse and, on the very first start only, the
/// generated admin password (printed once by the caller, stored nowhere in clear).
pub struct Opened {
    pub warehouse: Warehouse,
    pub admin_password: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WarehouseConfig {
    pub call: CallConfig,
    /// Lifetime of login tokens.
    pub token_ttl_secs: i64,
    /// How often [`Warehouse::start_scheduler`] looks for due tasks (tests shorten it).
    pub task_tick: std::time::Duration,
    /// A query result in Arrow form past this many bytes is written to
    /// `<data>/warehouse/results/` instead of being held in memory until it is fetched.
    pub result_spill_bytes: usize,
}

impl Default for WarehouseConfig {
    fn default() -> Self {
        WarehouseConfig { call: CallConfig::default(), token_ttl_secs: 4 * 3600, task_tick: std::time::Duration::from_secs(1), result_spill_bytes: 16 << 20 }
    }
}

impl Warehouse {
    /// Opens (creating on first start) the warehouse under `<data_dir>/warehouse/`.
    pub fn open(data_dir: &Path, iam: Arc<Iam>) -> Result<Opened, WarehouseError> {
        Warehouse::open_with(data_dir, iam, WarehouseConfig::default())
    }

    pub fn open_with(data_dir: &Path, iam: Arc<Iam>, config: WarehouseConfig) -> Result<Opened, WarehouseError> {
        // (The SQL surface refuses file-reading functions and statements by name; the engine's
        // own settings below hold even for a form that list misses.)
        let dir = data_dir.join("warehouse");
        std::fs::create_dir_all(&dir)
            .map_err(|e| WarehouseError::Internal(format!("creating {}: {e}", dir.display())))?;
        let catalog = Catalog::open(&dir.join("catalog.db"))?;
        let root = duckdb::Connection::open_in_memory()?;
        lock_down(&root, &dir)?;
        crate::timezone::register(&root)?;
        for (name, file, _, _) in catalog.databases()? {
            attach(&root, &Ident::quoted(&name), &dir.join(file))?;
        }
        crate::load::sweep_staging(&root)?;
        // Results spilled by an earlier run of the server are nobody's now.
        let _ = std::fs::remove_dir_all(dir.join("results"));
        let imports = data_dir.join("imports");
        std::fs::create_dir_all(&imports).map_err(|e| WarehouseError::Internal(format!("creating {}: {e}", imports.display())))?;
        let user = integration_user(&catalog, &iam)?;
        let account_locator = match catalog.meta("account_locator")? {
            Some(l) => l,
            None => {
                let l = format!("{}{}", random::string_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 2), random::string_from(b"0123456789", 5));
                catalog.set_meta("account_locator", &l)?;
                l
            }
        };
        let admin_password = ensure_admin(&catalog)?;
        let fn_names = catalog.function_names()?.into_iter().collect();
        let ext = Runtime::new(user, config.call)?;
        Ok(Opened {
            warehouse: Warehouse(Arc::new(Inner {
                dir,
                catalog,
                root: Mutex::new(root),
                iam,
                ext,
                fn_names: RwLock::new(fn_names),
                account_locator,
                token_ttl_secs: config.token_ttl_secs,
                task_tick: config.task_tick,
                result_spill_bytes: config.result_spill_bytes,
                catalog_generation: Default::default(),
                lookups: Default::default(),
                changing_functions: Default::default(),
            })),
            admin_password,
        })
    }

    /// `<data dir>/warehouse/results`: large query results waiting to be fetched.
    pub(crate) fn results_dir(&self) -> PathBuf {
        self.0.dir.join("results")
    }

    /// `<data dir>/warehouse/scratch`: files made for one statement and removed after it.
    pub(crate) fn scratch_dir(&self) -> PathBuf {
        self.0.dir.join("scratch")
    }

    /// `<data dir>/imports`: the folder server-side loads may always read.
    pub fn imports_dir(&self) -> PathBuf {
        self.0.dir.parent().unwrap_or(&self.0.dir).join("imports")
    }

    pub fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }

    /// `API_AWS_IAM_USER_ARN` of every integration of this account.
    pub fn integration_user_arn(&self) -> &str {
        self.0.ext.creds.user_arn()
    }

    /// The engine catalog's generation: equal readings bracket a time in which no statement
    /// that could create, drop, rename or replace a table, view or schema has run, so a name
    /// looked up between them (found or not) still resolves the same way.
    pub(crate) fn catalog_generation(&self) -> u64 {
        self.0.catalog_generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Marks a change to the engine's catalog for as long as the guard lives: the generation
    /// moves when it is taken and again when it is dropped, so a lookup made while the change
    /// was under way (before or after it became visible) is not trusted afterwards. Every path
    /// that runs a statement other than a query holds one (`Session::execute_statement`, the
    /// MovieLens loader); a transaction's changes become visible at its `COMMIT`, which holds
    /// one too.
    pub(crate) fn catalog_change(&self) -> CatalogChange<'_> {
        self.0.catalog_generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        CatalogChange(&self.0.catalog_generation)
    }

    /// The remembered name lookups (see `Session::resolve_table`).
    pub(crate) fn lookups(&self) -> std::sync::MutexGuard<'_, crate::exec::Remembered> {
        self.0.lookups.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn new_connection(&self) -> Result<duckdb::Connection, WarehouseError> {
        Ok(self.0.root.lock().unwrap_or_else(|p| p.into_inner()).try_clone()?)
    }

    /// The DuckDB file of database `name`.
    pub(crate) fn database_file(&self, name: &Ident) -> (String, PathBuf) {
        let s = name.as_str();
        let file = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            format!("{s}.duckdb")
        } else {
            format!("x{}.duckdb", hex::encode(s))
        };
        let path = self.0.dir.join(&file);
        (file, path)
    }
}

/// Attaches a database file under its name, with schema PUBLIC.
pub(crate) fn attach(conn: &duckdb::Connection, name: &Ident, path: &Path) -> Result<(), WarehouseError> {
    conn.execute_batch(&format!(
        "ATTACH {} AS {}; CREATE SCHEMA IF NOT EXISTS {}.\"PUBLIC\";",
        literal(&path.to_string_lossy()),
        name.sql(),
        name.sql()
    ))?;
    Ok(())
}

/// The account's one IAM user for integrations, created on first start with its access key.
fn integration_user(catalog: &Catalog, iam: &Arc<Iam>) -> Result<IntegrationUser, WarehouseError> {
    let (name, key_id) = match (catalog.meta("iam_user")?, catalog.meta("iam_access_key_id")?) {
        (Some(n), Some(k)) => (n, k),
        _ => {
            let name = format!("{}-b-sfint{}", random::string_from(random::LOWER_ALNUM, 4), random::string_from(random::LOWER_ALNUM, 4));
            iam.create_user(&name)?;
            let key = iam.create_access_key(&name)?;
            catalog.set_meta("iam_user", &name)?;
            catalog.set_meta("iam_access_key_id", &key.access_key_id)?;
            catalog.set_meta("iam_secret_access_key", key.secret_access_key.expose())?;
            (name, key.access_key_id)
        }
    };
    Ok(IntegrationUser { user_arn: iam.user_arn(&name), iam: Arc::clone(iam), access_key_id: key_id })
}

fn ensure_admin(catalog: &Catalog) -> Result<Option<String>, WarehouseError> {
    if catalog.user(ADMIN_USER)?.is_some() {
        return Ok(None);
    }
    let (password, generated) = match std::env::var(ADMIN_PASSWORD_ENV) {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (random::string_from(random::PASSWORD_CHARS, 20), true),
    };
    catalog.put_user(ADMIN_USER, &users::hash_password(&password)?, Some(ACCOUNTADMIN), false)?;
    for role in [ACCOUNTADMIN, SYSADMIN, PUBLIC] {
        catalog.grant_role_to_user(role, ADMIN_USER)?;
    }
    Ok(generated.then_some(password))
}

/// Confines the engine before any user statement runs: no extension is downloaded or loaded
/// at run time (the bundled ones are linked in), and SQL can open no file outside `dir`, where
/// the database files and the engine's spill directory live. `enable_external_access` cannot
/// be switched back on while the engine runs.
fn lock_down(root: &duckdb::Connection, dir: &Path) -> Result<(), WarehouseError> {
    let spill = dir.join("spill");
    std::fs::create_dir_all(&spill).map_err(|e| WarehouseError::Internal(format!("creating {}: {e}", spill.display())))?;
    let quoted = |p: &Path| crate::sql::literal(&p.to_string_lossy());
    root.execute_batch(&format!(
        "SET autoinstall_known_extensions = false; SET autoload_known_extensions = false; \
         SET temp_directory = {}; SET allowed_directories = [{}]; SET enable_external_access = false;",
        quoted(&spill),
        quoted(&dir.join("")),
    ))?;
    Ok(())
}
