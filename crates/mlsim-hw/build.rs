//! Embeds every `presets/*.toml` of the repository into the crate, sorted by
//! file name, so the binary works from any directory.
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let presets = manifest.join("../../presets");
    println!("cargo:rerun-if-changed={}", presets.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&presets)
        .expect("presets/ directory next to the workspace root")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    // By preset name: `t4` before `t4-seed` (a plain path sort puts `-` before `.`).
    files.sort_by(|a, b| a.file_stem().cmp(&b.file_stem()));
    let mut out =
        String::from("/// Embedded presets: (name, file name, TOML text), sorted by name.\n");
    out.push_str("pub(crate) static EMBEDDED: &[(&str, &str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let stem = f.file_stem().unwrap().to_str().unwrap();
        let file = f.file_name().unwrap().to_str().unwrap();
        writeln!(
            out,
            "    ({stem:?}, \"presets/{file}\", include_str!({:?})),",
            f.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded_presets.rs");
    std::fs::write(dest, out).unwrap();
}
