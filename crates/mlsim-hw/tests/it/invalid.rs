//! Invalid chip files: the corpus in `tests/it/invalid/` (one problem per
//! file, the file named after it) and pathological inputs generated here.
//! Each must be refused with a located diagnostic: never accepted, never a
//! panic.

use std::fmt::Write as _;
use std::panic::{UnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use mlsim_hw::{Chip, Diagnostic, HwError, load_file, parse_chip};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/invalid");

/// Files whose problem belongs to no field: syntax errors and files with no
/// content. (`empty-sources` is not one of them: its field is `sources`.)
fn may_have_no_field(stem: &str) -> bool {
    stem.starts_with("syntax-error")
        || stem.starts_with("binary")
        || stem == "empty"
        || stem == "only-comments"
}

/// Every `*.toml` of the corpus as (file name, path), sorted by name.
fn corpus() -> Vec<(String, PathBuf)> {
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(CORPUS)
        .unwrap_or_else(|e| panic!("{CORPUS}: {e}"))
        .map(|entry| entry.unwrap_or_else(|e| panic!("{CORPUS}: {e}")).path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .map(|path| {
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            (name, path)
        })
        .collect();
    files.sort();
    files
}

/// Runs `load` under `catch_unwind` and returns its diagnostic; fails the
/// test, naming `what`, on a panic, an accepted chip or another error.
fn refused(what: &str, load: impl FnOnce() -> Result<Chip, HwError> + UnwindSafe) -> Diagnostic {
    let d = match catch_unwind(load) {
        Err(_) => panic!("{what}: the loader panicked instead of returning an error"),
        Ok(Ok(chip)) => panic!(
            "{what}: accepted as chip `{}`, expected an error",
            chip.name
        ),
        Ok(Err(HwError::Invalid(d))) => *d,
        Ok(Err(other)) => panic!("{what}: expected an invalid-file diagnostic, got: {other}"),
    };
    assert!(
        !d.message.trim().is_empty(),
        "{what}: empty message in `{d}`"
    );
    assert!(
        d.line >= 1 && d.column >= 1,
        "{what}: position {}:{} is not 1-based",
        d.line,
        d.column
    );
    d
}

#[test]
fn every_invalid_chip_file_is_refused_with_a_located_diagnostic() {
    let files = corpus();
    assert!(
        files.len() >= 32,
        "only {} chip files in {CORPUS}",
        files.len()
    );
    let mut report = String::new();
    for (name, path) in &files {
        let stem = name.strip_suffix(".toml").unwrap_or(name.as_str());
        let d = refused(name, || load_file(path));
        assert!(
            d.file.ends_with(name.as_str()),
            "{name}: the diagnostic names the file {:?}",
            d.file
        );
        if !may_have_no_field(stem) {
            assert!(!d.field.is_empty(), "{name}: no field in `{d}`");
        }
        // Like `Diagnostic`'s Display, without the directory (so the
        // snapshot does not depend on where the repository is checked out).
        write!(report, "{name}: {}:{}: ", d.line, d.column).unwrap();
        if !d.field.is_empty() {
            write!(report, "field `{}`: ", d.field).unwrap();
        }
        writeln!(report, "{}", d.message).unwrap();
        if let Some(hint) = &d.hint {
            writeln!(report, "  hint: {hint}").unwrap();
        }
    }
    insta::assert_snapshot!(report);
}

/// Deterministic pseudo-random bytes (xorshift64), not valid UTF-8.
fn binary_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as u8
        })
        .collect();
    // 0xFF never occurs in UTF-8: the bytes are invalid whatever the rest is.
    bytes[len / 2] = 0xFF;
    bytes
}

#[test]
fn pathological_inputs_are_refused_without_panic() {
    // Random binary bytes, through a file since `parse_chip` takes text.
    let bytes = binary_bytes(64 * 1024);
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("invalid-binary-{}.toml", std::process::id()));
    std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let d = refused("binary.toml", || load_file(&path));
    let _ = std::fs::remove_file(&path);
    assert!(d.message.contains("UTF-8"), "binary.toml: {d}");
    // The same bytes made text (replacement characters, control characters).
    let lossy = String::from_utf8_lossy(&bytes).into_owned();
    refused("binary-lossy.toml", || {
        parse_chip(&lossy, "binary-lossy.toml")
    });

    // 10 MB of a valid-looking comment line.
    let line = "# frequency_ghz = 3.5   a comment line that looks like part of a chip file\n";
    let huge = line.repeat(10 * 1024 * 1024 / line.len() + 1);
    assert!(huge.len() >= 10 * 1024 * 1024);
    refused("huge.toml", || parse_chip(&huge, "huge.toml"));

    // 100 000 nested inline arrays, then 100 000 nested inline tables (each
    // under the size limit, so they reach the TOML parser).
    let depth = 100_000;
    let arrays = format!("x = {}{}\n", "[".repeat(depth), "]".repeat(depth));
    assert!(arrays.len() < mlsim_hw::MAX_FILE_BYTES);
    refused("nested-arrays.toml", || {
        parse_chip(&arrays, "nested-arrays.toml")
    });
    let tables = format!("x = {}1{}\n", "{a=".repeat(depth), "}".repeat(depth));
    assert!(tables.len() < mlsim_hw::MAX_FILE_BYTES);
    refused("nested-tables.toml", || {
        parse_chip(&tables, "nested-tables.toml")
    });
}

const STACK_CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/invalid-stacks");

/// Invalid stack files (`tests/it/invalid-stacks/`, one problem per file):
/// each refused with a located diagnostic, never accepted, never a panic.
/// Files named `fw-*` are read as frameworks, the others as kernel-library
/// stacks.
#[test]
fn every_invalid_stack_file_is_refused_with_a_located_diagnostic() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(STACK_CORPUS)
        .unwrap_or_else(|e| panic!("{STACK_CORPUS}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} stack files", files.len());
    let mut report = String::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let result = catch_unwind(|| {
            if name.starts_with("fw-") {
                mlsim_hw::parse_framework(&text, &name).map(|_| ())
            } else {
                mlsim_hw::parse_stack(&text, &name).map(|_| ())
            }
        });
        let d = match result {
            Err(_) => panic!("{name}: the reader panicked"),
            Ok(Ok(())) => panic!("{name}: accepted, expected an error"),
            Ok(Err(HwError::Invalid(d))) => *d,
            Ok(Err(other)) => panic!("{name}: expected a diagnostic, got {other}"),
        };
        assert!(d.line >= 1 && d.column >= 1, "{name}: {d}");
        let stem = name.trim_end_matches(".toml");
        if !matches!(stem, "empty" | "syntax-error") {
            assert!(!d.field.is_empty(), "{name}: no field in `{d}`");
        }
        write!(report, "{name}: {}:{}: ", d.line, d.column).unwrap();
        if !d.field.is_empty() {
            write!(report, "field `{}`: ", d.field).unwrap();
        }
        writeln!(report, "{}", d.message).unwrap();
        if let Some(hint) = &d.hint {
            writeln!(report, "  hint: {hint}").unwrap();
        }
    }
    insta::assert_snapshot!(report);
}

/// Every embedded stack and framework loads with the reader its `kind`
/// names, and is named after its file.
#[test]
fn every_embedded_stack_loads_and_is_named_after_its_file() {
    let mut libraries = 0;
    for p in mlsim_hw::stack_presets() {
        let name = match p.kind() {
            "framework" => mlsim_hw::parse_framework(p.text, p.file).map(|f| f.name),
            "library" => {
                libraries += 1;
                mlsim_hw::parse_stack(p.text, p.file).map(|s| s.name)
            }
            other => panic!("{}: kind `{other}`", p.file),
        }
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(name, p.name, "{}", p.file);
        assert_eq!(p.file, format!("stacks/{}.toml", p.name));
    }
    assert!(libraries >= 6);
    // Every GPU preset's default stack is embedded.
    for preset in mlsim_hw::presets() {
        let chip = preset.load().unwrap();
        if let Some(s) = &chip.default_stack {
            assert!(mlsim_hw::stack_preset(s).is_some(), "{}: {s}", chip.name);
        }
    }
}
