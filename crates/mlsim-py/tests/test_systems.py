"""Systems, collectives and serving from Python: the CLI's numbers (`mlsim systems list`,
`mlsim collective`, `mlsim serve` with --format json), hand checks and the CLI's errors."""

import pathlib

import pytest

import mlsim

ROOT = pathlib.Path(__file__).resolve().parents[3]


# --- systems ------------------------------------------------------------------------------------


def test_systems_equal_cli_systems_list(cli):
    expected = cli.json("systems", "list")
    assert mlsim.systems() == expected
    assert len(expected) >= 4
    for entry in expected:
        assert mlsim.system(entry["name"]).to_dict() == entry


def test_a_system_has_its_datasheet_fields():
    # HGX H100: 8 H100 SXM5 on NVLink 4, 900 GB/s both directions over 18
    # links (450 one way), 1 us a step; 8 x 400 Gb/s NDR adapters for 8
    # GPUs, 3 us: 400e9 / 8 bytes = 50 GB/s a chip (systems/hgx-h100-8.toml).
    s = mlsim.system("hgx-h100-8")
    assert (s.name, s.chips_per_node, s.nodes, s.chips) == ("hgx-h100-8", 8, 1, 8)
    assert isinstance(s.chip, mlsim.Chip) and s.chip.name == "h100-sxm5"
    assert (s.scale_up, s.scale_up_gb_s, s.scale_up_latency_us, s.scale_up_links) == ("NVLink 4", 450.0, 1.0, 18)
    assert s.topology == "switch"
    assert s.network == {"name": "InfiniBand NDR", "nics_per_node": 8, "gbit_s_per_nic": 400.0,
                         "latency_us": 3.0, "gb_s_per_chip": 50.0}
    assert s.sources and all(isinstance(x, str) for x in s.sources)
    # MI300X: 7 Infinity Fabric links of 64 GB/s to its peers = 448 one way.
    m = mlsim.system("mi300x-8")
    assert (m.chip.name, m.scale_up_gb_s, m.topology) == ("mi300x", 448.0, "fully-connected")
    # A TPU v6e-8 slice: ICI 800 GB/s both directions, a torus, no network.
    t = mlsim.system("tpu-v6e-8")
    assert (t.scale_up_gb_s, t.topology, t.network) == (400.0, "torus", None)
    # The chip is the one mlsim.chip gives (default setup).
    w = mlsim.matmul(4096, 4096, 4096, "bf16")
    assert s.chip.predict(w).to_dict() == mlsim.chip("h100-sxm5").predict(w).to_dict()


GOOD = """name = "my-node"
display_name = "a node"
kind = "system"
chip = "h100-sxm5"
chips_per_node = 8
scale_up = "NVLink 4"
topology = "switch"
sources = ["made up"]
"""

TWO_NODES = GOOD.replace('name = "my-node"', 'name = "two-hgx"') + (
    "nodes = 2\n\n[network]\nname = \"IB\"\nnics_per_node = 8\ngbit_s_per_nic = 400\nlatency_us = 3\n")

# Broken variants of GOOD (crates/mlsim-hw/tests/it/systems.rs has the same).
BROKEN = {
    "zero-chips": ("chips_per_node = 8", "chips_per_node = 0"),
    "unknown-link": ('"NVLink 4"', '"NVLink 9"'),
    "unknown-topology": ('"switch"', '"mesh"'),
    "unknown-chip": ('chip = "h100-sxm5"', 'chip = "h100-sxm6"'),
    "wrong-kind": ('kind = "system"', 'kind = "library"'),
    "nodes-without-network": ("chips_per_node = 8", "chips_per_node = 8\nnodes = 2"),
    "unknown-field": ('topology = "switch"', 'topology = "switch"\nswitches = 4'),
    # [network] as a table comes after the top-level keys.
    "negative-network": ("sources = [\"made up\"]\n", 'sources = ["made up"]\n\n[network]\nname = "IB"\n'
                         'nics_per_node = 8\ngbit_s_per_nic = -400\nlatency_us = 3\n'),
    "not-toml": ("[", "[["),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_system_files_raise_the_cli_message(cli, tmp_path, name):
    path = tmp_path / f"{name}.toml"
    old, new = BROKEN[name]
    text = GOOD.replace(old, new)
    assert text != GOOD
    path.write_text(text)
    with pytest.raises(mlsim.SystemFileError) as e:
        mlsim.system(path)
    message = str(e.value)
    assert message.startswith(f"{path}:"), message
    assert message == cli.error("collective", "--system", path, "--op", "all-reduce", "--bytes", 1)
    # A SystemFileError is a ChipFileError and a ValueError.
    assert isinstance(e.value, mlsim.ChipFileError) and isinstance(e.value, ValueError)
    # Every function taking a system raises the same.
    with pytest.raises(mlsim.SystemFileError) as e2:
        mlsim.collective(path, "all-reduce", 1)
    assert str(e2.value) == message
    with pytest.raises(mlsim.SystemFileError) as e3:
        mlsim.serve("gpt2", path)
    assert str(e3.value) == message


def test_unknown_and_missing_systems_say_what_the_cli_says(cli, tmp_path):
    for given in ("hgx-h100-9", tmp_path / "nope.toml", "rack-of-everything"):
        with pytest.raises(mlsim.SystemFileError) as e:
            mlsim.system(given)
        assert str(e.value) == cli.error("collective", "--system", given, "--op", "all-reduce", "--bytes", 1)


# --- collectives --------------------------------------------------------------------------------

COLLECTIVE_CASES = [
    ("hgx-h100-8", "all-reduce", ["16KiB", "1MiB", "1GB"], None),
    ("mi300x-8", "all-to-all", ["64MiB"], 4),
    ("tpu-v6e-8", "all-gather", ["1e9", "0", "12345"], None),
    ("hgx-b200-8", "reduce-scatter", ["1k", "1m", "1g", "1GiB"], 2),
    ("hgx-h100-8", "all-reduce", ["1MB"], 1),
]


@pytest.mark.parametrize("system,op,sizes,ranks", COLLECTIVE_CASES, ids=[f"{c[0]}-{c[1]}" for c in COLLECTIVE_CASES])
def test_collective_equals_cli(cli, system, op, sizes, ranks):
    args = ["collective", "--system", system, "--op", op, "--bytes", ",".join(sizes)]
    if ranks is not None:
        args += ["--ranks", ranks]
    expected = cli.json(*args)
    assert mlsim.collective(system, op, sizes, ranks) == expected
    assert mlsim.collective(mlsim.system(system), op, sizes, ranks=ranks) == expected
    # One size alone is a list of one.
    assert mlsim.collective(system, op, sizes[0], ranks)["costs"] == expected["costs"][:1]


def test_collective_sizes_as_numbers_equal_cli(cli):
    expected = cli.json("collective", "--system", "hgx-h100-8", "--op", "all-reduce", "--bytes", "16384,1000000000")
    assert mlsim.collective("hgx-h100-8", "all-reduce", [16384, 1e9]) == expected
    assert mlsim.collective("hgx-h100-8", "all_reduce", (16384, "1GB")) == expected


def test_collective_by_hand():
    # docs/model/collectives.md: a ring all-reduce of 1 GB on 8 H100s,
    # 14 x 1 us + 2 x 7/8 x 1e9 / 450e9 = 3902.9 us, busbw 448.4 GB/s; a
    # 16 KiB one by tree, 6 x 1 us + 2 x 16384 / 450e9 = 6.073 us.
    big, small = mlsim.collective("hgx-h100-8", "all-reduce", ["1GB", "16KiB"])["costs"]
    assert (big["algorithm"], big["steps"]) == ("ring", 14)
    assert big["time_s"] == pytest.approx(14e-6 + 1.75e9 / 450e9, rel=1e-12)
    assert big["busbw_bytes_per_s"] == pytest.approx(1e9 / big["time_s"] * 2 * 7 / 8, rel=1e-12)
    assert (small["algorithm"], small["steps"]) == ("tree", 6)
    assert small["time_s"] == pytest.approx(6e-6 + 32768 / 450e9, rel=1e-12)


def test_collective_across_nodes_equals_cli_and_the_hand_check(cli, tmp_path):
    # An all-gather of 1 GB over 16 ranks on 2 HGX nodes: 15 x 3 us +
    # 15/16 x 1e9 / 50e9 = 18,795 us (the network is the bottleneck).
    path = tmp_path / "two-hgx.toml"
    path.write_text(TWO_NODES)
    s = mlsim.system(path)
    assert (s.nodes, s.chips) == (2, 16)
    expected = cli.json("collective", "--system", path, "--op", "all-gather", "--bytes", "1GB", "--ranks", 16)
    got = mlsim.collective(s, "all-gather", "1GB", ranks=16)
    assert got == expected
    assert got["costs"][0]["time_s"] * 1e6 == pytest.approx(18795, rel=1e-12)
    assert mlsim.collective(path, "all-gather", "1GB") == expected


@pytest.mark.parametrize("ranks", [0, 9, -1])
def test_collective_ranks_out_of_range_say_what_the_cli_says(cli, ranks):
    with pytest.raises(ValueError) as e:
        mlsim.collective("hgx-h100-8", "all-reduce", "1MB", ranks)
    assert type(e.value) is ValueError
    expected = cli.error("collective", "--system", "hgx-h100-8", "--op", "all-reduce", "--bytes", "1MB",
                         f"--ranks={ranks}") if ranks >= 0 else None
    if expected is not None:
        assert str(e.value) == expected.replace("--ranks", "ranks")
    else:  # the CLI's --ranks is unsigned: clap refuses -1 before the command runs
        assert str(e.value) == "ranks -1: system `hgx-h100-8` has 8 chips (give 1 to 8)"


def test_collective_bad_arguments_are_value_errors():
    for call in (
        lambda: mlsim.collective("hgx-h100-8", "broadcast", 1),
        lambda: mlsim.collective("hgx-h100-8", "all-reduce", "1TB"),
        lambda: mlsim.collective("hgx-h100-8", "all-reduce", "lots"),
        lambda: mlsim.collective("hgx-h100-8", "all-reduce", -1),
        lambda: mlsim.collective("hgx-h100-8", "all-reduce", float("nan")),
        lambda: mlsim.collective("hgx-h100-8", "all-reduce", float("inf")),
        lambda: mlsim.collective("hgx-h100-8", "all-reduce", []),
        lambda: mlsim.collective("hgx-h100-8", "all-reduce", None),
        lambda: mlsim.collective("hgx-h100-8", "all-reduce", [1, None]),
    ):
        with pytest.raises(ValueError) as e:
            call()
        assert type(e.value) is ValueError, e.value
        assert str(e.value)


# --- serving ------------------------------------------------------------------------------------

SERVE_CASES = [
    # The README's and docs/model/serving.md's example.
    ("llama-3-70b", "hgx-h100-8", dict(ttft_ms=500, tpot_ms=50, usd_per_hour=2.5),
     ["--ttft-ms", 500, "--tpot-ms", 50, "--usd-per-hour", 2.5]),
    # The CLI's second example.
    ("llama-3-8b", "mi300x-8", dict(schemes=["bf16", "fp8"], prompt=2048, output=512),
     ["--schemes", "bf16,fp8", "--prompt", 2048, "--output", 512]),
    # Defaults; a chip without [power] (no energy).
    ("gpt2", "tpu-v6e-8", {}, []),
    # A framework given: no CUDA-graph default.
    ("llama-3-8b", "hgx-b200-8", dict(framework="pytorch-eager", max_batch=64),
     ["--framework", "pytorch-eager", "--max-batch", 64]),
    ("mistral-7b", "hgx-h100-8", dict(timing="kernel", schemes=["w4a16", "fp8kv"]),
     ["--timing", "kernel", "--schemes", "w4a16,fp8kv"]),
    ("llama-3-8b", "hgx-h100-8", dict(stack="cublas-hopper", host_floor_us=5, tpot_ms=8),
     ["--stack", "cublas-hopper", "--host-floor-us", 5, "--tpot-ms", 8]),
    # Nothing meets a 1 ms TTFT: best is None.
    ("llama-3-70b", "hgx-h100-8", dict(ttft_ms=1), ["--ttft-ms", 1]),
    # A skewed mixture of experts; DeepSeek-V3's latent attention on H200s.
    ("mixtral-8x7b", "hgx-h100-8", dict(moe_imbalance=1.5, schemes=["bf16", "fp8"]),
     ["--moe-imbalance", 1.5, "--schemes", "bf16,fp8"]),
    ("deepseek-v3", "hgx-h200-8", dict(schemes=["fp8"], max_batch=64), ["--schemes", "fp8", "--max-batch", 64]),
]


@pytest.mark.parametrize("model,system,kwargs,flags", SERVE_CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in
                                                                          enumerate(SERVE_CASES)])
def test_serve_equals_cli(cli, model, system, kwargs, flags):
    expected = cli.json("serve", "--model", model, "--system", system, *flags)
    assert mlsim.serve(model, system, **kwargs) == expected
    assert mlsim.serve(model, mlsim.system(system), **kwargs) == expected


def test_serve_results_meet_their_limits():
    r = mlsim.serve("llama-3-70b", "hgx-h100-8", ttft_ms=500, tpot_ms=50, usd_per_hour=2.5)
    assert r["framework"] == "cuda-graph" and r["limits"] == {"ttft_ms": 500.0, "tpot_ms": 50.0}
    bests = [p["best"] for p in r["per_scheme"] if p["best"]]
    assert r["best"] == max(bests, key=lambda b: b["output_tokens_per_s_per_chip"])
    for b in bests:
        assert b["fits"] and b["ttft_ms"] <= 500 and b["tpot_ms"] <= 50
        # e2e = TTFT + (output - 1) x TPOT; tokens/s = batch / TPOT, per chip / (tp pp).
        assert b["e2e_latency_ms"] == pytest.approx(b["ttft_ms"] + 255 * b["tpot_ms"], rel=1e-12)
        chips = b["parallelism"]["tp"] * b["parallelism"]["pp"]
        assert b["output_tokens_per_s_per_chip"] == pytest.approx(b["batch"] / (b["tpot_ms"] / 1e3) / chips)
        # $ per million tokens: the chips' price over the request time.
        usd = 2.5 * chips * b["e2e_latency_ms"] / 3.6e6 / (b["batch"] * 256) * 1e6
        assert b["usd_per_million_output_tokens"] == pytest.approx(usd, rel=1e-12)
    assert mlsim.serve("llama-3-70b", "hgx-h100-8", ttft_ms=1)["best"] is None
    assert mlsim.serve("gpt2", "tpu-v6e-8")["limits"] == {"ttft_ms": None, "tpot_ms": None}


SERVE_ERRORS = [
    (dict(ttft_ms=-1), ["--ttft-ms=-1"], "--ttft-ms", "ttft_ms"),
    (dict(tpot_ms=0), ["--tpot-ms", 0], "--tpot-ms", "tpot_ms"),
    (dict(tpot_ms=float("nan")), ["--tpot-ms", "NaN"], "--tpot-ms", "tpot_ms"),
    (dict(usd_per_hour=-1), ["--usd-per-hour=-1"], "--usd-per-hour", "usd_per_hour"),
    (dict(prompt=0), ["--prompt", 0], "--prompt", "prompt"),
    (dict(output=1 << 25), ["--output", 1 << 25], "--output", "output"),
    (dict(max_batch=0), ["--max-batch", 0], "--max-batch", "max_batch"),
    (dict(timing="sometimes"), None, None, None),
    (dict(host_floor_us=-1), ["--host-floor-us=-1"], "--host-floor-us", "host_floor_us"),
    (dict(schemes=["w3a5"]), None, None, None),
    (dict(schemes=[]), None, None, None),
]


@pytest.mark.parametrize("kwargs,flags,flag,name", SERVE_ERRORS, ids=[str(c[0]) for c in SERVE_ERRORS])
def test_serve_bad_arguments_say_what_the_cli_says(cli, kwargs, flags, flag, name):
    with pytest.raises(ValueError) as e:
        mlsim.serve("llama-3-70b", "hgx-h100-8", **kwargs)
    assert type(e.value) is ValueError, e.value
    if flags is not None:
        expected = cli.error("serve", "--model", "llama-3-70b", "--system", "hgx-h100-8", *flags)
        assert str(e.value) == expected.replace(flag, name)


def test_serve_bad_files_say_what_the_cli_says(cli, tmp_path):
    with pytest.raises(ValueError) as e:
        mlsim.serve("llama-3-71b", "hgx-h100-8")
    assert str(e.value) == cli.error("serve", "--model", "llama-3-71b", "--system", "hgx-h100-8")
    with pytest.raises(mlsim.SystemFileError) as e:
        mlsim.serve("gpt2", "hgx-h100-9")
    assert str(e.value) == cli.error("serve", "--model", "gpt2", "--system", "hgx-h100-9")
    bad_stack = tmp_path / "stack.toml"
    bad_stack.write_text("name = 3\n")
    with pytest.raises(mlsim.ChipFileError) as e:
        mlsim.serve("gpt2", "hgx-h100-8", stack=bad_stack)
    assert str(e.value) == cli.error("serve", "--model", "gpt2", "--system", "hgx-h100-8", "--stack", bad_stack)


def test_system_fuzz_corpus_never_crashes():
    # The fuzz corpus of system files (fuzz/corpus/system_file, where
    # present) through the Python API: a System or SystemFileError, and a
    # collective on every system that loads.
    files = [f for f in sorted((ROOT / "fuzz/corpus/system_file").rglob("*")) if f.is_file()]
    for f in files:
        try:
            s = mlsim.system(f)
        except mlsim.SystemFileError:
            continue
        assert s.chips >= 1
        for c in mlsim.collective(s, "all-reduce", [0, 1, "1GB"])["costs"]:
            assert c["time_s"] >= 0
