//! Mutation test of the measurement reader: random byte and token edits of
//! the measurement files in results/ give an error or a valid set, never a
//! panic, and nothing non-positive or non-finite gets through.

use mlsim_calibrate::measurements::parse_measurements;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// A fixed seed, so `cargo test` is deterministic; set MLSIM_PROPTEST_SEED
/// to explore other inputs.
fn seed() -> RngSeed {
    RngSeed::Fixed(
        std::env::var("MLSIM_PROPTEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(20261126),
    )
}

const FILES: [&str; 2] = [
    include_str!("../../../../results/t4-colab-matmul.csv"),
    include_str!("../../../../results/rtx4060ti-cublaslt-square.csv"),
];
const TOKENS: [&str; 20] = [
    "kernel",
    "back-to-back",
    "per-call",
    "cublas-hopper",
    "no-such-stack",
    "pytorch-eager",
    "",
    "-1",
    "0",
    "nan",
    "inf",
    "1e400",
    "fp64",
    "\"",
    ",",
    "\n",
    "#",
    "gemm",
    "18446744073709551616",
    "\"a,b\"",
];

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(set) = parse_measurements(bytes, "mutant.csv") {
        for r in &set.rows {
            prop_assert!(r.runtime_ms.is_finite() && r.runtime_ms > 0.0);
            prop_assert!(r.m > 0 && r.n > 0 && r.k > 0);
            prop_assert!(r.host_floor_us.is_none_or(|us| us.is_finite() && us > 0.0));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, rng_seed: seed(), ..ProptestConfig::default() })]

    #[test]
    fn byte_mutations_never_panic(which in 0usize..2, edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12)) {
        let mut bytes = FILES[which].as_bytes().to_vec();
        for (pos, byte) in edits {
            let i = pos % bytes.len();
            bytes[i] = byte;
        }
        check(&bytes)?;
    }

    #[test]
    fn token_mutations_never_panic(which in 0usize..2, ops in prop::collection::vec((0u8..3, any::<usize>(), any::<usize>()), 1..8)) {
        let mut cells: Vec<String> = FILES[which].split(',').map(str::to_string).collect();
        for (op, a, b) in ops {
            let n = cells.len();
            let (i, j) = (a % n, b % n);
            match op {
                0 => { cells.remove(i); }
                1 => cells.swap(i, j),
                _ => cells[i] = TOKENS[b % TOKENS.len()].to_string(),
            }
            if cells.is_empty() { break; }
        }
        check(cells.join(",").as_bytes())?;
    }
}
