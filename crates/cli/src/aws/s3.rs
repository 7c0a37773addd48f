//! `recpipe s3 ls|cp|rm`: the server's S3 API (or any S3 endpoint given with `--endpoint-url`),
//! signed for `s3` like the AWS CLI signs, path-style. Uploads send the file's SHA-256 and stream
//! it; downloads stream into a file beside the target, renamed onto it when complete.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Subcommand;
use futures::StreamExt;
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Frame;
use iam::sigv4::s3::sign_s3_request;
use iam::sigv4::{uri_encode, HttpRequest, Payload};
use mlplane::S3Url;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::aws::client::{print_table, runtime, Client, ServerArgs};

#[derive(Subcommand)]
pub enum S3Command {
    /// List the buckets (no URL, or s3://), or every object under an s3:// prefix.
    Ls {
        url: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Copy a local file to an s3:// URL or an object to a local path (a directory is copied
    /// recursively to a prefix).
    Cp {
        from: String,
        to: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete an object (or, with --recursive, everything under a prefix).
    Rm {
        url: String,
        #[arg(long)]
        recursive: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
}

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, std::io::Error>;

/// A signed S3 request's answer: status, headers and (unread) body.
type Answer = hyper::Response<hyper::body::Incoming>;

struct S3 {
    client: Client,
    http: hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Body>,
}

/// `/bucket/key` with each key segment encoded as the SDKs encode it.
fn object_path(bucket: &str, key: &str) -> String {
    if key.is_empty() {
        format!("/{bucket}")
    } else {
        format!("/{bucket}/{}", uri_encode(key.as_bytes(), true))
    }
}

fn query_string(params: &[(&str, &str)]) -> String {
    params.iter().map(|(k, v)| format!("{}={}", uri_encode(k.as_bytes(), false), uri_encode(v.as_bytes(), false))).collect::<Vec<_>>().join("&")
}

impl S3 {
    fn new(args: &ServerArgs) -> anyhow::Result<S3> {
        let client = Client::new(args)?;
        let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(hyper_util::client::legacy::connect::HttpConnector::new());
        Ok(S3 { client, http })
    }

    /// Signs and sends `method path?query`; `payload` is the body's SHA-256 (the body follows).
    async fn send(&self, method: &str, path: &str, query: &str, payload_hash: String, length: u64, body: Body) -> anyhow::Result<Answer> {
        let c = &self.client;
        let mut req = HttpRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: vec![("Host".into(), c.host.clone())],
            payload: Payload::Hash(payload_hash),
        };
        sign_s3_request(&mut req, &c.access_key_id, &c.secret, c.token.as_ref(), &c.region, time::OffsetDateTime::now_utc()).map_err(|e| anyhow::anyhow!("signing: {e}"))?;
        let uri = if query.is_empty() { format!("{}{path}", c.base) } else { format!("{}{path}?{query}", c.base) };
        let mut b = hyper::Request::builder().method(method).uri(uri).header("content-length", length.to_string());
        for (k, v) in &req.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        self.http.request(b.body(body)?).await.with_context(|| format!("cannot reach the server at {}", c.base))
    }

    async fn send_empty(&self, method: &str, path: &str, query: &str) -> anyhow::Result<Answer> {
        let body = Empty::<Bytes>::new().map_err(|never| match never {}).boxed_unsync();
        self.send(method, path, query, iam::sigv4::sha256_hex(b""), 0, body).await
    }

    /// A 2xx answer's body; otherwise S3's error code and message.
    async fn read(answer: Answer, what: &str) -> anyhow::Result<String> {
        let status = answer.status();
        let body = answer.into_body().collect().await?.to_bytes();
        let text = String::from_utf8_lossy(&body).into_owned();
        if status.is_success() {
            return Ok(text);
        }
        let err = crate::aws::xml::parse(&text).map(|(_, v)| v).unwrap_or(Value::Null);
        let code = err["Code"].as_str().map(str::to_string).unwrap_or_else(|| status.to_string());
        let message = err["Message"].as_str().map(str::to_string).unwrap_or(text);
        bail!("{what}: {code}: {message}")
    }

    async fn list_buckets(&self) -> anyhow::Result<Vec<Value>> {
        let text = Self::read(self.send_empty("GET", "/", "").await?, "ListBuckets").await?;
        Ok(crate::aws::xml::all(&text, "Bucket"))
    }

    /// Every object under `url`'s prefix, page by page.
    async fn list(&self, url: &S3Url) -> anyhow::Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = vec![("list-type", "2"), ("prefix", url.key.as_str())];
            if let Some(t) = &token {
                params.push(("continuation-token", t));
            }
            params.sort();
            let text = Self::read(self.send_empty("GET", &object_path(&url.bucket, ""), &query_string(&params)).await?, &format!("listing {url}")).await?;
            out.extend(crate::aws::xml::all(&text, "Contents"));
            let doc = crate::aws::xml::parse(&text).map(|(_, v)| v).unwrap_or(Value::Null);
            match (doc["IsTruncated"].as_str(), doc["NextContinuationToken"].as_str()) {
                (Some("true"), Some(t)) => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// Uploads `from` to `url`: the file is hashed, then streamed.
    async fn upload(&self, from: &Path, url: &S3Url) -> anyhow::Result<u64> {
        let mut file = tokio::fs::File::open(from).await.with_context(|| format!("opening {}", from.display()))?;
        let (mut hasher, mut buf, mut length) = (Sha256::new(), vec![0u8; 1 << 20], 0u64);
        loop {
            let n = file.read(&mut buf).await.with_context(|| format!("reading {}", from.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            length += n as u64;
        }
        if length > awsapi_limit() {
            bail!("{} has {length} bytes; one upload takes at most {} (S3's limit for a single PUT)", from.display(), awsapi_limit());
        }
        let file = tokio::fs::File::open(from).await.with_context(|| format!("opening {}", from.display()))?;
        let chunks = futures::stream::unfold(file, |mut f| async move {
            let mut buf = vec![0u8; 1 << 20];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Frame::data(Bytes::from(buf))), f))
                }
                Err(e) => Some((Err(e), f)),
            }
        });
        let body = BodyExt::boxed_unsync(StreamBody::new(chunks));
        let answer = self.send("PUT", &object_path(&url.bucket, &url.key), "", hex::encode(hasher.finalize()), length, body).await?;
        Self::read(answer, &format!("uploading to {url}")).await?;
        Ok(length)
    }

    /// Downloads `url` into `to` (written beside it, then renamed).
    async fn download(&self, url: &S3Url, to: &Path) -> anyhow::Result<u64> {
        let answer = self.send_empty("GET", &object_path(&url.bucket, &url.key), "").await?;
        if !answer.status().is_success() {
            Self::read(answer, &format!("downloading {url}")).await?;
            unreachable!("a failed answer is an error");
        }
        if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await.with_context(|| format!("creating {}", dir.display()))?;
        }
        let tmp = to.with_extension("download");
        let mut file = tokio::fs::File::create(&tmp).await.with_context(|| format!("creating {}", tmp.display()))?;
        let mut body = answer.into_body().into_data_stream();
        let mut n = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.with_context(|| format!("downloading {url}"))?;
            n += chunk.len() as u64;
            file.write_all(&chunk).await.with_context(|| format!("writing {}", tmp.display()))?;
        }
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&tmp, to).await.with_context(|| format!("renaming onto {}", to.display()))?;
        Ok(n)
    }

    async fn delete(&self, url: &S3Url) -> anyhow::Result<()> {
        let path = object_path(&url.bucket, &url.key);
        // S3 deletes a missing key without complaint; `rm` of a single object says so instead.
        let head = self.send_empty("HEAD", &path, "").await?;
        if head.status().as_u16() == 404 {
            bail!("{url}: no such object");
        }
        Self::read(head, &format!("looking up {url}")).await?;
        Self::read(self.send_empty("DELETE", &path, "").await?, &format!("deleting {url}")).await?;
        Ok(())
    }
}

/// The most one upload may carry (S3's single-PUT limit, which the server enforces).
fn awsapi_limit() -> u64 {
    5 << 30
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

/// `2024-05-24T00:00:00.000Z` as `2024-05-24 00:00:00`.
fn when(v: &Value) -> String {
    v.as_str().unwrap_or_default().replace('T', " ").split('.').next().unwrap_or_default().trim_end_matches('Z').to_string()
}

pub fn run(cmd: S3Command) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        match cmd {
            S3Command::Ls { url, server } => {
                let s3 = S3::new(&server)?;
                match url.as_deref().filter(|u| *u != "s3://" && !u.is_empty()) {
                    None => {
                        let rows: Vec<Vec<String>> = s3.list_buckets().await?.iter().map(|b| vec![when(&b["CreationDate"]), b["Name"].as_str().unwrap_or_default().to_string()]).collect();
                        print_table(&["CREATED", "BUCKET"], &rows);
                    }
                    Some(u) => {
                        let url = S3Url::parse(u)?;
                        let rows: Vec<Vec<String>> = s3
                            .list(&url)
                            .await?
                            .iter()
                            .map(|o| vec![when(&o["LastModified"]), o["Size"].as_str().unwrap_or_default().to_string(), format!("s3://{}/{}", url.bucket, o["Key"].as_str().unwrap_or_default())])
                            .collect();
                        print_table(&["MODIFIED", "BYTES", "URL"], &rows);
                    }
                }
                Ok(())
            }
            S3Command::Cp { from, to, server } => {
                let s3 = S3::new(&server)?;
                match (from.starts_with("s3://"), to.starts_with("s3://")) {
                    (false, true) => {
                        let src = PathBuf::from(&from);
                        let dst = S3Url::parse(&to)?;
                        if src.is_dir() {
                            for f in files_under(&src)? {
                                let rel = f.strip_prefix(&src)?.to_string_lossy().replace('\\', "/");
                                let u = dst.join(&rel);
                                s3.upload(&f, &u).await?;
                                println!("upload: {} to {u}", f.display());
                            }
                        } else {
                            let dst = if to.ends_with('/') || dst.key.is_empty() { dst.join(&src.file_name().context("source has no file name")?.to_string_lossy()) } else { dst };
                            s3.upload(&src, &dst).await?;
                            println!("upload: {from} to {dst}");
                        }
                    }
                    (true, false) => {
                        let src = S3Url::parse(&from)?;
                        let mut dst = PathBuf::from(&to);
                        if dst.is_dir() {
                            dst = dst.join(src.key.rsplit('/').next().unwrap_or("object"));
                        }
                        s3.download(&src, &dst).await?;
                        println!("download: {from} to {}", dst.display());
                    }
                    _ => bail!("copy between a local path and an s3:// URL (one of each)"),
                }
                Ok(())
            }
            S3Command::Rm { url, recursive, server } => {
                let s3 = S3::new(&server)?;
                let u = S3Url::parse(&url)?;
                let targets = if recursive {
                    s3.list(&u).await?.iter().map(|o| S3Url { bucket: u.bucket.clone(), key: o["Key"].as_str().unwrap_or_default().to_string() }).collect()
                } else {
                    vec![u]
                };
                for t in targets {
                    s3.delete(&t).await?;
                    println!("delete: {t}");
                }
                Ok(())
            }
        }
    })
}
