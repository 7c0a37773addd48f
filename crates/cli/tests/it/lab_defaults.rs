//! `recpipe init` gives the logged-in warehouse user the lab's defaults, so the README's lab
//! (`docs/lab.sql`) starts without a `use schema`: its setup step creates its tables in
//! MOVIELENS.PUBLIC, and `describe user` shows the three defaults.

use std::path::Path;

use crate::support::{small_movielens, Up};

const PASSWORD: &str = "lab-defaults-Passw0rd";

#[test]
fn init_gives_the_user_the_labs_defaults_and_the_setup_step_needs_no_use() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    small_movielens(&dir, 30, 40);
    let up = Up::start_with(&dir, &[("RECPIPE_ADMIN_PASSWORD", PASSWORD)]);
    let ok = |args: &[&str]| up.ok(&dir, args);
    ok(&["login", "--password", PASSWORD]);
    ok(&["load", "movielens", "ml"]);
    let config = dir.join("config.dev.yml");
    let out = ok(&["init", "--unique-id", "defaults", "--config", config.to_str().unwrap()]);
    assert!(out.contains("warehouse user ADMIN"), "{out}");
    let described = ok(&["sql", "--format", "csv", "-q", "describe user admin"]);
    for want in ["DEFAULT_NAMESPACE,MOVIELENS.PUBLIC,", "DEFAULT_ROLE,SYSADMIN,", "DEFAULT_WAREHOUSE,COMPUTE_WH,"] {
        assert!(described.contains(want), "{want} in:\n{described}");
    }
    // A new login starts in the defaults: role SYSADMIN, MOVIELENS.PUBLIC.
    ok(&["login", "--password", PASSWORD]);
    let ctx = ok(&["sql", "--format", "csv", "-q", "select current_role(), current_database(), current_schema()"]);
    assert!(ctx.contains("SYSADMIN,MOVIELENS,PUBLIC"), "{ctx}");
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lab.sql");
    ok(&["sql", "--session", "--format", "csv", "-f", lab.to_str().unwrap(), "--step", "setup"]);
    let n = ok(&["sql", "--format", "csv", "-q", "select count(*) from movielens.public.ratings_train_data"]);
    assert!(n.lines().nth(1).is_some_and(|l| l.trim().parse::<u64>().unwrap_or(0) > 0), "{n}");
}
