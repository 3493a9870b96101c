//! Scoring a measurement file (`mlsim validate --cv none` without the
//! output): read the CSV, predict every row, score verdicts, fastest dtypes
//! and crossovers, over 10k, 100k and 1M distinct random GEMM shapes on the
//! H200. The time per row should stay flat from 100k to 1M (issue 17:
//! linear within 20%; <= 2 us per row end to end on the 2-core dev machine).

use std::io::Write as _;

use divan::counter::ItemsCount;
use mlsim_calibrate::measurements::read_measurements;
use mlsim_calibrate::scorecard::Scorecard;
use mlsim_calibrate::targets::RowTargets;
use mlsim_calibrate::validate::crossovers;

fn main() {
    divan::main();
}

/// A measurement file of `rows` GEMMs of distinct shapes ((m, n) walks a
/// 4096 x 4096 grid, k and the runtime come from a fixed-seed xorshift),
/// four dtypes in turn, in the system's temporary folder.
fn file(rows: usize) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("mlsim-bench-validate-{rows}.csv"));
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "hardware,op,m,n,k,dtype,runtime_ms").unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let dtypes = ["fp32", "fp16", "bf16", "fp8_e4m3"];
    for i in 0..rows {
        let (m, n, k) = (16 + i % 4096, 16 + (i / 4096) % 4096, 16 + next() % 8192);
        let runtime = 0.01 + (next() % 10_000) as f64 / 1000.0;
        writeln!(w, "h200,gemm,{m},{n},{k},{},{runtime}", dtypes[i % 4]).unwrap();
    }
    path
}

#[divan::bench(args = [10_000, 100_000, 1_000_000], sample_count = 3, sample_size = 1)]
fn validate_rows(bencher: divan::Bencher, rows: usize) {
    let path = file(rows);
    bencher.counter(ItemsCount::new(rows)).bench(|| {
        let set = read_measurements(&path).unwrap();
        let chip = mlsim_hw::load("h200").unwrap();
        let targets = RowTargets::new(chip, &Default::default(), &set.rows).unwrap();
        let card = Scorecard::new(&targets, &set.rows, false).unwrap();
        divan::black_box(crossovers(&card.points));
        card
    });
    std::fs::remove_file(path).ok();
}
