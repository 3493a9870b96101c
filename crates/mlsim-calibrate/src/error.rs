//! Errors of reading measurements and fitting.

use std::path::PathBuf;

/// Why measurements could not be read or a fit could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalibrateError {
    /// The file could not be read.
    #[error("{}: cannot read measurements", path.display())]
    Io {
        /// The path given.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a valid measurement file.
    #[error("{file}:{line}: {}{message}{}", column.as_ref().map(|c| format!("row {row}, column `{c}`: ")).unwrap_or_default(), hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Invalid {
        /// File name as given.
        file: String,
        /// 1-based line in the file.
        line: usize,
        /// 1-based data row (the header is not a row).
        row: usize,
        /// The column, when the problem is in one cell.
        column: Option<String>,
        /// What is wrong and what was expected.
        message: String,
        /// A suggestion.
        hint: Option<String>,
    },
    /// The measurements cannot support the analysis asked for.
    #[error("{0}")]
    Unsupported(String),
}
