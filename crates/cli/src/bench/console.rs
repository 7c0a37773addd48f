//! `recpipe bench console`: render times of the web console's training-job pages (a job's page
//! with its learning curves, the paginated jobs list), in-process and as whole requests.

use clap::Args;

#[derive(Args)]
pub struct ConsoleArgs {
    /// Cross-validation folds of the job whose page is rendered.
    #[arg(long, default_value_t = 5)]
    folds: u32,
    /// Epochs per fold (and of the final fit).
    #[arg(long, default_value_t = 20)]
    epochs: u32,
    /// Jobs in the list.
    #[arg(long, default_value_t = 1000)]
    jobs: usize,
    /// Renders per measurement.
    #[arg(long, default_value_t = 50)]
    iterations: usize,
    /// Print exactly one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The bar for a page: rendered in under 200 ms.
const TARGET_MS: f64 = 200.0;

pub fn run(a: ConsoleArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let args = webconsole::bench::BenchArgs { folds: a.folds, epochs: a.epochs, jobs: a.jobs, iterations: a.iterations };
    let timings = rt.block_on(webconsole::bench::run(&args)).map_err(|e| anyhow::anyhow!("bench console: {e}"))?;
    if a.json {
        let renders: Vec<serde_json::Value> = timings
            .iter()
            .map(|t| {
                let (mean, p50, p95, max) = t.summary();
                serde_json::json!({"what": t.what, "mean_ms": mean, "p50_ms": p50, "p95_ms": p95, "max_ms": max, "p95_of_target": p95 / TARGET_MS})
            })
            .collect();
        crate::bench::print_json(serde_json::json!({"iterations": a.iterations, "target_ms": TARGET_MS, "renders": renders}));
        return Ok(());
    }
    println!("{:<78} {:>9} {:>9} {:>9} {:>9} {:>12}", "render", "mean ms", "p50 ms", "p95 ms", "max ms", "p95/200 ms");
    for t in &timings {
        let (mean, p50, p95, max) = t.summary();
        println!("{:<78} {mean:>9.3} {p50:>9.3} {p95:>9.3} {max:>9.3} {:>12.3}", t.what, p95 / TARGET_MS);
    }
    println!("({} renders each; the bar is {TARGET_MS} ms per page)", a.iterations);
    Ok(())
}
