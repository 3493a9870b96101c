//! Malformed measurement files: each gives an error naming file, line, row
//! and column (snapshotted).

use mlsim_calibrate::measurements::parse_measurements;

fn error_of(name: &str, text: &str) -> String {
    parse_measurements(text.as_bytes(), name)
        .expect_err("must be rejected")
        .to_string()
}

const HEADER: &str = "hardware,op,m,n,k,dtype,runtime_ms\n";

#[test]
fn missing_column() {
    let e = error_of(
        "a.csv",
        "hardware,op,m,n,dtype,runtime_ms\nX,gemm,1,1,fp32,1\n",
    );
    assert!(e.starts_with("a.csv:1: missing column `k`"), "{e}");
    insta::assert_snapshot!(e);
}

#[test]
fn non_numeric_runtime() {
    let e = error_of(
        "b.csv",
        &format!("{HEADER}X,gemm,1,1,1,fp32,1.0\nX,gemm,2,2,2,fp32,fast\n"),
    );
    assert!(e.starts_with("b.csv:3: row 2, column `runtime_ms`"), "{e}");
    insta::assert_snapshot!(e);
}

#[test]
fn non_positive_runtime() {
    let e = error_of(
        "c.csv",
        &format!("# comment\n{HEADER}X,gemm,1,1,1,fp32,0\n"),
    );
    assert!(e.starts_with("c.csv:3: row 1, column `runtime_ms`"), "{e}");
    insta::assert_snapshot!(e);
}

#[test]
fn unknown_dtype() {
    let e = error_of("d.csv", &format!("{HEADER}X,gemm,1,1,1,fp12,1\n"));
    assert!(e.contains("column `dtype`: unknown dtype `fp12`"), "{e}");
    insta::assert_snapshot!(e);
}

#[test]
fn zero_dimension() {
    insta::assert_snapshot!(error_of("e.csv", &format!("{HEADER}X,gemm,0,1,1,fp32,1\n")));
}

#[test]
fn unknown_op() {
    insta::assert_snapshot!(error_of("f.csv", &format!("{HEADER}X,conv,1,1,1,fp32,1\n")));
}

#[test]
fn two_devices_in_one_file() {
    insta::assert_snapshot!(error_of(
        "g.csv",
        &format!("{HEADER}X,gemm,1,1,1,fp32,1\nY,gemm,2,2,2,fp32,1\n")
    ));
}

#[test]
fn duplicate_point() {
    insta::assert_snapshot!(error_of(
        "h.csv",
        &format!("{HEADER}X,gemm,1,1,1,fp32,1\nX,gemm,1,1,1,fp32,2\n")
    ));
}

/// The error a reader meets first: the first row (in file order) that
/// repeats an earlier one, and a repeat before a bad row is reported
/// before it (and a bad row before a repeat, before the repeat).
#[test]
fn the_first_repeat_or_bad_row_in_file_order_is_reported() {
    let rows = |body: &str| error_of("d.csv", &format!("{HEADER}{body}"));
    // Two repeated shapes: 2x2x2 repeats on line 5, 1x1x1 on line 6.
    let e = rows(
        "X,gemm,1,1,1,fp32,1\nX,gemm,2,2,2,fp32,1\nX,gemm,3,3,3,fp32,1\n\
         X,gemm,2,2,2,fp32,2\nX,gemm,1,1,1,fp32,2\n",
    );
    assert!(
        e.contains("d.csv:5: 2x2x2 fp32 is measured twice (also on line 3)"),
        "{e}"
    );
    // A third copy does not move the first repeat.
    let e = rows("X,gemm,1,1,1,fp32,1\nX,gemm,1,1,1,fp32,2\nX,gemm,1,1,1,fp32,3\n");
    assert!(
        e.contains("d.csv:3: 1x1x1 fp32 is measured twice (also on line 2)"),
        "{e}"
    );
    // A repeat on line 3, a bad dtype on line 4: the repeat.
    let e = rows("X,gemm,1,1,1,fp32,1\nX,gemm,1,1,1,fp32,2\nX,gemm,4,4,4,fp99,1\n");
    assert!(e.contains("d.csv:3:"), "{e}");
    // A bad dtype on line 3, a repeat on line 4: the bad dtype.
    let e = rows("X,gemm,1,1,1,fp32,1\nX,gemm,4,4,4,fp99,1\nX,gemm,1,1,1,fp32,2\n");
    assert!(e.contains("d.csv:3:") && e.contains("fp99"), "{e}");
    // The same shape timed two ways, or on two stacks, is two measurements.
    let two_ways = error_of(
        "w.csv",
        "hardware,op,m,n,k,dtype,runtime_ms,timing,stack\n\
         X,gemm,1,1,1,fp32,1,kernel,cublas-hopper\nX,gemm,1,1,1,fp32,1,per-call,cublas-hopper\n\
         X,gemm,1,1,1,fp32,1,kernel,cublas-ampere\nX,gemm,1,1,1,fp32,2,kernel,cublas-hopper\n",
    );
    assert!(
        two_ways.contains("w.csv:5: 1x1x1 fp32 is measured twice (also on line 2)"),
        "{two_ways}"
    );
}

#[test]
fn empty_cell() {
    insta::assert_snapshot!(error_of("i.csv", &format!("{HEADER}X,gemm,1,,1,fp32,1\n")));
}

#[test]
fn empty_and_header_only_files() {
    insta::assert_snapshot!(error_of("j.csv", "# only a comment\n"));
    insta::assert_snapshot!(error_of("k.csv", HEADER));
}

#[test]
fn ragged_row() {
    let e = error_of("l.csv", &format!("{HEADER}X,gemm,1,1,1,fp32,1,extra\n"));
    assert!(e.starts_with("l.csv:"), "{e}");
    insta::assert_snapshot!(e);
}

#[test]
fn binary_file() {
    let e = parse_measurements(&[0xff, 0xfe, 0x00, 0x01], "m.csv")
        .expect_err("binary")
        .to_string();
    insta::assert_snapshot!(e);
}
