//! `recpipe datagen`: seeded synthetic MovieLens-shaped data.

use std::path::PathBuf;

use anyhow::bail;
use recommender::synth::{generate, SynthSpec};

use crate::progress::bar;

#[derive(clap::Args)]
pub struct Args {
    /// Output folder (created if missing); ratings.csv and movies.csv are written there.
    #[arg(long)]
    out: PathBuf,
    /// Shape to start from: `small` (like ml-latest-small: 610 users, 9,742 movies, ~100 k
    /// ratings) or `ml25m` (162,541 users, 59,047 movies, 25,000,095 ratings).
    #[arg(long, default_value = "small")]
    preset: String,
    /// Override the number of users.
    #[arg(long)]
    users: Option<u32>,
    /// Override the number of movies.
    #[arg(long)]
    items: Option<u32>,
    /// Override the number of ratings.
    #[arg(long)]
    ratings: Option<u64>,
    /// Seed: the same seed writes byte-identical files.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let Some(mut spec) = SynthSpec::preset(&a.preset, a.seed) else {
        bail!("unknown preset {:?}: use small or ml25m", a.preset);
    };
    if let Some(u) = a.users {
        spec.users = u;
    }
    if let Some(i) = a.items {
        spec.items = i;
    }
    if let Some(r) = a.ratings {
        spec.ratings = r;
    }
    let pb = bar(spec.ratings, "ratings");
    let t = std::time::Instant::now();
    let summary = generate(&spec, &a.out, &|done, _total| pb.set_position(done))?;
    pb.finish_and_clear();
    println!(
        "wrote {} ratings by {} users of {} movies ({} rated, mean rating {:.2}) in {:.1} s",
        summary.ratings,
        summary.users,
        summary.movies,
        summary.rated_movies,
        summary.mean_rating,
        t.elapsed().as_secs_f64()
    );
    println!("  {}", summary.ratings_path.display());
    println!("  {}", summary.movies_path.display());
    Ok(())
}
