//! Hyperparameters: raw values (from code or from SageMaker's all-string `hyperparameters.json`)
//! validated into [`Params`] in one step that names every bad value at once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Validated hyperparameters of the biased matrix-factorisation model and its pipeline.
/// Defaults are Surprise's `SVD` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub n_factors: usize,
    pub n_epochs: usize,
    pub init_mean: f32,
    pub init_std_dev: f32,
    pub lr_bu: f32,
    pub lr_bi: f32,
    pub lr_pu: f32,
    pub lr_qi: f32,
    pub reg_bu: f32,
    pub reg_bi: f32,
    pub reg_pu: f32,
    pub reg_qi: f32,
    pub biased: bool,
    pub seed: u64,
    /// Threads for the final fit. 1 keeps Surprise's exact update order; more split the
    /// rating matrix into blocks updated in parallel (see `sgd`). 0 picks by data size.
    pub threads: usize,
    /// Cross-validation folds; 0 skips evaluation.
    pub cv_folds: usize,
    /// Items recommended per user.
    pub top_n: usize,
    /// Rating scale predictions are clipped to; `None` takes the training data's min and max.
    pub rating_scale: Option<(f32, f32)>,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            n_factors: 100,
            n_epochs: 20,
            init_mean: 0.0,
            init_std_dev: 0.1,
            lr_bu: 0.005,
            lr_bi: 0.005,
            lr_pu: 0.005,
            lr_qi: 0.005,
            reg_bu: 0.02,
            reg_bi: 0.02,
            reg_pu: 0.02,
            reg_qi: 0.02,
            biased: true,
            seed: 0,
            threads: 0,
            cv_folds: 5,
            top_n: 10,
            rating_scale: None,
        }
    }
}

/// Every problem found while validating hyperparameters, one per line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid hyperparameters: {}", .problems.join("; "))]
pub struct ParamsError {
    pub problems: Vec<String>,
}

/// Keys `from_strings` understands. Others are returned as unknown.
pub const KNOWN_KEYS: &[&str] = &[
    "n_factors", "n_epochs", "init_mean", "init_std_dev", "lr_all", "reg_all", "lr_bu", "lr_bi",
    "lr_pu", "lr_qi", "reg_bu", "reg_bi", "reg_pu", "reg_qi", "biased", "seed", "random_state",
    "threads", "cv_folds", "top_n", "rating_min", "rating_max",
];

impl Params {
    /// Checks ranges; returns the same params when every value is usable.
    pub fn validate(self) -> Result<Params, ParamsError> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, msg: String| {
            if !ok {
                problems.push(msg)
            }
        };
        check(
            (1..=1024).contains(&self.n_factors),
            format!("n_factors = {} must be between 1 and 1024", self.n_factors),
        );
        check(
            (1..=10_000).contains(&self.n_epochs),
            format!("n_epochs = {} must be between 1 and 10000", self.n_epochs),
        );
        check(self.init_mean.is_finite(), format!("init_mean = {} must be finite", self.init_mean));
        check(
            self.init_std_dev.is_finite() && self.init_std_dev >= 0.0,
            format!("init_std_dev = {} must be a finite number >= 0", self.init_std_dev),
        );
        for (name, v) in [
            ("lr_bu", self.lr_bu),
            ("lr_bi", self.lr_bi),
            ("lr_pu", self.lr_pu),
            ("lr_qi", self.lr_qi),
        ] {
            check(v.is_finite() && v > 0.0 && v < 1.0, format!("{name} = {v} must be in (0, 1)"));
        }
        for (name, v) in [
            ("reg_bu", self.reg_bu),
            ("reg_bi", self.reg_bi),
            ("reg_pu", self.reg_pu),
            ("reg_qi", self.reg_qi),
        ] {
            check(v.is_finite() && v >= 0.0 && v < 10.0, format!("{name} = {v} must be in [0, 10)"));
        }
        check(self.threads <= 256, format!("threads = {} must be at most 256", self.threads));
        check(
            self.cv_folds == 0 || (2..=100).contains(&self.cv_folds),
            format!("cv_folds = {} must be 0 (skip) or between 2 and 100", self.cv_folds),
        );
        check(
            (1..=1000).contains(&self.top_n),
            format!("top_n = {} must be between 1 and 1000", self.top_n),
        );
        if let Some((lo, hi)) = self.rating_scale {
            check(
                lo.is_finite() && hi.is_finite() && lo < hi,
                format!("rating scale [{lo}, {hi}] must be finite with rating_min < rating_max"),
            );
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(ParamsError { problems })
        }
    }

    /// Reads SageMaker-style hyperparameters (every value a string). Returns the validated params
    /// and the keys that were not recognised (the caller decides whether to warn).
    pub fn from_strings(map: &BTreeMap<String, String>) -> Result<(Params, Vec<String>), ParamsError> {
        let mut p = Params::default();
        let mut problems = Vec::new();
        let mut unknown = Vec::new();
        let mut rating_min = None;
        let mut rating_max = None;
        // `lr_all` / `reg_all` first, so that per-term keys override them whatever the map order.
        let ordered = map
            .iter()
            .filter(|(k, _)| k.as_str() == "lr_all" || k.as_str() == "reg_all")
            .chain(map.iter().filter(|(k, _)| k.as_str() != "lr_all" && k.as_str() != "reg_all"));
        for (key, raw) in ordered {
            let value = raw.trim();
            let f = |problems: &mut Vec<String>| -> Option<f32> {
                match value.parse::<f32>() {
                    Ok(v) if v.is_finite() => Some(v),
                    _ => {
                        problems.push(format!("{key} = {raw:?} is not a number"));
                        None
                    }
                }
            };
            let n = |problems: &mut Vec<String>| -> Option<u64> {
                match value.parse::<u64>() {
                    Ok(v) => Some(v),
                    Err(_) => {
                        problems.push(format!("{key} = {raw:?} is not a non-negative integer"));
                        None
                    }
                }
            };
            match key.as_str() {
                "n_factors" => p.n_factors = n(&mut problems).map_or(p.n_factors, |v| v as usize),
                "n_epochs" => p.n_epochs = n(&mut problems).map_or(p.n_epochs, |v| v as usize),
                "threads" => p.threads = n(&mut problems).map_or(p.threads, |v| v as usize),
                "cv_folds" => p.cv_folds = n(&mut problems).map_or(p.cv_folds, |v| v as usize),
                "top_n" => p.top_n = n(&mut problems).map_or(p.top_n, |v| v as usize),
                "seed" | "random_state" => p.seed = n(&mut problems).unwrap_or(p.seed),
                "init_mean" => p.init_mean = f(&mut problems).unwrap_or(p.init_mean),
                "init_std_dev" => p.init_std_dev = f(&mut problems).unwrap_or(p.init_std_dev),
                "lr_all" => {
                    if let Some(v) = f(&mut problems) {
                        (p.lr_bu, p.lr_bi, p.lr_pu, p.lr_qi) = (v, v, v, v);
                    }
                }
                "reg_all" => {
                    if let Some(v) = f(&mut problems) {
                        (p.reg_bu, p.reg_bi, p.reg_pu, p.reg_qi) = (v, v, v, v);
                    }
                }
                "lr_bu" => p.lr_bu = f(&mut problems).unwrap_or(p.lr_bu),
                "lr_bi" => p.lr_bi = f(&mut problems).unwrap_or(p.lr_bi),
                "lr_pu" => p.lr_pu = f(&mut problems).unwrap_or(p.lr_pu),
                "lr_qi" => p.lr_qi = f(&mut problems).unwrap_or(p.lr_qi),
                "reg_bu" => p.reg_bu = f(&mut problems).unwrap_or(p.reg_bu),
                "reg_bi" => p.reg_bi = f(&mut problems).unwrap_or(p.reg_bi),
                "reg_pu" => p.reg_pu = f(&mut problems).unwrap_or(p.reg_pu),
                "reg_qi" => p.reg_qi = f(&mut problems).unwrap_or(p.reg_qi),
                "rating_min" => rating_min = f(&mut problems),
                "rating_max" => rating_max = f(&mut problems),
                "biased" => match value.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" => p.biased = true,
                    "false" | "0" | "no" => p.biased = false,
                    _ => problems.push(format!("biased = {raw:?} must be true or false")),
                },
                _ => unknown.push(key.clone()),
            }
        }
        match (rating_min, rating_max) {
            (Some(lo), Some(hi)) => p.rating_scale = Some((lo, hi)),
            (None, None) => {}
            _ if map.contains_key("rating_min") != map.contains_key("rating_max") => {
                problems.push("rating_min and rating_max must be given together".into())
            }
            _ => {}
        }
        let p = match p.clone().validate() {
            Ok(p) => p,
            Err(e) => {
                problems.extend(e.problems);
                p
            }
        };
        if problems.is_empty() {
            Ok((p, unknown))
        } else {
            Err(ParamsError { problems })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_surprises() {
        let p = Params::default().validate().unwrap();
        assert_eq!((p.n_factors, p.n_epochs), (100, 20));
        assert_eq!((p.lr_pu, p.reg_qi, p.init_std_dev), (0.005, 0.02, 0.1));
    }

    #[test]
    fn per_term_overrides_all() {
        let (p, unknown) =
            Params::from_strings(&map(&[("reg_bu", "0.5"), ("reg_all", "0.1"), ("foo", "x")])).unwrap();
        assert_eq!(p.reg_bu, 0.5);
        assert_eq!(p.reg_qi, 0.1);
        assert_eq!(unknown, vec!["foo".to_string()]);
    }

    #[test]
    fn every_bad_value_is_named() {
        let err = Params::from_strings(&map(&[
            ("n_factors", "ten"),
            ("lr_all", "-1"),
            ("biased", "maybe"),
            ("cv_folds", "1"),
        ]))
        .unwrap_err();
        let msg = err.to_string();
        for needle in ["n_factors = \"ten\"", "lr_bu = -1", "biased = \"maybe\"", "cv_folds = 1"] {
            assert!(msg.contains(needle), "{needle:?} missing from {msg}");
        }
    }

    #[test]
    fn rating_scale_needs_both_ends() {
        assert!(Params::from_strings(&map(&[("rating_min", "1")])).is_err());
        let (p, _) = Params::from_strings(&map(&[("rating_min", "1"), ("rating_max", "5")])).unwrap();
        assert_eq!(p.rating_scale, Some((1.0, 5.0)));
    }
}
