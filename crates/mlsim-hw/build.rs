//! Embeds every `presets/*.toml`, `stacks/*.toml` and `systems/*.toml` of the repository into
//! the crate, sorted by file name, so the binary works from any directory.
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut out = String::new();
    embed(&manifest, "presets", "EMBEDDED", &mut out);
    embed(&manifest, "stacks", "EMBEDDED_STACKS", &mut out);
    embed(&manifest, "systems", "EMBEDDED_SYSTEMS", &mut out);
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded_presets.rs");
    std::fs::write(dest, out).unwrap();
}

/// Append a static `name` listing `(stem, "folder/file", text)` for every
/// TOML file of the workspace folder `folder`.
fn embed(manifest: &std::path::Path, folder: &str, name: &str, out: &mut String) {
    let dir = manifest.join("../..").join(folder);
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{folder}/ directory next to the workspace root: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    // By name: `t4` before `t4-seed` (a plain path sort puts `-` before `.`).
    files.sort_by(|a, b| a.file_stem().cmp(&b.file_stem()));
    writeln!(
        out,
        "/// Embedded {folder}: (name, file name, TOML text), sorted by name."
    )
    .unwrap();
    writeln!(out, "pub(crate) static {name}: &[(&str, &str, &str)] = &[").unwrap();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let stem = f.file_stem().unwrap().to_str().unwrap();
        let file = f.file_name().unwrap().to_str().unwrap();
        writeln!(
            out,
            "    ({stem:?}, \"{folder}/{file}\", include_str!({:?})),",
            f.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
}
