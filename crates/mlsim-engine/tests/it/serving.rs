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

/// A system and its chips on a CUDA-graph engine.
fn on(name: &str) -> (Setup, mlsim_hw::System) {
    let system = mlsim_hw::load_system(name).unwrap();
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

/// DeepSeek-V3 (models/deepseek-v3.toml) at TP 8: 16 heads a chip, 32
/// routed experts a chip (expert parallelism) and the shared expert whole,
/// the 3 dense layers' FFN 18432 / 8 = 2304, vocabulary 129280 / 8 =
/// 16160, and the latent cache whole on every chip (it has no head to
/// split): 61 x (512 + 64) x 1 B = 35,136 B a token in fp8. Weights a chip
/// by hand:
/// - attention 7168 x 1536 + 1536 x 16 x 192 + 1536 + 7168 x 576 + 512 x
///   16 x 256 + 16 x 128 x 7168 + 512 = 36,636,672 (the two latent
///   projections whole, the rest by heads);
/// - a layer of experts (32 + 1) x 3 x 7168 x 2048 + 7168 x 256 + 2 x 7168
///   plus attention = 1,491,812,352; a dense layer 36,636,672 + 3 x 7168 x
///   2304 + 14,336 = 86,196,224; embedding and head 2 x 16160 x 7168;
/// - 58 x 1,491,812,352 + 3 x 86,196,224 + 231,669,760 = 87,015,374,848,
///   87.0 GB in fp8: more than an H100's 80 GiB (85.9e9 B), so no split
///   of hgx-h100-8 holds the model in fp8; an H200's 141e9 B leave
///   53,984,625,152 B, floor(that / (35,136 x 1280)) = 1200 sequences of
///   1024 + 256 tokens.
#[test]
fn deepseek_v3_tp8_shard_weights_and_latent_cache() {
    let cfg = load_model("deepseek-v3").unwrap();
    let par = Parallelism { tp: 8, pp: 1 };
    let sh = shard(&cfg, par).unwrap();
    let moe = sh.moe.unwrap();
    assert_eq!(
        (sh.heads, sh.ffn_size, sh.vocab_size, sh.layers),
        (16, 2304, 16160, 61)
    );
    assert_eq!(
        (
            moe.local_experts(),
            moe.shared_experts,
            sh.expert_ffn_size(),
            moe.dense_layers
        ),
        (32, 1, 2048, 3)
    );
    assert_eq!(sh.attention_parameters(), 36_636_672.0);
    assert_eq!(sh.layer_parameters(), 1_491_812_352.0);
    assert_eq!(sh.parameters(), 87_015_374_848.0);
    let fp8: Scheme = "fp8".parse().unwrap();
    let (s, h200) = on("hgx-h200-8");
    let p = serve(&s.target(), &h200, &cfg, par, &fp8, 16, 1024, 256, None).unwrap();
    assert_eq!(p.kv_bytes_per_token_per_chip, 35_136.0);
    assert_eq!(p.kv_bytes_per_chip, 16.0 * 35_136.0 * 1280.0);
    assert_eq!(p.weight_bytes_per_chip, 87_015_374_848.0);
    assert_eq!(p.max_sequences, 1200);
    assert!(p.fits);
    // On H100s nothing fits in fp8; in 4-bit weights it does.
    let (s, h100) = on("hgx-h100-8");
    let limits = Limits {
        ttft_ms: f64::INFINITY,
        tpot_ms: f64::INFINITY,
    };
    let none = best(
        &s.target(),
        &h100,
        &cfg,
        std::slice::from_ref(&fp8),
        1024,
        256,
        limits,
        64,
        None,
    );
    assert!(none.0.is_none() && none.1.iter().all(|p| !p.fits));
    let w4: Scheme = "w4a16".parse().unwrap();
    let some = best(&s.target(), &h100, &cfg, &[w4], 1024, 256, limits, 64, None);
    assert!(some.0.is_some_and(|p| p.fits && p.parallelism.tp == 8));
}

/// DeepSeek-V3 decode at TP 8, batch 1, bf16: per layer an all-reduce
/// after attention of 7168 x 2 = 14,336 B (tree: 6 x 1 us + 2 x 14336 /
/// 450e9 = 6.063716 us); the 3 dense layers a second all-reduce; the 58
/// layers of experts two all-to-alls of 14336 x 8 / 8 = 14,336 B a rank
/// (pairwise: 7 x 1 us + 7/8 x 14336 / 450e9 = 7.027876 us); the logits'
/// all-gather, 129280 x 2 = 258,560 B (ring: 7 us + 7/8 x 258560 / 450e9
/// = 7.502756 us). 64 x 6.063716 + 116 x 7.027876 + 7.502756 = 1210.81
/// us, of which the all-to-alls 815.23 us. The decode step uses the
/// weight-absorbed latent attention over the 16 heads of a chip.
#[test]
fn deepseek_v3_tp8_decode_communication() {
    let (s, system) = on("hgx-h200-8");
    let cfg = load_model("deepseek-v3").unwrap();
    let par = Parallelism { tp: 8, pp: 1 };
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
    let ar = 6e-6 + 2.0 * 14_336.0 / 450e9;
    let a2a = 7e-6 + 0.875 * 14_336.0 / 450e9;
    let ag = 7e-6 + 0.875 * 258_560.0 / 450e9;
    let by_hand = 64.0 * ar + 116.0 * a2a + ag;
    assert!(
        (st.stage_collective_ms - by_hand * 1e3).abs() < 1e-9,
        "{st:?}"
    );
    assert!((st.stage_all_to_all_ms - 116.0 * a2a * 1e3).abs() < 1e-9);
    let ops = mlsim_workload::transformer::ops(
        &shard(&cfg, par).unwrap(),
        Phase::Decode {
            batch: 1,
            context: 1024,
        },
        &"bf16".parse().unwrap(),
    );
    let absorb = ops.iter().find(|o| o.name == "q_absorb").unwrap();
    assert_eq!(
        absorb.shape,
        mlsim_workload::transformer::OpShape::Gemm {
            batch: 16,
            m: 1,
            n: 512,
            k: 128
        }
    );
}

/// Routing imbalance 2 on Mixtral-8x7B at TP 8 (one expert a chip),
/// decode batch 1, bf16: the busiest chip receives twice the mean, so
/// each all-to-all moves 2048 x 2 = 4096 B a rank (7 us + 7/8 x 4096 /
/// 450e9 = 7.007964 us): 32 x (6.036409 + 2 x 7.007964) + 7.124444 =
/// 648.80 us (648.54 balanced); its expert GEMMs compute 1 x 2 / 8 x 2 =
/// 0.5 token-expert pairs, up 2 x 0.5 x 28672 x 4096 FLOPs. 100 is
/// capped at the 8 chips (all 2 pairs on one: 16,384 B a rank); at TP 1
/// nothing changes.
#[test]
fn routing_imbalance_sets_the_busiest_chip() {
    let (s, system) = setup();
    let cfg = load_model("mixtral-8x7b").unwrap();
    let skewed = cfg.clone().with_moe_imbalance(2.0).unwrap();
    let par = Parallelism { tp: 8, pp: 1 };
    let decode = Phase::Decode {
        batch: 1,
        context: 1024,
    };
    let bf16: Scheme = "bf16".parse().unwrap();
    let time = |c: &mlsim_workload::transformer::ModelConfig, par| {
        step(&s.target(), &system, c, par, decode, &bf16).unwrap()
    };
    let ar = 6e-6 + 2.0 * 8192.0 / 450e9;
    let ag = 7e-6 + 0.875 * 64000.0 / 450e9;
    // 1 token x 2 pairs x 4096 x 2 B / 8 ranks x R = 2048 R bytes a rank;
    // R is capped at 4: a token's 2 pairs go to 2 distinct experts, one a
    // chip, so the busiest chip takes at most 1 of 2 (8 x 1 / 2).
    for (imbalance, bytes) in [(2.0, 4096.0), (4.0, 8192.0), (100.0, 8192.0)] {
        let c = cfg.clone().with_moe_imbalance(imbalance).unwrap();
        let a2a = 7e-6 + 0.875 * bytes / 450e9;
        let by_hand = 32.0 * (ar + 2.0 * a2a) + ag;
        let st = time(&c, par);
        assert!(
            (st.stage_collective_ms - by_hand * 1e3).abs() < 1e-9,
            "{imbalance}: {st:?}"
        );
    }
    let ops = mlsim_workload::transformer::ops(&shard(&skewed, par).unwrap(), decode, &bf16);
    let up = ops.iter().find(|o| o.name == "expert_up").unwrap();
    assert_eq!(up.flops, 2.0 * 0.5 * 28672.0 * 4096.0);
    assert!(time(&skewed, par).stage_compute_ms > time(&cfg, par).stage_compute_ms);
    let one = Parallelism { tp: 1, pp: 1 };
    assert_eq!(time(&skewed, one), time(&cfg, one));
    let p = serve(&s.target(), &system, &skewed, par, &bf16, 1, 128, 16, None).unwrap();
    assert_eq!(p.moe_imbalance, Some(2.0));
}

/// Data-parallel replicas: Llama-3-70B in fp8 at TP 4 on the 8-GPU node
/// runs 2 replicas, each with its batch; the system's throughput is twice
/// one replica's, and per chip it is the system's over 8 = one replica's
/// over 4.
#[test]
fn replicas_fill_the_system() {
    let (s, system) = setup();
    let cfg = load_model("llama-3-70b").unwrap();
    let fp8: Scheme = "fp8".parse().unwrap();
    let p = serve(
        &s.target(),
        &system,
        &cfg,
        Parallelism { tp: 4, pp: 1 },
        &fp8,
        8,
        1024,
        256,
        None,
    )
    .unwrap();
    assert_eq!(p.replicas, 2);
    assert_eq!(p.system_output_tokens_per_s, 2.0 * p.output_tokens_per_s);
    assert_eq!(
        p.output_tokens_per_s_per_chip,
        p.system_output_tokens_per_s / 8.0
    );
    assert!((p.output_tokens_per_s_per_chip - p.output_tokens_per_s / 4.0).abs() < 1e-12);
    let whole = serve(
        &s.target(),
        &system,
        &cfg,
        Parallelism { tp: 8, pp: 1 },
        &fp8,
        8,
        1024,
        256,
        None,
    )
    .unwrap();
    assert_eq!(whole.replicas, 1);
}
