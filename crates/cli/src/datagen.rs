//! `recpipe datagen`: seeded synthetic MovieLens-shaped data.

use std::path::PathBuf;

pub use clap::Args as _;

#[derive(clap::Args)]
pub struct Args {
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(_a: Args) -> anyhow::Result<()> {
    anyhow::bail!("datagen is not wired yet")
}
