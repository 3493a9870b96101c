//! Files written whole or not at all: the content goes to a temporary file
//! beside the target (same folder, same extension, so the PNG encoder
//! still knows its format), is flushed to disk, then renamed over the
//! target. An interrupted or failed write leaves the target as it was.
//! Used for charts here and for the CLI's measurement, chip and stack
//! files.

use std::io;
use std::path::Path;

/// Write `target` through `fill`, which writes the content to the path it
/// is given. With `replace` false an existing `target` is kept and the
/// error is `AlreadyExists`, decided atomically at the rename.
pub fn write_via(
    target: &Path,
    replace: bool,
    fill: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?
        .to_string_lossy();
    let ext = target
        .extension()
        .map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
    let (prefix, suffix) = (format!(".{name}."), format!(".tmp{ext}"));
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(&suffix);
    // The mode a plain file gets (0o666 less the umask), not a temporary
    // file's owner-only 0o600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    // Dropped (and deleted) on any error below.
    let tmp = builder.tempfile_in(dir)?;
    fill(tmp.path())?;
    tmp.as_file().sync_all()?;
    let persisted = if replace {
        tmp.persist(target)
    } else {
        tmp.persist_noclobber(target)
    };
    persisted.map(drop).map_err(|e| e.error)
}
