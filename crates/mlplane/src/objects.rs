//! S3's role: objects behind `s3://bucket/key` URLs, through the `object_store` crate. By default
//! a local filesystem rooted at `<data-dir>/buckets/` (a bucket is a first-level folder); when
//! configured, S3 or any S3-compatible service (one store per bucket, built on first use).
//!
//! Writes that must appear whole (model artifacts) go to a temporary key first and are renamed
//! onto the final key; temporary keys carry [`PARTIAL_MARK`] so recovery can sweep them.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::AsyncWriteExt;

use crate::error::{MlplaneError, Result};

/// Marks a temporary key; never part of a finished object's name.
pub const PARTIAL_MARK: &str = ".recpipe-partial-";

/// Where the S3 API keeps the parts of unfinished multipart uploads: beside the buckets in the
/// local store (no bucket can have this name), inside each bucket in S3.
const STAGING_LOCAL: &str = ".multipart";
const STAGING_S3: &str = ".recpipe-multipart";

/// Whether `name` is a bucket name S3 accepts: 3-63 lowercase letters, digits, `.` or `-`,
/// starting and ending with a letter or digit.
pub fn valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'.')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..")
}

/// Settings for real S3 or an S3-compatible service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// e.g. `http://127.0.0.1:9000` for MinIO; `None` for AWS's regional endpoint.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Allow `http://` endpoints (S3-compatible services on a LAN).
    pub allow_http: bool,
}

/// `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Url {
    pub bucket: String,
    /// May be empty (the whole bucket) and may end with `/` (a prefix).
    pub key: String,
}

impl S3Url {
    pub fn parse(url: &str) -> Result<S3Url> {
        let bad = |why: &str| MlplaneError::Validation(format!("'{url}' is not a valid S3 URL: {why}"));
        let rest = url.strip_prefix("s3://").ok_or_else(|| bad("it must start with s3://"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if !valid_bucket_name(bucket) {
            return Err(bad("the bucket name must be 3-63 lowercase letters, digits, '.' or '-'"));
        }
        if key.split('/').any(|seg| seg == ".." || seg == ".") {
            return Err(bad("'.' and '..' are not allowed in keys"));
        }
        Ok(S3Url { bucket: bucket.to_string(), key: key.to_string() })
    }

    /// This URL with `suffix` appended after a `/` (exactly one).
    pub fn join(&self, suffix: &str) -> S3Url {
        let key = if self.key.is_empty() || self.key.ends_with('/') {
            format!("{}{suffix}", self.key)
        } else {
            format!("{}/{suffix}", self.key)
        };
        S3Url { bucket: self.bucket.clone(), key }
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

enum Backend {
    Local { root: PathBuf, store: Arc<LocalFileSystem> },
    S3 { config: S3Config, stores: Mutex<HashMap<String, Arc<dyn ObjectStore>>> },
}

/// The object store: see the module documentation.
pub struct Objects {
    backend: Backend,
}

/// One object found by [`Objects::list`].
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub url: S3Url,
    pub size: u64,
    /// Seconds since the epoch.
    pub last_modified: i64,
}

impl Objects {
    /// The local store under `root` (created if missing).
    pub fn local(root: &FsPath) -> Result<Objects> {
        std::fs::create_dir_all(root).map_err(MlplaneError::io(format!("creating {}", root.display())))?;
        let store = LocalFileSystem::new_with_prefix(root)?.with_fsync(true).with_automatic_cleanup(true);
        Ok(Objects { backend: Backend::Local { root: root.to_path_buf(), store: Arc::new(store) } })
    }

    /// S3 or an S3-compatible service. Nothing is contacted until an object is used.
    pub fn s3(config: S3Config) -> Objects {
        Objects { backend: Backend::S3 { config, stores: Mutex::new(HashMap::new()) } }
    }

    /// Which store holds `url`, and the object's path in it.
    pub fn locate(&self, url: &S3Url) -> Result<(Arc<dyn ObjectStore>, Path)> {
        let key = url.key.trim_end_matches('/');
        match &self.backend {
            Backend::Local { store, .. } => {
                let full = if key.is_empty() { url.bucket.clone() } else { format!("{}/{key}", url.bucket) };
                let path = Path::parse(&full)
                    .map_err(|e| MlplaneError::Validation(format!("'{url}' is not a usable object key: {e}")))?;
                Ok((store.clone() as Arc<dyn ObjectStore>, path))
            }
            Backend::S3 { config, stores } => {
                let path = Path::parse(key)
                    .map_err(|e| MlplaneError::Validation(format!("'{url}' is not a usable object key: {e}")))?;
                let mut stores = stores.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(s) = stores.get(&url.bucket) {
                    return Ok((s.clone(), path));
                }
                let mut b = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(&url.bucket)
                    .with_region(&config.region)
                    .with_access_key_id(&config.access_key_id)
                    .with_secret_access_key(&config.secret_access_key)
                    .with_allow_http(config.allow_http);
                if let Some(ep) = &config.endpoint {
                    b = b.with_endpoint(ep).with_virtual_hosted_style_request(false);
                }
                let store: Arc<dyn ObjectStore> = Arc::new(b.build()?);
                stores.insert(url.bucket.clone(), store.clone());
                Ok((store, path))
            }
        }
    }

    /// The buckets of the local store and when each was created (seconds since the epoch), by
    /// name; the S3 backend lists none (its buckets belong to the account outside).
    pub fn list_buckets(&self) -> Result<Vec<(String, i64)>> {
        let Backend::Local { root, .. } = &self.backend else {
            return Err(MlplaneError::Validation("listing buckets needs the local object store".into()));
        };
        let mut out = Vec::new();
        for entry in std::fs::read_dir(root).map_err(MlplaneError::io(format!("reading {}", root.display())))? {
            let entry = entry.map_err(MlplaneError::io(format!("reading {}", root.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = entry.metadata().map_err(MlplaneError::io(format!("reading {}", entry.path().display())))?;
            if meta.is_dir() && valid_bucket_name(&name) {
                let created = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs() as i64);
                out.push((name, created));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Whether bucket `name` exists (the S3 backend's buckets are taken to exist).
    pub fn bucket_exists(&self, name: &str) -> bool {
        match &self.backend {
            Backend::Local { root, .. } => valid_bucket_name(name) && root.join(name).is_dir(),
            Backend::S3 { .. } => true,
        }
    }

    /// Creates bucket `name` in the local store; `false` if it existed already.
    pub fn create_bucket(&self, name: &str) -> Result<bool> {
        let Backend::Local { root, .. } = &self.backend else {
            return Err(MlplaneError::Validation("creating buckets needs the local object store".into()));
        };
        if !valid_bucket_name(name) {
            return Err(MlplaneError::Validation(format!("'{name}' is not a valid bucket name: 3-63 lowercase letters, digits, '.' or '-'")));
        }
        let dir = root.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(MlplaneError::io(format!("creating {}", dir.display()))(e)),
        }
    }

    /// Where unfinished multipart uploads of `bucket` keep their parts: a store and a folder in
    /// it that no object key can reach.
    pub fn staging(&self, bucket: &str) -> Result<(Arc<dyn ObjectStore>, Path)> {
        match &self.backend {
            Backend::Local { store, .. } => Ok((store.clone() as Arc<dyn ObjectStore>, Path::from(STAGING_LOCAL))),
            Backend::S3 { .. } => {
                let (store, _) = self.locate(&S3Url { bucket: bucket.to_string(), key: String::new() })?;
                Ok((store, Path::from(STAGING_S3)))
            }
        }
    }

    /// Where a local object lives on disk (local backend only).
    pub fn local_path(&self, url: &S3Url) -> Option<PathBuf> {
        match &self.backend {
            Backend::Local { root, .. } => Some(root.join(&url.bucket).join(url.key.trim_end_matches('/'))),
            Backend::S3 { .. } => None,
        }
    }

    /// The object's size, or `None` if there is no object at exactly this key.
    pub async fn head(&self, url: &S3Url) -> Result<Option<u64>> {
        let (store, path) = self.locate(url)?;
        match store.head(&path).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The first `n` bytes of an object.
    pub async fn first_bytes(&self, url: &S3Url, n: u64) -> Result<bytes::Bytes> {
        let (store, path) = self.locate(url)?;
        let size = store.head(&path).await?.size;
        Ok(store.get_range(&path, 0..n.min(size)).await?)
    }

    /// Objects whose keys start with `url.key` as a string prefix (S3's `S3Prefix` semantics:
    /// `s3://b/in/r` matches `in/ratings.csv`), in key order. Temporary keys are left out.
    pub async fn list(&self, url: &S3Url) -> Result<Vec<Listed>> {
        let dir = match url.key.rfind('/') {
            Some(i) => &url.key[..i],
            None => "",
        };
        let dir_url = S3Url { bucket: url.bucket.clone(), key: dir.to_string() };
        let (store, dir_path) = self.locate(&dir_url)?;
        let bucket_prefix_len = match &self.backend {
            Backend::Local { .. } => url.bucket.len() + 1,
            Backend::S3 { .. } => 0,
        };
        let mut stream = store.list(if dir_path.as_ref().is_empty() { None } else { Some(&dir_path) });
        let mut out = Vec::new();
        while let Some(meta) = stream.next().await {
            let meta: ObjectMeta = match meta {
                Ok(m) => m,
                Err(object_store::Error::NotFound { .. }) => break,
                Err(e) => return Err(e.into()),
            };
            let full = meta.location.as_ref();
            let key = full.get(bucket_prefix_len.min(full.len())..).unwrap_or("");
            if key.starts_with(&url.key) && !key.contains(PARTIAL_MARK) && !key.starts_with(STAGING_S3) {
                out.push(Listed {
                    url: S3Url { bucket: url.bucket.clone(), key: key.to_string() },
                    size: meta.size,
                    last_modified: meta.last_modified.timestamp(),
                });
            }
        }
        out.sort_by(|a, b| a.url.key.cmp(&b.url.key));
        Ok(out)
    }

    /// Temporary keys under `url` (left by a server killed mid-upload).
    pub async fn partials(&self, url: &S3Url) -> Result<Vec<S3Url>> {
        let (store, path) = self.locate(url)?;
        let mut stream = store.list(Some(&path));
        let mut out = Vec::new();
        let bucket_prefix_len = match &self.backend {
            Backend::Local { .. } => url.bucket.len() + 1,
            Backend::S3 { .. } => 0,
        };
        while let Some(meta) = stream.next().await {
            let Ok(meta) = meta else { break };
            let full = meta.location.as_ref();
            if full.contains(PARTIAL_MARK) {
                out.push(S3Url { bucket: url.bucket.clone(), key: full[bucket_prefix_len.min(full.len())..].to_string() });
            }
        }
        Ok(out)
    }

    /// Downloads one object into a local file (written beside it, then renamed).
    pub async fn download(&self, url: &S3Url, to: &FsPath) -> Result<u64> {
        let (store, path) = self.locate(url)?;
        if let Some(dir) = to.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(MlplaneError::io(format!("creating {}", dir.display())))?;
        }
        let tmp = to.with_extension("download");
        let mut file = tokio::fs::File::create(&tmp).await.map_err(MlplaneError::io(format!("creating {}", tmp.display())))?;
        let mut stream = store.get(&path).await?.into_stream();
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            n += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(MlplaneError::io(format!("writing {}", tmp.display())))?;
        }
        file.sync_all().await.map_err(MlplaneError::io(format!("writing {}", tmp.display())))?;
        drop(file);
        tokio::fs::rename(&tmp, to).await.map_err(MlplaneError::io(format!("renaming onto {}", to.display())))?;
        Ok(n)
    }

    /// Uploads a local file to `url` so that the object appears whole or not at all: to a
    /// temporary key, then renamed onto `url`.
    pub async fn upload(&self, from: &FsPath, url: &S3Url) -> Result<u64> {
        let (store, path) = self.locate(url)?;
        let tmp_url = S3Url { bucket: url.bucket.clone(), key: format!("{}{PARTIAL_MARK}{}", url.key, std::process::id()) };
        let (_, tmp) = self.locate(&tmp_url)?;
        let mut file = tokio::fs::File::open(from).await.map_err(MlplaneError::io(format!("opening {}", from.display())))?;
        let mut upload = WriteMultipart::new(store.put_multipart(&tmp).await?);
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        loop {
            use tokio::io::AsyncReadExt;
            let got = file.read(&mut buf).await.map_err(MlplaneError::io(format!("reading {}", from.display())))?;
            if got == 0 {
                break;
            }
            n += got as u64;
            upload.wait_for_capacity(8).await?;
            upload.write(&buf[..got]);
        }
        upload.finish().await?;
        store.rename(&tmp, &path).await?;
        Ok(n)
    }

    /// Writes bytes to `url` in one request (atomic in every backend).
    pub async fn put(&self, url: &S3Url, bytes: bytes::Bytes) -> Result<()> {
        let (store, path) = self.locate(url)?;
        store.put(&path, PutPayload::from(bytes)).await?;
        Ok(())
    }

    pub async fn delete(&self, url: &S3Url) -> Result<bool> {
        let (store, path) = self.locate(url)?;
        match store.delete(&path).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_join() {
        let u = S3Url::parse("s3://recpipe-models/out/").unwrap();
        assert_eq!((u.bucket.as_str(), u.key.as_str()), ("recpipe-models", "out/"));
        assert_eq!(u.join("job-1/output/model.tar.gz").to_string(), "s3://recpipe-models/out/job-1/output/model.tar.gz");
        assert_eq!(S3Url::parse("s3://bkt/out").unwrap().join("j").key, "out/j");
        assert_eq!(S3Url::parse("s3://bkt").unwrap().join("j").key, "j");
        for bad in ["http://b/k", "s3://B/k", "s3://ab/k", "s3://bkt/../etc", "s3:///k"] {
            let e = S3Url::parse(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn local_urls_map_under_buckets() {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::local(&dir.path().join("buckets")).unwrap();
        let url = S3Url::parse("s3://models/a/b/model.tar.gz").unwrap();
        let (_, path) = objects.locate(&url).unwrap();
        assert_eq!(path.as_ref(), "models/a/b/model.tar.gz");
        assert_eq!(objects.local_path(&url).unwrap(), dir.path().join("buckets/models/a/b/model.tar.gz"));
    }

    #[test]
    fn s3_urls_map_to_one_store_per_bucket_with_the_key_as_path() {
        let objects = Objects::s3(S3Config {
            endpoint: Some("http://127.0.0.1:9".into()),
            region: "us-east-1".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".into(),
            allow_http: true,
        });
        let url = S3Url::parse("s3://models/a/model.tar.gz").unwrap();
        let (store, path) = objects.locate(&url).unwrap();
        assert_eq!(path.as_ref(), "a/model.tar.gz");
        assert!(store.to_string().contains("models"), "{store}");
        let (again, _) = objects.locate(&S3Url::parse("s3://models/b").unwrap()).unwrap();
        assert!(Arc::ptr_eq(&store, &again));
        let (other, _) = objects.locate(&S3Url::parse("s3://other/b").unwrap()).unwrap();
        assert!(!Arc::ptr_eq(&store, &other));
        assert!(objects.local_path(&url).is_none());
    }

    #[tokio::test]
    async fn prefixes_list_like_s3_and_uploads_appear_whole() {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::local(&dir.path().join("buckets")).unwrap();
        for key in ["in/ratings.csv", "in/more/r2.csv", "input-other/x.csv", "out/y"] {
            objects.put(&S3Url::parse(&format!("s3://data/{key}")).unwrap(), bytes::Bytes::from_static(b"1,2,3\n")).await.unwrap();
        }
        let keys = |v: Vec<Listed>| v.into_iter().map(|l| l.url.key).collect::<Vec<_>>();
        assert_eq!(keys(objects.list(&S3Url::parse("s3://data/in/").unwrap()).await.unwrap()), ["in/more/r2.csv", "in/ratings.csv"]);
        assert_eq!(
            keys(objects.list(&S3Url::parse("s3://data/in").unwrap()).await.unwrap()),
            ["in/more/r2.csv", "in/ratings.csv", "input-other/x.csv"]
        );
        assert!(objects.list(&S3Url::parse("s3://nobucket/x").unwrap()).await.unwrap().is_empty());

        let src = dir.path().join("big.bin");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let url = S3Url::parse("s3://data/out/model.tar.gz").unwrap();
        assert_eq!(objects.upload(&src, &url).await.unwrap(), data.len() as u64);
        assert_eq!(std::fs::read(objects.local_path(&url).unwrap()).unwrap(), data);
        assert!(objects.partials(&S3Url::parse("s3://data/out").unwrap()).await.unwrap().is_empty());
        let back = dir.path().join("back.bin");
        objects.download(&url, &back).await.unwrap();
        assert_eq!(std::fs::read(back).unwrap(), data);
        assert_eq!(objects.head(&url).await.unwrap(), Some(data.len() as u64));
        assert!(objects.delete(&url).await.unwrap());
        assert_eq!(objects.head(&url).await.unwrap(), None);
    }
}
