//! The model file: one versioned binary file that loads in one read.
//!
//! Layout (little-endian):
//! ```text
//! magic        8 bytes  \x89 R P M F \r \n \x1a   (a PNG-style magic: catches text-mode mangling)
//! version      u32      FORMAT_VERSION
//! header_len   u32      length of the JSON header
//! header       JSON     params, rating scale, mean, sizes, training summary
//! user ids     i64 × n_users      raw ids in dense order
//! item ids     i64 × n_items
//! user counts  u32 × n_users      training ratings per user
//! item counts  u32 × n_items
//! b_u          f32 × n_users
//! b_i          f32 × n_items
//! P            f32 × n_users × k  row-major
//! Q            f32 × n_items × k
//! crc32        u32      CRC-32 (IEEE) of every byte before it
//! ```

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::IdMap;
use crate::model::{Model, TrainingSummary};
use crate::params::Params;
use crate::sgd::Factors;

pub const MAGIC: [u8; 8] = *b"\x89RPMF\r\n\x1a";
pub const FORMAT_VERSION: u32 = 1;
/// The file name of the model inside a model directory.
pub const FILE_NAME: &str = "model.rpmf";

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("{path}: cannot read the model file: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: cannot write the model file: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("{path}: not a recpipe model file (wrong magic bytes)")]
    Foreign { path: String },
    #[error("{path}: model format version {found} is not supported (this build reads version {FORMAT_VERSION})")]
    Version { path: String, found: u32 },
    #[error("{path}: model file is truncated: expected {expected} bytes, found {found}")]
    Truncated { path: String, expected: usize, found: usize },
    #[error("{path}: model file is corrupted: checksum {found:08x} does not match {expected:08x}")]
    Checksum { path: String, expected: u32, found: u32 },
    #[error("{path}: model file header is invalid: {reason}")]
    Header { path: String, reason: String },
}

#[derive(Serialize, Deserialize)]
struct Header {
    params: Params,
    scale: (f32, f32),
    mean: f32,
    n_users: usize,
    n_items: usize,
    k: usize,
    summary: TrainingSummary,
}

fn put_i64(buf: &mut Vec<u8>, v: &[i64]) {
    for x in v {
        buf.extend_from_slice(&x.to_le_bytes());
    }
}
fn put_u32(buf: &mut Vec<u8>, v: &[u32]) {
    for x in v {
        buf.extend_from_slice(&x.to_le_bytes());
    }
}
fn put_f32(buf: &mut Vec<u8>, v: &[f32]) {
    for x in v {
        buf.extend_from_slice(&x.to_le_bytes());
    }
}

/// Serialises a model to bytes.
pub fn to_bytes(m: &Model) -> Vec<u8> {
    let f = &m.factors;
    let header = Header {
        params: m.params.clone(),
        scale: m.scale,
        mean: f.mean,
        n_users: m.users.len(),
        n_items: m.items.len(),
        k: f.k,
        summary: m.summary.clone(),
    };
    let json = serde_json::to_vec(&header).expect("model header serialises");
    let (nu, ni) = (header.n_users, header.n_items);
    let mut buf = Vec::with_capacity(20 + json.len() + (nu + ni) * (16 + 4 * f.k) + 4);
    buf.extend_from_slice(&MAGIC);
    buf.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    buf.extend_from_slice(&(json.len() as u32).to_le_bytes());
    buf.extend_from_slice(&json);
    put_i64(&mut buf, m.users.raw_ids());
    put_i64(&mut buf, m.items.raw_ids());
    put_u32(&mut buf, &f.user_count);
    put_u32(&mut buf, &f.item_count);
    put_f32(&mut buf, &f.bu);
    put_f32(&mut buf, &f.bi);
    put_f32(&mut buf, &f.p);
    put_f32(&mut buf, &f.q);
    let crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf
}

/// Writes atomically: a temporary file beside the target, fsync, rename.
pub fn save(m: &Model, path: &Path) -> Result<(), ModelFileError> {
    let err = |source| ModelFileError::Write { path: path.display().to_string(), source };
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(err)?;
    file.write_all(&to_bytes(m)).map_err(err)?;
    file.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

pub fn load(path: &Path) -> Result<Model, ModelFileError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ModelFileError::Read { path: name.clone(), source })?;
    from_bytes(&bytes, &name)
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        s
    }
    fn i64s(&mut self, n: usize) -> Vec<i64> {
        self.take(n * 8).chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()
    }
    fn u32s(&mut self, n: usize) -> Vec<u32> {
        self.take(n * 4).chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect()
    }
    fn f32s(&mut self, n: usize) -> Vec<f32> {
        self.take(n * 4).chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
    }
}

/// Parses a model from bytes; `name` is used in errors.
pub fn from_bytes(b: &[u8], name: &str) -> Result<Model, ModelFileError> {
    let path = name.to_string();
    if b.len() < 8 || b[..8] != MAGIC {
        return Err(ModelFileError::Foreign { path });
    }
    if b.len() < 20 {
        return Err(ModelFileError::Truncated { path, expected: 20, found: b.len() });
    }
    let version = u32::from_le_bytes(b[8..12].try_into().unwrap());
    if version != FORMAT_VERSION {
        return Err(ModelFileError::Version { path, found: version });
    }
    let hlen = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
    if b.len() < 16 + hlen + 4 {
        return Err(ModelFileError::Truncated { path, expected: 16 + hlen + 4, found: b.len() });
    }
    let header: Header = match serde_json::from_slice(&b[16..16 + hlen]) {
        Ok(h) => h,
        // A damaged header is reported as what it most likely is: a checksum failure.
        Err(e) => return Err(checksum_or(b, path, e.to_string())),
    };
    let (nu, ni, k) = (header.n_users, header.n_items, header.k);
    let expected = nu
        .checked_add(ni)
        .and_then(|n| n.checked_mul(16 + 4 * k))
        .and_then(|p| p.checked_add(16 + hlen + 4));
    let Some(expected) = expected else {
        return Err(ModelFileError::Header { path, reason: format!("sizes {nu} × {ni} × {k} overflow") });
    };
    if b.len() != expected {
        if b.len() < expected {
            return Err(ModelFileError::Truncated { path, expected, found: b.len() });
        }
        return Err(checksum_or(b, path, format!("{} bytes longer than its header says", b.len() - expected)));
    }
    let body = &b[..expected - 4];
    let stored = u32::from_le_bytes(b[expected - 4..].try_into().unwrap());
    let actual = crc32fast::hash(body);
    if stored != actual {
        return Err(ModelFileError::Checksum { path, expected: stored, found: actual });
    }
    let mut c = Cursor { b: body, at: 16 + hlen };
    let header_err = |reason: String| ModelFileError::Header { path: path.clone(), reason };
    let users = IdMap::from_raw(c.i64s(nu)).map_err(|id| header_err(format!("user id {id} appears twice")))?;
    let items = IdMap::from_raw(c.i64s(ni)).map_err(|id| header_err(format!("item id {id} appears twice")))?;
    let user_count = c.u32s(nu);
    let item_count = c.u32s(ni);
    let bu = c.f32s(nu);
    let bi = c.f32s(ni);
    let p = c.f32s(nu * k);
    let q = c.f32s(ni * k);
    Ok(Model {
        params: header.params,
        scale: header.scale,
        users,
        items,
        factors: Factors { k, mean: header.mean, bu, bi, p, q, user_count, item_count },
        summary: header.summary,
    })
}

fn checksum_or(b: &[u8], path: String, reason: String) -> ModelFileError {
    if b.len() >= 4 {
        let body = &b[..b.len() - 4];
        let stored = u32::from_le_bytes(b[b.len() - 4..].try_into().unwrap());
        let actual = crc32fast::hash(body);
        if stored != actual {
            return ModelFileError::Checksum { path, expected: stored, found: actual };
        }
    }
    ModelFileError::Header { path, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Ratings;
    use crate::sgd::fit;

    fn model() -> Model {
        let r = Ratings::from_rows([(1, 10, 4.0), (1, 20, 3.0), (2, 10, 5.0), (3, 30, 1.0), (2, 30, 2.5)]);
        let params = Params { n_factors: 4, n_epochs: 2, ..Params::default() };
        let factors = fit(&r, None, &params, 1, &mut |_| {});
        Model {
            params,
            scale: (0.5, 5.0),
            users: r.users.clone(),
            items: r.items.clone(),
            factors,
            summary: TrainingSummary { ratings: 5, users: 3, items: 3, ..Default::default() },
        }
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let m = model();
        save(&m, &path).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.predict(1, 30), m.predict(1, 30));
    }

    #[test]
    fn every_truncation_is_rejected() {
        let b = to_bytes(&model());
        for len in 0..b.len() {
            let err = from_bytes(&b[..len], "m").unwrap_err();
            assert!(
                matches!(err, ModelFileError::Truncated { .. } | ModelFileError::Foreign { .. }
                    | ModelFileError::Checksum { .. } | ModelFileError::Header { .. }),
                "len {len}: {err}"
            );
        }
        let err = from_bytes(&b[..b.len() - 1], "m").unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn every_flipped_byte_is_rejected() {
        let b = to_bytes(&model());
        for at in 0..b.len() {
            let mut c = b.clone();
            c[at] ^= 0x20;
            assert!(from_bytes(&c, "m").is_err(), "flip at {at} accepted");
        }
        let mut c = b.clone();
        let mid = c.len() - 10;
        c[mid] ^= 1;
        assert!(matches!(from_bytes(&c, "m"), Err(ModelFileError::Checksum { .. })));
    }

    #[test]
    fn foreign_files_are_named() {
        let err = from_bytes(b"userId,movieId,rating\n1,2,3\n", "ratings.csv").unwrap_err();
        assert_eq!(err.to_string(), "ratings.csv: not a recpipe model file (wrong magic bytes)");
        let mut b = to_bytes(&model());
        b[8] = 9;
        assert!(from_bytes(&b, "m").unwrap_err().to_string().contains("version 9"));
    }
}
