//! `mlsim sweep --format parquet` and the merge of Parquet parts (cargo
//! feature `parquet`): the file holds the CSV sweep's values, typed; the
//! merged parts are the unsharded sweep byte for byte, whatever the thread
//! count; bad parts are refused with the file named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use crate::{TempDir, mlsim, stderr, workspace_root};

/// One chip per model (GPU tiled, the original's, CPU blocked, systolic),
/// so that every nullable column is both null and not.
const MIXED: [&str; 14] = [
    "sweep",
    "--hw",
    "h100-sxm5",
    "--hw",
    "t4-seed",
    "--hw",
    "dev-epyc-turin-2vcpu",
    "--hw",
    "tpu-v5e",
    "--sizes",
    "1,64,1000,4096",
    "--dtypes",
    "fp32,bf16",
    "--shapes",
];

fn run_with_threads(args: &[String], threads: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlsim"))
        .args(args)
        .current_dir(workspace_root())
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .expect("mlsim runs")
}

fn args(base: &[&str], extra: &[&str]) -> Vec<String> {
    base.iter().chain(extra).map(|s| s.to_string()).collect()
}

/// Every row of a Parquet file as column name -> cell text ("" for null).
fn parquet_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            row.unwrap()
                .get_column_iter()
                .map(|(name, field)| {
                    let text = match field {
                        Field::Null => String::new(),
                        Field::Str(s) => s.clone(),
                        Field::Bool(b) => b.to_string(),
                        Field::ULong(v) => v.to_string(),
                        Field::Double(v) => v.to_string(),
                        other => panic!("{name}: unexpected {other:?}"),
                    };
                    (name.clone(), text)
                })
                .collect()
        })
        .collect()
}

#[test]
fn parquet_sweep_holds_the_csv_sweep_values_typed() {
    let dir = TempDir::new("parquet-values");
    let (pq, csv) = (dir.join("s.parquet"), dir.join("s.csv"));
    for (path, format) in [(&pq, "parquet"), (&csv, "csv")] {
        let a = args(
            &MIXED,
            &[
                "1x4096x4096",
                "--format",
                format,
                "--out",
                path.to_str().unwrap(),
            ],
        );
        let o = run_with_threads(&a, "2");
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let rows = parquet_rows(&pq);
    let mut table = csv::Reader::from_path(&csv).unwrap();
    let headers = table.headers().unwrap().clone();
    let records: Vec<csv::StringRecord> = table.records().map(Result::unwrap).collect();
    // 4 chips x 5 shapes x 2 dtypes.
    assert_eq!(records.len(), 40);
    assert_eq!(rows.len(), records.len());
    for (row, record) in rows.iter().zip(&records) {
        for (name, cell) in headers.iter().zip(record) {
            if name == "memory_ms_by_level" {
                // `L1:0 L2:0.1 HBM:0.2` -> memory_ms_L1 ... columns; a
                // level the chip lacks is null.
                let levels: BTreeMap<&str, &str> = cell
                    .split(' ')
                    .map(|kv| kv.split_once(':').unwrap())
                    .collect();
                for (column, value) in row.iter().filter(|(c, _)| c.starts_with("memory_ms_")) {
                    let level = &column["memory_ms_".len()..];
                    let want = levels
                        .get(level)
                        .map_or(String::new(), |v| v.parse::<f64>().unwrap().to_string());
                    assert_eq!(*value, want, "{column} of {record:?}");
                }
                continue;
            }
            let got = &row[name];
            // Numbers compare as numbers (the CSV writes the shortest
            // text that reads back as the same double).
            match (cell.parse::<f64>(), got.parse::<f64>()) {
                (Ok(a), Ok(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{name} of {record:?}"),
                _ => assert_eq!(got, cell, "{name} of {record:?}"),
            }
        }
    }
    // The original's chip has no timing; the others name theirs.
    let timing = |chip: &str| {
        rows.iter()
            .find(|r| r["hardware"] == chip)
            .map(|r| r["timing"].clone())
            .unwrap()
    };
    assert_eq!(timing("t4-seed"), "");
    assert_eq!(timing("h100-sxm5"), "per-call");
}

/// `--columns` writes those columns of the full file, typed as there, in
/// the order given; Parquet parts with them merge into that file.
#[test]
fn parquet_columns_choose_and_order_the_columns() {
    let dir = TempDir::new("parquet-columns");
    let chosen = [
        "runtime_ms",
        "hardware",
        "memory_ms_HBM",
        "threads",
        "m",
        "waves",
    ];
    let sweep = |name: &str, extra: &[&str]| {
        let path = dir.join(name);
        let mut tail = vec![
            "1x4096x4096",
            "--format",
            "parquet",
            "--out",
            path.to_str().unwrap(),
        ];
        tail.extend_from_slice(extra);
        let o = run_with_threads(&args(&MIXED, &tail), "2");
        assert!(o.status.success(), "{}", stderr(&o));
        path
    };
    let full = parquet_rows(&sweep("full.parquet", &[]));
    let columns = chosen.join(",");
    let picked_path = sweep("picked.parquet", &["--columns", &columns]);
    let reader = SerializedFileReader::new(std::fs::File::open(&picked_path).unwrap()).unwrap();
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(names, chosen);
    let picked = parquet_rows(&picked_path);
    assert_eq!(picked.len(), full.len());
    for (p, f) in picked.iter().zip(&full) {
        for c in chosen {
            assert_eq!(p[c], f[c], "{c}");
        }
    }
    let parts: Vec<PathBuf> = (0..2)
        .map(|k| {
            sweep(
                &format!("part-{k}.parquet"),
                &["--columns", &columns, "--shard", &format!("{k}/2")],
            )
        })
        .collect();
    let out = dir.join("merged.parquet");
    let o = merge(&out, &[&parts[1], &parts[0]]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&picked_path).unwrap());
    // A level no chip of the sweep has is not a column.
    let o = run_with_threads(
        &args(
            &MIXED,
            &[
                "1x4096x4096",
                "--format",
                "parquet",
                "--columns",
                "memory_ms_L9",
                "--out",
                dir.join("x.parquet").to_str().unwrap(),
            ],
        ),
        "2",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no column `memory_ms_L9` in the Parquet output"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("memory_ms_HBM"), "{}", stderr(&o));
}

/// Three chips, 11,000 sizes, two dtypes: 66,000 points, past one row
/// group (65,536), so that merging must cut the parts' rows at the
/// unsharded file's row-group boundary.
fn big_grid() -> Vec<String> {
    let sizes: Vec<String> = (1..=11_000).map(|s| s.to_string()).collect();
    args(
        &[
            "sweep",
            "--hw",
            "h100-sxm5",
            "--hw",
            "t4-seed",
            "--hw",
            "dev-epyc-turin-2vcpu",
            "--dtypes",
            "fp32,bf16",
            "--format",
            "parquet",
            "--sizes",
        ],
        &[&sizes.join(",")],
    )
}

fn sweep_to(dir: &Path, name: &str, extra: &[&str], threads: &str) -> PathBuf {
    let path = dir.join(name);
    let mut a = big_grid();
    a.extend(extra.iter().map(|s| s.to_string()));
    a.extend(["--out".to_string(), path.display().to_string()]);
    let o = run_with_threads(&a, threads);
    assert!(o.status.success(), "{}", stderr(&o));
    path
}

fn merge(out: &Path, parts: &[&Path]) -> Output {
    let mut a = vec!["merge".to_string(), out.display().to_string()];
    a.extend(parts.iter().map(|p| p.display().to_string()));
    run_with_threads(&a, "2")
}

#[test]
fn merged_parquet_parts_are_the_unsharded_sweep_byte_for_byte() {
    let dir = TempDir::new("parquet-shards");
    let whole = std::fs::read(sweep_to(&dir, "whole.parquet", &[], "2")).unwrap();
    let reader =
        SerializedFileReader::new(std::fs::File::open(dir.join("whole.parquet")).unwrap()).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 66_000);
    assert_eq!(reader.num_row_groups(), 2, "[0, 65536) and [65536, 66000)");
    // One thread writes the same bytes.
    let one = std::fs::read(sweep_to(&dir, "one-thread.parquet", &[], "1")).unwrap();
    assert!(one == whole, "the file depends on the thread count");
    let parts: Vec<PathBuf> = (0..4)
        .map(|k| {
            sweep_to(
                &dir,
                &format!("part-{k}.parquet"),
                &["--shard", &format!("{k}/4")],
                "2",
            )
        })
        .collect();
    // Given out of order: merge puts them in slice order.
    let given: Vec<&Path> = [2, 0, 3, 1].iter().map(|&k| parts[k].as_path()).collect();
    let out = dir.join("merged.parquet");
    let o = merge(&out, &given);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::read(&out).unwrap() == whole,
        "4 Parquet parts merged differ from the sweep"
    );
}

#[test]
fn merge_refuses_bad_parquet_parts_naming_them() {
    let dir = TempDir::new("parquet-bad");
    let base = args(&MIXED[..MIXED.len() - 1], &["--format", "parquet"]);
    let part = |k: usize, n: usize| {
        let path = dir.join(format!("p{k}-{n}.parquet"));
        let mut a = base.clone();
        a.extend([
            "--shard".into(),
            format!("{k}/{n}"),
            "--out".into(),
            path.display().to_string(),
        ]);
        let o = run_with_threads(&a, "2");
        assert!(o.status.success(), "{}", stderr(&o));
        path
    };
    let (p0, p1, p2) = (part(0, 3), part(1, 3), part(2, 3));
    let out = dir.join("m.parquet");
    let refused = |parts: &[&Path], says: &str| {
        let o = merge(&out, parts);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(says), "{says}: {}", stderr(&o));
        assert!(!out.exists(), "nothing is written");
    };
    refused(&[&p0, &p2], "slice 1/3 is missing");
    refused(&[&p0, &p1, &p2, &p1], "also in");
    // A part of another grid (2 slices of it).
    let foreign = part(1, 2);
    refused(&[&p0, &foreign, &p2], "a part of another sweep");
    // CSV and Parquet parts mixed.
    let csv = workspace_root().join("results/t4-colab-matmul.csv");
    refused(&[&p0, &p1, &csv], "all CSV or all Parquet");
    // A truncated part: its footer is gone.
    let cut = dir.join("cut.parquet");
    let bytes = std::fs::read(&p1).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    refused(
        &[&p0, &cut, &p2],
        "cut.parquet: not a readable Parquet file",
    );
    // A whole sweep is not a part.
    let whole = dir.join("whole.parquet");
    let mut a = base.clone();
    a.extend(["--out".into(), whole.display().to_string()]);
    assert!(run_with_threads(&a, "2").status.success());
    refused(&[&whole], "whole.parquet: no `mlsim.sweep.shard`");
    // And the three good parts merge.
    let o = merge(&out, &[&p2, &p1, &p0]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Without --force, an existing output is kept.
    let again = merge(&out, &[&p0, &p1, &p2]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("a file is there already"));
}

#[test]
fn parquet_needs_an_output_file() {
    let o = mlsim(&[
        "sweep",
        "--hw",
        "h100-sxm5",
        "--sizes",
        "64",
        "--format",
        "parquet",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("add --out"), "{}", stderr(&o));
}
