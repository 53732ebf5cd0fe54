//! Files Rollcall writes, inside the warehouse and out of it, are its owner's alone: each is
//! created mode 0600 (directories 0700) whatever the umask, and replaced whole (a reader
//! never sees half a file). `[output] mode` may open a command's outputs to a group after
//! they are written, never before.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::config::FileMode;
use crate::error::{Error, Result};

/// Mode of every file Rollcall creates.
pub const PRIVATE_FILE: u32 = 0o600;
/// Mode of every directory Rollcall creates.
pub const PRIVATE_DIR: u32 = 0o700;

/// Options that create a file mode 0600 (for files appended to or locked in place).
pub fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.create(true).mode(PRIVATE_FILE);
    options
}

/// Creates a directory and any missing parents, those it creates mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    DirBuilder::new().recursive(true).mode(PRIVATE_DIR).create(dir).map_err(|e| Error::io(dir, e))
}

/// Writes a file by writing a sibling temporary file (mode 0600) and renaming it over the
/// target, so a reader never sees half a file and no one else can read it.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = temporary(path)?;
    let written = write_private(&tmp, contents).and_then(|file| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    super::fault::step();
    Ok(())
}

/// Writes many files as [`write_atomically`] writes one: each is written to its temporary
/// file, all are synced side by side (the file system then commits them together, where
/// one by one each waits for its own commit: 143 files of a subject-access export took
/// 49 ms), and only then is each renamed over its target. On an error no target is
/// touched and the temporary files are removed (with more than 256 files, those of the
/// groups of 256 before it are already in place).
pub fn write_all_atomically(files: &[(PathBuf, Vec<u8>)]) -> Result<()> {
    /// Files open at once.
    const OPEN: usize = 256;
    for some in files.chunks(OPEN) {
        write_some_atomically(some)?;
    }
    Ok(())
}

fn write_some_atomically(files: &[(PathBuf, Vec<u8>)]) -> Result<()> {
    /// Threads syncing at once.
    const SYNCING: usize = 16;
    let mut written = Vec::with_capacity(files.len());
    let mut failed = None;
    for (path, contents) in files {
        let tmp = match temporary(path) {
            Ok(tmp) => tmp,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        match write_private(&tmp, contents) {
            Ok(file) => written.push((tmp, file)),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                failed = Some(Error::io(&tmp, e));
                break;
            }
        }
    }
    if failed.is_none() {
        let chunk = written.len().div_ceil(SYNCING).max(1);
        failed = std::thread::scope(|scope| {
            let syncing: Vec<_> = written
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter().find_map(|(tmp, file)| file.sync_all().err().map(|e| Error::io(tmp, e)))
                    })
                })
                .collect();
            syncing.into_iter().find_map(|s| s.join().expect("a syncing thread panicked"))
        });
    }
    if let Some(e) = failed {
        for (tmp, _) in &written {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    for ((tmp, _), (path, _)) in written.iter().zip(files) {
        std::fs::rename(tmp, path).map_err(|e| Error::io(path, e))?;
        super::fault::step();
    }
    Ok(())
}

/// The sibling temporary file `path` is written to before it is renamed into place (its
/// directory created if missing).
fn temporary(path: &Path) -> Result<PathBuf> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    Ok(dir.join(format!(".{}.tmp-{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("file"), std::process::id())))
}

/// Writes `contents` to `tmp` (mode 0600, replacing any earlier content), not yet synced.
fn write_private(tmp: &Path, contents: &[u8]) -> std::io::Result<std::fs::File> {
    let mut file = private_options().write(true).truncate(true).open(tmp)?;
    // A temporary file left by an earlier, killed run keeps its old mode: reset it.
    file.set_permissions(Permissions::from_mode(PRIVATE_FILE))?;
    file.write_all(contents)?;
    Ok(file)
}

/// Gives a command's output (a file, or a directory and everything in it) the configured
/// mode; directories get the matching search bits. Nothing is done for the default 0600.
pub fn apply_output_mode(path: &Path, mode: FileMode) -> Result<()> {
    if mode.bits() == PRIVATE_FILE {
        return Ok(());
    }
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).map_err(|e| Error::io(path, e))? {
            apply_output_mode(&entry.map_err(|e| Error::io(path, e))?.path(), mode)?;
        }
        std::fs::set_permissions(path, Permissions::from_mode(mode.directory_bits())).map_err(|e| Error::io(path, e))
    } else if meta.is_file() {
        std::fs::set_permissions(path, Permissions::from_mode(mode.bits())).map_err(|e| Error::io(path, e))
    } else {
        Ok(())
    }
}

/// Makes every file under `dir` owner-only (0600) and every directory 0700.
pub fn restrict_tree(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(PRIVATE_DIR)).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() {
            restrict_tree(&path)?;
        } else {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Many files at once: all in place, owner-only, or (one cannot be written) none
    /// replaced and no temporary file left behind.
    #[test]
    fn many_files_are_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<(PathBuf, Vec<u8>)> = (0..300)
            .map(|i| (dir.path().join(format!("pages/p{}/page-{i}.html", i % 3)), format!("page {i}").into_bytes()))
            .collect();
        write_all_atomically(&files).unwrap();
        for (path, contents) in &files {
            assert_eq!(&std::fs::read(path).unwrap(), contents);
            assert_eq!(mode_of(path), 0o600);
        }
        let kept = dir.path().join("kept.json");
        write_atomically(&kept, b"old").unwrap();
        std::fs::write(dir.path().join("not-a-dir"), b"").unwrap();
        let failing = vec![
            (kept.clone(), b"new".to_vec()),
            (dir.path().join("fresh.json"), b"new".to_vec()),
            (dir.path().join("not-a-dir/x.json"), b"new".to_vec()),
        ];
        assert!(write_all_atomically(&failing).is_err());
        assert_eq!(std::fs::read(&kept).unwrap(), b"old");
        assert!(!dir.path().join("fresh.json").exists());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn files_and_directories_are_created_owner_only_and_opened_only_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out/lists/review.csv");
        write_atomically(&file, b"a,b\n").unwrap();
        assert_eq!(mode_of(&file), 0o600);
        assert_eq!(mode_of(&dir.path().join("out/lists")), 0o700);
        assert_eq!(mode_of(&dir.path().join("out")), 0o700);
        // A file already there, world-readable, is replaced by an owner-only one.
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        write_atomically(&file, b"c,d\n").unwrap();
        assert_eq!((mode_of(&file), std::fs::read(&file).unwrap()), (0o600, b"c,d\n".to_vec()));

        let group: FileMode = "0640".parse().unwrap();
        apply_output_mode(&dir.path().join("out"), group).unwrap();
        assert_eq!(mode_of(&file), 0o640);
        assert_eq!(mode_of(&dir.path().join("out/lists")), 0o750);
    }
}
