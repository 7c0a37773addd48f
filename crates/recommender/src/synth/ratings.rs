//! The planted model and the `ratings.csv` rows it produces, one block of users at a time.
//!
//! A rating is `mean + user bias + movie bias + user·movie factors + noise`, rounded to the
//! half-star grid (some users, like MovieLens's pre-2003 ones, use whole stars only). The planted
//! structure is what makes the data learnable: matrix factorisation recovers the biases and
//! factors and beats the global mean by a clear margin, while the noise keeps it from being
//! trivially exact.

use super::fmt::{push_half_stars, push_u64};
use super::sample::{Popularity, Sampler};
use super::shape::{movie_ids, popularity, user_counts};
use super::SynthSpec;
use crate::rng::Rng;

/// Mean of the latent rating before rounding and clamping; chosen so the file's mean comes out
/// near MovieLens's 3.53 (popular movies, which get most ratings, have positive bias).
const MEAN: f64 = 3.43;
const USER_BIAS_STD: f64 = 0.35;
const ITEM_BIAS_STD: f64 = 0.35;
/// Popular movies are rated higher in MovieLens; this is the bias spread across popularity.
const POPULARITY_BIAS: f64 = 0.4;
/// Std of each factor entry; with 5 factors the planted interaction has variance ~0.3.
const FACTOR_STD: f64 = 0.5;
/// Share of users who only give whole stars.
const WHOLE_STAR_USERS: f64 = 0.25;

/// MovieLens 25M's time span: 1995-01-09 to 2019-11-21, in unix seconds.
const FIRST_TIME: u64 = 789_652_009;
const LAST_TIME: u64 = 1_574_327_703;
const DAY: f64 = 86_400.0;

/// Independent random streams of one seed, so that changing how one part is drawn does not shift
/// the others.
pub(super) mod stream {
    pub const COUNTS: u64 = 0;
    pub const POPULARITY: u64 = 1;
    pub const MOVIE_IDS: u64 = 2;
    pub const ITEMS: u64 = 3;
    pub const MOVIES_CSV: u64 = 4;
    /// User block `b` uses stream `BLOCKS + b`.
    pub const BLOCKS: u64 = 1 << 32;
}

/// Everything shared by all user blocks.
pub(super) struct World {
    pub(super) movie_ids: Vec<i64>,
    pub(super) counts: Vec<u32>,
    popularity: Popularity,
    item_bias: Vec<f64>,
    item_factors: Vec<f64>,
    factors: usize,
    noise: f64,
    seed: u64,
}

/// One block's rows and what the summary needs from them.
pub(super) struct Block {
    pub(super) bytes: Vec<u8>,
    pub(super) ratings: u64,
    pub(super) half_stars: u64,
    pub(super) rated: Vec<u64>,
}

impl World {
    pub(super) fn new(spec: &SynthSpec) -> Self {
        let (users, items) = (spec.users as usize, spec.items as usize);
        let min = spec.min_per_user.min((spec.ratings / users as u64) as u32).min(spec.items);
        let counts = user_counts(
            users,
            spec.ratings,
            min,
            spec.items,
            spec.activity_sigma,
            &mut Rng::fork(spec.seed, stream::COUNTS),
        );
        let weights = popularity(
            items,
            spec.popularity_exponent,
            spec.popularity_offset,
            &mut Rng::fork(spec.seed, stream::POPULARITY),
        );
        let movie_ids = movie_ids(items, &mut Rng::fork(spec.seed, stream::MOVIE_IDS));

        // Popularity percentile by weight, for the popularity part of the movie bias.
        let mut order: Vec<u32> = (0..items as u32).collect();
        order.sort_by(|&a, &b| weights[a as usize].total_cmp(&weights[b as usize]).then(a.cmp(&b)));
        let mut percentile = vec![0f64; items];
        for (rank, &i) in order.iter().enumerate() {
            percentile[i as usize] = rank as f64 / items as f64;
        }
        let mut rng = Rng::fork(spec.seed, stream::ITEMS);
        let item_bias = percentile
            .iter()
            .map(|p| ITEM_BIAS_STD * rng.normal() + POPULARITY_BIAS * (p - 0.5))
            .collect();
        let item_factors = (0..items * spec.factors).map(|_| FACTOR_STD * rng.normal()).collect();

        Self {
            movie_ids,
            counts,
            popularity: Popularity::new(&weights),
            item_bias,
            item_factors,
            factors: spec.factors,
            noise: spec.noise,
            seed: spec.seed,
        }
    }

    /// The `ratings.csv` rows of users `first..first + len`, with their own random stream.
    pub(super) fn block(&self, b: u64, first: usize, len: usize) -> Block {
        let mut rng = Rng::fork(self.seed, stream::BLOCKS + b);
        let users = first..first + len;
        let ratings: u64 = self.counts[users.clone()].iter().map(|&c| u64::from(c)).sum();
        let mut out = Block {
            bytes: Vec::with_capacity(ratings as usize * 32),
            ratings,
            half_stars: 0,
            rated: vec![0; self.movie_ids.len().div_ceil(64)],
        };
        let mut sampler = Sampler::new(&self.popularity);
        let mut movies = Vec::new();
        let mut user_factors = vec![0f64; self.factors];
        let mut sessions = Vec::new();
        for u in users {
            let k = self.counts[u] as usize;
            sampler.sample(k, &mut rng, &mut movies);

            let user_bias = USER_BIAS_STD * rng.normal();
            user_factors.iter_mut().for_each(|f| *f = FACTOR_STD * rng.normal());
            let whole_stars = rng.next_f64() < WHOLE_STAR_USERS;
            plan_sessions(k, &mut rng, &mut sessions);

            for &i in &movies {
                let i = i as usize;
                let q = &self.item_factors[i * self.factors..(i + 1) * self.factors];
                let dot: f64 = user_factors.iter().zip(q).map(|(p, q)| p * q).sum();
                let x = MEAN + user_bias + self.item_bias[i] + dot + self.noise * rng.normal();
                let half = if whole_stars { (x.round() * 2.0).clamp(2.0, 10.0) } else { (x * 2.0).round().clamp(1.0, 10.0) } as u8;
                let session = sessions[rng.below(sessions.len() as u64) as usize];
                let time = (session + rng.below(3 * 3600)).min(LAST_TIME);

                push_u64(&mut out.bytes, u as u64 + 1);
                out.bytes.push(b',');
                push_u64(&mut out.bytes, self.movie_ids[i] as u64);
                out.bytes.push(b',');
                push_half_stars(&mut out.bytes, half);
                out.bytes.push(b',');
                push_u64(&mut out.bytes, time);
                out.bytes.push(b'\n');

                out.half_stars += u64::from(half);
                out.rated[i / 64] |= 1 << (i % 64);
            }
        }
        out
    }
}

/// Start times of a user's rating sessions: a first visit anywhere in the span, then visits
/// spaced by exponential gaps (mean 3 weeks); heavier users come back more often.
fn plan_sessions(ratings: usize, rng: &mut Rng, out: &mut Vec<u64>) {
    out.clear();
    let n = 1 + (ratings / 40).min(30);
    let mut t = FIRST_TIME + rng.below(LAST_TIME - FIRST_TIME);
    for _ in 0..n {
        out.push(t.min(LAST_TIME));
        t += (-21.0 * DAY * (1.0 - rng.next_f64()).ln()) as u64;
    }
}
