//! `model.tar.gz`: how SageMaker moves a model directory between a training job and an endpoint.

use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// Packs the files of `dir` (recursively, paths relative to it) into a gzipped tar at `out`.
pub fn pack_dir(dir: &Path, out: &Path) -> std::io::Result<()> {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = out.with_extension("tmp");
    let file = std::fs::File::create(&tmp)?;
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::fast()));
    tar.mode(tar::HeaderMode::Deterministic);
    tar.append_dir_all(".", dir)?;
    let gz = tar.into_inner()?;
    let file = gz.finish()?;
    file.sync_all()?;
    std::fs::rename(&tmp, out)
}

/// Extracts a gzipped tar into `dir`. Entries that would land outside `dir` (absolute paths,
/// `..`) are refused by the tar crate's `unpack_in`, and reported here.
pub fn unpack(archive: &Path, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let file = std::fs::File::open(archive)?;
    let mut tar = tar::Archive::new(GzDecoder::new(file));
    for entry in tar.entries()? {
        let mut entry = entry?;
        if !entry.unpack_in(dir)? {
            let name = entry.path().map(|p| p.display().to_string()).unwrap_or_default();
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: entry {name:?} points outside the model directory", archive.display()),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("a.bin"), b"hello").unwrap();
        std::fs::create_dir(src.path().join("sub")).unwrap();
        std::fs::write(src.path().join("sub/b.txt"), b"world").unwrap();
        let out = tempfile::tempdir().unwrap();
        let archive = out.path().join("model.tar.gz");
        pack_dir(src.path(), &archive).unwrap();
        let dst = tempfile::tempdir().unwrap();
        unpack(&archive, dst.path()).unwrap();
        assert_eq!(std::fs::read(dst.path().join("a.bin")).unwrap(), b"hello");
        assert_eq!(std::fs::read(dst.path().join("sub/b.txt")).unwrap(), b"world");
    }
}
