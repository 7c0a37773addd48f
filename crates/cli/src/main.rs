//! `recpipe`: one binary for every part of the local cloud. Each subcommand is a thin shell over
//! a library crate; `anyhow` lives only here.

mod aws;
mod bench;
mod console;
mod datagen;
mod pipe;
mod progress;
mod quickstart;
mod sql;
mod up;

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
    /// Run the server: the whole local cloud on one loopback port (default 4747).
    Up(up::UpArgs),
    /// Create the SageMaker execution role and the external-function role; write config.dev.yml.
    Init(aws::stage::InitArgs),
    /// Validate config.dev.yml and create or update the service's stage, routes and bucket
    /// (`--target aws`: the CloudFormation stack of the whole app on AWS).
    Deploy(aws::stage::StageArgs),
    /// Print the deployed stage's summary and endpoint URLs again.
    Info(aws::stage::StageArgs),
    /// Tear the stage down, the bucket and its objects kept (`--target aws`: delete the stack).
    Remove(aws::stage::StageArgs),
    /// IAM on the running server, in the AWS CLI's words (create-role, get-role, ...).
    #[command(subcommand)]
    Iam(aws::iam::IamCommand),
    /// STS on the running server: assume-role.
    #[command(subcommand)]
    Sts(aws::sts::StsCommand),
    /// Training jobs on the running server: list, describe, logs, stop, wait.
    #[command(subcommand)]
    Jobs(aws::jobs::JobsCommand),
    /// Models on the running server: list, describe, delete.
    #[command(subcommand)]
    Models(aws::models::ModelsCommand),
    /// Endpoints on the running server: list, describe, delete, invoke, wait.
    #[command(subcommand)]
    Endpoints(aws::endpoints::EndpointsCommand),
    /// Objects in the data directory's buckets: ls, cp, rm.
    #[command(subcommand)]
    S3(aws::s3::S3Command),
    /// The whole story in one command: server, roles, gateway, data, SQL from integration to
    /// real-time predictions, and a summary.
    Quickstart(quickstart::QuickstartArgs),
    /// SQL against the warehouse (SnowSQL-like): interactive, -f FILE or -q "SQL".
    Sql(sql::SqlArgs),
    /// Print (and on a desktop open) the web console's URL on the running server.
    Console(console::ConsoleArgs),
    /// Log in to the warehouse's SQL API; the token is saved for `recpipe sql`.
    Login(sql::login::LoginArgs),
    /// Load data sets into the warehouse.
    #[command(subcommand)]
    Load(sql::login::LoadCommand),
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
        /// Also serve on a Unix-domain socket at this path (owner-only; the control plane
        /// forwards invocations over it).
        #[arg(long)]
        socket: Option<std::path::PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The server keeps serving whatever happens to its stdout; client commands end quietly.
    if !matches!(cli.command, Command::Up(_)) {
        pipe::exit_quietly_on_broken_pipe();
    }
    let result = run(cli);
    match result {
        Err(e) if pipe::is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Datagen(args) => datagen::run(args),
        Command::Quickstart(args) => quickstart::run(args),
        Command::Sql(args) => sql::run(args),
        Command::Login(args) => sql::login::run_login(args),
        Command::Console(args) => console::run(args),
        Command::Load(cmd) => sql::login::run_load(cmd),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Up(args) => up::run(args),
        Command::Init(args) => aws::stage::run_init(args),
        Command::Deploy(args) => aws::stage::run_deploy(args),
        Command::Info(args) => aws::stage::run_info(args),
        Command::Remove(args) => aws::stage::run_remove(args),
        Command::Iam(cmd) => aws::iam::run_iam(cmd),
        Command::Sts(cmd) => aws::sts::run_sts(cmd),
        Command::Jobs(cmd) => aws::jobs::run(cmd),
        Command::Models(cmd) => aws::models::run(cmd),
        Command::Endpoints(cmd) => aws::endpoints::run(cmd),
        Command::S3(cmd) => aws::s3::run(cmd),
        Command::Container(ContainerCommand::Train { ml_root }) => {
            let code = container::train::run_cli(&ml_root);
            std::process::exit(code);
        }
        Command::Container(ContainerCommand::Serve { ml_root, port, host, socket }) => {
            // One line on stderr, whatever RUST_BACKTRACE says: the control plane reports the
            // last line of a serving process's stderr as the endpoint's FailureReason.
            if let Err(e) = container::serve::run_cli(&ml_root, std::net::SocketAddr::new(host, port), socket.as_deref()) {
                eprintln!("serving failed: {e}");
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
