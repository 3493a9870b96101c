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
    assert_eq!(chip.launch_overhead_s, 5e-6);
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
    let chip = mlsim_hw::preset("h100-sxm5").unwrap().text.replace(
        "default_stack = \"cublas-hopper\"",
        "default_stack = \"my-library.toml\"",
    );
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
