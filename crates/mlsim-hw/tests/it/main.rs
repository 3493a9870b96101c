//! Integration tests of chip loading.

mod invalid;

use mlsim_hw::{HwError, parse_chip};

#[test]
fn every_embedded_preset_loads_and_is_named_after_its_file() {
    let presets: Vec<_> = mlsim_hw::presets().collect();
    assert!(presets.len() >= 4);
    for p in presets {
        let chip = p.load().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chip.name, p.name, "{}", p.file);
        assert_eq!(p.file, format!("presets/{}.toml", p.name));
        assert!(!chip.sources.is_empty());
    }
}

#[test]
fn the_readme_example_is_a_valid_chip() {
    let readme = include_str!("../../../../presets/README.md");
    let start = readme.find("```toml\n").expect("an annotated example") + 8;
    let end = start + readme[start..].find("```").unwrap();
    let chip =
        parse_chip(&readme[start..end], "presets/README.md").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(chip.name, "my-npu");
    assert_eq!(chip.memory.len(), 2);
    assert_eq!(chip.model, mlsim_hw::ChipModel::Systolic);
    assert_eq!(chip.compute.systolic_edge, 128.0);
}

#[test]
fn units_are_converted_once() {
    let t4 = mlsim_hw::load("t4-seed").unwrap();
    assert_eq!(t4.frequency_hz, 1e9);
    assert_eq!(t4.compute.peak_fp32_flops, 8.1e12);
    assert_eq!(t4.memory[0].size_bytes, 65536.0);
    assert_eq!(t4.main_memory().size_bytes, 16.0 * 1024.0 * 1024.0 * 1024.0);
    // Roofline of fp16: 8.1 x 5.55 TFLOP/s over 320 GB/s.
    assert!(
        (t4.roofline(mlsim_quant::Dtype::Fp16).ridge_point() - 8.1e12 * 5.55 / 320e9).abs() < 1e-9
    );
}

fn diag(text: &str) -> mlsim_hw::Diagnostic {
    match parse_chip(text, "x.toml") {
        Err(HwError::Invalid(d)) => *d,
        other => panic!("expected a diagnostic, got {other:?}"),
    }
}

#[test]
fn empty_binary_and_huge_files_are_refused_without_panic() {
    assert!(diag("").message.contains("empty"));
    assert!(diag("\u{0}\u{1}\u{2}").line >= 1);
    let huge = "# x\n".repeat(300_000);
    assert!(diag(&huge).message.contains("more than"));
}

#[test]
fn overlap_of_one_and_duplicate_levels_are_rejected() {
    let t4 = mlsim_hw::preset("t4-seed").unwrap().text;
    let d = diag(&t4.replace("memory_overlap = 0.92", "memory_overlap = 1.0"));
    assert_eq!(d.field, "compute.memory_overlap");
    assert!(d.message.contains("[0, 1)"), "{}", d.message);
    let d = diag(&t4.replace("name = \"L2\"", "name = \"L1\""));
    assert_eq!(d.field, "memory[1].name");
    assert!(d.message.contains("listed twice"));
}

/// A chip file naming its stack by a relative path finds it next to
/// itself, from whatever folder the command runs in.
#[test]
fn a_relative_default_stack_is_found_next_to_the_chip_file() {
    let dir = std::env::temp_dir().join(format!("mlsim-hw-default-stack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let preset = mlsim_hw::preset("h100-sxm5").unwrap().text;
    let chip = preset.replace(
        "default_stack = \"cublas-hopper-h200\"",
        "default_stack = \"my-library.toml\"",
    );
    assert_ne!(chip, preset, "the preset names its default stack");
    let library = mlsim_hw::stack_presets()
        .find(|p| p.name == "cublas-hopper")
        .unwrap()
        .text
        .replace("name = \"cublas-hopper\"", "name = \"my-library\"");
    std::fs::write(dir.join("my-chip.toml"), chip).unwrap();
    std::fs::write(dir.join("my-library.toml"), library).unwrap();
    let setup = mlsim_hw::Setup::load(
        dir.join("my-chip.toml").to_str().unwrap(),
        &Default::default(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(setup.unwrap().stack.name, "my-library");
}

/// A `[memory_share]` key must name one of the chip's levels (or `main`):
/// a misspelt level is refused at its key when the stack meets a chip.
#[test]
fn a_memory_share_for_a_level_the_chip_lacks_is_refused() {
    let dir = std::env::temp_dir().join(format!("mlsim-hw-memory-share-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = mlsim_hw::stack_presets()
        .find(|p| p.name == "cublas-hopper")
        .unwrap()
        .text
        .replace("name = \"cublas-hopper\"", "name = \"typo\"")
        .replace("[kernel]", "[memory_share]\nHMB = 0.5\n\n[kernel]");
    let path = dir.join("typo.toml");
    std::fs::write(&path, &text).unwrap();
    let chip = mlsim_hw::load("h100-sxm5").unwrap();
    let result = mlsim_hw::load_stack_for(path.to_str().unwrap(), &chip);
    let fine =
        mlsim_hw::load_stack_for(path.to_str().unwrap(), &mlsim_hw::load("t4-seed").unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
    let d = match result {
        Err(HwError::Invalid(d)) => *d,
        other => panic!("expected a diagnostic, got {other:?}"),
    };
    assert_eq!(d.field, "memory_share.HMB");
    let line = text.lines().position(|l| l.starts_with("HMB")).unwrap() + 1;
    assert_eq!(d.line, line);
    assert!(d.hint.unwrap().contains("L1, L2, HBM"));
    // A chip on the original's model ignores the stack: nothing to check.
    assert!(fine.is_ok());
}

/// `kind` is read as TOML, whatever the quoting.
#[test]
fn a_stack_files_kind_is_read_as_toml() {
    assert_eq!(mlsim_hw::stack_kind("kind = 'framework'\n"), "framework");
    assert_eq!(mlsim_hw::stack_kind("kind=\"library\" # note\n"), "library");
    assert_eq!(
        mlsim_hw::stack_kind("# kind = \"framework\"\nname = \"x\"\n"),
        ""
    );
}
