//! Dense ids for chunks parsed in parallel, merged so the result is exactly what one sequential
//! read would give.
//!
//! Each chunk numbers the raw ids it sees in its own order of first appearance. The merge walks
//! the chunks in file order and interns each chunk's raw-id list into the global maps: an id's
//! global dense number is then fixed by the first chunk that holds it, at its first position
//! there, which is its first appearance in the file. Only the per-chunk id lists are merged
//! sequentially (a few hundred thousand ids for 25M ratings); rewriting the per-rating columns
//! from chunk-local to global ids is parallel.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;

use crate::data::{IdMap, Ratings};

/// A multiplicative hash for i64 keys. The std SipHash guards against adversarial keys, which a
/// local rating file is not; this is several times faster on the per-rating lookups.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_i64(&mut self, v: i64) {
        self.0 = (v as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        // Fold the well-mixed high bits into the low bits the table indexes by.
        self.0 ^ (self.0 >> 29)
    }
}

type IdHashMap = HashMap<i64, u32, BuildHasherDefault<IdHasher>>;

/// Ids below this are looked up in a flat table instead of the hash map: MovieLens-style ids are
/// small non-negative integers, and an array index is much cheaper than hashing. Bounded so a
/// table costs at most 8 MB.
const DIRECT_LIMIT: usize = 1 << 21;
const VACANT: u32 = u32::MAX;

/// Raw ids in order of first appearance, with a one-entry cache: MovieLens files are grouped by
/// user, so the user column almost always repeats the previous id.
#[derive(Default)]
pub(crate) struct LocalIds {
    direct: Vec<u32>,
    map: IdHashMap,
    raw: Vec<i64>,
    last: Option<(i64, u32)>,
}

impl LocalIds {
    #[inline]
    pub(crate) fn intern(&mut self, raw: i64) -> u32 {
        if let Some((r, d)) = self.last {
            if r == raw {
                return d;
            }
        }
        let next = self.raw.len() as u32;
        let d = if (0..DIRECT_LIMIT as i64).contains(&raw) {
            let k = raw as usize;
            if k >= self.direct.len() {
                let len = (k + 1).max(self.direct.len() * 2).min(DIRECT_LIMIT);
                self.direct.resize(len, VACANT);
            }
            let slot = &mut self.direct[k];
            if *slot == VACANT {
                *slot = next;
            }
            *slot
        } else {
            *self.map.entry(raw).or_insert(next)
        };
        if d == next {
            self.raw.push(raw);
        }
        self.last = Some((raw, d));
        d
    }

    /// Frees the lookup structures once no more ids will come; the merge needs only `raw`.
    pub(crate) fn seal(&mut self) {
        self.direct = Vec::new();
        self.map = IdHashMap::default();
    }
}

/// The ratings of one chunk (or Parquet row group), with chunk-local dense ids.
#[derive(Default)]
pub(crate) struct Chunk {
    pub(crate) users: LocalIds,
    pub(crate) items: LocalIds,
    pub(crate) user: Vec<u32>,
    pub(crate) item: Vec<u32>,
    pub(crate) value: Vec<f32>,
}

impl Chunk {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            user: Vec::with_capacity(n),
            item: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
            ..Self::default()
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, raw_user: i64, raw_item: i64, rating: f32) {
        let u = self.users.intern(raw_user);
        let i = self.items.intern(raw_item);
        self.user.push(u);
        self.item.push(i);
        self.value.push(rating);
    }

    pub(crate) fn len(&self) -> usize {
        self.value.len()
    }

    /// Frees the id lookups (up to 16 MB per chunk) once the chunk is complete.
    pub(crate) fn seal(mut self) -> Self {
        self.users.seal();
        self.items.seal();
        self
    }
}

/// Merges chunks given in file order into one [`Ratings`], consuming them.
pub(crate) fn merge(chunks: Vec<Chunk>) -> Ratings {
    let mut users = LocalIds::default();
    let mut items = LocalIds::default();
    let remaps: Vec<(Vec<u32>, Vec<u32>)> = chunks
        .iter()
        .map(|c| {
            let u = c.users.raw.iter().map(|&r| users.intern(r)).collect();
            let i = c.items.raw.iter().map(|&r| items.intern(r)).collect();
            (u, i)
        })
        .collect();

    let n: usize = chunks.iter().map(Chunk::len).sum();
    let mut user = vec![0u32; n];
    let mut item = vec![0u32; n];
    let mut value = vec![0f32; n];
    let mut parts = Vec::with_capacity(chunks.len());
    let (mut u_rest, mut i_rest, mut v_rest) = (&mut user[..], &mut item[..], &mut value[..]);
    for c in &chunks {
        let (u, ur) = u_rest.split_at_mut(c.len());
        let (i, ir) = i_rest.split_at_mut(c.len());
        let (v, vr) = v_rest.split_at_mut(c.len());
        parts.push((u, i, v));
        (u_rest, i_rest, v_rest) = (ur, ir, vr);
    }
    parts.into_par_iter().zip(chunks.into_par_iter()).zip(remaps.par_iter()).for_each(
        |(((u, i, v), c), (ru, ri))| {
            for (dst, &local) in u.iter_mut().zip(&c.user) {
                *dst = ru[local as usize];
            }
            for (dst, &local) in i.iter_mut().zip(&c.item) {
                *dst = ri[local as usize];
            }
            v.copy_from_slice(&c.value);
        },
    );

    Ratings {
        users: IdMap::from_raw(users.raw).expect("interned raw ids are distinct"),
        items: IdMap::from_raw(items.raw).expect("interned raw ids are distinct"),
        user,
        item,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_chunks_equal_a_sequential_read() {
        let rows: Vec<(i64, i64, f32)> =
            (0..1000).map(|k| ((k * 7919) % 37, (k * 104_729) % 101 - 50 + (k % 3) * (1 << 40), k as f32)).collect();
        let expected = Ratings::from_rows(rows.iter().copied());
        for cut in [1, 3, 10, 999] {
            let chunks: Vec<Chunk> = rows
                .chunks(cut)
                .map(|part| {
                    let mut c = Chunk::default();
                    for &(u, i, v) in part {
                        c.push(u, i, v);
                    }
                    c.seal()
                })
                .collect();
            let got = merge(chunks);
            assert_eq!(got.users, expected.users);
            assert_eq!(got.items, expected.items);
            assert_eq!(got.user, expected.user);
            assert_eq!(got.item, expected.item);
            assert_eq!(got.value, expected.value);
        }
    }
}
