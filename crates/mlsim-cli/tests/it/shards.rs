//! Sweeps in slices (`mlsim sweep --shard K/N`) and their merge
//! (`mlsim merge`): the merged parts are the unsharded sweep byte for byte,
//! and a missing, repeated, foreign or truncated part is refused.

use crate::{TempDir, mlsim, stderr, stdout};

/// Two chips, two stacks each, five sizes, three dtypes: 60 grid points,
/// which 4 slices cut 15 apiece and 7 slices unevenly (8 or 9).
const GRID: [&str; 13] = [
    "sweep",
    "--hw",
    "h100-sxm5",
    "--hw",
    "h200",
    "--stacks",
    "cublas-hopper,cublas-hopper-h200",
    "--sizes",
    "64,256,1000,4096,8192",
    "--dtypes",
    "fp32,fp16,fp8_e4m3",
    "--format",
    "csv",
];

fn sweep_into(dir: &TempDir, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let path = dir.join(name);
    let out = path.display().to_string();
    let mut args = GRID.to_vec();
    args.extend_from_slice(extra);
    args.extend(["--out", &out]);
    let o = mlsim(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    path
}

fn merge(
    dir: &TempDir,
    parts: &[&std::path::PathBuf],
) -> (std::process::Output, std::path::PathBuf) {
    let out = dir.join("merged.csv");
    let _ = std::fs::remove_file(&out);
    let mut args = vec!["merge".to_string(), out.display().to_string()];
    args.extend(parts.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (mlsim(&args), out)
}

#[test]
fn merged_shards_are_the_unsharded_sweep_byte_for_byte() {
    let dir = TempDir::new("shards");
    let whole = std::fs::read(sweep_into(&dir, "whole.csv", &[])).unwrap();
    assert_eq!(whole.iter().filter(|&&b| b == b'\n').count(), 1 + 60);
    for n in [4, 7] {
        let parts: Vec<_> = (0..n)
            .map(|k| {
                sweep_into(
                    &dir,
                    &format!("part-{k}-of-{n}.csv"),
                    &["--shard", &format!("{k}/{n}")],
                )
            })
            .collect();
        // Given in reverse: merge orders them by slice.
        let mut given: Vec<&std::path::PathBuf> = parts.iter().collect();
        given.reverse();
        let (o, out) = merge(&dir, &given);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            std::fs::read(&out).unwrap() == whole,
            "{n} slices merged differ from the sweep"
        );
    }
}

#[test]
fn merge_refuses_missing_repeated_foreign_and_truncated_parts() {
    let dir = TempDir::new("shards-bad");
    let parts: Vec<_> = (0..3)
        .map(|k| sweep_into(&dir, &format!("p{k}.csv"), &["--shard", &format!("{k}/3")]))
        .collect();
    let refused = |given: &[&std::path::PathBuf], says: &str| {
        let (o, out) = merge(&dir, given);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(says),
            "expected `{says}` in: {}",
            stderr(&o)
        );
        assert!(!out.exists(), "nothing is written when a part is refused");
    };
    refused(&[&parts[0], &parts[2]], "slice 1/3 is missing");
    refused(
        &[&parts[0], &parts[1], &parts[1], &parts[2]],
        "p1.csv: slice 1 is also in",
    );
    // A slice of another grid (other sizes).
    let other = dir.join("other.csv");
    let o = mlsim(&[
        "sweep",
        "--hw",
        "h200",
        "--sizes",
        "64",
        "--format",
        "csv",
        "--shard",
        "1/3",
        "--out",
        &other.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    refused(
        &[&parts[0], &other, &parts[2]],
        "other.csv: a part of another sweep",
    );
    // A part that lost its last row.
    let text = std::fs::read_to_string(&parts[1]).unwrap();
    let cut = dir.join("cut.csv");
    std::fs::write(&cut, &text[..text.trim_end().rfind('\n').unwrap() + 1]).unwrap();
    refused(
        &[&parts[0], &cut, &parts[2]],
        "cut.csv: 19 rows, but slice 1/3 holds 20",
    );
    // Not a part at all.
    let plain = sweep_into(&dir, "plain.csv", &[]);
    refused(
        &[&plain],
        "plain.csv: expected a first line `# mlsim sweep shard",
    );
}

/// Rows of a CSV file, each cell as text, after its header.
fn csv_rows(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}

/// `--columns` writes the chosen columns of the full CSV, in the order
/// given; its parts merge into that file, and a part of another choice is
/// another sweep's.
#[test]
fn columns_choose_and_order_the_csv_columns_and_their_parts_merge() {
    let dir = TempDir::new("shards-columns");
    let chosen = ["runtime_ms", "hardware", "m", "dtype", "bottleneck"];
    let columns = chosen.join(",");
    let (headers, full) = csv_rows(&sweep_into(&dir, "full.csv", &[]));
    let picked_path = sweep_into(&dir, "picked.csv", &["--columns", &columns]);
    let (picked_headers, picked) = csv_rows(&picked_path);
    assert_eq!(picked_headers, chosen);
    // The full file's cells, projected here.
    let at: Vec<usize> = chosen
        .iter()
        .map(|c| headers.iter().position(|h| h == c).unwrap())
        .collect();
    let want: Vec<Vec<String>> = full
        .iter()
        .map(|row| at.iter().map(|&i| row[i].clone()).collect())
        .collect();
    assert_eq!(picked, want);

    let parts: Vec<_> = (0..3)
        .map(|k| {
            sweep_into(
                &dir,
                &format!("c{k}.csv"),
                &["--columns", &columns, "--shard", &format!("{k}/3")],
            )
        })
        .collect();
    let (o, out) = merge(&dir, &parts.iter().collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&picked_path).unwrap());
    // The middle slice with other columns.
    let other = sweep_into(
        &dir,
        "other-columns.csv",
        &["--columns", "hardware,m", "--shard", "1/3"],
    );
    let (o, out) = merge(&dir, &[&parts[0], &other, &parts[2]]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("other-columns.csv: a part of another sweep"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

/// An unknown or repeated column, or `--columns` for a table, is an error
/// (exit 2) that lists the columns to choose from.
#[test]
fn columns_are_checked() {
    let base = ["sweep", "--hw", "h200", "--sizes", "64", "--columns"];
    let run = |columns: &str, format: &str| {
        let mut a = base.to_vec();
        a.extend([columns, "--format", format]);
        mlsim(&a)
    };
    for (columns, format, says) in [
        (
            "m,runtime,dtype",
            "csv",
            "no column `runtime` in the CSV output",
        ),
        ("m,dtype,m", "csv", "`m` named twice"),
        (
            "m,dtype",
            "table",
            "--columns chooses the columns of CSV or Parquet",
        ),
    ] {
        let o = run(columns, format);
        assert_eq!(o.status.code(), Some(2), "{columns} {format}");
        assert!(
            stderr(&o).contains(says),
            "expected `{says}` in: {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty());
    }
    assert!(
        stderr(&run("m,runtime", "csv")).contains("the CSV columns are m,n,k,workload,"),
        "the hint lists the columns"
    );
}

#[test]
fn a_shard_is_csv_and_its_flag_is_checked() {
    let o = mlsim(&["sweep", "--hw", "h200", "--sizes", "64", "--shard", "0/2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--shard writes CSV"), "{}", stderr(&o));
    let o = mlsim(&[
        "sweep", "--hw", "h200", "--sizes", "64", "--format", "csv", "--shard", "2/2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("0 <= K < N"), "{}", stderr(&o));
}

/// A default build (without the cargo feature `parquet`) says how to get
/// Parquet, exit code 2, and writes nothing.
#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_is_refused_by_a_build_without_it() {
    let dir = TempDir::new("no-parquet");
    let out = dir.join("s.parquet");
    let o = mlsim(&[
        "sweep",
        "--hw",
        "h100-sxm5",
        "--sizes",
        "64",
        "--format",
        "parquet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--features parquet"), "{}", stderr(&o));
    assert!(!out.exists());
}
