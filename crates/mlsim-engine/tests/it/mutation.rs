//! Mutation test of the chip- and stack-file loaders: random byte and token
//! edits of every embedded preset and stack give an error or a valid file,
//! never a panic; a valid file then predicts finite positive runtimes.

use mlsim_quant::Dtype;
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

const TOKENS: [&str; 22] = [
    "-1",
    "0",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "\"x\"",
    "[",
    "]",
    "{",
    "}",
    "=",
    "fp64",
    "[[memory]]",
    "true",
    "4294967296",
    "1e-300",
    "[compute.paths.fp16]",
    "emulated_by",
    "\"fp32\"",
    "\n",
    "#",
];

fn presets() -> Vec<&'static str> {
    mlsim_hw::presets().map(|p| p.text).collect()
}

fn stacks() -> Vec<&'static str> {
    mlsim_hw::stack_presets().map(|p| p.text).collect()
}

/// A mutated stack or framework file: an error, or (in place of the H100's
/// own) finite positive runtimes under every timing method.
fn check_stack(text: &str) -> Result<(), TestCaseError> {
    let mut setup = mlsim_hw::Setup::load("h100-sxm5", &Default::default()).unwrap();
    if let Ok(stack) = mlsim_hw::parse_stack(text, "mutant.toml") {
        setup.stack = stack;
    } else if let Ok(framework) = mlsim_hw::parse_framework(text, "mutant.toml") {
        setup.framework = framework;
    } else {
        return Ok(());
    }
    for timing in mlsim_hw::Timing::ALL {
        let t = setup.target().with_timing(timing);
        for (m, n, k) in [(1, 1, 1), (777, 3, 4096), (4096, 4096, 4096)] {
            for d in [Dtype::Fp32, Dtype::Fp16, Dtype::Int8] {
                let r = mlsim_engine::predict_matmul(&t, m, n, k, d).runtime_ms;
                prop_assert!(
                    r.is_finite() && r > 0.0,
                    "{timing} {m}x{n}x{k} {d}: {r}\n{text}"
                );
            }
        }
    }
    Ok(())
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let loaded = mlsim_hw::parse_chip(text, "mutant.toml")
        .and_then(|chip| mlsim_hw::Setup::with_chip(chip, &Default::default()));
    if let Ok(setup) = loaded {
        for (m, n, k) in [(1, 1, 1), (777, 3, 4096), (4096, 4096, 4096)] {
            for d in [Dtype::Fp32, Dtype::Fp16, Dtype::Int4] {
                let t = mlsim_engine::predict_matmul(&setup.target(), m, n, k, d).runtime_ms;
                prop_assert!(t.is_finite() && t > 0.0, "{m}x{n}x{k} {d}: {t}\n{text}");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, rng_seed: seed(), ..ProptestConfig::default() })]

    #[test]
    fn byte_mutations_never_panic(which in 0usize..64, edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12)) {
        let all = presets();
        let mut bytes = all[which % all.len()].as_bytes().to_vec();
        for (pos, byte) in edits {
            let i = pos % bytes.len();
            bytes[i] = byte;
        }
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn token_mutations_never_panic(which in 0usize..64, ops in prop::collection::vec((0u8..4, any::<usize>(), any::<usize>()), 1..8)) {
        let all = presets();
        let mut tokens: Vec<String> = all[which % all.len()].split(' ').map(str::to_string).collect();
        for (op, a, b) in ops {
            let n = tokens.len();
            let (i, j) = (a % n, b % n);
            match op {
                0 => { tokens.remove(i); }
                1 => { let t = tokens[i].clone(); tokens.insert(j, t); }
                2 => tokens.swap(i, j),
                _ => tokens[i] = TOKENS[b % TOKENS.len()].to_string(),
            }
            if tokens.is_empty() { break; }
        }
        check(&tokens.join(" "))?;
    }

    #[test]
    fn stack_byte_mutations_never_panic(which in 0usize..64, edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12)) {
        let all = stacks();
        let mut bytes = all[which % all.len()].as_bytes().to_vec();
        for (pos, byte) in edits {
            let i = pos % bytes.len();
            bytes[i] = byte;
        }
        check_stack(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn stack_token_mutations_never_panic(which in 0usize..64, ops in prop::collection::vec((0u8..4, any::<usize>(), any::<usize>()), 1..8)) {
        let all = stacks();
        let mut tokens: Vec<String> = all[which % all.len()].split(' ').map(str::to_string).collect();
        for (op, a, b) in ops {
            let n = tokens.len();
            let (i, j) = (a % n, b % n);
            match op {
                0 => { tokens.remove(i); }
                1 => { let t = tokens[i].clone(); tokens.insert(j, t); }
                2 => tokens.swap(i, j),
                _ => tokens[i] = TOKENS[b % TOKENS.len()].to_string(),
            }
            if tokens.is_empty() { break; }
        }
        check_stack(&tokens.join(" "))?;
    }
}
