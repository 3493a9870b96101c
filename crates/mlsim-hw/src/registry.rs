//! The presets embedded in the binary, and loading a chip by name or path.

use std::path::Path;

use crate::chip::Chip;
use crate::error::HwError;
use crate::load::parse_chip;

include!(concat!(env!("OUT_DIR"), "/embedded_presets.rs"));

/// An embedded preset: its name and the text of `presets/NAME.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// Name (the file name without `.toml`).
    pub name: &'static str,
    /// Path relative to the repository root, for messages.
    pub file: &'static str,
    /// The TOML text.
    pub text: &'static str,
}

impl Preset {
    /// Parse and validate this preset.
    pub fn load(&self) -> Result<Chip, HwError> {
        parse_chip(self.text, self.file)
    }
}

/// Every embedded preset, sorted by name.
pub fn presets() -> impl ExactSizeIterator<Item = Preset> {
    EMBEDDED
        .iter()
        .map(|&(name, file, text)| Preset { name, file, text })
}

/// The embedded preset called `name`, if any.
pub fn preset(name: &str) -> Option<Preset> {
    presets().find(|p| p.name == name)
}

/// Load a chip from a file path.
pub fn load_file(path: &Path) -> Result<Chip, HwError> {
    let bytes = std::fs::read(path).map_err(|source| HwError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let shown = path.display().to_string();
    match String::from_utf8(bytes) {
        Ok(text) => parse_chip(&text, &shown),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(&e.into_bytes()[..offset]).into_owned();
            let line = text.matches('\n').count() + 1;
            let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            Err(HwError::Invalid(Box::new(crate::Diagnostic {
                file: shown,
                line,
                column,
                field: String::new(),
                message: format!("byte {offset} is not valid UTF-8; a chip file is TOML text"),
                hint: Some("is this a binary file?".into()),
            })))
        }
    }
}

/// Load a chip by embedded preset name, or else from a file path.
///
/// A name wins over a file of the same name in the working directory;
/// anything with a path separator or a `.toml` suffix is read as a file.
pub fn load(name_or_path: &str) -> Result<Chip, HwError> {
    let looks_like_path = name_or_path.contains(['/', '\\']) || name_or_path.ends_with(".toml");
    if !looks_like_path {
        if let Some(p) = preset(name_or_path) {
            return p.load();
        }
    }
    let path = Path::new(name_or_path);
    if looks_like_path || path.exists() {
        return load_file(path);
    }
    Err(HwError::UnknownPreset {
        name: name_or_path.to_string(),
        hint: suggest(name_or_path),
    })
}

/// "did you mean" for a mistyped preset name.
fn suggest(name: &str) -> String {
    let mut scored: Vec<(usize, &str)> = presets()
        .map(|p| (edit_distance(name, p.name), p.name))
        .collect();
    scored.sort();
    match scored.first() {
        Some(&(d, best)) if d <= 3 || best.contains(name) => {
            format!("did you mean `{best}`? `mlsim presets list` shows every preset")
        }
        _ => format!(
            "`mlsim presets list` shows every preset ({}), or give a path to a .toml file",
            presets().map(|p| p.name).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
