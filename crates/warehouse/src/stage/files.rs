//! A stage's files on disk: `<data>/warehouse/stages/<storage id>/<path>`. Storage ids are made
//! by recpipe (hex and letters only); paths inside come from [`super::syntax::normalize_path`]
//! and are joined segment by segment, each checked again here, so no name leaves the folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Warehouse, WarehouseError};

/// One file of a stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageFile {
    /// Path inside the stage, `/`-separated.
    pub path: String,
    pub size: u64,
    pub modified: i64,
}

/// The folder of one stage.
#[derive(Debug, Clone)]
pub struct StageDir {
    root: PathBuf,
}

fn io(what: &str, p: &Path, e: std::io::Error) -> WarehouseError {
    WarehouseError::Internal(format!("{what} {}: {e}", p.display()))
}

impl StageDir {
    pub fn open(wh: &Warehouse, storage: &str) -> Result<StageDir, WarehouseError> {
        if storage.is_empty() || !storage.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(WarehouseError::Internal(format!("storage id '{storage}' is not one recpipe makes")));
        }
        Ok(StageDir { root: wh.0.dir.join("stages").join(storage) })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file at `path` (a file name, not a prefix): every segment plain.
    pub fn file(&self, path: &str) -> Result<PathBuf, WarehouseError> {
        let mut out = self.root.clone();
        let mut any = false;
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            if seg == "." || seg == ".." || seg.chars().any(|c| c == '\\' || c.is_control()) || seg.starts_with(".upload-") {
                return Err(WarehouseError::Invalid(format!("'{path}' is not a file name a stage holds")));
            }
            out.push(seg);
            any = true;
        }
        if !any {
            return Err(WarehouseError::Invalid("a stage file needs a name".into()));
        }
        Ok(out)
    }

    /// Every file whose path starts with `prefix`, by path.
    pub fn list(&self, prefix: &str) -> Result<Vec<StageFile>, WarehouseError> {
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out)?;
        out.retain(|f| f.path.starts_with(prefix));
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
    pub fn write(&self, path: &str, bytes: &[u8]) -> Result<(), WarehouseError> {
        let target = self.file(path)?;
        let dir = target.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| io("creating", &dir, e))?;
        let tmp = dir.join(format!(".upload-{}", crate::random::uuid()));
        let mut f = std::fs::File::create(&tmp).map_err(|e| io("creating", &tmp, e))?;
        f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| io("writing", &tmp, e))?;
        std::fs::rename(&tmp, &target).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io("renaming into", &target, e)
        })
    }

    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>, WarehouseError> {
        let p = self.file(path)?;
        match std::fs::read(&p) {
            Ok(b) => Ok(Some(b)),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory) => Ok(None),
            Err(e) => Err(io("reading", &p, e)),
        }
    }

    pub fn exists(&self, path: &str) -> Result<bool, WarehouseError> {
        Ok(self.file(path)?.is_file())
    }

    pub fn remove(&self, path: &str) -> Result<(), WarehouseError> {
        let p = self.file(path)?;
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("removing", &p, e)),
        }
    }

    /// Removes the whole stage folder (a dropped or replaced stage).
    pub fn remove_all(&self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<StageFile>) -> Result<(), WarehouseError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("listing", dir, e)),
    };
    for entry in rd {
        let entry = entry.map_err(|e| io("listing", dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(".upload-") {
            continue;
        }
        let meta = entry.metadata().map_err(|e| io("reading", &entry.path(), e))?;
        if meta.is_dir() {
            walk(root, &entry.path(), out)?;
        } else if meta.is_file() {
            let rel = entry.path().strip_prefix(root).map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or(name);
            let modified = meta.modified().ok().and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs() as i64);
            out.push(StageFile { path: rel, size: meta.len(), modified });
        }
    }
    Ok(())
}
