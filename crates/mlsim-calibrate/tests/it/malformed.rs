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
