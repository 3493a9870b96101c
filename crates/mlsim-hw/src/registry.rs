//! The presets, stacks and systems embedded in the binary, and loading a
//! chip, a stack, a framework or a system by name or path.

use std::path::Path;

use crate::chip::Chip;
use crate::error::HwError;
use crate::load::parse_chip;
use crate::stack::{Framework, Stack, parse_framework, parse_stack};
use crate::system::{System, parse_system};

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

/// What a stack file says it is: `library`, `framework`, or empty when it
/// says neither (or does not parse).
pub fn stack_kind(text: &str) -> &'static str {
    match crate::doc::top_level_str(text, "kind").as_deref() {
        Some("library") => "library",
        Some("framework") => "framework",
        _ => "",
    }
}

/// Whether a name given for a chip or stack is a file path rather than an
/// embedded name.
pub(crate) fn looks_like_path(name_or_path: &str) -> bool {
    name_or_path.contains(['/', '\\']) || name_or_path.ends_with(".toml")
}

/// Load a chip from a file path. A `default_stack` given as a relative
/// path is taken relative to the chip file's folder, as a user writing
/// both files side by side would expect.
pub fn load_file(path: &Path) -> Result<Chip, HwError> {
    let (text, shown) = read_text(path)?;
    let mut chip = parse_chip(&text, &shown)?;
    if let (Some(stack), Some(dir)) = (&chip.default_stack, path.parent())
        && looks_like_path(stack)
        && Path::new(stack).is_relative()
        && !dir.as_os_str().is_empty()
    {
        chip.default_stack = Some(dir.join(stack).display().to_string());
    }
    Ok(chip)
}

/// Read a description file as UTF-8 text; a file that is not text gets a
/// located diagnostic.
fn read_text(path: &Path) -> Result<(String, String), HwError> {
    let bytes = std::fs::read(path).map_err(|source| HwError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let shown = path.display().to_string();
    match String::from_utf8(bytes) {
        Ok(text) => Ok((text, shown)),
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
                message: format!(
                    "byte {offset} is not valid UTF-8; a description file is TOML text"
                ),
                hint: Some("is this a binary file?".into()),
            })))
        }
    }
}

/// The text of a chip file given by embedded preset name or path.
pub fn chip_text(name_or_path: &str) -> Result<String, HwError> {
    match preset(name_or_path) {
        Some(p) if !name_or_path.ends_with(".toml") => Ok(p.text.to_string()),
        _ => read_text(Path::new(name_or_path)).map(|(text, _)| text),
    }
}

/// Load a chip by embedded preset name, or else from a file path.
///
/// A name wins over a file of the same name in the working directory;
/// anything with a path separator or a `.toml` suffix is read as a file.
pub fn load(name_or_path: &str) -> Result<Chip, HwError> {
    let is_path = looks_like_path(name_or_path);
    if !is_path && let Some(p) = preset(name_or_path) {
        return p.load();
    }
    let path = Path::new(name_or_path);
    if is_path || path.exists() {
        return load_file(path);
    }
    Err(HwError::UnknownPreset {
        name: name_or_path.to_string(),
        hint: suggest(name_or_path, presets().map(|p| p.name), "presets"),
    })
}

/// An embedded stack file (`stacks/NAME.toml`): a kernel library or a
/// framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackPreset {
    /// Name (the file name without `.toml`).
    pub name: &'static str,
    /// Path relative to the repository root, for messages.
    pub file: &'static str,
    /// The TOML text.
    pub text: &'static str,
}

impl StackPreset {
    /// `library` or `framework`, as the file says (empty if it does not).
    pub fn kind(&self) -> &'static str {
        stack_kind(self.text)
    }
}

/// Every embedded stack file, sorted by name.
pub fn stack_presets() -> impl ExactSizeIterator<Item = StackPreset> {
    EMBEDDED_STACKS
        .iter()
        .map(|&(name, file, text)| StackPreset { name, file, text })
}

/// The embedded stack file called `name`, if any.
pub fn stack_preset(name: &str) -> Option<StackPreset> {
    stack_presets().find(|p| p.name == name)
}

/// The text of a stack or framework given by embedded name or path, and
/// the name to show in messages.
pub fn stack_text(name_or_path: &str) -> Result<(String, String), HwError> {
    let is_path = looks_like_path(name_or_path);
    if !is_path && let Some(p) = stack_preset(name_or_path) {
        return Ok((p.text.to_string(), p.file.to_string()));
    }
    let path = Path::new(name_or_path);
    if is_path || path.exists() {
        return read_text(path);
    }
    Err(HwError::UnknownPreset {
        name: name_or_path.to_string(),
        hint: suggest(name_or_path, stack_presets().map(|p| p.name), "stacks"),
    })
}

/// Load a kernel-library stack by embedded name, or else from a file path.
pub fn load_stack(name_or_path: &str) -> Result<Stack, HwError> {
    let (text, shown) = stack_text(name_or_path)?;
    parse_stack(&text, &shown)
}

/// Load a framework by embedded name, or else from a file path.
pub fn load_framework(name_or_path: &str) -> Result<Framework, HwError> {
    let (text, shown) = stack_text(name_or_path)?;
    parse_framework(&text, &shown)
}

/// An embedded system file (`systems/NAME.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemPreset {
    /// Name (the file name without `.toml`).
    pub name: &'static str,
    /// Path relative to the repository root, for messages.
    pub file: &'static str,
    /// The TOML text.
    pub text: &'static str,
}

impl SystemPreset {
    /// Parse and validate this system (its chip by preset name).
    pub fn load(&self) -> Result<System, HwError> {
        parse_system(self.text, self.file, None)
    }
}

/// Every embedded system file, sorted by name.
pub fn system_presets() -> impl ExactSizeIterator<Item = SystemPreset> {
    EMBEDDED_SYSTEMS
        .iter()
        .map(|&(name, file, text)| SystemPreset { name, file, text })
}

/// Load a system by embedded name, or else from a file path (a relative
/// chip path in it is taken from the file's folder).
pub fn load_system(name_or_path: &str) -> Result<System, HwError> {
    let is_path = looks_like_path(name_or_path);
    if !is_path && let Some(p) = system_presets().find(|p| p.name == name_or_path) {
        return p.load();
    }
    let path = Path::new(name_or_path);
    if is_path || path.exists() {
        let (text, shown) = read_text(path)?;
        return parse_system(&text, &shown, path.parent());
    }
    Err(HwError::UnknownPreset {
        name: name_or_path.to_string(),
        hint: suggest(name_or_path, system_presets().map(|p| p.name), "systems"),
    })
}

/// "did you mean" for a mistyped name among `names` (listed by `mlsim
/// {command} list`).
fn suggest<'a>(name: &str, names: impl Iterator<Item = &'a str>, command: &str) -> String {
    let names: Vec<&str> = names.collect();
    let mut scored: Vec<(usize, &str)> =
        names.iter().map(|n| (edit_distance(name, n), *n)).collect();
    scored.sort();
    match scored.first() {
        Some(&(d, best)) if d <= 3 || best.contains(name) => {
            format!("did you mean `{best}`? `mlsim {command} list` shows them all")
        }
        _ => format!(
            "`mlsim {command} list` shows them all ({}), or give a path to a .toml file",
            names.join(", ")
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
