//! Tensor- and pipeline-parallel serving against hand calculations
//! (docs/model/serving.md): Llama-3-70B (models/llama-3-70b.toml: hidden
//! 8192, 64 heads, 8 KV heads, head_dim 128, FFN 28672, 80 layers,
//! vocabulary 128256) on the HGX H100 system.

use mlsim_engine::serving::{Limits, Parallelism, best, serve, shard, step};
use mlsim_hw::{Setup, SetupSpec, Timing};
use mlsim_workload::transformer::{Phase, Scheme, load_model};

fn setup() -> (Setup, mlsim_hw::System) {
    let system = mlsim_hw::load_system("hgx-h100-8").unwrap();
    let spec = SetupSpec {
        framework: Some("cuda-graph"),
        timing: Some(Timing::BackToBack),
        ..SetupSpec::default()
    };
    (
        Setup::with_chip(system.chip.clone(), &spec).unwrap(),
        system,
    )
}

#[test]
fn a_tp8_shard_splits_heads_ffn_and_vocabulary() {
    let cfg = load_model("llama-3-70b").unwrap();
    let s = shard(&cfg, Parallelism { tp: 8, pp: 1 }).unwrap();
    assert_eq!(
        (s.heads, s.kv_heads, s.ffn_size, s.vocab_size, s.layers),
        (8, 1, 3584, 16032, 80)
    );
    // 16 ways: 4 heads each, the 8 KV heads replicated (one each).
    let s = shard(&cfg, Parallelism { tp: 16, pp: 3 }).unwrap();
    assert_eq!((s.heads, s.kv_heads, s.layers), (4, 1, 27));
    assert!(shard(&cfg, Parallelism { tp: 3, pp: 1 }).is_err());
}

/// Decode, batch 1, bf16, TP 8: per layer two all-reduces of one token's
/// 8192 bf16 values (16 KiB; tree: 6 x 1 us + 2 x 16384 / 450e9 = 6.07282
/// us), and once an all-gather of the logits, 128256 x 2 = 256,512 B (ring:
/// 7 x 1 us + 7/8 x 256512 / 450e9 = 7.49877 us): 80 x 2 x 6.07282 +
/// 7.49877 = 979.15 us.
#[test]
fn the_communication_of_a_tp8_decode_step() {
    let (s, system) = setup();
    let cfg = load_model("llama-3-70b").unwrap();
    let scheme: Scheme = "bf16".parse().unwrap();
    let st = step(
        &s.target(),
        &system,
        &cfg,
        Parallelism { tp: 8, pp: 1 },
        Phase::Decode {
            batch: 1,
            context: 1024,
        },
        &scheme,
    )
    .unwrap();
    let by_hand = 80.0 * 2.0 * (6e-6 + 32768.0 / 450e9) + (7e-6 + 0.875 * 256_512.0 / 450e9);
    assert!(
        (st.stage_collective_ms - by_hand * 1e3).abs() < 1e-9,
        "{st:?}"
    );
    assert_eq!(st.pipeline_send_ms, 0.0);
    assert!((st.step_ms - st.stage_compute_ms - st.stage_collective_ms).abs() < 1e-12);
}

/// Weights and KV cache per chip, TP 8 in bf16: KV per token per chip is
/// 2 (K and V) x 80 layers x 1 KV head x 128 x 2 B = 40,960 B, so 2048
/// tokens a sequence take 83,886,080 B; the sequences that fit are
/// (memory - weights per chip) / that.
#[test]
fn kv_capacity_per_chip() {
    let (s, system) = setup();
    let cfg = load_model("llama-3-70b").unwrap();
    let scheme: Scheme = "bf16".parse().unwrap();
    let p = serve(
        &s.target(),
        &system,
        &cfg,
        Parallelism { tp: 8, pp: 1 },
        &scheme,
        4,
        1024,
        1024,
        None,
    )
    .unwrap();
    let per_seq = 2.0 * 80.0 * 128.0 * 2.0 * 2048.0;
    assert_eq!(per_seq, 83_886_080.0);
    let memory = system.chip.main_memory().size_bytes;
    let weights = shard(&cfg, Parallelism { tp: 8, pp: 1 })
        .unwrap()
        .parameters()
        * 2.0;
    assert_eq!(p.weight_bytes_per_chip, weights);
    assert_eq!(
        p.max_sequences,
        ((memory - weights) / per_seq).floor() as u64
    );
    assert_eq!(p.kv_bytes_per_chip, 4.0 * per_seq);
    assert!(p.fits);
    // e2e = TTFT + 1023 TPOT; throughput per chip = 4 / TPOT / 8.
    assert!((p.e2e_latency_ms - (p.ttft_ms + 1023.0 * p.tpot_ms)).abs() < 1e-9);
    assert!((p.output_tokens_per_s_per_chip - 4.0 / (p.tpot_ms / 1e3) / 8.0).abs() < 1e-9);
}

/// The model does not fit on one H100 in bf16 (141 GB of weights), does
/// at TP 2; fp8 halves the weights. The search honours the limits.
#[test]
fn the_search_finds_a_configuration_within_the_limits() {
    let (s, system) = setup();
    let cfg = load_model("llama-3-70b").unwrap();
    let bf16: Scheme = "bf16".parse().unwrap();
    let fp8: Scheme = "fp8".parse().unwrap();
    let one = serve(
        &s.target(),
        &system,
        &cfg,
        Parallelism { tp: 1, pp: 1 },
        &bf16,
        1,
        128,
        128,
        None,
    )
    .unwrap();
    assert!(!one.fits && one.max_sequences == 0);
    let limits = Limits {
        ttft_ms: 2000.0,
        tpot_ms: 50.0,
    };
    let (found, tried) = best(
        &s.target(),
        &system,
        &cfg,
        &[bf16, fp8],
        1024,
        256,
        limits,
        256,
        None,
    );
    let found = found.expect("an 8-GPU node serves Llama-3-70B within 50 ms a token");
    assert!(found.fits && found.ttft_ms <= 2000.0 && found.tpot_ms <= 50.0);
    for p in tried
        .iter()
        .filter(|p| p.fits && p.ttft_ms <= 2000.0 && p.tpot_ms <= 50.0)
    {
        assert!(p.output_tokens_per_s_per_chip <= found.output_tokens_per_s_per_chip);
    }
}

/// Energy lies between every chip idle and every chip at its limit for the
/// whole request; the cost is the price of the chips over the request
/// time: $2.50 a chip-hour x chips x e2e / tokens.
#[test]
fn energy_and_cost_per_output_token() {
    let (s, system) = setup();
    let cfg = load_model("llama-3-70b").unwrap();
    let scheme: Scheme = "fp8".parse().unwrap();
    let par = Parallelism { tp: 8, pp: 1 };
    let p = serve(
        &s.target(),
        &system,
        &cfg,
        par,
        &scheme,
        16,
        1024,
        256,
        Some(2.5),
    )
    .unwrap();
    let tokens = 16.0 * 256.0;
    let seconds = p.e2e_latency_ms / 1e3;
    let j = p.joules_per_output_token.unwrap();
    assert!(
        j > 8.0 * 70.0 * seconds / tokens && j < 8.0 * 700.0 * seconds / tokens,
        "{j}"
    );
    let usd = p.usd_per_million_output_tokens.unwrap();
    assert!((usd - 2.5 * 8.0 * seconds / 3600.0 / tokens * 1e6).abs() < 1e-9 * usd);
    // A chip file without [power] gives no energy.
    let tpu = mlsim_hw::load_system("tpu-v6e-8").unwrap();
    let ts = Setup::with_chip(tpu.chip.clone(), &SetupSpec::default()).unwrap();
    let q = serve(&ts.target(), &tpu, &cfg, par, &scheme, 1, 128, 16, None).unwrap();
    assert_eq!(
        (q.joules_per_output_token, q.usd_per_million_output_tokens),
        (None, None)
    );
}

/// Mixtral-8x7B (models/mixtral-8x7b.toml: 8 experts, top 2, hidden 4096,
/// 32 layers, vocabulary 32000) at TP 8: one expert on each chip (expert
/// parallelism), the expert FFN whole. Decode, batch 1, bf16: per layer
/// an all-reduce of 4096 x 2 = 8192 B after attention (tree: 6 x 1 us +
/// 2 x 8192 / 450e9 = 6.03641 us) and two all-to-alls of 8192 x 2 / 8 =
/// 2048 B a rank (pairwise: 7 x 1 us + 7/8 x 2048 / 450e9 = 7.00398 us
/// each); the logits' all-gather, 32000 x 2 = 64000 B (ring: 7 us + 7/8 x
/// 64000 / 450e9 = 7.12444 us). 32 x (6.03641 + 2 x 7.00398) + 7.12444 =
/// 648.54 us.
#[test]
fn expert_parallel_decode_communication() {
    let (s, system) = setup();
    let cfg = load_model("mixtral-8x7b").unwrap();
    let par = Parallelism { tp: 8, pp: 1 };
    let sh = shard(&cfg, par).unwrap();
    let moe = sh.moe.unwrap();
    assert_eq!(
        (moe.expert_shards, moe.local_experts(), sh.ffn_size),
        (8, 1, 14336)
    );
    let st = step(
        &s.target(),
        &system,
        &cfg,
        par,
        Phase::Decode {
            batch: 1,
            context: 1024,
        },
        &"bf16".parse().unwrap(),
    )
    .unwrap();
    let by_hand = 32.0 * ((6e-6 + 2.0 * 8192.0 / 450e9) + 2.0 * (7e-6 + 0.875 * 2048.0 / 450e9))
        + (7e-6 + 0.875 * 64000.0 / 450e9);
    assert!(
        (st.stage_collective_ms - by_hand * 1e3).abs() < 1e-9,
        "{st:?}"
    );
    // Three ways do not divide 8 experts (nor 32 heads).
    assert!(shard(&cfg, Parallelism { tp: 3, pp: 1 }).is_err());
}

/// Prefill of 2 prompts of 128 tokens at TP 8, bf16: per layer two
/// all-reduces of 256 tokens x 8192 x 2 = 4,194,304 B (tree: 6 x 1 us + 2
/// x 4194304 / 450e9 = 24.6414 us; ring would be 30.3112); the logits of
/// the 2 last tokens only, 2 x 128256 x 2 = 513,024 B (ring: 7 us + 7/8 x
/// 513024 / 450e9 = 7.99755 us): 80 x 2 x 24.6414 + 7.99755 = 3950.62 us.
#[test]
fn the_communication_of_a_tp8_prefill() {
    let (s, system) = setup();
    let st = step(
        &s.target(),
        &system,
        &load_model("llama-3-70b").unwrap(),
        Parallelism { tp: 8, pp: 1 },
        Phase::Prefill {
            batch: 2,
            prompt: 128,
        },
        &"bf16".parse().unwrap(),
    )
    .unwrap();
    let by_hand =
        80.0 * 2.0 * (6e-6 + 2.0 * 4_194_304.0 / 450e9) + (7e-6 + 0.875 * 513_024.0 / 450e9);
    assert!(
        (st.stage_collective_ms - by_hand * 1e3).abs() < 1e-9,
        "{st:?}"
    );
}
