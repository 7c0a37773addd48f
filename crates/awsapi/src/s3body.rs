//! The body of a verified S3 request, held to what its signature said while it streams: a
//! SHA-256 compared at the end, or an `aws-chunked` encoding decoded chunk by chunk with each
//! chunk's signature checked before its bytes are handed on. Bytes past the cap, a hash that
//! does not match, a chunk whose signature does not verify, or a body that ends early are errors
//! of the stream, so a consumer that writes the body somewhere commits nothing when one comes.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, BodyDataStream};
use bytes::{Buf, Bytes, BytesMut};
use futures::Stream;
use iam::sigv4::s3::{ChunkVerifier, S3Payload};
use iam::AuthError;
use sha2::{Digest, Sha256};

/// The largest chunk of an `aws-chunked` body held in memory while its signature is checked
/// (clients send 64 KiB to 8 MiB chunks).
pub const MAX_CHUNK: usize = 16 << 20;
/// The longest chunk header or trailer line.
const MAX_LINE: usize = 4096;

/// Why a body was refused while it streamed; `code` and `status` are S3's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("Your proposed upload exceeds the maximum allowed size of {limit} bytes.")]
    TooLarge { limit: u64 },
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed: declared {declared}, computed {computed}")]
    Sha256Mismatch { declared: String, computed: String },
    #[error("{0}")]
    Chunk(AuthError),
    #[error("The aws-chunked body is malformed: {0}")]
    Malformed(String),
    #[error("The body ended after {got} bytes; {declared} were declared.")]
    Incomplete { declared: u64, got: u64 },
    #[error("The {name} trailer does not match the body: declared {declared}, computed {computed}")]
    ChecksumMismatch { name: String, declared: String, computed: String },
    #[error("reading the request body: {0}")]
    Transport(String),
}

impl BodyError {
    pub fn code(&self) -> &'static str {
        match self {
            BodyError::TooLarge { .. } => "EntityTooLarge",
            BodyError::Sha256Mismatch { .. } => "XAmzContentSHA256Mismatch",
            BodyError::Chunk(_) => "SignatureDoesNotMatch",
            BodyError::Malformed(_) => "InvalidRequest",
            BodyError::Incomplete { .. } | BodyError::Transport(_) => "IncompleteBody",
            BodyError::ChecksumMismatch { .. } => "BadDigest",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            BodyError::Chunk(_) => 403,
            BodyError::TooLarge { .. }
            | BodyError::Sha256Mismatch { .. }
            | BodyError::Malformed(_)
            | BodyError::Incomplete { .. }
            | BodyError::Transport(_)
            | BodyError::ChecksumMismatch { .. } => 400,
        }
    }
}

enum Chunked {
    /// Waiting for `<hex size>[;chunk-signature=<sig>]\r\n`.
    Header,
    /// Waiting for `size` bytes and `\r\n`.
    Data { size: usize, signature: Option<String> },
    /// After the last chunk of an unsigned-trailer body: `name:value\r\n` lines, then `\r\n`.
    Trailers,
    Done,
}

enum Mode {
    Plain { declared: Option<String>, hasher: Sha256 },
    Chunked { verifier: Option<ChunkVerifier>, state: Chunked, buf: BytesMut, crc: crc32fast::Hasher },
}

/// The verified body stream (see the module documentation).
pub struct VerifiedBody {
    inner: BodyDataStream,
    mode: Mode,
    limit: u64,
    /// For `aws-chunked`: `x-amz-decoded-content-length`.
    decoded_length: Option<u64>,
    seen: u64,
    finished: bool,
}

impl VerifiedBody {
    /// `body` checked as `payload` says, at most `limit` decoded bytes; an `aws-chunked` body
    /// must decode to `decoded_length` bytes when it is given.
    pub fn new(body: Body, payload: S3Payload, limit: u64, decoded_length: Option<u64>) -> Self {
        let chunked = |verifier| Mode::Chunked { verifier, state: Chunked::Header, buf: BytesMut::new(), crc: crc32fast::Hasher::new() };
        let mode = match payload {
            S3Payload::Sha256(h) => Mode::Plain { declared: Some(h), hasher: Sha256::new() },
            S3Payload::Unsigned => Mode::Plain { declared: None, hasher: Sha256::new() },
            S3Payload::SignedChunks(v) => chunked(Some(v)),
            S3Payload::UnsignedChunks => chunked(None),
        };
        VerifiedBody { inner: body.into_data_stream(), mode, limit, decoded_length, seen: 0, finished: false }
    }

    /// Whether the body arrives `aws-chunked` (its wire length is not its decoded length).
    pub fn is_chunked(&self) -> bool {
        matches!(self.mode, Mode::Chunked { .. })
    }

    fn count(&mut self, n: usize) -> Result<(), BodyError> {
        self.seen += n as u64;
        if self.seen > self.limit {
            return Err(BodyError::TooLarge { limit: self.limit });
        }
        Ok(())
    }

    /// The end of the wire body: every promise the signature made must hold by now.
    fn finish(&mut self) -> Result<(), BodyError> {
        match &mut self.mode {
            Mode::Plain { declared: Some(declared), hasher } => {
                let computed = hex::encode(std::mem::take(hasher).finalize());
                if computed != *declared {
                    return Err(BodyError::Sha256Mismatch { declared: declared.clone(), computed });
                }
            }
            Mode::Plain { declared: None, .. } => {}
            Mode::Chunked { state, .. } => {
                if !matches!(state, Chunked::Done) {
                    return Err(BodyError::Malformed("the body ended before its final (zero-length) chunk".into()));
                }
                if let Some(declared) = self.decoded_length.filter(|d| *d != self.seen) {
                    return Err(BodyError::Incomplete { declared, got: self.seen });
                }
            }
        }
        Ok(())
    }

    /// Decodes what the buffer holds: `Some(bytes)` of the next chunk, or `None` when more wire
    /// bytes are needed (or the body is done).
    fn decode(&mut self) -> Result<Option<Bytes>, BodyError> {
        let Mode::Chunked { verifier, state, buf, crc } = &mut self.mode else {
            return Ok(None);
        };
        loop {
            match state {
                Chunked::Header => {
                    let Some(line) = take_line(buf)? else { return Ok(None) };
                    let (size, ext) = line.split_once(';').unwrap_or((&line, ""));
                    let size = usize::from_str_radix(size.trim(), 16).map_err(|_| BodyError::Malformed(format!("chunk size '{size}' is not hexadecimal")))?;
                    if size > MAX_CHUNK {
                        return Err(BodyError::Malformed(format!("a chunk of {size} bytes is larger than {MAX_CHUNK}")));
                    }
                    let signature = ext.trim().strip_prefix("chunk-signature=").map(str::to_string);
                    if verifier.is_some() != signature.is_some() {
                        return Err(BodyError::Malformed("each chunk must carry a chunk-signature exactly when the payload is STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into()));
                    }
                    *state = Chunked::Data { size, signature };
                }
                Chunked::Data { size, signature } => {
                    let size = *size;
                    let last = size == 0;
                    // An unsigned-trailer body's last chunk is followed by its trailers directly.
                    let need = if last && verifier.is_none() { 0 } else { size + 2 };
                    if buf.len() < need {
                        return Ok(None);
                    }
                    let data = buf.split_to(size).freeze();
                    if need > size {
                        if &buf[..2] != b"\r\n" {
                            return Err(BodyError::Malformed("a chunk's data is not followed by CRLF".into()));
                        }
                        buf.advance(2);
                    }
                    if let (Some(v), Some(sig)) = (verifier.as_mut(), signature.as_deref()) {
                        v.verify_chunk(sig, &data).map_err(BodyError::Chunk)?;
                    }
                    *state = match (last, verifier.is_some()) {
                        (true, true) => Chunked::Done,
                        (true, false) => Chunked::Trailers,
                        (false, _) => Chunked::Header,
                    };
                    if !last {
                        crc.update(&data);
                        return Ok(Some(data));
                    }
                }
                Chunked::Trailers => {
                    let Some(line) = take_line(buf)? else { return Ok(None) };
                    if line.is_empty() {
                        *state = Chunked::Done;
                        continue;
                    }
                    let (name, value) = line.split_once(':').ok_or_else(|| BodyError::Malformed(format!("trailer '{line}' is not name:value")))?;
                    let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
                    if name == "x-amz-checksum-crc32" {
                        use base64::Engine;
                        let computed = base64::engine::general_purpose::STANDARD.encode(crc.clone().finalize().to_be_bytes());
                        if computed != value {
                            return Err(BodyError::ChecksumMismatch { name, declared: value.to_string(), computed });
                        }
                    }
                }
                Chunked::Done => {
                    if !buf.is_empty() {
                        return Err(BodyError::Malformed("bytes follow the final chunk".into()));
                    }
                    return Ok(None);
                }
            }
        }
    }
}

/// Takes one CRLF-terminated line off the front of `buf`, if a whole one is there.
fn take_line(buf: &mut BytesMut) -> Result<Option<String>, BodyError> {
    match buf.windows(2).position(|w| w == b"\r\n") {
        Some(i) => {
            let line = buf.split_to(i);
            buf.advance(2);
            String::from_utf8(line.to_vec()).map(Some).map_err(|_| BodyError::Malformed("a chunk header is not text".into()))
        }
        None if buf.len() > MAX_LINE => Err(BodyError::Malformed(format!("a chunk header is longer than {MAX_LINE} bytes"))),
        None => Ok(None),
    }
}

impl Stream for VerifiedBody {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        let fail = |this: &mut VerifiedBody, e: BodyError| {
            this.finished = true;
            Poll::Ready(Some(Err(e)))
        };
        loop {
            match this.decode() {
                Ok(Some(data)) => {
                    return match this.count(data.len()) {
                        Ok(()) => Poll::Ready(Some(Ok(data))),
                        Err(e) => fail(this, e),
                    }
                }
                Ok(None) => {}
                Err(e) => return fail(this, e),
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return fail(this, BodyError::Transport(e.to_string())),
                Poll::Ready(Some(Ok(bytes))) => match &mut this.mode {
                    Mode::Plain { hasher, .. } => {
                        hasher.update(&bytes);
                        return match this.count(bytes.len()) {
                            Ok(()) => Poll::Ready(Some(Ok(bytes))),
                            Err(e) => fail(this, e),
                        };
                    }
                    // `decode` took all it could, so the buffer holds at most one partial chunk.
                    Mode::Chunked { buf, .. } => buf.extend_from_slice(&bytes),
                },
                Poll::Ready(None) => {
                    this.finished = true;
                    return match this.finish() {
                        Ok(()) => Poll::Ready(None),
                        Err(e) => Poll::Ready(Some(Err(e))),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    async fn drain(body: VerifiedBody) -> Result<Vec<u8>, BodyError> {
        let mut out = Vec::new();
        let mut s = body;
        while let Some(part) = s.next().await {
            out.extend_from_slice(&part?);
        }
        Ok(out)
    }

    fn pieces(parts: Vec<Vec<u8>>) -> Body {
        Body::from_stream(futures::stream::iter(parts.into_iter().map(Ok::<_, std::io::Error>)))
    }

    #[tokio::test]
    async fn plain_bodies_are_held_to_their_hash_and_cap() {
        let hash = iam::sigv4::sha256_hex(b"hello world");
        let ok = VerifiedBody::new(pieces(vec![b"hello ".to_vec(), b"world".to_vec()]), S3Payload::Sha256(hash.clone()), 100, None);
        assert_eq!(drain(ok).await.unwrap(), b"hello world");
        let bad = VerifiedBody::new(Body::from("hello there"), S3Payload::Sha256(hash), 100, None);
        assert!(matches!(drain(bad).await, Err(BodyError::Sha256Mismatch { .. })));
        let big = VerifiedBody::new(Body::from(vec![0u8; 101]), S3Payload::Unsigned, 100, None);
        assert_eq!(drain(big).await, Err(BodyError::TooLarge { limit: 100 }));
    }

    #[tokio::test]
    async fn unsigned_chunks_decode_across_any_split_and_check_their_crc32_trailer() {
        use base64::Engine;
        let crc = base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(b"hello world!").to_be_bytes());
        let wire = format!("6\r\nhello \r\n6\r\nworld!\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n").into_bytes();
        for split in [1, 3, 7, wire.len()] {
            let parts = wire.chunks(split).map(<[u8]>::to_vec).collect();
            let body = VerifiedBody::new(pieces(parts), S3Payload::UnsignedChunks, 100, Some(12));
            assert_eq!(drain(body).await.unwrap(), b"hello world!", "split {split}");
        }
        let wrong = String::from_utf8(wire.clone()).unwrap().replace("world!", "World!");
        let body = VerifiedBody::new(Body::from(wrong), S3Payload::UnsignedChunks, 100, Some(12));
        assert!(matches!(drain(body).await, Err(BodyError::ChecksumMismatch { .. })));
        let short = VerifiedBody::new(Body::from("6\r\nhello \r\n"), S3Payload::UnsignedChunks, 100, None);
        assert!(matches!(drain(short).await, Err(BodyError::Malformed(_))));
        let declared = VerifiedBody::new(Body::from(wire), S3Payload::UnsignedChunks, 100, Some(13));
        assert_eq!(drain(declared).await, Err(BodyError::Incomplete { declared: 13, got: 12 }));
    }
}
