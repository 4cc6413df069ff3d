//! Writing user-visible files atomically: everything goes to a temporary file in the target's
//! folder and is renamed into place only once complete, so a crash never leaves half a file.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes `path` through `fill`, atomically. The parent folder is created if missing.
pub fn write_atomic<F>(path: &Path, fill: F) -> io::Result<()>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let dir = parent_dir(path);
    std::fs::create_dir_all(&dir)?;
    let tmp = builder(0o666).tempfile_in(&dir)?;
    {
        let mut w = BufWriter::new(tmp.as_file());
        fill(&mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Replaces the folder `dir` atomically with one filled by `fill` in a sibling temporary folder:
/// the previous contents stay intact until the new folder is complete.
pub fn replace_dir_atomic<F>(dir: &Path, fill: F) -> io::Result<()>
where
    F: FnOnce(&Path) -> io::Result<()>,
{
    let parent = parent_dir(dir);
    std::fs::create_dir_all(&parent)?;
    let staging = builder(0o777).tempdir_in(&parent)?;
    fill(staging.path())?;
    let staged = staging.keep();
    if dir.exists() {
        let old = parent.join(format!(
            ".valar-old-{}-{}",
            std::process::id(),
            dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        ));
        std::fs::rename(dir, &old)?;
        if let Err(e) = std::fs::rename(&staged, dir) {
            // Put the previous folder back so the user keeps a working copy.
            let _ = std::fs::rename(&old, dir);
            let _ = std::fs::remove_dir_all(&staged);
            return Err(e);
        }
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&staged, dir)?;
    }
    Ok(())
}

/// Temporary files are private (0600) by default; what the user gets must have the usual
/// permissions, so ask for `mode` (the process umask still applies, as for any new file).
fn builder(mode: u32) -> tempfile::Builder<'static, 'static> {
    let mut b = tempfile::Builder::new();
    b.prefix(".valar-").suffix(".partial");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    b
}

/// Formats a float for CSV: shortest round-trip form; NaN as empty (as pandas writes it).
pub fn fmt_value(v: f64) -> String {
    if v.is_nan() { String::new() } else { format!("{v}") }
}

/// Quotes a CSV field when it needs it.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn written_files_get_the_permissions_of_any_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let reference = dir.path().join("plain.csv");
        std::fs::File::create(&reference).unwrap();
        let ours = dir.path().join("ours.csv");
        write_atomic(&ours, |w| w.write_all(b"x")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ours), mode(&reference));
    }

    #[test]
    fn failed_write_leaves_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.csv");
        write_atomic(&p, |w| w.write_all(b"first")).unwrap();
        let r = write_atomic(&p, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "first");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary file must be cleaned up");
    }

    #[test]
    fn replace_dir_keeps_old_on_failure() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().join("model");
        replace_dir_atomic(&d, |p| std::fs::write(p.join("a"), "1")).unwrap();
        let r = replace_dir_atomic(&d, |p| {
            std::fs::write(p.join("a"), "2")?;
            Err(io::Error::other("crash"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(d.join("a")).unwrap(), "1");
        replace_dir_atomic(&d, |p| std::fs::write(p.join("a"), "3")).unwrap();
        assert_eq!(std::fs::read_to_string(d.join("a")).unwrap(), "3");
    }
}
