//! Integration tests of chip loading.

mod invalid;
mod sources;
mod systems;

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

/// Where a format without a path of its own runs (`Chip::fallback_path`):
/// plain floats on the narrowest native path that holds their values
/// (value ranges from the format specifications: OCP E4M3 reaches 448,
/// CDNA 3's FNUZ E4M3 only 240), block-scaled formats on a 16-bit path
/// that holds element x scale (MX: an 8-bit exponent, bf16; NVFP4: fp16),
/// everything else on fp32.
#[test]
fn formats_without_a_path_fall_back_to_the_path_that_holds_them() {
    use mlsim_quant::Dtype::*;
    let on = |chip: &str, d: mlsim_quant::Dtype| {
        mlsim_hw::load(chip)
            .unwrap()
            .resolve_path(d)
            .map(|(via, _, native)| (via, native))
            .unwrap()
    };
    // Hopper: fp4 values fit fp8 e4m3; scaled MX and NVFP4 values do not.
    assert_eq!(on("h100-sxm5", Fp4E2m1), (Fp8E4m3, false));
    assert_eq!(on("h100-sxm5", Fp6E3m2), (Fp8E4m3, false));
    assert_eq!(on("h100-sxm5", Mxfp4), (Bf16, false));
    assert_eq!(on("h100-sxm5", Mxfp8), (Bf16, false));
    assert_eq!(on("h100-sxm5", Nvfp4), (Fp16, false));
    assert_eq!(on("h100-sxm5", Int4), (Fp32, false));
    // Ampere has no fp8: fp8 to fp16.
    assert_eq!(on("a100-sxm4-80gb", Fp8E4m3), (Fp16, false));
    assert_eq!(on("a100-sxm4-80gb", Fp8E5m2), (Fp16, false));
    // CDNA 3: OCP fp8 does not fit FNUZ; fp4 does.
    assert_eq!(on("mi300x", Fp8E4m3Fnuz), (Fp8E4m3Fnuz, true));
    assert_eq!(on("mi300x", Fp8E4m3), (Fp16, false));
    assert_eq!(on("mi325x", Fp4E2m1), (Fp8E4m3Fnuz, false));
    // A T4 has no native bf16 (emulated on fp32): MX formats run on fp32.
    assert_eq!(on("t4", Mxfp4), (Fp32, false));
    // Blackwell runs them natively.
    assert_eq!(on("b200", Nvfp4), (Nvfp4, true));
    assert_eq!(on("mi355x", Mxfp6), (Mxfp6, true));
}

/// `plain_store_reads_line` defaults to true, may be set on a CPU's caches
/// after the first, and is refused, at its key, where the model does not
/// read it: on L1, on main memory and on a chip not on `cpu-blocked`.
#[test]
fn plain_store_reads_line_is_read_on_a_cpu_s_later_caches_only() {
    let cpu = mlsim_hw::preset("dev-epyc-turin-2vcpu").unwrap().text;
    let chip = parse_chip(cpu, "x.toml").unwrap();
    assert!(chip.memory.iter().all(|l| l.plain_store_reads_line));
    let set = |level: &str| {
        cpu.replacen(
            &format!("name = \"{level}\"\n"),
            &format!("name = \"{level}\"\nplain_store_reads_line = false\n"),
            1,
        )
    };
    let chip = parse_chip(&set("L2"), "x.toml").unwrap();
    let reads: Vec<bool> = chip
        .memory
        .iter()
        .map(|l| l.plain_store_reads_line)
        .collect();
    assert_eq!(reads, [true, false, true, true]);
    for (level, field, says) in [
        ("L1", "memory[0].plain_store_reads_line", "first level"),
        ("DRAM", "memory[3].plain_store_reads_line", "main memory"),
    ] {
        let d = diag(&set(level));
        assert_eq!(d.field, field);
        assert!(d.message.contains(says), "{}", d.message);
    }
    let gpu = mlsim_hw::preset("h100-sxm5").unwrap().text;
    let d = diag(&gpu.replacen(
        "name = \"L2\"\n",
        "name = \"L2\"\nplain_store_reads_line = true\n",
        1,
    ));
    assert!(d.field.ends_with("plain_store_reads_line"), "{}", d.field);
    assert!(d.message.contains("cpu-blocked"), "{}", d.message);
}
