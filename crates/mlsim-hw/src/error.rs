//! Errors of loading chip and stack files, each naming the file, the place
//! and the field.

use std::fmt;
use std::path::PathBuf;

/// Where a problem is in a chip file, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File name as the user gave it (or `presets/NAME.toml` for an embedded
    /// preset).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Dotted field path (`memory[2].bandwidth_gb_s`); empty for syntax
    /// errors that belong to no field.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// A suggestion, where one helps.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "field `{}`: ", self.field)?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Why a chip could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HwError {
    /// The file could not be read.
    #[error("{}: cannot read the file", path.display())]
    Io {
        /// The path given.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file was read but is not a valid chip description.
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
    /// Neither an embedded preset (or stack) nor an existing file has this
    /// name.
    #[error(
        "unknown name `{name}`: nothing embedded has that name and no such file exists\n  hint: {hint}"
    )]
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// Nearest names, or the list of presets.
        hint: String,
    },
}

impl HwError {
    /// The diagnostic, when the file was read but is invalid.
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            Self::Invalid(d) => Some(d),
            _ => None,
        }
    }
}
