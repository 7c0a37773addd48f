//! `recpipe s3 ls|cp|rm`: look inside the object store of a data directory (`buckets/`, or S3
//! when `RECPIPE_S3_ENDPOINT` and AWS credentials are set) without going through the server.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Subcommand;
use mlplane::{Objects, S3Config, S3Url};

use crate::aws::client::{print_table, runtime};

#[derive(clap::Args, Clone)]
pub struct StoreArgs {
    /// The data directory whose `buckets/` holds the objects.
    #[arg(long, env = "RECPIPE_HOME", default_value = ".recpipe")]
    data_dir: PathBuf,
    /// An S3-compatible endpoint to use instead of the local store (with AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY and AWS_REGION).
    #[arg(long, env = "RECPIPE_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
}

#[derive(Subcommand)]
pub enum S3Command {
    /// List objects under an s3:// prefix (or every bucket's objects under s3://).
    Ls {
        url: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Copy a local file to an s3:// URL or an object to a local path (a directory is copied
    /// recursively to a prefix).
    Cp {
        from: String,
        to: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete an object (or, with --recursive, everything under a prefix).
    Rm {
        url: String,
        #[arg(long)]
        recursive: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn open(a: &StoreArgs) -> anyhow::Result<Objects> {
    match &a.s3_endpoint {
        Some(ep) => Ok(Objects::s3(S3Config {
            endpoint: Some(ep.clone()),
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
            access_key_id: std::env::var("AWS_ACCESS_KEY_ID").context("AWS_ACCESS_KEY_ID is not set")?,
            secret_access_key: std::env::var("AWS_SECRET_ACCESS_KEY").context("AWS_SECRET_ACCESS_KEY is not set")?,
            allow_http: ep.starts_with("http://"),
        })),
        None => Ok(Objects::local(&a.data_dir.join("buckets"))?),
    }
}

fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

pub fn run(cmd: S3Command) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        match cmd {
            S3Command::Ls { url, store } => {
                let objects = open(&store)?;
                let url = S3Url::parse(&url)?;
                let listed = objects.list(&url).await?;
                let rows: Vec<Vec<String>> = listed
                    .iter()
                    .map(|l| {
                        let t = time::OffsetDateTime::from_unix_timestamp(l.last_modified).map(|t| t.date().to_string()).unwrap_or_default();
                        vec![t, l.size.to_string(), l.url.to_string()]
                    })
                    .collect();
                print_table(&["MODIFIED", "BYTES", "URL"], &rows);
                Ok(())
            }
            S3Command::Cp { from, to, store } => {
                let objects = open(&store)?;
                match (from.starts_with("s3://"), to.starts_with("s3://")) {
                    (false, true) => {
                        let src = PathBuf::from(&from);
                        let dst = S3Url::parse(&to)?;
                        if src.is_dir() {
                            for f in files_under(&src)? {
                                let rel = f.strip_prefix(&src)?.to_string_lossy().replace('\\', "/");
                                let u = dst.join(&rel);
                                objects.upload(&f, &u).await?;
                                println!("upload: {} to {u}", f.display());
                            }
                        } else {
                            let dst = if to.ends_with('/') { dst.join(&src.file_name().context("source has no file name")?.to_string_lossy()) } else { dst };
                            objects.upload(&src, &dst).await?;
                            println!("upload: {from} to {dst}");
                        }
                    }
                    (true, false) => {
                        let src = S3Url::parse(&from)?;
                        let mut dst = PathBuf::from(&to);
                        if dst.is_dir() {
                            dst = dst.join(src.key.rsplit('/').next().unwrap_or("object"));
                        }
                        objects.download(&src, &dst).await?;
                        println!("download: {from} to {}", dst.display());
                    }
                    _ => bail!("copy between a local path and an s3:// URL (one of each)"),
                }
                Ok(())
            }
            S3Command::Rm { url, recursive, store } => {
                let objects = open(&store)?;
                let u = S3Url::parse(&url)?;
                let targets = if recursive { objects.list(&u).await?.into_iter().map(|l| l.url).collect() } else { vec![u] };
                for t in targets {
                    if !objects.delete(&t).await? {
                        bail!("{t}: no such object");
                    }
                    println!("delete: {t}");
                }
                Ok(())
            }
        }
    })
}
