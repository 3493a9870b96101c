//! Outputs of successful commands: snapshots and checks against the
//! original program's numbers.

use crate::{TempDir, mlsim, stderr, stdout};

#[test]
fn run_llm_table() {
    let o = mlsim(&["run", "llm"]);
    assert!(o.status.success());
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn run_all_prints_three_suites_on_three_chips() {
    let o = mlsim(&["run", "all"]);
    assert!(o.status.success());
    let text = stdout(&o);
    for suite in ["llm", "vision", "scaling"] {
        assert_eq!(
            text.matches(&format!("== Suite: {suite} ==")).count(),
            1,
            "{suite}"
        );
    }
    for chip in ["[xeon-sapphire-rapids]", "[tpu-v5e]", "[apple-m2]"] {
        assert_eq!(text.matches(chip).count(), 3, "{chip}");
    }
}

/// `mlsim run all --original` is the original program's run: every one of
/// its llm, vision and scaling rows on its three chips, to the digits it
/// printed (tests/fixtures of mlsim-engine: its own output).
#[test]
fn run_all_original_reproduces_the_original() {
    let o = mlsim(&["run", "all", "--original", "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = stdout(&o);
    let mut lines = ours.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (suite, workload, hw, dtype, runtime) = (
        col("suite"),
        col("workload"),
        col("hardware"),
        col("dtype"),
        col("runtime_ms"),
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let seed = include_str!("../../../mlsim-engine/tests/fixtures/seed-predictions.csv");
    let mut matched = 0;
    for line in seed.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if !["llm", "vision", "scaling"].contains(&f[1]) || f[0] == "t4-seed" {
            continue;
        }
        let row = rows
            .iter()
            .find(|r| r[suite] == f[1] && r[workload] == f[2] && r[hw] == f[0] && r[dtype] == f[3])
            .unwrap_or_else(|| panic!("no row for {line}"));
        let (a, b): (f64, f64) = (row[runtime].parse().unwrap(), f[7].parse().unwrap());
        // The original printed 9 significant digits.
        assert!((a - b).abs() <= 1e-8 * b.abs(), "{line}: {a} vs {b}");
        matched += 1;
    }
    assert_eq!(
        matched,
        rows.len(),
        "every row of the run is one of the original's"
    );
    assert!(matched >= 48, "only {matched} rows");
}

#[test]
fn run_original_and_hw_conflict() {
    let o = mlsim(&["run", "llm", "--original", "--hw", "t4"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn sim_matmul_table() {
    let o = mlsim(&[
        "sim", "matmul", "--hw", "t4-seed", "--m", "1024", "--n", "1024", "--k", "1024", "--dtype",
        "fp16",
    ]);
    assert!(o.status.success());
    insta::assert_snapshot!(stdout(&o));
}

/// `mlsim sim ... --format json` against the original's row for
/// t4-seed / MatMul 1024^3 / fp16 in seed-predictions.csv.
#[test]
fn sim_matmul_json_matches_the_original() {
    let o = mlsim(&[
        "sim", "matmul", "--hw", "t4-seed", "--m", "1024", "--n", "1024", "--k", "1024", "--dtype",
        "fp16", "--format", "json",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let fixture = include_str!("../../../mlsim-engine/tests/fixtures/seed-predictions.csv");
    let row = fixture
        .lines()
        .find(|l| l.starts_with("t4-seed,square-matmul,MatMul 1024x1024x1024,fp16,"))
        .unwrap();
    let cols: Vec<&str> = row.split(',').collect();
    let num = |i: usize| cols[i].parse::<f64>().unwrap();
    let rel = |key: &str, expected: f64, tol: f64| {
        let got = v[key].as_f64().unwrap_or_else(|| panic!("{key} missing"));
        assert!(
            (got - expected).abs() <= tol * expected.abs().max(1e-300),
            "{key}: {got} vs {expected}"
        );
    };
    assert_eq!(v["workload"], "MatMul 1024x1024x1024");
    assert_eq!(v["hardware"], "t4-seed");
    assert_eq!(v["dtype"], "fp16");
    rel("flops", num(4), 0.0);
    rel("bytes", num(5), 0.0);
    rel("arithmetic_intensity", num(6), 1e-6);
    rel("runtime_ms", num(7), 1e-8);
    rel("compute_cycles", num(8), 1e-8);
    rel("compute_utilization", num(10), 1e-6);
    rel("achieved_tflops", num(11), 1e-6);
    rel("hit_rate", num(13), 1e-6);
    assert_eq!(v["bottleneck"], cols[12]);
    assert_eq!(v["memory_stall_cycles"], 0.0);
}

#[test]
fn crossover_table() {
    let o = mlsim(&["crossover", "--hw", "t4-seed"]);
    assert!(o.status.success());
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn presets_list_table() {
    let o = mlsim(&["presets", "list"]);
    assert!(o.status.success());
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn presets_list_json_has_names_kinds_and_peaks() {
    let o = mlsim(&["presets", "list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let list = v.as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|e| e["name"].as_str().unwrap()).collect();
    for want in [
        "cpu-avx512-desktop",
        "npu-systolic",
        "mobile-neon",
        "t4-seed",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let t4 = list.iter().find(|e| e["name"] == "t4-seed").unwrap();
    assert_eq!(t4["kind"], "gpu");
    // 8.1 TFLOPS fp32 x the original's fp16 multiplier 5.55.
    assert!((t4["peak_tflops"]["fp16"].as_f64().unwrap() - 8.1 * 5.55).abs() < 1e-9);
    assert_eq!(t4["memory_bandwidth_gb_s"], 320.0);
}

#[test]
fn csv_and_json_agree_for_run() {
    let csv_out = stdout(&mlsim(&[
        "run", "scaling", "--hw", "t4-seed", "--format", "csv",
    ]));
    let json_out = stdout(&mlsim(&[
        "run", "scaling", "--hw", "t4-seed", "--format", "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json_out).unwrap();
    let results = v["suites"][0]["results"].as_array().unwrap();
    let lines: Vec<&str> = csv_out.lines().collect();
    assert_eq!(lines.len(), results.len() + 1);
    let header: Vec<&str> = lines[0].split(',').collect();
    let rt = header.iter().position(|h| *h == "runtime_ms").unwrap();
    for (line, r) in lines[1..].iter().zip(results) {
        let got: f64 = line.split(',').nth(rt).unwrap().parse().unwrap();
        assert_eq!(got, r["runtime_ms"].as_f64().unwrap());
    }
}

#[test]
fn presets_show_prints_the_file() {
    let o = mlsim(&["presets", "show", "t4-seed"]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        std::fs::read_to_string(crate::workspace_root().join("presets/t4-seed.toml")).unwrap()
    );
}

#[test]
fn presets_check_accepts_every_preset_file() {
    let mut args = vec!["presets".to_string(), "check".to_string()];
    for p in mlsim_hw_presets() {
        args.push(format!("presets/{p}.toml"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = mlsim(&refs);
    assert!(o.status.success(), "{}", crate::stderr(&o));
}

fn mlsim_hw_presets() -> Vec<String> {
    std::fs::read_dir(crate::workspace_root().join("presets"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "toml").then(|| p.file_stem().unwrap().to_str().unwrap().to_string())
        })
        .collect()
}

/// presets/chip.schema.json is what `mlsim presets schema` prints: a stale
/// committed schema fails here (regenerate with
/// `mlsim presets schema > presets/chip.schema.json`).
#[test]
fn committed_json_schema_is_current() {
    let o = mlsim(&["presets", "schema"]);
    assert!(o.status.success());
    let committed =
        std::fs::read_to_string(crate::workspace_root().join("presets/chip.schema.json")).unwrap();
    assert!(
        stdout(&o) == committed,
        "presets/chip.schema.json is stale: regenerate it with `mlsim presets schema`"
    );
    let v: serde_json::Value = serde_json::from_str(&committed).unwrap();
    // Field docs travel into the schema for editors.
    assert!(
        v["properties"]["frequency_ghz"]["description"]
            .as_str()
            .unwrap()
            .contains("GHz")
    );
}

#[test]
fn presets_new_gives_a_template_that_checks() {
    let o = mlsim(&["presets", "new", "--from", "h200"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.starts_with("# New chip file, started from `h200`"));
    assert!(text.contains("name = \"my-chip\""));
    let chip = mlsim_hw::parse_chip(&text, "template.toml").unwrap();
    assert_eq!(chip.name, "my-chip");
    assert!(chip.calibration.is_none());
}

/// Every property name of the JSON Schema `schema` (a path from the
/// workspace root) appears in backticks in the markdown file `doc`.
fn documents_every_schema_field(schema: &str, doc: &str, at_least: usize) {
    fn names(v: &serde_json::Value, out: &mut Vec<String>) {
        if let Some(props) = v.get("properties").and_then(|p| p.as_object()) {
            for (k, sub) in props {
                out.push(k.clone());
                names(sub, out);
            }
        }
        if let Some(defs) = v.get("$defs").and_then(|d| d.as_object()) {
            for sub in defs.values() {
                names(sub, out);
            }
        }
    }
    let root = crate::workspace_root();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(schema)).unwrap()).unwrap();
    let readme = std::fs::read_to_string(root.join(doc)).unwrap();
    let mut fields = Vec::new();
    names(&schema, &mut fields);
    assert!(fields.len() > at_least);
    let missing: Vec<&String> = fields
        .iter()
        .filter(|f| !readme.contains(&format!("`{f}`")))
        .collect();
    assert!(missing.is_empty(), "{doc} does not document: {missing:?}");
}

/// presets/README.md documents every field of the chip format.
#[test]
fn readme_documents_every_schema_field() {
    documents_every_schema_field("presets/chip.schema.json", "presets/README.md", 30);
}

/// stacks/README.md documents every field of both stack formats.
#[test]
fn stacks_readme_documents_every_schema_field() {
    documents_every_schema_field("stacks/stack.schema.json", "stacks/README.md", 25);
}

/// stacks/stack.schema.json is what `mlsim stacks schema` prints.
#[test]
fn committed_stack_schema_is_current() {
    let o = mlsim(&["stacks", "schema"]);
    assert!(o.status.success());
    let committed =
        std::fs::read_to_string(crate::workspace_root().join("stacks/stack.schema.json")).unwrap();
    assert!(
        stdout(&o) == committed,
        "stacks/stack.schema.json is stale: regenerate it with `mlsim stacks schema`"
    );
}

#[test]
fn model_step_table_and_json() {
    let o = mlsim(&[
        "model",
        "--hw",
        "h100-sxm5",
        "--model",
        "llama-3-8b",
        "--phase",
        "decode",
        "--batch",
        "1",
        "--seq",
        "2048",
        "--scheme",
        "w4a16",
    ]);
    assert!(o.status.success(), "{}", crate::stderr(&o));
    insta::assert_snapshot!(stdout(&o));
    let o = mlsim(&[
        "model", "--hw", "t4", "--model", "gpt2", "--phase", "prefill", "--seq", "128", "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ops"].as_array().unwrap().len(), 10);
    let total: f64 = v["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["time_ms"].as_f64().unwrap())
        .sum();
    assert!((total - v["step_ms"].as_f64().unwrap()).abs() < 1e-9 * total);
    let bad = mlsim(&[
        "model",
        "--hw",
        "t4",
        "--model",
        "llama-99b",
        "--phase",
        "decode",
        "--seq",
        "8",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        crate::stderr(&bad).contains("not a shipped model"),
        "{}",
        crate::stderr(&bad)
    );
}

/// The weight-only rule (see crates/mlsim-engine/tests/it/model.rs): on a
/// GPU preset, decode at batch 1 is a weight read and a weight-only scheme
/// wins; from some batch on the step is compute-bound and a scheme that
/// computes in a narrow native format (fp8 or int8) takes over.
#[test]
fn recommend_switches_from_weight_only_to_native_compute() {
    let o = mlsim(&[
        "recommend",
        "--hw",
        "h100-sxm5",
        "--model",
        "llama-3-8b",
        "--phase",
        "decode",
        "--seq",
        "2048",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", crate::stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let switches = v["switches"].as_array().unwrap();
    assert_eq!(switches[0]["from_batch"], 1);
    assert_eq!(switches[0]["scheme"], "w4a16");
    let last = switches.last().unwrap();
    assert!(last["from_batch"].as_u64().unwrap() > 1);
    assert!(
        ["fp8", "w8a8"].contains(&last["scheme"].as_str().unwrap()),
        "{last}"
    );
}

/// Every scheme's energy and cost a token (issue 19): the dollars follow
/// from the price and the tokens a second by hand; the joules lie between
/// the board idling and drawing its power limit (70 W and 700 W on the
/// H100 preset) for the step, per token; a chip without `[power]` has none.
#[test]
fn recommend_gives_each_scheme_joules_and_dollars_a_token() {
    let run = |hw: &str, price: &[&str]| {
        let mut args = vec![
            "recommend",
            "--hw",
            hw,
            "--model",
            "llama-3-8b",
            "--phase",
            "decode",
            "--batch",
            "16",
            "--seq",
            "1024",
            "--schemes",
            "w16a16,fp8,w4a16",
            "--format",
            "json",
        ];
        args.extend_from_slice(price);
        let o = mlsim(&args);
        assert!(o.status.success(), "{}", crate::stderr(&o));
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap()
    };
    let v = run("h100-sxm5", &["--usd-per-hour", "2.5"]);
    let schemes = v["schemes"].as_array().unwrap();
    assert_eq!(schemes.len(), 3);
    for s in schemes {
        let f = |k: &str| s[k].as_f64().unwrap();
        let (step_s, tokens_per_s) = (f("step_ms") / 1e3, f("tokens_per_s"));
        // Decode: 16 sequences, one token each a step.
        assert!((tokens_per_s * step_s - 16.0).abs() < 1e-9, "{s}");
        let usd = 2.5 / 3600.0 / tokens_per_s * 1e6;
        assert!(
            (f("usd_per_million_tokens") / usd - 1.0).abs() < 1e-12,
            "{s}"
        );
        let j = f("joules_per_token");
        let (idle, limit) = (70.0 * step_s / 16.0, 700.0 * step_s / 16.0);
        assert!(
            idle <= j && j <= limit,
            "{j} J not in [{idle}, {limit}]: {s}"
        );
    }
    // No price, no dollars; the T4 preset has no [power], so no joules.
    let v = run("t4", &[]);
    for s in v["schemes"].as_array().unwrap() {
        assert!(s.get("usd_per_million_tokens").unwrap().is_null(), "{s}");
        assert!(s.get("joules_per_token").unwrap().is_null(), "{s}");
    }
    let bad = mlsim(&[
        "recommend",
        "--hw",
        "h100-sxm5",
        "--model",
        "gpt2",
        "--seq",
        "64",
        "--usd-per-hour=-1",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(crate::stderr(&bad).contains("--usd-per-hour"));
}

#[test]
fn recommend_warns_about_the_bf16_on_t4_trap() {
    let o = mlsim(&[
        "recommend",
        "--hw",
        "t4",
        "--model",
        "gpt2",
        "--phase",
        "prefill",
        "--seq",
        "512",
        "--schemes",
        "bf16",
    ]);
    assert!(o.status.success(), "{}", crate::stderr(&o));
    assert!(
        stdout(&o).contains(
            "warning: `model` recommends bf16 whose compute dtype has no native path on t4"
        ),
        "{}",
        stdout(&o)
    );
}

#[test]
fn recommend_over_a_suite() {
    let o = mlsim(&[
        "recommend",
        "--hw",
        "a100-sxm4-80gb",
        "--suite",
        "llm",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", crate::stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 6);
    // The A100 has int8 tensor cores at twice the fp16 rate: every llm
    // workload is at least as fast in int8 as in fp16.
    for c in list {
        assert!(c["speedup"].as_f64().unwrap() >= 1.0, "{c}");
    }
    let neither = mlsim(&["recommend", "--hw", "t4"]);
    assert_eq!(neither.status.code(), Some(2));
}

/// `run --plot DIR` writes, per suite, the runtime comparison and one
/// roofline per chip, in PNG and SVG; the SVGs name what they show and are
/// the same bytes on a second run.
#[test]
fn run_plot_writes_the_suite_charts() {
    let dir = TempDir::new("run-plot");
    let plot_dir = dir.join("charts");
    let args = [
        "run",
        "vision",
        "--hw",
        "t4",
        "--hw",
        "npu-systolic",
        "--plot",
        plot_dir.to_str().unwrap(),
    ];
    let o = mlsim(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut files: Vec<String> = std::fs::read_dir(&plot_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "vision-roofline-npu-systolic.png",
            "vision-roofline-npu-systolic.svg",
            "vision-roofline-t4.png",
            "vision-roofline-t4.svg",
            "vision-runtime.png",
            "vision-runtime.svg",
        ]
    );
    let svg = std::fs::read_to_string(plot_dir.join("vision-runtime.svg")).unwrap();
    for text in [
        "Conv1 7x7",
        "BN+ReLU",
        "t4",
        "npu-systolic",
        "predicted runtime (ms)",
    ] {
        assert!(svg.contains(text), "{text} missing from the runtime chart");
    }
    let roof = std::fs::read_to_string(plot_dir.join("vision-roofline-t4.svg")).unwrap();
    assert!(roof.contains("fp32 roofline") && roof.contains("ResBlock 3x3 (a)"));
    let png = std::fs::read(plot_dir.join("vision-runtime.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");

    assert!(mlsim(&args).status.success());
    let again = std::fs::read_to_string(plot_dir.join("vision-runtime.svg")).unwrap();
    assert_eq!(svg, again);
}

/// A --plot directory that cannot be created is exit 2 with its path named.
#[test]
fn run_plot_into_an_impossible_directory_fails_cleanly() {
    let dir = TempDir::new("run-plot-bad");
    let file = dir.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let target = file.join("charts");
    let o = mlsim(&["run", "llm", "--plot", target.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("--plot") && err.contains("a-file"), "{err}");
}

/// Two chips of one name would mix up results keyed by name: refused, and
/// so is a chart with more chips than it has colours.
#[test]
fn run_refuses_duplicate_chip_names_and_overfull_charts() {
    let o = mlsim(&["run", "llm", "--hw", "t4", "--hw", "presets/t4.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("both named `t4`"), "{}", stderr(&o));
    let dir = TempDir::new("run-plot-many");
    let mut args = vec!["run", "llm", "--plot", dir.to_str().unwrap()];
    // One more chip than the palette's 15 colours.
    let sixteen = [
        "t4",
        "t4-calibrated",
        "mi210",
        "mi300x",
        "rtx4060ti",
        "l4",
        "v100-sxm2",
        "v100-pcie",
        "a100-sxm4-80gb",
        "a100-pcie-40gb",
        "h100-sxm5",
        "h200",
        "rtx4090",
        "b200",
        "mi355x",
        "l40s",
    ];
    assert_eq!(sixteen.len(), mlsim_plot::PALETTE.len() + 1);
    for chip in sixteen {
        args.extend(["--hw", chip]);
    }
    let o = mlsim(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("at most 15 chips"), "{}", stderr(&o));
}

/// The block-scaled schemes are compared by default; one whose compute
/// format has no native path is named with the path it runs on (NVFP4 on
/// an H100: fp16, which holds fp4 x E4M3 products exactly), and not on a
/// B200, which runs NVFP4 natively.
#[test]
fn recommend_says_where_a_block_scaled_scheme_is_emulated() {
    let args = |hw: &'static str| {
        [
            "recommend",
            "--hw",
            hw,
            "--model",
            "llama-3-8b",
            "--phase",
            "decode",
            "--seq",
            "2048",
        ]
    };
    let o = mlsim(&args("h100-sxm5"));
    assert!(o.status.success(), "{}", crate::stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("note: nvfp4 runs emulated on h100-sxm5: nvfp4 has no native path; it is converted to fp16 as it is loaded"),
        "{text}"
    );
    assert!(
        text.contains("note: mxfp4 runs emulated on h100-sxm5"),
        "{text}"
    );
    let o = mlsim(&args("b200"));
    assert!(o.status.success(), "{}", crate::stderr(&o));
    assert!(!stdout(&o).contains("note: nvfp4"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("note: mxfp4"), "{}", stdout(&o));
}

/// OCP fp8 on a chip whose fp8 is FNUZ (MI300X) runs dequantized, and
/// `sim` names the format the chip computes fp8 in; on an H100 it says
/// nothing.
#[test]
fn sim_names_the_chips_own_fp8() {
    let run = |hw: &str, dtype: &str| {
        mlsim(&[
            "sim", "matmul", "--hw", hw, "--m", "4096", "--n", "4096", "--k", "4096", "--dtype",
            dtype,
        ])
    };
    let o = run("mi300x", "fp8");
    assert!(o.status.success(), "{}", crate::stderr(&o));
    assert!(
        stdout(&o).contains("note: mi300x has no fp8_e4m3 path; its fp8 is fp8_e4m3_fnuz"),
        "{}",
        stdout(&o)
    );
    let o = run("mi300x", "float8_e4m3fnuz");
    assert!(o.status.success(), "{}", crate::stderr(&o));
    assert!(!stdout(&o).contains("note:"), "{}", stdout(&o));
    let o = run("h100-sxm5", "fp8");
    assert!(!stdout(&o).contains("note:"), "{}", stdout(&o));
}

/// A file of more than 100 sizes is cross-validated in 100 folds of sizes
/// (issue 17: one fit per size was quadratic in rows), and the output
/// says so where it says leave-one-size-out for smaller files.
#[test]
fn validate_labels_the_folds_of_a_file_of_many_sizes() {
    let dir = TempDir::new("many-sizes");
    let path = dir.join("many.csv");
    let mut text = String::from("hardware,op,m,n,k,dtype,runtime_ms\n");
    for j in 0..120u64 {
        let s = 16 + 8 * j;
        let ms = 2.0 * (s * s * s) as f64 / 20e12 * 1e3 + 0.02;
        text.push_str(&format!("T4,gemm,{s},{s},{s},fp16,{ms}\n"));
    }
    std::fs::write(&path, text).unwrap();
    let many = path.display().to_string();
    let o = mlsim(&[
        "validate",
        "--hw",
        "t4-seed",
        "--measurements",
        &many,
        "--hw",
        "t4-seed",
        "--measurements",
        "results/t4-colab-matmul.csv",
    ]);
    assert!(o.status.success(), "{}", crate::stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("by size (LOSO, or 100 folds past 100 sizes)"),
        "{out}"
    );
    assert!(out.contains("fitted, 100-fold by size"), "{out}");
    assert!(out.contains("fitted, leave-one-size-out"), "{out}");
    let o = mlsim(&[
        "validate",
        "--hw",
        "t4-seed",
        "--measurements",
        &many,
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["cv_method"], "100-fold by size");
    assert_eq!(v["cv_points"].as_array().unwrap().len(), 120);
}
