//! The CLI's remaining commands in plain Rust (the serving summary is
//! `mlsim_calibrate::serving::by_metric`, as the CLI's), each returning what the
//! command prints with `--format json` (or, for the checks, what its
//! `ok:` line says): `validate-serving`, `run`, `presets check`, `stacks
//! check`, `systems check` and the two `schema` subcommands.

use mlsim_calibrate::serving::{ServingRow, by_metric, validate_serving};
use mlsim_engine::summary::summarise;
use mlsim_hw::{Setup, SetupSpec};
use serde_json::{Value, json};

use crate::core::Error;

/// `mlsim validate-serving --format json` for `rows` read from `shown`:
/// `{"measurements", "cases", "by_metric"}`.
pub fn serving_report(rows: &[ServingRow], shown: &str) -> Result<Value, Error> {
    let cases = validate_serving(rows);
    let by_metric = by_metric(&cases);
    to_value(&json!({
        "measurements": shown,
        "cases": cases,
        "by_metric": by_metric,
    }))
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, Error> {
    serde_json::to_value(v).map_err(|e| Error::Value(format!("cannot serialise a result: {e}")))
}

/// The chips `mlsim run` uses when none are given (the CLI's
/// `DEFAULT_CHIPS`): a server CPU, a TPU and a laptop SoC.
pub const RUN_CHIPS: [&str; 3] = ["xeon-sapphire-rapids", "tpu-v5e", "apple-m2"];

/// The original program's three chips (`mlsim run --original`).
pub const ORIGINAL_CHIPS: [&str; 3] = ["cpu-avx512-desktop", "npu-systolic", "mobile-neon"];

/// `mlsim run SUITE --format json` on `setups` (the first the baseline):
/// `{"suites": [{"suite", "baseline", "results", "summaries"}, ...]}`.
pub fn run_suites(setups: &[Setup], suite: &str) -> Result<Value, Error> {
    if setups.is_empty() {
        return Err(Error::Value("no chips given".into()));
    }
    // Results are keyed by chip name: two chips of one name would be mixed up.
    for (i, s) in setups.iter().enumerate() {
        if setups[..i].iter().any(|o| o.chip.name == s.chip.name) {
            return Err(Error::Value(format!(
                "two chips are named `{}`\n  hint: give one chip file another `name`",
                s.chip.name
            )));
        }
    }
    let suites = crate::core::suites(suite)?;
    let targets: Vec<mlsim_hw::Target<'_>> = setups.iter().map(Setup::target).collect();
    let reports: Vec<Value> = suites
        .iter()
        .map(|&suite| {
            let results = mlsim_engine::sweep(&targets, &suite.workloads());
            let summaries: Vec<_> = setups
                .iter()
                .map(|s| {
                    summarise(
                        &s.chip,
                        &results
                            .iter()
                            .filter(|r| r.hardware == s.chip.name)
                            .collect::<Vec<_>>(),
                    )
                })
                .collect();
            json!({
                "suite": suite.name(),
                "baseline": setups[0].chip.name,
                "results": results,
                "summaries": summaries,
            })
        })
        .collect();
    to_value(&json!({ "suites": reports }))
}

/// `e` and its sources joined by `: `, with `presets check`'s hint when a
/// file is missing (what `mlsim presets check` prints after `error: `).
fn check_message(e: &mlsim_hw::HwError) -> String {
    let mut s = e.to_string();
    let mut missing = false;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        missing |= c.downcast_ref::<std::io::Error>().is_some();
        cur = c.source();
        if let Some(next) = cur {
            s.push_str(": ");
            s.push_str(&next.to_string());
        }
    }
    if missing {
        s.push_str(
            "\n  hint: check the path; presets are named without .toml: `mlsim presets list`",
        );
    }
    s
}

/// `mlsim presets check FILE`: the chip loaded with its default setup and
/// the conformance suite run on it. `{"file", "name", "display_name",
/// "predictions", "ok", "violations": [{"law", "detail"}], "exempt":
/// [{"law", "reason"}]}`; an invalid file is an error with the CLI's
/// message.
pub fn check_chip(file: &str) -> Result<Value, Error> {
    let setup = mlsim_hw::load(file)
        .and_then(|c| Setup::with_chip(c, &SetupSpec::default()))
        .map_err(|e| Error::ChipFile(check_message(&e)))?;
    let report = mlsim_engine::conformance::check(&setup.target());
    Ok(json!({
        "file": file,
        "name": setup.chip.name,
        "display_name": setup.chip.display_name,
        "predictions": report.predictions,
        "ok": report.violations.is_empty(),
        "violations": report.violations.iter().map(|v| json!({"law": v.law, "detail": v.detail})).collect::<Vec<_>>(),
        "exempt": report.exempt.iter().map(|(law, why)| json!({"law": law, "reason": why})).collect::<Vec<_>>(),
    }))
}

/// `mlsim stacks check FILE`: `{"file", "kind": "stack"|"framework",
/// "name"}`; an invalid file is an error with the CLI's message.
pub fn check_stack(file: &str) -> Result<Value, Error> {
    let fail = |e: mlsim_hw::HwError| Error::ChipFile(e.to_string());
    let (text, shown) = mlsim_hw::stack_text(file).map_err(fail)?;
    let (kind, name) = if mlsim_hw::stack_kind(&text) == "framework" {
        let f = mlsim_hw::parse_framework(&text, &shown).map_err(fail)?;
        ("framework", f.name)
    } else {
        let s = mlsim_hw::parse_stack(&text, &shown).map_err(fail)?;
        ("stack", s.name)
    };
    Ok(json!({ "file": file, "kind": kind, "name": name }))
}

/// `mlsim systems check FILE`: `{"file", "name", "chips"}`; an invalid
/// file is an error with the CLI's message.
pub fn check_system(file: &str) -> Result<Value, Error> {
    let s = mlsim_hw::load_system(file).map_err(|e| Error::SystemFile(e.to_string()))?;
    Ok(json!({ "file": file, "name": s.name, "chips": s.chips() }))
}

/// `mlsim presets schema`: the chip-file format's JSON Schema.
pub fn chip_schema() -> String {
    mlsim_hw::json_schema()
}

/// `mlsim stacks schema`: the stack-file formats' JSON Schema.
pub fn stack_schema() -> String {
    mlsim_hw::stack_json_schema()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_refuses_two_chips_of_one_name() {
        let s = crate::core::load_setup("t4", &Default::default()).unwrap();
        let e = run_suites(&[s.clone(), s], "llm").unwrap_err();
        assert!(e.message().contains("two chips are named `t4`"), "{e:?}");
    }

    #[test]
    fn run_gives_a_summary_per_chip_and_suite() {
        let setups: Vec<Setup> = RUN_CHIPS
            .iter()
            .map(|c| crate::core::load_setup(c, &Default::default()).unwrap())
            .collect();
        let v = run_suites(&setups, "all").unwrap();
        let suites = v["suites"].as_array().unwrap();
        assert_eq!(suites.len(), 3);
        for s in suites {
            assert_eq!(s["baseline"], "xeon-sapphire-rapids");
            assert_eq!(s["summaries"].as_array().unwrap().len(), 3);
        }
    }

    #[test]
    fn checks_name_what_they_loaded() {
        assert_eq!(check_chip("t4").unwrap()["name"], "t4");
        assert_eq!(check_stack("cuda-graph").unwrap()["kind"], "framework");
        assert_eq!(check_system("hgx-h100-8").unwrap()["chips"], 8);
        assert!(matches!(
            check_chip("no-such-chip.toml"),
            Err(Error::ChipFile(_))
        ));
        assert!(chip_schema().starts_with('{'));
        assert!(stack_schema().starts_with('{'));
    }
}
