//! `recpipe`: one binary for every part of the local cloud. Each subcommand is a thin shell over
//! a library crate; `anyhow` lives only here.

mod bench;
mod bench_serve;
mod datagen;
mod progress;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "recpipe",
    version,
    about = "Train, evaluate, deploy and query a recommender model without leaving SQL",
    long_about = "recpipe runs the Snowflake + API Gateway + Lambda + SageMaker movie-recommender \
                  pipeline as one self-hostable program.\n\nStart with `recpipe datagen --preset small \
                  --out data` and `recpipe container train --ml-root ml` (see README.md)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate seeded synthetic ratings shaped like MovieLens (ratings.csv, movies.csv).
    Datagen(datagen::Args),
    /// Run the training or serving container (SageMaker's /opt/ml contract).
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Measure the training pipeline or a serving process.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[derive(Subcommand)]
enum ContainerCommand {
    /// Train: read input/ under the ml root, write model/ and output/ (exit 255 on failure).
    Train {
        /// The directory laid out like SageMaker's /opt/ml.
        #[arg(long, env = "RECPIPE_ML_ROOT", default_value = "/opt/ml")]
        ml_root: std::path::PathBuf,
    },
    /// Serve: load model/ and answer GET /ping and POST /invocations.
    Serve {
        #[arg(long, env = "RECPIPE_ML_ROOT", default_value = "/opt/ml")]
        ml_root: std::path::PathBuf,
        /// Port on 127.0.0.1 (SageMaker's containers listen on 8080).
        #[arg(long, env = "SAGEMAKER_BIND_TO_PORT", default_value_t = 8080)]
        port: u16,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Datagen(args) => datagen::run(args),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Container(ContainerCommand::Train { ml_root }) => {
            let code = container::train::run_cli(&ml_root);
            std::process::exit(code);
        }
        Command::Container(ContainerCommand::Serve { ml_root, port, host }) => {
            container::serve::run_cli(&ml_root, std::net::SocketAddr::new(host, port))
                .map_err(anyhow::Error::from)
        }
    }
}
