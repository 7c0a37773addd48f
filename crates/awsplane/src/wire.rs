//! Reading SageMaker's answers into mlapi's types, which name only the statuses the local control
//! plane produces. The real service reports finer secondary statuses (`LaunchingMLInstances`,
//! `DownloadingTrainingImage`, ...); each is mapped onto the stage it belongs to.

use serde_json::Value;

/// SageMaker's secondary statuses beyond mlapi's, and the stage each belongs to.
const SECONDARY: [(&str, &str); 7] = [
    ("Pending", "Starting"),
    ("LaunchingMLInstances", "Starting"),
    ("PreparingTrainingStack", "Starting"),
    ("Restarting", "Starting"),
    ("DownloadingTrainingImage", "Downloading"),
    ("Updating", "Training"),
    ("Deleting", "Stopping"),
];

fn map_secondary(v: &mut Value) {
    if let Some(s) = v.as_str() {
        if let Some((_, to)) = SECONDARY.iter().find(|(from, _)| *from == s) {
            *v = Value::from(*to);
        }
    }
}

/// Rewrites `SecondaryStatus` and each `SecondaryStatusTransitions[].Status` in place.
pub fn normalize(v: &mut Value) {
    if let Some(s) = v.get_mut("SecondaryStatus") {
        map_secondary(s);
    }
    for list in ["SecondaryStatusTransitions", "TrainingJobSummaries"] {
        if let Some(Value::Array(items)) = v.get_mut(list) {
            for t in items {
                for key in ["Status", "SecondaryStatus"] {
                    if let Some(s) = t.get_mut(key) {
                        map_secondary(s);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_secondary_statuses_read_as_mlapis() {
        let mut v = serde_json::json!({
            "SecondaryStatus": "LaunchingMLInstances",
            "SecondaryStatusTransitions": [{"Status": "DownloadingTrainingImage"}, {"Status": "Training"}],
        });
        normalize(&mut v);
        assert_eq!(v["SecondaryStatus"], "Starting");
        assert_eq!(v["SecondaryStatusTransitions"][0]["Status"], "Downloading");
        assert_eq!(v["SecondaryStatusTransitions"][1]["Status"], "Training");
        let s: mlapi::SecondaryStatus = serde_json::from_value(v["SecondaryStatus"].clone()).unwrap();
        assert_eq!(s, mlapi::SecondaryStatus::Starting);
    }
}
