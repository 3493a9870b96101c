//! Output files that never lose data: a measurement, chip or stack file is
//! written whole or not at all (`mlsim_plot::files::write_via`: a
//! temporary file in the same folder, flushed to disk, then renamed over
//! the target), and an existing one is replaced only when the user says
//! `--force`.

use std::io::Write;
use std::path::Path;

use crate::Failure;

fn failure(message: String) -> Failure {
    Failure {
        code: 2,
        error: anyhow::anyhow!(message),
    }
}

fn exists(path: &Path, what: &str) -> Failure {
    failure(format!(
        "{}: a file is there already; mlsim does not replace a {what} unless asked\n  hint: pass --force to replace it, or write to another file",
        path.display()
    ))
}

/// Refuse, before any work is done, to replace an existing `path` without
/// `force` (the final write checks again, atomically).
pub fn check_new(path: &Path, force: bool, what: &str) -> Result<(), Failure> {
    if !force && path.exists() {
        return Err(exists(path, what));
    }
    Ok(())
}

/// Write `contents` to `path` atomically; an existing file is replaced
/// only with `force`, and is left as it was when anything fails.
pub fn write_atomic(path: &Path, contents: &[u8], force: bool, what: &str) -> Result<(), Failure> {
    write_atomic_with(path, force, what, |f| f.write_all(contents))
}

/// [`write_atomic`] with the writing done by `fill` on the open file (to
/// stream what is too large to hold).
pub fn write_atomic_with(
    path: &Path,
    force: bool,
    what: &str,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), Failure> {
    mlsim_plot::files::write_via(path, force, |tmp| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(tmp)?;
        fill(&mut file)
    })
    .map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists && !force {
            exists(path, what)
        } else {
            failure(format!("cannot write {}: {e}", path.display()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mlsim-files-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp"))
            .collect()
    }

    #[test]
    fn an_existing_file_is_kept_unless_forced() {
        let dir = scratch("force");
        let path = dir.join("old.csv");
        std::fs::write(&path, "earlier measurements").unwrap();
        let e = write_atomic(&path, b"new", false, "measurement file").unwrap_err();
        assert_eq!(e.code, 2);
        assert!(
            e.error
                .to_string()
                .contains("old.csv: a file is there already"),
            "{}",
            e.error
        );
        assert!(check_new(&path, false, "measurement file").is_err());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "earlier measurements"
        );
        write_atomic(&path, b"new", true, "measurement file").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert!(leftovers(&dir).is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A write that fails half way (a full disk) leaves the old file as it
    /// was and no temporary file behind.
    #[test]
    fn a_failed_write_leaves_the_old_file_intact() {
        let dir = scratch("full");
        let path = dir.join("chip.toml");
        std::fs::write(&path, "name = \"old\"").unwrap();
        let e = write_atomic_with(&path, true, "chip file", |f| {
            f.write_all(b"name = \"ha")?;
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "No space left on device",
            ))
        })
        .unwrap_err();
        assert!(e.error.to_string().contains("cannot write"), "{}", e.error);
        assert!(e.error.to_string().contains("No space left"), "{}", e.error);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "name = \"old\"");
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A location that cannot hold a file (its folder is a file) is a
    /// clear error naming the path, not a panic.
    #[test]
    fn an_unwritable_location_is_a_clear_error() {
        let dir = scratch("unwritable");
        let not_a_dir = dir.join("plain-file");
        std::fs::write(&not_a_dir, "x").unwrap();
        let target = not_a_dir.join("out.csv");
        let e = write_atomic(&target, b"rows", false, "measurement file").unwrap_err();
        assert_eq!(e.code, 2);
        assert!(
            e.error.to_string().starts_with("cannot write "),
            "{}",
            e.error
        );
        assert!(e.error.to_string().contains("out.csv"), "{}", e.error);
        assert_eq!(std::fs::read_to_string(&not_a_dir).unwrap(), "x");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
