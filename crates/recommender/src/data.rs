//! Ratings in memory: raw i64 ids mapped to dense u32 ids, stored column-wise.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::load::ids::IdHasher;

/// Raw id → dense id, hashed with a multiplicative hash: each served prediction looks two ids up,
/// and SipHash's protection against chosen keys buys nothing for a map built from training data.
type DenseMap = HashMap<i64, u32, BuildHasherDefault<IdHasher>>;

/// A two-way map between raw ids (as found in the data) and dense ids `0..len`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdMap {
    raw: Vec<i64>,
    dense: DenseMap,
}

impl IdMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a map whose dense id `i` is `raw[i]`. Fails on a repeated raw id.
    pub fn from_raw(raw: Vec<i64>) -> Result<Self, i64> {
        let mut dense = DenseMap::with_capacity_and_hasher(raw.len(), Default::default());
        for (i, &r) in raw.iter().enumerate() {
            if dense.insert(r, i as u32).is_some() {
                return Err(r);
            }
        }
        Ok(Self { raw, dense })
    }

    /// The dense id of `raw`, assigning the next one if it is new.
    pub fn intern(&mut self, raw: i64) -> u32 {
        let next = self.raw.len() as u32;
        *self.dense.entry(raw).or_insert_with(|| {
            self.raw.push(raw);
            next
        })
    }

    pub fn dense(&self, raw: i64) -> Option<u32> {
        self.dense.get(&raw).copied()
    }

    pub fn raw(&self, dense: u32) -> i64 {
        self.raw[dense as usize]
    }

    pub fn raw_ids(&self) -> &[i64] {
        &self.raw
    }

    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
}

/// A set of (user, item, rating) triples with dense ids, column-wise.
#[derive(Debug, Clone, Default)]
pub struct Ratings {
    pub users: IdMap,
    pub items: IdMap,
    pub user: Vec<u32>,
    pub item: Vec<u32>,
    pub value: Vec<f32>,
}

impl Ratings {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Self {
            user: Vec::with_capacity(n),
            item: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
            ..Self::default()
        }
    }

    /// Adds one rating given raw ids.
    pub fn push(&mut self, raw_user: i64, raw_item: i64, rating: f32) {
        let u = self.users.intern(raw_user);
        let i = self.items.intern(raw_item);
        self.user.push(u);
        self.item.push(i);
        self.value.push(rating);
    }

    /// Builds ratings from in-memory rows of raw ids.
    pub fn from_rows<I: IntoIterator<Item = (i64, i64, f32)>>(rows: I) -> Self {
        let mut r = Self::new();
        for (u, i, v) in rows {
            r.push(u, i, v);
        }
        r
    }

    pub fn len(&self) -> usize {
        self.value.len()
    }

    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    pub fn n_users(&self) -> usize {
        self.users.len()
    }

    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// Global mean rating, accumulated in f64.
    pub fn mean(&self) -> f64 {
        if self.value.is_empty() {
            return 0.0;
        }
        self.value.iter().map(|&v| v as f64).sum::<f64>() / self.value.len() as f64
    }

    /// Smallest and largest rating present.
    pub fn scale(&self) -> (f32, f32) {
        let mut lo = f32::INFINITY;
        let mut hi = f32::NEG_INFINITY;
        for &v in &self.value {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        (lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_both_ways() {
        let r = Ratings::from_rows([(10, 7, 4.0), (3, 7, 2.5), (10, -1, 1.0)]);
        assert_eq!(r.n_users(), 2);
        assert_eq!(r.n_items(), 2);
        assert_eq!(r.users.dense(3), Some(1));
        assert_eq!(r.items.raw(1), -1);
        assert_eq!(r.user, vec![0, 1, 0]);
        assert_eq!(r.scale(), (1.0, 4.0));
        assert!(IdMap::from_raw(vec![1, 2, 1]).is_err());
    }
}
