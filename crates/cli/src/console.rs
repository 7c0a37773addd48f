//! `recpipe console`: prints the web console's URL on the running server (found as every client
//! command finds it) and, on a desktop, asks the system to open it in a browser.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use clap::Args;

#[derive(Args)]
pub struct ConsoleArgs {
    /// The running server; without it, as every client command finds it (server.json, ...).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// The data directory whose server.json names the running server.
    #[arg(long, env = "RECPIPE_HOME", default_value = ".recpipe")]
    data_dir: PathBuf,
    /// Only print the URL.
    #[arg(long)]
    no_open: bool,
}

pub fn run(a: ConsoleArgs) -> anyhow::Result<()> {
    let base = crate::aws::client::locate_server(a.endpoint_url.as_deref(), &a.data_dir)?;
    let url = format!("{base}/console/");
    println!("{url}");
    println!("sign in as a warehouse user (ADMIN: the password `recpipe up` printed at its first start)");
    let desktop = ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
    if !a.no_open && (desktop || cfg!(target_os = "macos")) {
        let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
        if Command::new(opener).arg(&url).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().is_err() {
            eprintln!("(could not run {opener}; open the URL yourself)");
        }
    }
    Ok(())
}
