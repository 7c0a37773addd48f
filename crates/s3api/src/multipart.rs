//! Multipart uploads: each upload is a folder of the store's staging area (outside every
//! bucket), `<id>/upload.json` naming its bucket and key and `<id>/<part number>` holding each
//! part. Completing concatenates the listed parts into a temporary key renamed onto the object,
//! then removes the folder; aborting removes it.

use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use mlplane::{Objects, S3Url};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::error::S3ApiError;
use crate::store::write_stream;

/// S3's bounds: part numbers 1 to 10,000, every part but the last at least 5 MiB.
const MAX_PART_NUMBER: i32 = 10_000;
const MIN_PART_BYTES: u64 = 5 << 20;

/// An upload id: 32 lowercase hex digits, so it is a safe folder name.
fn upload_id(id: &str) -> Result<&str, S3ApiError> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(id)
    } else {
        Err(S3ApiError::NoSuchUpload(id.to_string()))
    }
}

fn part_path(dir: &Path, n: i32) -> Path {
    dir.clone().join(format!("{n:05}"))
}

/// The staging folder of upload `id`, checked to belong to `url`'s bucket and key.
async fn upload_dir(objects: &Objects, url: &S3Url, id: &str) -> Result<(Arc<dyn ObjectStore>, Path), S3ApiError> {
    let id = upload_id(id)?;
    let (store, staging) = objects.staging(&url.bucket)?;
    let dir = staging.clone().join(id);
    let manifest = match store.get(&dir.clone().join("upload.json")).await {
        Ok(r) => r.bytes().await?,
        Err(object_store::Error::NotFound { .. }) => return Err(S3ApiError::NoSuchUpload(id.to_string())),
        Err(e) => return Err(e.into()),
    };
    let doc: serde_json::Value = serde_json::from_slice(&manifest).map_err(|e| S3ApiError::Store(format!("upload {id}'s manifest: {e}")))?;
    if doc["bucket"] != url.bucket.as_str() || doc["key"] != url.key.as_str() {
        return Err(S3ApiError::NoSuchUpload(id.to_string()));
    }
    Ok((store, dir))
}

/// `CreateMultipartUpload`: a new upload id for `url`.
pub(crate) async fn create(objects: &Objects, url: &S3Url) -> Result<String, S3ApiError> {
    let id = iam::random::hex_id(16);
    let (store, staging) = objects.staging(&url.bucket)?;
    let manifest = serde_json::json!({"bucket": url.bucket, "key": url.key}).to_string();
    store.put(&staging.clone().join(id.as_str()).join("upload.json"), PutPayload::from(manifest.into_bytes())).await?;
    Ok(id)
}

/// `UploadPart`: stores part `n` (replacing an earlier upload of the same number).
pub(crate) async fn upload_part<S, E>(objects: &Objects, url: &S3Url, id: &str, n: i32, body: S, crc32: Option<&str>) -> Result<ObjectMeta, S3ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + 'static,
{
    if !(1..=MAX_PART_NUMBER).contains(&n) {
        return Err(S3ApiError::InvalidArgument(format!("Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive (got {n})")));
    }
    let (store, dir) = upload_dir(objects, url, id).await?;
    write_stream(&store, &part_path(&dir, n), body, crc32).await
}

/// `CompleteMultipartUpload`: the parts listed (ascending, each with the ETag its upload
/// returned) become the object.
pub(crate) async fn complete(objects: &Objects, url: &S3Url, id: &str, listed: &[(i32, Option<String>)]) -> Result<ObjectMeta, S3ApiError> {
    let (store, dir) = upload_dir(objects, url, id).await?;
    if listed.is_empty() {
        return Err(S3ApiError::InvalidPart("You must specify at least one part".into()));
    }
    let mut metas = Vec::with_capacity(listed.len());
    for (i, (n, tag)) in listed.iter().enumerate() {
        if i > 0 && *n <= listed[i - 1].0 {
            return Err(S3ApiError::InvalidPart(format!("The list of parts was not in ascending order (part {n} after part {})", listed[i - 1].0)));
        }
        let meta = match store.head(&part_path(&dir, *n)).await {
            Ok(m) => m,
            Err(object_store::Error::NotFound { .. }) => return Err(S3ApiError::InvalidPart(format!("Part {n} was not uploaded"))),
            Err(e) => return Err(e.into()),
        };
        let stored = meta.e_tag.as_deref().map(|t| t.trim_matches('"'));
        if tag.as_deref().map(|t| t.trim_matches('"')) != stored {
            return Err(S3ApiError::InvalidPart(format!("Part {n}'s ETag does not match the uploaded part's")));
        }
        if i + 1 < listed.len() && meta.size < MIN_PART_BYTES {
            return Err(S3ApiError::InvalidPart(format!("Part {n} has {} bytes; every part but the last must have at least {MIN_PART_BYTES}", meta.size)));
        }
        metas.push(meta);
    }
    let (target, path) = objects.locate(url)?;
    let tmp = Path::from(format!("{path}{}{}", mlplane::objects::PARTIAL_MARK, iam::random::short_id(10)));
    let mut out = WriteMultipart::new(target.put_multipart(&tmp).await?);
    let copied = async {
        for meta in &metas {
            let mut stream = store.get(&meta.location).await?.into_stream();
            while let Some(chunk) = stream.next().await {
                out.wait_for_capacity(8).await?;
                out.write(&chunk?);
            }
        }
        Ok::<(), object_store::Error>(())
    }
    .await;
    if let Err(e) = copied {
        let _ = out.abort().await;
        return Err(e.into());
    }
    out.finish().await?;
    target.rename(&tmp, &path).await?;
    remove(&store, &dir).await?;
    Ok(target.head(&path).await?)
}

/// `AbortMultipartUpload`: the upload and its parts are gone.
pub(crate) async fn abort(objects: &Objects, url: &S3Url, id: &str) -> Result<(), S3ApiError> {
    let (store, dir) = upload_dir(objects, url, id).await?;
    remove(&store, &dir).await
}

async fn remove(store: &Arc<dyn ObjectStore>, dir: &Path) -> Result<(), S3ApiError> {
    let mut listed = store.list(Some(dir));
    let mut paths = Vec::new();
    while let Some(meta) = listed.next().await {
        paths.push(meta?.location);
    }
    // The manifest goes last, so an interrupted removal still names the upload.
    paths.sort_by_key(|p| p.filename() == Some("upload.json"));
    for p in paths {
        match store.delete(&p).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
