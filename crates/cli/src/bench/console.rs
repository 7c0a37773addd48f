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
}

pub fn run(a: ConsoleArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let args = webconsole::bench::BenchArgs { folds: a.folds, epochs: a.epochs, jobs: a.jobs, iterations: a.iterations };
    let timings = rt.block_on(webconsole::bench::run(&args)).map_err(|e| anyhow::anyhow!("bench console: {e}"))?;
    println!("{:<78} {:>9} {:>9} {:>9} {:>9}", "render", "mean ms", "p50 ms", "p95 ms", "max ms");
    for t in &timings {
        let (mean, p50, p95, max) = t.summary();
        println!("{:<78} {mean:>9.3} {p50:>9.3} {p95:>9.3} {max:>9.3}", t.what);
    }
    println!("({} renders each)", a.iterations);
    Ok(())
}
