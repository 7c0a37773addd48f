//! The S3 operations over the control plane's object store. Writes stream into a temporary key
//! beside the object and are renamed onto it only when the whole body arrived and verified, so a
//! refused or broken upload never replaces or corrupts what was stored.

use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use http_body_util::StreamBody;
use hyper::body::Frame;
use mlplane::objects::PARTIAL_MARK;
use mlplane::{Objects, S3Url};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt, WriteMultipart};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, S3};

use crate::error::S3ApiError;
use crate::{keys, multipart, ObjectsRef};

/// A page of a listing holds at most this many keys (S3's default and maximum).
const MAX_KEYS: i32 = 1000;

pub(crate) struct Store {
    objects: Arc<dyn ObjectsRef>,
}

fn timestamp(t: time::OffsetDateTime) -> Timestamp {
    Timestamp::from(t)
}

/// The time of an object's last change, as S3 reports it.
pub(crate) fn modified(meta: &ObjectMeta) -> Timestamp {
    let nanos = meta.last_modified.timestamp_nanos_opt().unwrap_or(0);
    timestamp(time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH))
}

pub(crate) fn etag(meta: &ObjectMeta) -> Option<ETag> {
    meta.e_tag.as_ref().map(|t| ETag::Strong(t.trim_matches('"').to_string()))
}

/// The error a body stream ended with, if it is one of the verified body's.
fn body_error(e: &(dyn std::error::Error + 'static)) -> S3ApiError {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(b) = err.downcast_ref::<awsapi::BodyError>() {
            return S3ApiError::Body(b.clone());
        }
        cur = err.source();
    }
    S3ApiError::Body(awsapi::BodyError::Transport(e.to_string()))
}

/// Streams `body` into `path` of `store`: into a temporary key beside it, renamed onto `path`
/// once every byte arrived and verified (and, when the client sent `x-amz-checksum-crc32`,
/// matched it); on any error the temporary key is removed.
pub(crate) async fn write_stream<S, E>(store: &Arc<dyn ObjectStore>, path: &Path, body: S, crc32: Option<&str>) -> Result<ObjectMeta, S3ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + 'static,
{
    let tmp = Path::from(format!("{path}{PARTIAL_MARK}{}", iam::random::short_id(10)));
    let mut upload = WriteMultipart::new(store.put_multipart(&tmp).await?);
    let mut body = body;
    let mut hasher = crc32fast::Hasher::new();
    let failed = loop {
        match body.next().await {
            Some(Ok(bytes)) => {
                if let Err(e) = upload.wait_for_capacity(8).await {
                    break S3ApiError::from(e);
                }
                hasher.update(&bytes);
                upload.write(&bytes);
            }
            Some(Err(e)) => break body_error(&e),
            None => {
                use base64::Engine;
                let computed = base64::engine::general_purpose::STANDARD.encode(hasher.clone().finalize().to_be_bytes());
                if let Some(declared) = crc32.filter(|d| *d != computed) {
                    break S3ApiError::BadDigest(format!("The CRC32 you specified ({declared}) did not match the calculated checksum ({computed})"));
                }
                upload.finish().await?;
                store.rename(&tmp, path).await?;
                return Ok(store.head(path).await?);
            }
        }
    };
    let _ = upload.abort().await;
    let _ = store.delete(&tmp).await;
    Err(failed)
}

/// A body as `s3s` hands it over, as a stream whose errors keep their source.
fn stream_of(blob: Option<StreamingBlob>) -> futures::stream::BoxStream<'static, Result<Bytes, BoxedError>> {
    futures::stream::iter(blob).flatten().map_err(BoxedError).boxed()
}

/// A boxed error as a `std::error::Error` whose `source` is the boxed one.
#[derive(Debug)]
struct BoxedError(s3s::StdError);

impl std::fmt::Display for BoxedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BoxedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// `s3s`'s streaming body from `object_store`'s stream.
fn blob<S>(stream: S) -> StreamingBlob
where
    S: Stream<Item = object_store::Result<Bytes>> + Send + 'static,
{
    StreamingBlob::from(s3s::Body::http_body_unsync(StreamBody::new(stream.map_ok(Frame::data))))
}

impl Store {
    pub(crate) fn new(objects: Arc<dyn ObjectsRef>) -> Store {
        Store { objects }
    }

    pub(crate) fn objects(&self) -> &Objects {
        self.objects.objects()
    }

    /// The bucket must exist.
    pub(crate) fn existing_bucket<'a>(&self, name: &'a str) -> Result<&'a str, S3ApiError> {
        let name = keys::bucket(name)?;
        if !self.objects().bucket_exists(name) {
            return Err(S3ApiError::NoSuchBucket(name.to_string()));
        }
        Ok(name)
    }

    /// The metadata of the object at `url`, or `NoSuchKey`.
    async fn meta(&self, url: &S3Url) -> Result<(Arc<dyn ObjectStore>, Path, ObjectMeta), S3ApiError> {
        self.existing_bucket(&url.bucket)?;
        let (store, path) = self.objects().locate(url)?;
        match store.head(&path).await {
            Ok(meta) => Ok((store, path, meta)),
            Err(object_store::Error::NotFound { .. }) => Err(S3ApiError::NoSuchKey(url.key.clone())),
            Err(e) => Err(e.into()),
        }
    }
}

/// The bytes a `Range` header asks of an object of `size` bytes (all of them without one), and
/// the `Content-Range` to answer with when it asked.
fn byte_range(range: Option<Range>, size: u64) -> Result<(std::ops::Range<u64>, Option<String>), S3ApiError> {
    match range {
        None => Ok((0..size, None)),
        Some(r) => {
            let r = r.check(size).map_err(|_| S3ApiError::InvalidRange(format!("The requested range is not satisfiable (the object has {size} bytes)")))?;
            let header = format!("bytes {}-{}/{size}", r.start, r.end.saturating_sub(1));
            Ok((r, Some(header)))
        }
    }
}

#[async_trait::async_trait]
impl S3 for Store {
    async fn list_buckets(&self, _req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        let buckets = self.objects().list_buckets().map_err(S3ApiError::from)?;
        let buckets = buckets
            .into_iter()
            .map(|(name, created)| Bucket {
                name: Some(name),
                creation_date: Some(timestamp(time::OffsetDateTime::from_unix_timestamp(created).unwrap_or(time::OffsetDateTime::UNIX_EPOCH))),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput { buckets: Some(buckets), owner: Some(Owner { display_name: Some("recpipe".into()), id: None }), ..Default::default() }))
    }

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        let name = keys::bucket(&req.input.bucket)?;
        if !self.objects().create_bucket(name).map_err(S3ApiError::from)? {
            return Err(S3ApiError::BucketAlreadyOwnedByYou(name.to_string()).into());
        }
        Ok(S3Response::new(CreateBucketOutput { location: Some(format!("/{name}")) }))
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.existing_bucket(&req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let bucket = self.existing_bucket(&input.bucket)?.to_string();
        let prefix = input.prefix.clone().unwrap_or_default();
        let url = keys::prefix(&bucket, &prefix)?;
        let max_keys = input.max_keys.unwrap_or(MAX_KEYS).clamp(0, MAX_KEYS) as usize;
        // The continuation token is the last key (or common prefix) of the previous page, hex-encoded.
        let after = match (&input.continuation_token, &input.start_after) {
            (Some(t), _) => Some(hex::decode(t).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| S3ApiError::InvalidArgument("The continuation token provided is incorrect".into()))?),
            (None, Some(s)) => Some(s.clone()),
            (None, None) => None,
        };
        let listed = self.objects().list(&url).await.map_err(S3ApiError::from)?;
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        let (mut contents, mut prefixes, mut last, mut truncated) = (Vec::new(), Vec::<String>::new(), None::<String>, false);
        for l in listed {
            let key = l.url.key;
            let entry = match &delimiter {
                Some(d) => key[prefix.len()..].find(d.as_str()).map(|i| key[..prefix.len() + i + d.len()].to_string()),
                None => None,
            };
            let name = entry.clone().unwrap_or_else(|| key.clone());
            if after.as_ref().is_some_and(|a| name.as_str() <= a.as_str()) || last.as_ref() == Some(&name) {
                continue;
            }
            if contents.len() + prefixes.len() >= max_keys {
                truncated = true;
                break;
            }
            match entry {
                Some(p) => prefixes.push(p),
                None => contents.push(Object {
                    key: Some(key.clone()),
                    size: Some(l.size as i64),
                    last_modified: Some(timestamp(time::OffsetDateTime::from_unix_timestamp(l.last_modified).unwrap_or(time::OffsetDateTime::UNIX_EPOCH))),
                    storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
                    ..Default::default()
                }),
            }
            last = Some(name);
        }
        let key_count = (contents.len() + prefixes.len()) as i32;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(bucket),
            prefix: Some(prefix),
            delimiter,
            max_keys: Some(max_keys as i32),
            key_count: Some(key_count),
            is_truncated: Some(truncated),
            next_continuation_token: if truncated { last.map(hex::encode) } else { None },
            continuation_token: input.continuation_token,
            start_after: input.start_after,
            contents: Some(contents),
            common_prefixes: Some(prefixes.into_iter().map(|p| CommonPrefix { prefix: Some(p) }).collect()),
            ..Default::default()
        }))
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        let url = keys::object(&req.input.bucket, &req.input.key)?;
        let (_, _, meta) = self.meta(&url).await?;
        let (wanted, content_range) = byte_range(req.input.range, meta.size)?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some((wanted.end - wanted.start) as i64),
            content_range,
            accept_ranges: Some("bytes".into()),
            e_tag: etag(&meta),
            last_modified: Some(modified(&meta)),
            ..Default::default()
        }))
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let url = keys::object(&req.input.bucket, &req.input.key)?;
        let (store, path, meta) = self.meta(&url).await?;
        let (wanted, content_range) = byte_range(req.input.range, meta.size)?;
        let stream = if wanted.is_empty() {
            futures::stream::empty().boxed()
        } else {
            let opts = GetOptions { range: Some(GetRange::Bounded(wanted.clone())), ..Default::default() };
            store.get_opts(&path, opts).await.map_err(S3ApiError::from)?.into_stream()
        };
        Ok(S3Response::new(GetObjectOutput {
            body: Some(blob(stream)),
            content_length: Some((wanted.end - wanted.start) as i64),
            content_range,
            accept_ranges: Some("bytes".into()),
            e_tag: etag(&meta),
            last_modified: Some(modified(&meta)),
            ..Default::default()
        }))
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let url = keys::object(&req.input.bucket, &req.input.key)?;
        self.existing_bucket(&url.bucket)?;
        let (store, path) = self.objects().locate(&url).map_err(S3ApiError::from)?;
        let meta = write_stream(&store, &path, stream_of(req.input.body), req.input.checksum_crc32.as_deref()).await?;
        Ok(S3Response::new(PutObjectOutput { e_tag: etag(&meta), size: Some(meta.size as i64), ..Default::default() }))
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        let url = keys::object(&req.input.bucket, &req.input.key)?;
        self.existing_bucket(&url.bucket)?;
        // S3 answers 204 whether or not the key existed.
        self.objects().delete(&url).await.map_err(S3ApiError::from)?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket)?.to_string();
        let (mut deleted, mut errors) = (Vec::new(), Vec::new());
        for o in req.input.delete.objects {
            let outcome = match keys::object(&bucket, &o.key) {
                Ok(url) => self.objects().delete(&url).await.map(|_| ()).map_err(S3ApiError::from),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => deleted.push(DeletedObject { key: Some(o.key), ..Default::default() }),
                Err(e) => {
                    let err = s3s::S3Error::from(e);
                    errors.push(Error { code: Some(err.code().as_str().to_string()), key: Some(o.key), message: err.message().map(str::to_string), version_id: None })
                }
            }
        }
        let quiet = req.input.delete.quiet.unwrap_or(false);
        Ok(S3Response::new(DeleteObjectsOutput { deleted: (!quiet).then_some(deleted), errors: Some(errors), ..Default::default() }))
    }

    async fn create_multipart_upload(&self, req: S3Request<CreateMultipartUploadInput>) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let url = keys::object(&req.input.bucket, &req.input.key)?;
        self.existing_bucket(&url.bucket)?;
        let id = multipart::create(self.objects(), &url).await?;
        Ok(S3Response::new(CreateMultipartUploadOutput { bucket: Some(url.bucket), key: Some(url.key), upload_id: Some(id), ..Default::default() }))
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        let url = keys::object(&req.input.bucket, &req.input.key)?;
        let meta = multipart::upload_part(self.objects(), &url, &req.input.upload_id, req.input.part_number, stream_of(req.input.body), req.input.checksum_crc32.as_deref()).await?;
        Ok(S3Response::new(UploadPartOutput { e_tag: etag(&meta), ..Default::default() }))
    }

    async fn complete_multipart_upload(&self, req: S3Request<CompleteMultipartUploadInput>) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let url = keys::object(&req.input.bucket, &req.input.key)?;
        let parts = req.input.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
        let listed: Vec<(i32, Option<String>)> = parts.into_iter().map(|p| (p.part_number.unwrap_or(0), p.e_tag.map(|t| t.value().to_string()))).collect();
        let meta = multipart::complete(self.objects(), &url, &req.input.upload_id, &listed).await?;
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(url.bucket.clone()),
            key: Some(url.key.clone()),
            e_tag: etag(&meta),
            location: Some(format!("/{}/{}", url.bucket, url.key)),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(&self, req: S3Request<AbortMultipartUploadInput>) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let url = keys::object(&req.input.bucket, &req.input.key)?;
        multipart::abort(self.objects(), &url, &req.input.upload_id).await?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }
}
