//! The AWS shared-credentials file (`~/.aws/credentials` format), written atomically.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::AccessKey;
use crate::IamError;

fn io_err(what: &str, path: &Path, e: std::io::Error) -> IamError {
    IamError::Internal(format!("{what} {}: {e}", path.display()))
}

/// Writes `key` as profile `profile` into the shared-credentials file at `path`, keeping every
/// other profile already there. The file gets mode 0600 and is replaced atomically (temporary
/// file, fsync, rename, fsync of the directory).
pub fn write_credentials_file(path: &Path, profile: &str, key: &AccessKey) -> Result<(), IamError> {
    if profile.is_empty() || profile.contains(['[', ']', '\n', '\r']) {
        return Err(IamError::ValidationError(format!(
            "profile name '{profile}' is not usable in a credentials file"
        )));
    }
    let existing = match fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io_err("reading", path, e)),
    };
    let mut out = String::new();
    let mut skipping = false;
    for line in existing.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            skipping = trimmed[1..trimmed.len() - 1].trim() == profile;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(&format!(
        "[{profile}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        key.access_key_id,
        key.secret_access_key.expose()
    ));

    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| io_err("creating", dir, e))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "credentials".into());
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io_err("creating", &tmp, e))?;
    f.write_all(out.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| io_err("writing", &tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| io_err("renaming into", path, e))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;
    use std::os::unix::fs::PermissionsExt;

    fn key(id: &str, secret: &str) -> AccessKey {
        AccessKey {
            user_name: "recpipe-admin".into(),
            access_key_id: id.into(),
            secret_access_key: SecretKey::new(secret),
            status: "Active".into(),
            create_date: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn writes_mode_0600_and_keeps_other_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aws").join("credentials");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n\n[recpipe]\naws_access_key_id = AKIAOLD\naws_secret_access_key = old\n").unwrap();
        write_credentials_file(&path, "recpipe", &key("AKIANEW", "newsecret")).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("[default]\naws_access_key_id = AKIAOTHER"),
            "{text}"
        );
        assert!(
            text.contains(
                "[recpipe]\naws_access_key_id = AKIANEW\naws_secret_access_key = newsecret\n"
            ),
            "{text}"
        );
        assert!(!text.contains("AKIAOLD"), "{text}");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert_eq!(
            write_credentials_file(&path, "a]b", &key("A", "b"))
                .unwrap_err()
                .code(),
            "ValidationError"
        );
    }
}
