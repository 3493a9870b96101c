//! The alpha-beta collectives against hand calculations
//! (docs/model/collectives.md), on the embedded HGX H100 system (NVLink 4:
//! 450 GB/s a direction, 1 us a step) and on a two-node variant of it.

use mlsim_engine::collectives::{Algorithm, Collective, Fabric, cost, cost_with};

fn hgx_h100() -> mlsim_hw::System {
    mlsim_hw::load_system("hgx-h100-8").unwrap()
}

fn close(what: &str, got: f64, expected: f64) {
    assert!(
        (got - expected).abs() <= 1e-9 * expected.abs(),
        "{what}: got {got}, by hand {expected}"
    );
}

/// 1 GB over 8 GPUs: ring = 2 x 7 steps x 1 us + 2 x 7/8 x 1e9 B / 450e9
/// B/s = 14 us + 3.888889 ms = 3.902889 ms; tree = 6 x 1 us + 2e9 / 450e9
/// = 4.450444 ms, so ring. busbw = 1e9 / 3.902889 ms x 2 x 7/8 = 448.39
/// GB/s, just under the link's 450.
#[test]
fn a_ring_all_reduce_of_1_gb_over_8_h100s() {
    let fabric = Fabric::of(&hgx_h100(), 8).unwrap();
    let c = cost(Collective::AllReduce, 1e9, 8, fabric);
    assert_eq!(c.algorithm, Algorithm::Ring);
    assert_eq!(c.steps, 14);
    close("time", c.time_s, 14e-6 + 1.75e9 / 450e9);
    close(
        "busbw",
        c.busbw_bytes_per_s,
        1e9 / (14e-6 + 1.75e9 / 450e9) * 1.75,
    );
    let tree = cost_with(Collective::AllReduce, Algorithm::Tree, 1e9, 8, fabric).unwrap();
    close("tree", tree.time_s, 6e-6 + 2e9 / 450e9);
}

/// 16 KiB (one token's hidden state of 8192 bf16 values): ring = 14 us +
/// 1.75 x 16384 / 450e9 = 14.0637 us; tree = 6 us + 2 x 16384 / 450e9 =
/// 6.0728 us: latency rules, so the tree (as NCCL picks for small sizes).
#[test]
fn a_small_all_reduce_takes_the_tree() {
    let fabric = Fabric::of(&hgx_h100(), 8).unwrap();
    let c = cost(Collective::AllReduce, 16384.0, 8, fabric);
    assert_eq!(c.algorithm, Algorithm::Tree);
    close("time", c.time_s, 6e-6 + 32768.0 / 450e9);
}

/// A TP=8 decode step of a Llama-3-70B-shaped model (80 layers, hidden
/// 8192, batch 1, bf16): two all-reduces of 16 KiB per layer (after the
/// attention output and the MLP down projection) = 160 x 6.0728 us =
/// 971.65 us of communication.
#[test]
fn the_communication_of_a_tp8_decode_step() {
    let fabric = Fabric::of(&hgx_h100(), 8).unwrap();
    let per_layer = 2.0 * cost(Collective::AllReduce, 8192.0 * 2.0, 8, fabric).time_s;
    close("step", 80.0 * per_layer, 160.0 * (6e-6 + 32768.0 / 450e9));
}

/// Ring all-gather and reduce-scatter: 7 steps and 7/8 of S; all-to-all
/// pairwise the same. 64 MiB: 7 us + 7/8 x 67108864 / 450e9 = 137.49 us.
#[test]
fn gather_scatter_and_all_to_all_send_seven_eighths() {
    let fabric = Fabric::of(&hgx_h100(), 8).unwrap();
    let s = 67_108_864.0;
    for c in [
        Collective::AllGather,
        Collective::ReduceScatter,
        Collective::AllToAll,
    ] {
        let got = cost(c, s, 8, fabric);
        assert_eq!(got.steps, 7, "{c:?}");
        close(c.as_str(), got.time_s, 7e-6 + 0.875 * s / 450e9);
        close(
            "busbw factor",
            got.busbw_bytes_per_s,
            s / got.time_s * 0.875,
        );
    }
}

/// One rank exchanges nothing.
#[test]
fn one_rank_costs_nothing() {
    let fabric = Fabric::of(&hgx_h100(), 1).unwrap();
    let c = cost(Collective::AllReduce, 1e9, 1, fabric);
    assert_eq!((c.algorithm, c.time_s), (Algorithm::Local, 0.0));
}

/// Two HGX H100 nodes on eight 400 Gb/s adapters each: a chip's share of
/// the network is 400e9 / 8 = 50 GB/s, below NVLink's 450, at the
/// network's 3 us a step. All-gather of 1 GB over 16 ranks: 15 x 3 us +
/// 15/16 x 1e9 / 50e9 = 18.795 ms.
#[test]
fn across_nodes_the_network_is_the_bottleneck() {
    let dir = std::env::temp_dir().join("mlsim-collectives-two-nodes");
    std::fs::create_dir_all(&dir).unwrap();
    let text = mlsim_hw::system_presets()
        .find(|p| p.name == "hgx-h100-8")
        .unwrap()
        .text
        .replace("chips_per_node = 8", "chips_per_node = 8\nnodes = 2");
    let path = dir.join("two-nodes.toml");
    std::fs::write(&path, text).unwrap();
    let system = mlsim_hw::load_system(path.to_str().unwrap()).unwrap();
    assert_eq!(system.chips(), 16);
    let fabric = Fabric::of(&system, 16).unwrap();
    close("bandwidth", fabric.bandwidth_bytes_per_s, 50e9);
    let c = cost(Collective::AllGather, 1e9, 16, fabric);
    close("time", c.time_s, 45e-6 + 0.9375 * 1e9 / 50e9);
    // Within one node the network is not used.
    close(
        "in a node",
        Fabric::of(&system, 8).unwrap().bandwidth_bytes_per_s,
        450e9,
    );
}

/// More bytes never take less time, more bandwidth never more, for every
/// collective and rank count.
#[test]
fn collectives_respect_the_laws() {
    let slow = Fabric {
        bandwidth_bytes_per_s: 100e9,
        latency_s: 2e-6,
    };
    let fast = Fabric {
        bandwidth_bytes_per_s: 200e9,
        ..slow
    };
    for c in Collective::ALL {
        for ranks in [2, 3, 8, 64] {
            let mut last = 0.0;
            for bytes in [0.0, 1.0, 1e3, 1e6, 1e9] {
                let t = cost(c, bytes, ranks, slow).time_s;
                assert!(t >= last, "{c:?} {ranks} ranks {bytes} B");
                assert!(cost(c, bytes, ranks, fast).time_s <= t);
                last = t;
            }
        }
    }
}

/// Sizes as users write them.
#[test]
fn message_sizes_parse_with_their_suffixes() {
    use mlsim_engine::collectives::parse_bytes;
    assert_eq!(parse_bytes("16KiB"), Ok(16_384.0));
    assert_eq!(parse_bytes("2MiB"), Ok(2_097_152.0));
    assert_eq!(parse_bytes("1GB"), Ok(1e9));
    assert_eq!(parse_bytes(" 1e9 "), Ok(1e9));
    assert_eq!(parse_bytes("3kb"), Ok(3000.0));
    for bad in ["1x", "-1", "NaN", "", "GB"] {
        assert!(parse_bytes(bad).is_err(), "{bad}");
    }
}
