//! Where uploaded feed bodies wait between the socket and the import: files under
//! `data_dir/spool` (directory 0700, files 0600), never the shared system temp directory. A feed
//! of households is a file of clear resident ids until it is parsed, so it must not outlive its
//! request: the file is removed when its handle drops (every return and panic path), and a
//! process killed mid-upload leaves one behind that the next start sweeps.
//!
//! Each spool file is locked (an advisory exclusive lock) by the process writing it while it is
//! open, so a sweep by another process on the same data directory (a CLI command beside `serve`)
//! removes only files whose writer is gone.

use std::path::{Path, PathBuf};

pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("spool")
}

/// A new, locked, owner-only spool file; removed when the returned handle drops.
pub fn create(data_dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = dir(data_dir);
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir)?;
    // tempfile creates the file with mode 0600 on Unix.
    let file = tempfile::Builder::new()
        .prefix("feed-")
        .suffix(".spool")
        .tempfile_in(&dir)?;
    file.as_file().lock()?;
    Ok(file)
}

/// Removes the spool files no live process holds; returns how many went.
pub fn sweep(data_dir: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir(data_dir)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        // Held: its writer is alive. Anything else (free, or a lock error) means it is ours to go.
        if matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)) {
            continue;
        }
        std::fs::remove_file(&path)?;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_removes_abandoned_spools_and_keeps_those_in_use() {
        let data = tempfile::tempdir().unwrap();
        let in_use = create(data.path()).unwrap();
        // What a process killed mid-upload leaves: a file nobody holds.
        std::fs::write(dir(data.path()).join("feed-dead.spool"), b"1101051949...").unwrap();

        assert_eq!(sweep(data.path()).unwrap(), 1);
        assert!(in_use.path().exists(), "a live upload's spool stays");
        let path = in_use.path().to_owned();
        drop(in_use);
        assert!(!path.exists(), "dropping the handle removes the file");
        assert_eq!(sweep(data.path()).unwrap(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn spool_files_and_their_directory_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let data = tempfile::tempdir().unwrap();
        let f = create(data.path()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(f.path()), 0o600);
        assert_eq!(mode(&dir(data.path())), 0o700);
    }
}
