//! Seeded synthetic data shaped like MovieLens (`recpipe datagen`): `ratings.csv` and
//! `movies.csv` in MovieLens's own layout, at any size up to and past MovieLens 25M.
//!
//! The point is a benchmark and test input that behaves like the real thing where it matters to
//! the trainer: long-tailed user activity and movie popularity, no repeated (user, movie) pairs,
//! rows grouped by user and sorted by movie id, sparse movie ids, half-star ratings that a
//! factorisation model can learn. The same spec and seed give byte-identical files on every run,
//! whatever the thread count: users are generated in fixed blocks, each with its own stream
//! (`Rng::fork(seed, block)`), and written in block order.

mod fmt;
mod movies;
mod ratings;
mod sample;
mod shape;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

use rayon::prelude::*;

use crate::rng::Rng;
use ratings::{stream, World};

/// Users per generation block; fixed so that output does not depend on the thread count.
const BLOCK_USERS: usize = 512;
/// Blocks generated per round before handing the bytes to the writer thread.
const BLOCKS_PER_WAVE: usize = 32;

/// What to generate. Build one from a preset and adjust fields as needed.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    pub users: u32,
    /// Movies in `movies.csv`; the most obscure may end up with no rating, as in MovieLens.
    pub items: u32,
    /// Exact number of rating rows.
    pub ratings: u64,
    pub seed: u64,
    /// Every user rates at least this many movies (MovieLens: 20), unless `ratings` is too small.
    pub min_per_user: u32,
    /// Spread of user activity: ratings beyond the minimum follow `exp(sigma·N(0,1))` weights.
    pub activity_sigma: f64,
    /// Zipf exponent of movie popularity, `1/(rank + offset)^exponent`.
    pub popularity_exponent: f64,
    /// Softens the head of the popularity curve so the top movie is not rated by everyone.
    pub popularity_offset: f64,
    /// Latent factors of the planted model.
    pub factors: usize,
    /// Std of the Gaussian noise added to each latent rating.
    pub noise: f64,
}

impl SynthSpec {
    /// Shaped like `ml-latest-small`: 610 users, 9,742 movies, 100,836 ratings.
    pub fn small(seed: u64) -> Self {
        Self {
            users: 610,
            items: 9_742,
            ratings: 100_836,
            seed,
            min_per_user: 20,
            activity_sigma: 1.4,
            popularity_exponent: 1.0,
            popularity_offset: 10.0,
            factors: 5,
            noise: 0.6,
        }
    }

    /// Shaped like MovieLens 25M: 162,541 users, 59,047 movies, 25,000,095 ratings.
    pub fn ml25m(seed: u64) -> Self {
        Self { users: 162_541, items: 59_047, ratings: 25_000_095, ..Self::small(seed) }
    }

    /// A preset by name (`small`, `ml25m`), for the command line.
    pub fn preset(name: &str, seed: u64) -> Option<Self> {
        match name {
            "small" => Some(Self::small(seed)),
            "ml25m" | "25m" => Some(Self::ml25m(seed)),
            _ => None,
        }
    }

    /// Checks that the spec can be generated, naming the first bad value.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |field: &'static str, value: String, reason: String| Err(SynthError::Spec { field, value, reason });
        if self.users == 0 {
            return bad("users", "0".into(), "must be at least 1".into());
        }
        if self.items == 0 {
            return bad("items", "0".into(), "must be at least 1".into());
        }
        if self.ratings < u64::from(self.users) {
            return bad("ratings", self.ratings.to_string(), format!("must be at least users ({}): every user rates something", self.users));
        }
        let most = u64::from(self.users) * u64::from(self.items);
        if self.ratings > most {
            return bad("ratings", self.ratings.to_string(), format!("must be at most users × items ({most}): no user rates a movie twice"));
        }
        for (field, value) in [("activity_sigma", self.activity_sigma), ("popularity_exponent", self.popularity_exponent), ("noise", self.noise)] {
            if !(value.is_finite() && (0.0..=10.0).contains(&value)) {
                return bad(field, value.to_string(), "must be a number from 0 to 10".into());
            }
        }
        if !(self.popularity_offset.is_finite() && self.popularity_offset >= 1.0) {
            return bad("popularity_offset", self.popularity_offset.to_string(), "must be a number ≥ 1".into());
        }
        if self.factors > 64 {
            return bad("factors", self.factors.to_string(), "must be at most 64".into());
        }
        Ok(())
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub users: u32,
    /// Movies in `movies.csv`.
    pub movies: u32,
    pub ratings: u64,
    /// Movies with at least one rating.
    pub rated_movies: u32,
    pub mean_rating: f64,
    pub ratings_path: PathBuf,
    pub movies_path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("invalid datagen spec: {field} = {value}: {reason}")]
    Spec { field: &'static str, value: String, reason: String },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A file written under a `.tmp` name and renamed into place only when complete, so a crash or
/// error never leaves a truncated `ratings.csv` that looks valid. Dropped uncommitted, it removes
/// the temporary file.
struct AtomicFile {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl AtomicFile {
    fn create(dest: PathBuf) -> Result<Self, SynthError> {
        let mut tmp = dest.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let file = File::create(&tmp).map_err(|source| SynthError::Io { path: tmp.clone(), source })?;
        Ok(Self { file: Some(file), tmp, dest })
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), SynthError> {
        let file = self.file.as_mut().expect("file is open until commit");
        file.write_all(bytes).map_err(|source| SynthError::Io { path: self.tmp.clone(), source })
    }

    fn commit(mut self) -> Result<PathBuf, SynthError> {
        let file = self.file.take().expect("file is open until commit");
        file.sync_all().map_err(|source| SynthError::Io { path: self.tmp.clone(), source })?;
        drop(file);
        fs::rename(&self.tmp, &self.dest).map_err(|source| SynthError::Io { path: self.dest.clone(), source })?;
        Ok(self.dest.clone())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `ratings.csv` and `movies.csv` into `out_dir` (created if missing), calling
/// `progress(done, total)` with rating rows generated so far.
pub fn generate(
    spec: &SynthSpec,
    out_dir: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Summary, SynthError> {
    spec.validate()?;
    fs::create_dir_all(out_dir).map_err(|source| SynthError::Io { path: out_dir.to_path_buf(), source })?;
    let world = World::new(spec);

    let mut movies = AtomicFile::create(out_dir.join("movies.csv"))?;
    movies.write_all(&movies::movies_csv(&world.movie_ids, &mut Rng::fork(spec.seed, stream::MOVIES_CSV)))?;

    let mut ratings = AtomicFile::create(out_dir.join("ratings.csv"))?;
    ratings.write_all(b"userId,movieId,rating,timestamp\n")?;
    let users = spec.users as usize;
    let blocks = users.div_ceil(BLOCK_USERS);
    let mut done = 0u64;
    let mut half_stars = 0u64;
    let mut rated = vec![0u64; (spec.items as usize).div_ceil(64)];
    progress(0, spec.ratings);

    // The writer thread writes wave n while the pool generates wave n + 1.
    let ratings = std::thread::scope(|scope| -> Result<AtomicFile, SynthError> {
        let (send, receive) = sync_channel::<Vec<Vec<u8>>>(1);
        let writer = scope.spawn(move || -> Result<AtomicFile, SynthError> {
            for wave in receive {
                for bytes in wave {
                    ratings.write_all(&bytes)?;
                }
            }
            Ok(ratings)
        });
        for wave_start in (0..blocks).step_by(BLOCKS_PER_WAVE) {
            let wave_end = (wave_start + BLOCKS_PER_WAVE).min(blocks);
            let wave: Vec<_> = (wave_start..wave_end)
                .into_par_iter()
                .map(|b| {
                    let first = b * BLOCK_USERS;
                    world.block(b as u64, first, BLOCK_USERS.min(users - first))
                })
                .collect();
            let mut bytes = Vec::with_capacity(wave.len());
            for block in wave {
                done += block.ratings;
                half_stars += block.half_stars;
                rated.iter_mut().zip(&block.rated).for_each(|(a, b)| *a |= b);
                bytes.push(block.bytes);
            }
            if send.send(bytes).is_err() {
                break; // the writer failed; its error is returned below
            }
            progress(done, spec.ratings);
        }
        drop(send);
        writer.join().expect("writer thread does not panic")
    })?;

    let movies_path = movies.commit()?;
    let ratings_path = ratings.commit()?;
    Ok(Summary {
        users: spec.users,
        movies: spec.items,
        ratings: done,
        rated_movies: rated.iter().map(|w| w.count_ones()).sum(),
        mean_rating: half_stars as f64 / 2.0 / done.max(1) as f64,
        ratings_path,
        movies_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        SynthSpec::small(1).validate().unwrap();
        SynthSpec::ml25m(1).validate().unwrap();
        assert_eq!(SynthSpec::preset("ml25m", 3).unwrap().ratings, 25_000_095);
        assert!(SynthSpec::preset("huge", 3).is_none());
    }

    #[test]
    fn bad_specs_name_the_value() {
        let msg = |s: SynthSpec| s.validate().unwrap_err().to_string();
        assert_eq!(msg(SynthSpec { users: 0, ..SynthSpec::small(1) }), "invalid datagen spec: users = 0: must be at least 1");
        assert!(msg(SynthSpec { users: 10, items: 10, ratings: 101, ..SynthSpec::small(1) })
            .starts_with("invalid datagen spec: ratings = 101: must be at most users × items (100)"));
        assert!(msg(SynthSpec { ratings: 5, ..SynthSpec::small(1) }).starts_with("invalid datagen spec: ratings = 5: must be at least users (610)"));
        assert!(msg(SynthSpec { noise: f64::NAN, ..SynthSpec::small(1) }).starts_with("invalid datagen spec: noise = NaN"));
    }
}
