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
    fill: impl FnOnce(&mut Streamed) -> std::io::Result<()>,
) -> Result<(), Failure> {
    mlsim_plot::files::write_via(path, force, |tmp| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(tmp)?;
        let mut streamed = Streamed {
            file,
            unsynced: 0,
            syncing: None,
        };
        fill(&mut streamed)?;
        streamed.finish()
    })
    .map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists && !force {
            exists(path, what)
        } else {
            failure(format!("cannot write {}: {e}", path.display()))
        }
    })
}

/// Bytes written between two early flushes of a streamed file.
const EARLY_FLUSH_BYTES: u64 = 8 << 20;

/// A file written as a stream, whose pages go to disk while the rest is
/// still being computed: every [`EARLY_FLUSH_BYTES`], a thread flushes
/// what is written so far (`sync_data` of a second handle to the file), so
/// that the flush before the atomic rename waits for the tail alone (a
/// million-point sweep: ~20 ms of a ~0.2 s run). An early flush's error is
/// the write's error.
pub struct Streamed {
    file: std::fs::File,
    unsynced: u64,
    syncing: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Streamed {
    /// Wait for the early flush in flight, if any: its result.
    fn join(&mut self) -> std::io::Result<()> {
        match self.syncing.take() {
            Some(flush) => flush
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a flush to disk panicked"))),
            None => Ok(()),
        }
    }

    /// The last early flush's result (the caller flushes the rest).
    fn finish(mut self) -> std::io::Result<()> {
        self.join()
    }
}

impl Write for Streamed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.unsynced += n as u64;
        // One flush at a time: a slow disk is not handed more.
        if self.unsynced >= EARLY_FLUSH_BYTES
            && self.syncing.as_ref().is_none_or(|f| f.is_finished())
        {
            self.join()?;
            let handle = self.file.try_clone()?;
            self.syncing = Some(std::thread::spawn(move || handle.sync_data()));
            self.unsynced = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
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

    /// A stream longer than several early flushes arrives whole; one that
    /// fails after them leaves the old file as it was.
    #[test]
    fn a_streamed_file_is_whole_across_early_flushes() {
        let dir = scratch("streamed");
        let path = dir.join("sweep.csv");
        let chunk: Vec<u8> = (0..65_536u32).map(|i| (i % 251) as u8).collect();
        let chunks = 3 * (EARLY_FLUSH_BYTES as usize) / chunk.len() + 7;
        write_atomic_with(&path, false, "results file", |f| {
            for _ in 0..chunks {
                f.write_all(&chunk)?;
            }
            Ok(())
        })
        .unwrap();
        let written = std::fs::read(&path).unwrap();
        assert_eq!(written.len(), chunks * chunk.len());
        assert!(written.chunks(chunk.len()).all(|c| c == chunk.as_slice()));

        let e = write_atomic_with(&path, true, "results file", |f| {
            for _ in 0..chunks {
                f.write_all(b"other rows")?;
                f.write_all(&chunk)?;
            }
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "No space left on device",
            ))
        })
        .unwrap_err();
        assert!(e.error.to_string().contains("No space left"), "{}", e.error);
        assert_eq!(std::fs::read(&path).unwrap(), written);
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
