//! A trained model: factors plus everything needed to answer for raw ids.

use serde::{Deserialize, Serialize};

use crate::cv::CvReport;
use crate::data::IdMap;
use crate::params::Params;
use crate::sgd::Factors;

/// What the training run measured, stored in the model file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TrainingSummary {
    pub ratings: usize,
    pub users: usize,
    pub items: usize,
    pub final_train_rmse: f64,
    pub cv: Option<CvReport>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub params: Params,
    pub scale: (f32, f32),
    pub users: IdMap,
    pub items: IdMap,
    pub factors: Factors,
    pub summary: TrainingSummary,
}

/// A predicted rating and whether the model knew both ids. An unknown user or item falls back
/// as Surprise does: the known biases on top of the mean (unbiased models: the mean).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prediction {
    pub rating: f32,
    pub user_known: bool,
    pub item_known: bool,
}

impl Prediction {
    pub fn is_fallback(&self) -> bool {
        !(self.user_known && self.item_known)
    }
}

impl Model {
    pub fn predict(&self, raw_user: i64, raw_item: i64) -> Prediction {
        let u = self.users.dense(raw_user);
        let i = self.items.dense(raw_item);
        let f = &self.factors;
        let biased = self.params.biased;
        let est = match (u, i) {
            (Some(u), Some(i)) => f.estimate(u, i, biased),
            (Some(u), None) if biased => f.mean + f.bu[u as usize],
            (None, Some(i)) if biased => f.mean + f.bi[i as usize],
            _ => f.mean,
        };
        Prediction {
            rating: est.clamp(self.scale.0, self.scale.1),
            user_known: u.is_some(),
            item_known: i.is_some(),
        }
    }
}
