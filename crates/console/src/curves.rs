//! A training job's learning curves and per-fold results, read from the metric lines the
//! container prints (`fold=2 epoch=7 train_rmse=...`, `fold=2 rmse=... mae=...`,
//! `cv_rmse=... cv_mae=...`, `epoch=20 train_rmse=...` for the final fit), with the control
//! plane's own line parser.

use std::collections::BTreeMap;

use mlplane::parse_metric_line;

use crate::chart::{Chart, Series};

/// What a job's log says about its training so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curves {
    /// Per fold (as numbered in the log): (epoch, training RMSE), in log order.
    pub folds: BTreeMap<u32, Vec<(u32, f64)>>,
    /// The final fit on all ratings: (epoch, training RMSE).
    pub final_fit: Vec<(u32, f64)>,
    /// Each fold's test metrics (`rmse`, `mae`, `precision_at_10`, ...), in log order.
    pub fold_results: BTreeMap<u32, Vec<(String, f64)>>,
    /// The cross-validated means, without the `cv_` prefix.
    pub cv: Vec<(String, f64)>,
}

impl Curves {
    pub fn parse(log: &str) -> Curves {
        let mut c = Curves::default();
        for line in log.lines() {
            let pairs = parse_metric_line(line);
            let get = |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
            let (fold, epoch, rmse) = (get("fold"), get("epoch"), get("train_rmse"));
            match (fold, epoch, rmse) {
                (Some(f), Some(e), Some(r)) => c.folds.entry(f as u32).or_default().push((e as u32, r)),
                (None, Some(e), Some(r)) => c.final_fit.push((e as u32, r)),
                (Some(f), None, _) => {
                    let metrics = pairs.iter().filter(|(k, _)| *k != "fold").map(|(k, v)| (k.to_string(), *v)).collect();
                    c.fold_results.insert(f as u32, metrics);
                }
                _ if line.starts_with("cv_") => c.cv = pairs.iter().map(|(k, v)| (k.trim_start_matches("cv_").to_string(), *v)).collect(),
                _ => {}
            }
        }
        c
    }

    /// The chart of every fold's curve and the final fit's (drawn heavier).
    pub fn chart(&self) -> Chart {
        let to_points = |v: &[(u32, f64)]| v.iter().map(|(e, r)| (*e as f64, *r)).collect::<Vec<_>>();
        let mut series: Vec<Series> = self.folds.iter().map(|(f, v)| Series { label: format!("fold {f}"), points: to_points(v), emphasis: false }).collect();
        if !self.final_fit.is_empty() {
            series.push(Series { label: "final fit".into(), points: to_points(&self.final_fit), emphasis: true });
        }
        Chart { title: "Training RMSE per epoch".into(), x_label: "epoch".into(), y_label: "training RMSE".into(), series }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_and_final_curves_are_told_apart() {
        let log = "training job j\nphase=training folds=2 epochs=2 factors=10\n\
                   fold=2 epoch=1 train_rmse=1.1\nfold=1 epoch=1 train_rmse=1.0\nfold=1 epoch=2 train_rmse=0.9\nfold=2 epoch=2 train_rmse=0.95\n\
                   fold=1 rmse=0.97 mae=0.75 precision_at_10=0.1\nfold=2 rmse=0.99 mae=0.76\n\
                   cv_rmse=0.98 cv_mae=0.755\nepoch=1 train_rmse=0.96\nepoch=2 train_rmse=0.88\ntopn users=10/10\ndone seconds=0.5\n";
        let c = Curves::parse(log);
        assert_eq!(c.folds[&1], vec![(1, 1.0), (2, 0.9)]);
        assert_eq!(c.folds[&2], vec![(1, 1.1), (2, 0.95)]);
        assert_eq!(c.final_fit, vec![(1, 0.96), (2, 0.88)]);
        assert_eq!(c.fold_results[&1], vec![("rmse".to_string(), 0.97), ("mae".to_string(), 0.75), ("precision_at_10".to_string(), 0.1)]);
        assert_eq!(c.cv, vec![("rmse".to_string(), 0.98), ("mae".to_string(), 0.755)]);
        let chart = c.chart();
        let labels: Vec<&str> = chart.series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["fold 1", "fold 2", "final fit"]);
        assert!(chart.series[2].emphasis);
    }
}
