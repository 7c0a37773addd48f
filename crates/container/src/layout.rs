//! The `/opt/ml` tree of SageMaker's container contract, rooted anywhere.

use std::path::{Path, PathBuf};

/// Paths under one ml root.
#[derive(Debug, Clone)]
pub struct MlRoot {
    root: PathBuf,
}

impl MlRoot {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config_dir(&self) -> PathBuf {
        self.root.join("input/config")
    }

    pub fn hyperparameters(&self) -> PathBuf {
        self.config_dir().join("hyperparameters.json")
    }

    pub fn resource_config(&self) -> PathBuf {
        self.config_dir().join("resourceconfig.json")
    }

    pub fn input_data_config(&self) -> PathBuf {
        self.config_dir().join("inputdataconfig.json")
    }

    pub fn channel(&self, name: &str) -> PathBuf {
        self.root.join("input/data").join(name)
    }

    pub fn model_dir(&self) -> PathBuf {
        self.root.join("model")
    }

    pub fn output_dir(&self) -> PathBuf {
        self.root.join("output")
    }

    pub fn failure(&self) -> PathBuf {
        self.output_dir().join("failure")
    }

    pub fn output_data_dir(&self) -> PathBuf {
        self.output_dir().join("data")
    }

    pub fn metrics(&self) -> PathBuf {
        self.output_dir().join("metrics.json")
    }

    pub fn recommendations(&self) -> PathBuf {
        self.output_data_dir().join("recommendations.csv")
    }
}

/// Writes a file atomically: temporary file beside it, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
