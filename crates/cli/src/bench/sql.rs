//! `recpipe bench sql`: what the warehouse's SQL front end costs per statement. The lab's
//! statements that DuckDB runs (README "The lab by hand", `shared/acceptance/lab_flow.sql`) go
//! through parse (sqlparser), privilege check (the tree's tables resolved against the engine's
//! catalog and the role's grants) and translation to DuckDB SQL, nothing run: as SYSADMIN, the
//! lab's role (a system role: no grant is looked up), and as a role with grants on the lab's
//! tables and functions (each table's grants looked up). Both must stay well under 1 ms per
//! statement. The warehouse remembers what catalog lookups answered until any statement that is
//! not a query changes the catalog generation; the granted role is also measured with such a
//! statement (`use schema`) run, untimed, before each one, so that every name is looked up in
//! the engine's catalog again.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use iam::Iam;

/// The lab's statements DuckDB runs (placeholders filled as the lab fills them).
const LAB: &[&str] = &[
    "select count(*) from ratings",
    "create or replace table ratings_train_data as (select userid, movieid, rating from ratings)",
    "create or replace table user_movie_recommendations (userid int, top_10_recommendations variant)",
    "select train_and_get_recommendations('MOVIELENS.PUBLIC.ratings_train_data', 'MOVIELENS.PUBLIC.user_movie_recommendations')",
    "select * from user_movie_recommendations limit 10",
    "select deploy_model('movielens-model-v1', 's3://bucket/model.tar.gz')",
    "create or replace table no_ratings (userid float, movieid float)",
    "insert into no_ratings (userid, movieid) values ('1', '610'), ('10', '313'), ('10', '297'), ('5', '18'), ('5', '19')",
    "select nr.userid, nr.movieid, m.title, invoke_model('movielens-model-v1', nr.userid, nr.movieid) as rating_prediction\n  from no_ratings nr, movies m\n  where nr.movieid = m.movieid",
];

#[derive(Args)]
pub struct SqlArgs {
    /// Passes over the lab's statements.
    #[arg(long, default_value_t = 2_000)]
    iterations: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub(super) json: bool,
}

pub fn run(a: SqlArgs) -> anyhow::Result<()> {
    if a.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let dir = tempfile::tempdir()?;
    let iam = Arc::new(Iam::open(&dir.path().join("state.db"))?);
    iam.create_role("ef", &format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}]}}"#, iam.account_id()), None)?;
    let wh = warehouse::Warehouse::open(dir.path(), iam.clone())?.warehouse;
    let mut s = wh.session(warehouse::ADMIN_USER, Some("ACCOUNTADMIN"))?;
    let setup = format!(
        "create database movielens;
         use schema movielens.public;
         create table ratings (userid int, movieid int, rating float, timestamp int);
         create table movies (movieid int, title varchar, genres varchar);
         create api integration lab_api api_provider = aws_api_gateway api_aws_role_arn = '{}' enabled = true api_allowed_prefixes = ('https://example.com/');
         create external function train_and_get_recommendations(i varchar, o varchar) returns variant api_integration = lab_api as 'https://example.com/train';
         create external function deploy_model(m varchar, u varchar) returns variant api_integration = lab_api as 'https://example.com/deploy';
         create external function invoke_model(m varchar, u varchar, i varchar) returns variant api_integration = lab_api as 'https://example.com/invoke';
         grant usage on function train_and_get_recommendations(varchar, varchar) to role sysadmin;
         grant usage on function deploy_model(varchar, varchar) to role sysadmin;
         grant usage on function invoke_model(varchar, varchar, varchar) to role sysadmin;
         use role sysadmin;
         use schema movielens.public",
        iam.role_arn("ef")
    );
    s.execute(&setup).context("setting up the lab's database")?;
    let admin = measure(&mut s, a.iterations, false)?;
    // A role of no system role's: every table the lab reads found in the catalog and its grants
    // looked up (the tables the lab creates do not exist yet, as at the lab's start).
    s.execute(
        "use role accountadmin;
         create role lab_analyst;
         grant role lab_analyst to user admin;
         grant select on table movielens.public.ratings to role lab_analyst;
         grant select on table movielens.public.movies to role lab_analyst;
         grant create table on schema movielens.public to role lab_analyst;
         grant usage on function train_and_get_recommendations(varchar, varchar) to role lab_analyst;
         grant usage on function deploy_model(varchar, varchar) to role lab_analyst;
         grant usage on function invoke_model(varchar, varchar, varchar) to role lab_analyst;
         use role lab_analyst",
    )
    .context("setting up the non-admin role")?;
    let granted = measure(&mut s, a.iterations, false)?;
    let fresh = measure(&mut s, a.iterations, true)?;
    let n = admin.each.len();
    // The front end alone (parse and translation, no session, no catalog): what the check adds.
    let t = Instant::now();
    for _ in 0..a.iterations {
        for st in LAB {
            let mut tree = warehouse::sql::front::parse_statement(st)?;
            warehouse::sql::translate::fold_identifiers(&mut tree);
            std::hint::black_box(warehouse::sql::translate::to_duck(tree, &NoSession)?);
        }
    }
    let front_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    if a.json {
        super::print_json(serde_json::json!({
            "statements": n, "distinct_statements": LAB.len(), "seconds": admin.secs, "statements_per_second": admin.per_sec(),
            "mean_us": admin.mean_us(), "p50_us": admin.pct(50), "p99_us": admin.pct(99), "parse_and_translate_us": front_us,
            "non_admin": {
                "role": "LAB_ANALYST", "seconds": granted.secs, "statements_per_second": granted.per_sec(),
                "mean_us": granted.mean_us(), "p50_us": granted.pct(50), "p99_us": granted.pct(99),
            },
            "non_admin_after_catalog_change": {
                "role": "LAB_ANALYST", "seconds": fresh.secs, "statements_per_second": fresh.per_sec(),
                "mean_us": fresh.mean_us(), "p50_us": fresh.pct(50), "p99_us": fresh.pct(99),
            },
        }));
    } else {
        println!("sql front end (parse + privilege check + translation to DuckDB, nothing run):");
        println!("  {n} statements ({} distinct from the lab) per role", LAB.len());
        for (who, m) in [
            ("SYSADMIN (no grant lookups)", &admin),
            ("LAB_ANALYST (grants looked up)", &granted),
            ("LAB_ANALYST, each after a catalog change (names looked up afresh)", &fresh),
        ] {
            println!("  as {who}: {:.0} statements/s, mean {:.1} µs, p50 {:.1} µs, p99 {:.1} µs per statement", m.per_sec(), m.mean_us(), m.pct(50), m.pct(99));
        }
        println!("  of which parse + translation alone (no catalog): {front_us:.1} µs per statement");
    }
    Ok(())
}

/// Per-statement times (µs, sorted) of `iterations` passes over the lab, and the total.
struct Measured {
    each: Vec<f64>,
    secs: f64,
}

impl Measured {
    fn per_sec(&self) -> f64 {
        self.each.len() as f64 / self.secs
    }

    fn mean_us(&self) -> f64 {
        self.secs * 1e6 / self.each.len() as f64
    }

    fn pct(&self, p: usize) -> f64 {
        self.each[(self.each.len() * p / 100).min(self.each.len() - 1)]
    }
}

/// Translates every lab statement in the session's current role, `iterations` times; with
/// `changed`, after a statement (untimed) that moves the catalog generation.
fn measure(s: &mut warehouse::Session, iterations: usize, changed: bool) -> anyhow::Result<Measured> {
    // Every statement translates (and warms the caches) before the clock starts.
    for st in LAB {
        let out = s.translate(st).with_context(|| format!("translating as {}: {st}", s.role))?;
        if out.first().and_then(|o| o.as_ref()).is_none() {
            bail!("not a statement DuckDB runs: {st}");
        }
    }
    let mut each = Vec::with_capacity(iterations * LAB.len());
    let mut untimed = std::time::Duration::ZERO;
    let t = Instant::now();
    for _ in 0..iterations {
        for st in LAB {
            if changed {
                let skip = Instant::now();
                s.execute("use schema movielens.public")?;
                untimed += skip.elapsed();
            }
            let one = Instant::now();
            s.translate(st)?;
            each.push(one.elapsed().as_secs_f64() * 1e6);
        }
    }
    let secs = (t.elapsed() - untimed).as_secs_f64();
    each.sort_by(f64::total_cmp);
    Ok(Measured { each, secs })
}

/// A translation context without a session: the lab's external functions are known by name.
struct NoSession;

impl warehouse::sql::context::TranslateContext for NoSession {
    fn external_call(&self, name: &warehouse::sql::ObjectName, argc: usize) -> Result<Option<String>, warehouse::WarehouseError> {
        let known = ["TRAIN_AND_GET_RECOMMENDATIONS", "DEPLOY_MODEL", "INVOKE_MODEL"].contains(&name.last().as_str());
        Ok(known.then(|| format!("CAST(\"__EF\"('bench', {argc}, CAST(JSON_ARRAY(")))
    }

    fn context_value(&self, _: &str) -> Option<String> {
        None
    }
}
