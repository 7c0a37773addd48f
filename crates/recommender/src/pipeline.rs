//! The training pipeline the container and the bench run: cross-validate, fit on all ratings,
//! recommend the top N unrated items to every user.
//!
//! The final model is fitted on every rating (not on a cross-validation fold's 80 %).

use std::time::Instant;

use crate::cv::{cross_validate, CvReport, FoldResult};
use crate::data::Ratings;
use crate::model::{Model, TrainingSummary};
use crate::params::Params;
use crate::sgd::{effective_threads, fit, EpochStats};
use crate::topn::{top_n, Exclusions};

/// Progress reported while the pipeline runs (possibly from worker threads).
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// An epoch finished: of a cross-validation fold (1-based) or of the final fit (`None`).
    Epoch { fold: Option<usize>, stats: EpochStats },
    FoldDone(&'a FoldResult),
    CvDone(&'a CvReport),
    /// Users whose top N is done so far.
    TopN { done: usize, total: usize },
}

/// Seconds spent in each phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Timings {
    pub cv: f64,
    pub fit: f64,
    pub topn: f64,
}

/// Why the pipeline cannot run on these ratings.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("no ratings to train on")]
    Empty,
    #[error("{folds}-fold cross-validation needs at least {folds} ratings, found {found}")]
    TooFewForFolds { folds: usize, found: usize },
    #[error("rating {value} at position {at} is not a finite number")]
    BadRating { value: f32, at: usize },
}

/// Cross-validates (unless `cv_folds` is 0) and fits the final model on all ratings.
pub fn train(
    ratings: &Ratings,
    params: &Params,
    on: &(dyn Fn(Event) + Sync),
) -> Result<(Model, Timings), PipelineError> {
    if ratings.is_empty() {
        return Err(PipelineError::Empty);
    }
    if let Some(at) = ratings.value.iter().position(|v| !v.is_finite()) {
        return Err(PipelineError::BadRating { value: ratings.value[at], at });
    }
    if params.cv_folds > ratings.len() {
        return Err(PipelineError::TooFewForFolds { folds: params.cv_folds, found: ratings.len() });
    }
    let scale = params.rating_scale.unwrap_or_else(|| ratings.scale());
    let mut timings = Timings::default();
    let t = Instant::now();
    let cv = (params.cv_folds > 0).then(|| {
        let report = cross_validate(
            ratings,
            params,
            scale,
            &|fold, stats| on(Event::Epoch { fold: Some(fold), stats }),
            &|r| on(Event::FoldDone(r)),
        );
        on(Event::CvDone(&report));
        report
    });
    timings.cv = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let threads = effective_threads(params, ratings.len());
    let mut last_rmse = f64::NAN;
    let factors = fit(ratings, None, params, threads, &mut |stats| {
        last_rmse = stats.train_rmse;
        on(Event::Epoch { fold: None, stats });
    });
    timings.fit = t.elapsed().as_secs_f64();
    let model = Model {
        params: params.clone(),
        scale,
        users: ratings.users.clone(),
        items: ratings.items.clone(),
        factors,
        summary: TrainingSummary {
            ratings: ratings.len(),
            users: ratings.n_users(),
            items: ratings.n_items(),
            final_train_rmse: last_rmse,
            cv,
        },
    };
    Ok((model, timings))
}

/// The top `n` unrated items of every user of `ratings` (which the model was fitted on), in the
/// order users first appear, as raw ids with their predicted ratings. Returns the seconds taken.
pub fn recommend_all(
    model: &Model,
    ratings: &Ratings,
    n: usize,
    on: &(dyn Fn(Event) + Sync),
    emit: &mut dyn FnMut(i64, &[(i64, f32)]),
) -> f64 {
    let t = Instant::now();
    let exclude = Exclusions::from_pairs(
        ratings.n_users(),
        ratings.user.iter().copied().zip(ratings.item.iter().copied()),
    );
    let users: Vec<u32> = (0..ratings.n_users() as u32).collect();
    let total = users.len();
    let f = &model.factors;
    let mut done = 0usize;
    let mut out: Vec<(i64, f32)> = Vec::with_capacity(n);
    top_n(f, model.params.biased, &exclude, &users, n, model.items.raw_ids(), &mut |u, list| {
        out.clear();
        let base = if model.params.biased { f.mean + f.bu[u as usize] } else { 0.0 };
        for s in list {
            let rating = (base + s.key).clamp(model.scale.0, model.scale.1);
            out.push((model.items.raw(s.item), rating));
        }
        emit(model.users.raw(u), &out);
        done += 1;
        if done % 4096 == 0 || done == total {
            on(Event::TopN { done, total });
        }
    });
    t.elapsed().as_secs_f64()
}
