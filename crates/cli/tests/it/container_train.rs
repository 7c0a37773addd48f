use std::collections::{HashMap, HashSet};

use crate::support::{ml_root, train};

#[test]
fn success_writes_model_metrics_and_recommendations() {
    let (_dir, root) = ml_root(r#"{"n_factors": "20", "n_epochs": "15", "cv_folds": "3", "top_n": "10", "input_channel_hint": "x"}"#);
    let (code, stdout) = train(&root);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("warning: hyperparameter \"input_channel_hint\" is not used"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("cv_rmse=")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("epoch=15 train_rmse=")), "{stdout}");
    assert!(!root.join("output/failure").exists());

    let model = recommender::modelfile::load(&root.join("model/model.rpmf")).unwrap();
    assert_eq!(model.factors.k, 20);

    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("output/metrics.json")).unwrap()).unwrap();
    let rmse = metrics["cv"]["mean"]["rmse"].as_f64().unwrap();
    assert!(rmse > 0.1 && rmse < 1.2, "cv rmse {rmse}");
    assert_eq!(metrics["cv"]["folds"].as_array().unwrap().len(), 3);

    // Every user gets 10 distinct movies that the user has not rated.
    let ratings = std::fs::read_to_string(root.join("input/data/training/ratings.csv")).unwrap();
    let mut rated: HashMap<i64, HashSet<i64>> = HashMap::new();
    for line in ratings.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        rated.entry(f[0].parse().unwrap()).or_default().insert(f[1].parse().unwrap());
    }
    let recs = std::fs::read_to_string(root.join("output/data/recommendations.csv")).unwrap();
    let mut lines = recs.lines();
    assert_eq!(lines.next(), Some("userid,recommendations"));
    let mut users = 0;
    for line in lines {
        let (user, list) = line.split_once(',').unwrap();
        let user: i64 = user.parse().unwrap();
        let ids: Vec<i64> = serde_json::from_str(list.trim_matches('"')).unwrap();
        assert_eq!(ids.len(), 10, "user {user}");
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 10, "distinct for user {user}");
        for id in &ids {
            assert!(!rated[&user].contains(id), "user {user} already rated {id}");
        }
        users += 1;
    }
    assert_eq!(users, rated.len());
}

fn assert_fails(root: &std::path::Path, needles: &[&str]) {
    let (code, stdout) = train(root);
    assert_eq!(code, 255, "{stdout}");
    let failure = std::fs::read_to_string(root.join("output/failure")).expect("output/failure written");
    for n in needles {
        assert!(failure.contains(n), "{n:?} not in failure {failure:?}");
    }
    assert!(!root.join("model/model.rpmf").exists());
}

#[test]
fn missing_channel_fails_naming_it() {
    let (_dir, root) = ml_root("{}");
    std::fs::remove_dir_all(root.join("input/data/training")).unwrap();
    assert_fails(&root, &["input/data/training", "does not exist"]);
}

#[test]
fn empty_ratings_file_fails_naming_it() {
    let (_dir, root) = ml_root("{}");
    std::fs::write(root.join("input/data/training/ratings.csv"), "").unwrap();
    assert_fails(&root, &["ratings.csv"]);
}

#[test]
fn non_numeric_hyperparameter_fails_naming_it() {
    let (_dir, root) = ml_root(r#"{"n_factors": "lots", "lr_all": "0.01"}"#);
    assert_fails(&root, &["n_factors", "\"lots\""]);
}

#[test]
fn non_string_hyperparameter_fails_naming_it() {
    let (_dir, root) = ml_root(r#"{"n_epochs": 5}"#);
    assert_fails(&root, &["n_epochs", "must be a string"]);
}

#[test]
fn bad_rating_line_fails_naming_file_and_line() {
    let (_dir, root) = ml_root("{}");
    let path = root.join("input/data/training/ratings.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("7,70,great,964982703\n");
    let line = text.lines().count();
    std::fs::write(&path, text).unwrap();
    assert_fails(&root, &["ratings.csv", &format!(":{line}")]);
}
