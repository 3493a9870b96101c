//! Reading a TOML description file (a chip or a software stack) into its
//! wire struct and validating it, with every error located by line, column
//! and field path. The checks on single numbers live here too, so that chip
//! and stack files say the same thing about the same mistake.

use mlsim_quant::Dtype;
use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

use crate::error::{Diagnostic, HwError};

/// Description files larger than this are refused before parsing (a real
/// one is a few KiB).
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// What kind of description a file holds, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileKind {
    /// `chip` or `stack`.
    pub(crate) noun: &'static str,
    /// A command that shows a complete file of this kind.
    pub(crate) example: &'static str,
    /// Where the schema is documented.
    pub(crate) schema_doc: &'static str,
}

/// Check a top-level string field before the wire struct is read: when
/// `key` is present, is a string and is not `expected`, the located
/// diagnostic `make` returns (message, hint). A file of the wrong kind then
/// gets its real problem named, not the first field its schema lacks.
/// The string at top-level `key`, read with the real TOML parser (so
/// `kind = 'framework'` and `kind="framework" # note` read alike); `None`
/// when the text does not parse or has no such string.
pub(crate) fn top_level_str(text: &str, key: &str) -> Option<String> {
    let doc = DeTable::parse(text).ok()?;
    let v = doc.get_ref().get(key)?;
    v.get_ref().as_str().map(str::to_string)
}

pub(crate) fn check_top_level(
    text: &str,
    file: &str,
    key: &str,
    expected: &str,
    make: impl FnOnce(&str) -> (String, String),
) -> Result<(), HwError> {
    let Ok(doc) = DeTable::parse(text) else {
        return Ok(()); // the full parse reports syntax errors
    };
    let Some(v) = doc.get_ref().get(key) else {
        return Ok(());
    };
    let Some(found) = v.get_ref().as_str() else {
        return Ok(());
    };
    if found == expected {
        return Ok(());
    }
    let (message, hint) = make(found);
    let (line, column) = line_col(text, v.span().start);
    Err(HwError::Invalid(Box::new(Diagnostic {
        file: file.to_string(),
        line,
        column,
        field: key.to_string(),
        message,
        hint: Some(hint),
    })))
}

/// Parse `text` (named `file` in messages) into the wire struct `R` and
/// validate it with `validate`; every failure becomes a located
/// [`Diagnostic`].
pub(crate) fn parse_validated<R: DeserializeOwned, T>(
    text: &str,
    file: &str,
    kind: FileKind,
    validate: impl FnOnce(R) -> Result<T, Problem>,
) -> Result<T, HwError> {
    let diag = |offset: usize, field: String, message: String, hint: Option<String>| {
        let (line, column) = line_col(text, offset);
        HwError::Invalid(Box::new(Diagnostic {
            file: file.to_string(),
            line,
            column,
            field,
            message,
            hint,
        }))
    };
    if text.len() > MAX_FILE_BYTES {
        return Err(diag(
            0,
            String::new(),
            format!(
                "file is {} bytes, more than the {} a {} file may have",
                text.len(),
                MAX_FILE_BYTES,
                kind.noun
            ),
            Some(format!("is this really a {} description?", kind.noun)),
        ));
    }
    if text.trim().is_empty() {
        return Err(diag(
            0,
            String::new(),
            format!("file is empty, expected a {} description", kind.noun),
            Some(format!("start from `{}`", kind.example)),
        ));
    }
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            return Err(diag(offset, String::new(), first_line(e.message()), None));
        }
    };
    let deserializer = toml::Deserializer::from(doc.clone());
    let raw: R = match serde_path_to_error::deserialize(deserializer) {
        Ok(raw) => raw,
        Err(e) => {
            let mut path = path_from_serde(e.path());
            let inner = e.inner();
            let message = first_line(inner.message());
            let mut hint = None;
            if let Some(missing) = backticked_after(&message, "missing field") {
                path = path.key(&missing);
                hint = Some(format!(
                    "add the field; `{}` shows a complete file",
                    kind.example
                ));
            } else if message.starts_with("unknown field") {
                hint = Some(format!("check the spelling against {}", kind.schema_doc));
            }
            let offset = inner
                .span()
                .map_or_else(|| locate(doc.get_ref(), &path), |s| s.start);
            return Err(diag(offset, path.render(), message, hint));
        }
    };
    validate(raw).map_err(|p| {
        let offset = locate(doc.get_ref(), &p.path);
        diag(offset, p.path.render(), p.message, p.hint)
    })
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A dotted path into the document, e.g. `memory[2].bandwidth_gb_s`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(Vec<Seg>);

impl FieldPath {
    pub(crate) fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }
    pub(crate) fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        for seg in &self.0 {
            match seg {
                Seg::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }
}

/// A validation failure before it is located in the file.
pub(crate) struct Problem {
    pub(crate) path: FieldPath,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

pub(crate) fn problem(path: FieldPath, message: impl Into<String>) -> Problem {
    Problem {
        path,
        message: message.into(),
        hint: None,
    }
}

/// Turns a byte offset into a 1-based (line, column).
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// An error at the field `path` of `text` (shown as `file`), located by
/// the TOML parser; line 1 when the text does not parse.
pub(crate) fn located(
    text: &str,
    file: &str,
    path: &FieldPath,
    message: String,
    hint: Option<String>,
) -> HwError {
    let offset = DeTable::parse(text).map_or(0, |doc| locate(doc.get_ref(), path));
    let (line, column) = line_col(text, offset);
    HwError::Invalid(Box::new(Diagnostic {
        file: file.to_string(),
        line,
        column,
        field: path.render(),
        message,
        hint,
    }))
}

/// Finds the byte offset of the deepest existing node on `path`.
pub(crate) fn locate(doc: &DeTable<'_>, path: &FieldPath) -> usize {
    let mut best = 0;
    let mut current: Option<&toml::Spanned<DeValue<'_>>> = None;
    for (depth, seg) in path.0.iter().enumerate() {
        let next = match (depth, seg) {
            (0, Seg::Key(k)) => doc.get(k.as_str()),
            (_, Seg::Key(k)) => current.and_then(|v| v.get_ref().get(k.as_str())),
            (_, Seg::Index(i)) => current.and_then(|v| v.get_ref().get(*i)),
        };
        match next {
            Some(v) => {
                best = v.span().start;
                current = Some(v);
            }
            None => break,
        }
    }
    best
}

pub(crate) fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_string()
}

/// The name in backticks after `prefix`, e.g. `missing field `x``.
pub(crate) fn backticked_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?.trim_start();
    let rest = rest.strip_prefix('`')?;
    Some(rest[..rest.find('`')?].to_string())
}

pub(crate) fn path_from_serde(path: &serde_path_to_error::Path) -> FieldPath {
    use serde_path_to_error::Segment;
    let mut p = FieldPath::default();
    for seg in path.iter() {
        match seg {
            Segment::Map { key } => p = p.key(key),
            Segment::Seq { index } => p = p.index(*index),
            Segment::Enum { variant } => p = p.key(variant),
            Segment::Unknown => {}
        }
    }
    p
}

/// Checks for one number.
pub(crate) fn finite(path: &FieldPath, field: &str, v: f64) -> Result<f64, Problem> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(problem(
            path.key(field),
            format!("expected a finite number, got {v}"),
        ))
    }
}

pub(crate) fn positive(path: &FieldPath, field: &str, v: f64) -> Result<f64, Problem> {
    if finite(path, field, v)? > 0.0 {
        Ok(v)
    } else {
        Err(problem(
            path.key(field),
            format!("expected a number above 0, got {v}"),
        ))
    }
}

/// Physical sense: `v` within `[lo, hi]` for a quantity no real chip can
/// have outside (so a typo such as `frequency_ghz = 1500` is caught and
/// overflow-sized values never reach the model).
pub(crate) fn plausible(
    path: &FieldPath,
    field: &str,
    v: f64,
    lo: f64,
    hi: f64,
    what: &str,
) -> Result<f64, Problem> {
    if v < lo || v > hi {
        return Err(Problem {
            path: path.key(field),
            message: format!(
                "{} is outside the plausible range ({lo} to {hi} {what})",
                readable(v)
            ),
            hint: Some("check the unit in the field name".into()),
        });
    }
    Ok(v)
}

/// A number for a message: plain when moderate, scientific when huge or tiny.
pub(crate) fn readable(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e7).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

pub(crate) fn non_negative(path: &FieldPath, field: &str, v: f64) -> Result<f64, Problem> {
    if finite(path, field, v)? >= 0.0 {
        Ok(v)
    } else {
        Err(problem(
            path.key(field),
            format!("expected a number of at least 0, got {v}"),
        ))
    }
}

/// `v` in [lo, hi] or [lo, hi) depending on `hi_open`, or (lo, hi] with `lo_open`.
pub(crate) fn in_range(
    path: &FieldPath,
    field: &str,
    v: f64,
    (lo, lo_open): (f64, bool),
    (hi, hi_open): (f64, bool),
) -> Result<f64, Problem> {
    finite(path, field, v)?;
    let lo_ok = if lo_open { v > lo } else { v >= lo };
    let hi_ok = if hi_open { v < hi } else { v <= hi };
    if lo_ok && hi_ok {
        Ok(v)
    } else {
        let l = if lo_open { '(' } else { '[' };
        let h = if hi_open { ')' } else { ']' };
        Err(problem(
            path.key(field),
            format!("expected a number in {l}{lo}, {hi}{h}, got {v}"),
        ))
    }
}

/// A share of something, in (0, 1] (a path's efficiency, a bandwidth share).
pub(crate) fn share(path: &FieldPath, field: &str, v: f64) -> Result<f64, Problem> {
    in_range(path, field, v, (0.0, true), (1.0, false))
}

/// Bytes per output element of a GEMM path: positive, at most 64.
pub(crate) fn output_bytes(path: &FieldPath, v: f64) -> Result<f64, Problem> {
    plausible(
        path,
        "output_bytes",
        positive(path, "output_bytes", v)?,
        0.0,
        64.0,
        "bytes",
    )
}

pub(crate) fn at_least_one(path: &FieldPath, field: &str, v: u32) -> Result<u32, Problem> {
    if v >= 1 {
        Ok(v)
    } else {
        Err(problem(
            path.key(field),
            "expected an integer of at least 1, got 0",
        ))
    }
}

pub(crate) fn parse_dtype(path: &FieldPath, key: &str) -> Result<Dtype, Problem> {
    key.parse::<Dtype>().map_err(|e| Problem {
        path: path.key(key),
        message: e.to_string(),
        hint: Some("dtype keys are names such as fp16, bf16, int8".into()),
    })
}

/// A located problem at `path` with a hint.
pub(crate) fn problem_with_hint(
    path: FieldPath,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> Problem {
    Problem {
        path,
        message: message.into(),
        hint: Some(hint.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("a\nbé c", 6), (2, 4));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
