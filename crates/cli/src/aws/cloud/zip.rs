//! A zip archive of one executable file, as Lambda takes a function's code: one deflated entry,
//! Unix mode 0755 (Lambda runs `bootstrap` only if it is executable).

use std::io::Write;

/// The archive bytes for `name` with `data`. Sizes must fit zip's 32-bit fields (Lambda's limit
/// is far below).
pub fn single_file(name: &str, data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data)?;
    let packed = enc.finish()?;
    let (size, csize) = (u32::try_from(data.len())?, u32::try_from(packed.len())?);
    let crc = crc32fast::hash(data);
    let name = name.as_bytes();
    let name_len = u16::try_from(name.len())?;
    // 1980-01-01 00:00, the earliest DOS time: the archive's bytes depend only on its content.
    let (time, date) = (0u16, (1 << 5) | 1);
    let mut out = Vec::with_capacity(packed.len() + 128);
    let le16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    // Local file header.
    le32(&mut out, 0x0403_4b50);
    for x in [20u16, 0, 8, time, date] {
        le16(&mut out, x);
    }
    for x in [crc, csize, size] {
        le32(&mut out, x);
    }
    le16(&mut out, name_len);
    le16(&mut out, 0);
    out.extend_from_slice(name);
    out.extend_from_slice(&packed);
    // Central directory: made by Unix (3) version 2.0, external attributes carry the mode.
    let cd_start = u32::try_from(out.len())?;
    le32(&mut out, 0x0201_4b50);
    for x in [(3 << 8) | 20u16, 20, 0, 8, time, date] {
        le16(&mut out, x);
    }
    for x in [crc, csize, size] {
        le32(&mut out, x);
    }
    for x in [name_len, 0, 0, 0, 0] {
        le16(&mut out, x);
    }
    le32(&mut out, (0o100755u32) << 16);
    le32(&mut out, 0);
    out.extend_from_slice(name);
    let cd_size = u32::try_from(out.len())? - cd_start;
    // End of central directory.
    le32(&mut out, 0x0605_4b50);
    for x in [0u16, 0, 1, 1] {
        le16(&mut out, x);
    }
    le32(&mut out, cd_size);
    le32(&mut out, cd_start);
    le16(&mut out, 0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// Python's zipfile reads the archive back: the name, the bytes and the executable mode.
    #[test]
    fn python_reads_the_archive() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let z = super::single_file("bootstrap", &data).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.zip");
        std::fs::write(&path, &z).unwrap();
        let script = "import sys, zipfile, hashlib\nz = zipfile.ZipFile(sys.argv[1])\ni = z.getinfo('bootstrap')\nprint(oct(i.external_attr >> 16), hashlib.sha256(z.read('bootstrap')).hexdigest(), z.testzip())";
        let out = match std::process::Command::new("python3").args(["-c", script, path.to_str().unwrap()]).output() {
            Ok(o) => o,
            Err(e) => {
                println!("SKIPPED zip read-back because python3 cannot run: {e}");
                return;
            }
        };
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let want = format!("0o100755 {} None", iam::sigv4::sha256_hex(&data));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);
    }
}
