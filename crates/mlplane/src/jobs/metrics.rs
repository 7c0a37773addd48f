//! The container's progress and metric lines, read into SageMaker's metric list and a live
//! status message. Lines look like `fold=1 epoch=3 train_rmse=0.91`, `epoch=3 train_rmse=0.88`,
//! `cv_rmse=0.87 cv_mae=0.67 cv_precision_at_10=...`, `phase=training ...`.

use std::collections::BTreeMap;

use mlapi::MetricData;

/// The `key=value` pairs of a line whose values are numbers, in order.
pub fn parse_metric_line(line: &str) -> Vec<(&str, f64)> {
    line.split_whitespace()
        .filter_map(|field| field.split_once('='))
        .filter_map(|(k, v)| v.parse::<f64>().ok().filter(|x| x.is_finite()).map(|x| (k, x)))
        .collect()
}

/// What a running job has reported so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub phase: Option<String>,
    pub fold: Option<u32>,
    pub epoch: Option<u32>,
    /// Final metrics by SageMaker-style name (`cv:rmse`, `train:rmse`, ...), with the time seen.
    pub metrics: BTreeMap<String, (f64, f64)>,
    /// The most recent metric of any kind, for a live status line.
    pub latest: Option<(String, f64)>,
}

impl Progress {
    /// Reads one output line at time `now`.
    pub fn observe(&mut self, line: &str, now: f64) {
        if let Some(phase) = line.strip_prefix("phase=") {
            self.phase = Some(phase.split_whitespace().next().unwrap_or("").to_string());
            return;
        }
        let pairs = parse_metric_line(line);
        if pairs.is_empty() {
            return;
        }
        let fold = pairs.iter().find(|(k, _)| *k == "fold").map(|(_, v)| *v as u32);
        let epoch = pairs.iter().find(|(k, _)| *k == "epoch").map(|(_, v)| *v as u32);
        if epoch.is_some() {
            self.fold = fold;
            self.epoch = epoch;
        }
        for (k, v) in &pairs {
            let name = match (*k, fold, epoch) {
                ("train_rmse", None, Some(_)) => "train:rmse".to_string(),
                ("fold" | "epoch" | "seconds" | "ratings" | "users" | "items", _, _) => continue,
                (k, None, None) if k.starts_with("cv_") => format!("cv:{}", &k[3..]),
                (k, Some(f), None) => format!("fold{f}:{k}"),
                (k, _, _) => {
                    self.latest = Some((k.to_string(), *v));
                    continue;
                }
            };
            self.latest = Some((name.clone(), *v));
            if !name.starts_with("fold") {
                self.metrics.insert(name, (*v, now));
            }
        }
    }

    /// SageMaker's `FinalMetricDataList`.
    pub fn metric_list(&self) -> Vec<MetricData> {
        self.metrics
            .iter()
            .map(|(name, (value, t))| MetricData { metric_name: name.clone(), value: *value, timestamp: *t })
            .collect()
    }

    /// A one-line status: `phase training, fold 2 epoch 13, train_rmse=0.8123`.
    pub fn message(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.phase {
            parts.push(format!("phase {p}"));
        }
        match (self.fold, self.epoch) {
            (Some(f), Some(e)) => parts.push(format!("fold {f} epoch {e}")),
            (None, Some(e)) => parts.push(format!("epoch {e}")),
            _ => {}
        }
        if let Some((k, v)) = &self.latest {
            parts.push(format!("{k}={v:.4}"));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_lines_become_metrics_and_a_status() {
        let mut p = Progress::default();
        for line in [
            "training job j",
            "phase=training folds=2 epochs=3 factors=10",
            "fold=1 epoch=3 train_rmse=0.910000",
            "fold=1 rmse=0.95 mae=0.75 precision_at_10=0.1 recall_at_10=0.2 ndcg_at_10=0.3",
            "cv_rmse=0.871234 cv_mae=0.668 cv_precision_at_10=0.05 cv_recall_at_10=0.06 cv_ndcg_at_10=0.07",
            "epoch=2 train_rmse=0.850000",
            "epoch=3 train_rmse=0.840000",
            "done seconds=0.5",
        ] {
            p.observe(line, 10.0);
        }
        let names: Vec<String> = p.metric_list().into_iter().map(|m| m.metric_name).collect();
        assert_eq!(names, ["cv:mae", "cv:ndcg_at_10", "cv:precision_at_10", "cv:recall_at_10", "cv:rmse", "train:rmse"]);
        assert_eq!(p.metrics["cv:rmse"].0, 0.871234);
        assert_eq!(p.metrics["train:rmse"].0, 0.84);
        assert_eq!(p.message(), "phase training, epoch 3, train:rmse=0.8400");
        let mut q = Progress::default();
        q.observe("fold=2 epoch=7 train_rmse=0.5", 1.0);
        assert_eq!(q.message(), "fold 2 epoch 7, train_rmse=0.5000");
        assert!(q.metric_list().is_empty());
    }
}
