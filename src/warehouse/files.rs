//! Files Rollcall writes, inside the warehouse and out of it, are its owner's alone: each is
//! created mode 0600 (directories 0700) whatever the umask, and replaced whole (a reader
//! never sees half a file). `[output] mode` may open a command's outputs to a group after
//! they are written, never before.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

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
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let written = private_options().write(true).truncate(true).open(&tmp).and_then(|mut file| {
        // A temporary file left by an earlier, killed run keeps its old mode: reset it.
        file.set_permissions(Permissions::from_mode(PRIVATE_FILE))?;
        file.write_all(contents)?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    super::fault::step();
    Ok(())
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
