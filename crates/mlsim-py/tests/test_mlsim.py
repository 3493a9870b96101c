"""The Python API: behaviour, the CLI's numbers, errors and the bad-input corpus."""

import csv
import io
import math
import pathlib
import threading

import pytest

import mlsim

ROOT = pathlib.Path(__file__).resolve().parents[3]
T4_CSV = ROOT / "results" / "t4-colab-matmul.csv"


# --- behaviour against hand calculations -------------------------------------------------------


def test_workloads_count_flops_and_bytes_by_hand():
    w = mlsim.matmul(1024, 512, 256, "fp16")
    assert w.name == "MatMul 1024x512x256"
    assert w.flops == 2 * 1024 * 512 * 256
    # fp16: 2 bytes per element of A (m k), B (k n) and C (m n).
    assert w.bytes == 2 * (1024 * 256 + 256 * 512 + 1024 * 512)
    assert w.arithmetic_intensity == w.flops / w.bytes
    assert w.with_dtype("fp32").bytes == 2 * w.bytes
    assert mlsim.elementwise(1000, "relu", "fp32").op == "elementwise"


def test_t4_seed_compute_bound_matmul_by_hand():
    # The original's model: a large fp32 GEMM on the T4 seed is compute-bound
    # and cannot beat the fp32 peak (8.1 TFLOP/s).
    t4 = mlsim.chip("t4-seed")
    p = t4.predict(mlsim.matmul(4096, 4096, 4096, "fp32"))
    assert p.model == "original" and p.stack == "none" and p.timing is None
    assert p.bottleneck == "compute"
    assert p.runtime_ms >= 2 * 4096**3 / 8.1e12 * 1e3
    assert p.achieved_tflops == pytest.approx(2 * 4096**3 / (p.runtime_ms * 1e-3) / 1e12)


def test_chip_describes_itself():
    t4 = mlsim.chip("t4")
    assert "t4" in mlsim.chip_names() and "cublas-hopper" in mlsim.stacks()
    assert t4.peak_tflops["fp16"] == 65.0
    assert t4.memory_bandwidth_gb_s == 320.0
    assert [l["name"] for l in t4.memory_levels][-1] == "DRAM"
    k = t4.with_setup(timing="kernel")
    assert k.timing == "kernel" and t4.timing == "per-call"
    w = mlsim.matmul(64, 64, 64, "fp16")
    # A per-call timing adds host time to a tiny kernel; kernel timing none.
    assert k.predict(w).launch_ms == 0
    assert t4.predict(w).runtime_ms > k.predict(w).runtime_ms


def test_stack_objects_and_names_give_the_same_setup():
    s = mlsim.stack("cublas-hopper")
    assert (s.name, s.kind) == ("cublas-hopper", "library")
    assert mlsim.stack("cuda-graph").kind == "framework"
    a = mlsim.chip("h200", stack=s).predict(mlsim.matmul(512, 512, 512, "bf16"))
    b = mlsim.chip("h200", stack="cublas-hopper").predict(mlsim.matmul(512, 512, 512, "bf16"))
    assert a.to_dict() == b.to_dict() and a.stack == "cublas-hopper"


def test_prediction_attributes_are_its_dict():
    p = mlsim.chip("h100-sxm5").predict(mlsim.matmul(2048, 2048, 2048, "bf16"))
    d = p.to_dict()
    for k in ("runtime_ms", "compute_ms", "memory_ms", "kernel_ms", "launch_ms", "dram_bytes", "waves", "split_k"):
        assert getattr(p, k) == d[k], k
    assert list(p.memory_ms_by_level.values()) == d["level_memory_ms"]
    assert p.model_terms == {"waves": d["waves"], "split_k": d["split_k"]}
    with pytest.raises(AttributeError):
        p.threads  # a cpu-blocked term


def test_predict_many_is_predict():
    h = mlsim.chip("l4")
    ws = [mlsim.matmul(m, 4096, 4096, d) for m in (1, 16, 512) for d in ("fp16", "int8")]
    assert [p.to_dict() for p in h.predict_many(ws)] == [h.predict(w).to_dict() for w in ws]


# --- the CLI's numbers ---------------------------------------------------------------------------

SIM_CASES = [
    ("t4-seed", ["matmul", "--m", 1024, "--n", 1024, "--k", 1024], mlsim.matmul(1024, 1024, 1024, "fp16"), "fp16"),
    ("t4", ["matmul", "--m", 1, "--n", 4096, "--k", 4096], mlsim.matmul(1, 4096, 4096, "int8"), "int8"),
    ("h100-sxm5", ["matmul", "--m", 1, "--n", 8192, "--k", 8192], mlsim.matmul(1, 8192, 8192, "mxfp4"), "mxfp4"),
    ("npu-systolic", ["attention", "--heads", 32, "--seq", 2048, "--head-dim", 128, "--causal"],
     mlsim.attention(32, 2048, 128, causal=True, dtype="bf16"), "bf16"),
    ("cpu-avx512-desktop", ["conv2d", "--c-in", 64, "--h", 56, "--c-out", 64, "--kernel", 3, "--padding", 1],
     mlsim.conv2d(64, 56, 64, 3, padding=1), "fp32"),
    ("xeon-sapphire-rapids", ["matmul", "--m", 512, "--n", 512, "--k", 512], mlsim.matmul(512, 512, 512, "bf16"), "bf16"),
    ("tpu-v5e", ["matmul", "--m", 4096, "--n", 4096, "--k", 4096], mlsim.matmul(4096, 4096, 4096, "int8"), "int8"),
    ("mobile-neon", ["elementwise", "--n", 1048576, "--kind", "gelu"], mlsim.elementwise(1048576, "gelu", "fp16"), "fp16"),
]


@pytest.mark.parametrize("hw,args,workload,dtype", SIM_CASES, ids=[c[0] for c in SIM_CASES])
def test_predict_equals_cli_sim(cli, hw, args, workload, dtype):
    expected = cli.json("sim", *args, "--hw", hw, "--dtype", dtype)
    assert mlsim.chip(hw).predict(workload).to_dict() == expected


def test_setup_flags_equal_cli_flags(cli):
    expected = cli.json("sim", "matmul", "--m", 256, "--n", 256, "--k", 256, "--hw", "l4", "--dtype", "fp16",
                        "--framework", "cuda-graph", "--timing", "back-to-back", "--host-floor-us", 12.5)
    chip = mlsim.chip("l4", framework="cuda-graph", timing="back-to-back", host_floor_us=12.5)
    assert chip.predict(mlsim.matmul(256, 256, 256, "fp16")).to_dict() == expected
    # On the original's model a host floor is the chip's launch overhead.
    expected = cli.json("sim", "matmul", "--m", 64, "--n", 64, "--k", 64, "--hw", "t4-seed", "--launch-us", 3)
    assert mlsim.chip("t4-seed", host_floor_us=3).predict(mlsim.matmul(64, 64, 64)).to_dict() == expected


def _cli_sweep(cli, *args):
    text = cli.run("sweep", *args, "--format", "csv").stdout
    return list(csv.DictReader(io.StringIO(text)))


def _num(s):
    return None if s == "" else float(s)


@pytest.mark.parametrize("hw", [["t4"], ["h100-sxm5", "t4-seed"], ["xeon-sapphire-rapids"], ["tpu-v5e"]])
def test_sweep_equals_cli_sweep(cli, hw):
    sizes, shapes, dtypes = [32, 1024, 8192], ["512x14336x4096", "1x4096x4096"], ["fp32", "fp16", "bf16", "int8"]
    args = [a for h in hw for a in ("--hw", h)]
    rows = _cli_sweep(cli, *args, "--sizes", ",".join(map(str, sizes)), "--shapes", ",".join(shapes),
                      "--dtypes", ",".join(dtypes))
    cols = mlsim.sweep(hw, sizes + shapes, dtypes, output="dict")
    assert len(rows) == len(cols["runtime_ms"]) == len(hw) * 5 * 4
    numeric = ["flops", "bytes", "arithmetic_intensity", "runtime_ms", "compute_ms", "memory_ms", "launch_ms",
               "kernel_ms", "kernel_floor_ms", "conversion_ms", "dram_bytes", "compute_utilization",
               "achieved_tflops", "effective_tflops", "tiling_efficiency", "hit_rate"]
    text = ["workload", "op", "hardware", "stack", "framework", "dtype", "model", "bottleneck"]
    detail = ["compute_cycles", "memory_stall_cycles", "exposed_stall_cycles", "avg_latency_cycles", "waves",
              "split_k", "threads", "block_m", "block_n", "block_k", "passes", "rounds"]
    for i, row in enumerate(rows):
        for c in ("m", "n", "k"):
            assert cols[c][i] == int(row[c])
        for c in numeric:
            assert cols[c][i] == float(row[c]), (i, c)
        for c in text:
            assert cols[c][i] == row[c], (i, c)
        assert (cols["timing"][i] or "") == row["timing"]
        assert (cols["serving_level"][i] or "") == row["serving_level"]
        assert str(cols["native"][i]).lower() == row["native"]
        for c in detail:
            got = cols[c][i] if c in cols else None
            assert got == _num(row[c]), (i, c)
        for part in row["memory_ms_by_level"].split(" "):
            level, ms = part.split(":")
            assert cols[f"memory_ms_{level}"][i] == float(ms)


def test_sweep_outputs():
    arrays = mlsim.sweep("t4", [64, (1, 2, 3), "8x8x8"], ["fp16"], output="arrays")
    lists = mlsim.sweep("t4", [64, (1, 2, 3), "8x8x8"], ["fp16"], output="dict")
    assert arrays["runtime_ms"].typecode == "d" and list(arrays["runtime_ms"]) == lists["runtime_ms"]
    assert list(arrays["m"]) == [64, 1, 8]
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError):
            mlsim.sweep("t4", [64], ["fp16"], output="pandas")
    with pytest.raises(ValueError):
        mlsim.sweep("t4", [64], ["fp16"], output="excel")


def test_sweep_columns_choose_and_order():
    hw, shapes, dtypes = ["t4", "xeon-sapphire-rapids"], [64, "1x4096x4096"], ["fp32", "bf16"]
    full = mlsim.sweep(hw, shapes, dtypes, output="dict")
    chosen = ["runtime_ms", "hardware", "memory_ms_L3", "threads", "m"]
    for output in ("dict", "arrays"):
        got = mlsim.sweep(hw, shapes, dtypes, output=output, columns=chosen)
        assert list(got) == chosen
        for name in chosen:
            assert list(got[name]) == full[name], (output, name)
    part = mlsim.sweep(hw, shapes, dtypes, output="dict", shard=(1, 3), columns=("dtype",))
    assert part == {"dtype": mlsim.sweep(hw, shapes, dtypes, output="dict", shard=(1, 3))["dtype"]}
    assert mlsim.sweep("t4", [64], ["fp16"], output="dict", columns="dtype") == {"dtype": ["fp16"]}
    with pytest.raises(ValueError, match=r"no column `runtime` in this sweep; its columns are m, n, k, "):
        mlsim.sweep(hw, shapes, dtypes, columns=["m", "runtime"])
    # A GPU-only sweep has no CPU block columns.
    with pytest.raises(ValueError, match="no column `threads`"):
        mlsim.sweep("t4", [64], ["fp16"], columns=["threads"])
    with pytest.raises(ValueError, match="`m` is named twice"):
        mlsim.sweep(hw, shapes, dtypes, columns=["m", "n", "m"])
    with pytest.raises(ValueError, match="at least one column"):
        mlsim.sweep(hw, shapes, dtypes, columns=[])


def test_crossover_equals_cli(cli):
    assert mlsim.crossover("t4-seed") == cli.json("crossover", "--hw", "t4-seed")
    got = mlsim.crossover(mlsim.chip("a100-sxm4-80gb"), family="m", fixed_n=4096, fixed_k=4096)
    assert got == cli.json("crossover", "--hw", "a100-sxm4-80gb", "--family", "m", "--fixed-n", 4096, "--fixed-k", 4096)
    got = mlsim.crossover("t4-calibrated", measurements=T4_CSV)
    assert got == cli.json("crossover", "--hw", "t4-calibrated", "--measurements", T4_CSV)
    got = mlsim.crossover("cpu-avx512-desktop", mlsim.matmul(512, 512, 512))
    assert got == cli.json("crossover", "--hw", "cpu-avx512-desktop", "matmul", "--m", 512, "--n", 512, "--k", 512)


def test_validate_equals_cli(cli):
    assert mlsim.validate("t4-seed", T4_CSV, cv="none") == cli.json(
        "validate", "--hw", "t4-seed", "--measurements", T4_CSV, "--cv", "none")
    assert mlsim.validate("t4-seed", str(T4_CSV)) == cli.json("validate", "--hw", "t4-seed", "--measurements", T4_CSV)
    h100 = ROOT / "results" / "h100-torch-square.csv"
    assert mlsim.validate("h100-sxm5", h100, cv="none", host_floor_from_smallest=True) == cli.json(
        "validate", "--hw", "h100-sxm5", "--measurements", h100, "--cv", "none", "--host-floor-from-smallest")


H100_CSV = ROOT / "results" / "h100-torch-square.csv"
H200_CSV = ROOT / "results" / "h200-torch-square.csv"


def test_validate_several_files_leaving_one_chip_out_equals_cli(cli):
    # The CLI's own example: the Hopper stack fitted on one chip, scored on
    # the other (the files carry no host floor: read off the smallest size).
    expected = cli.json("validate", "--cv", "chip", "--stack", "cublas-hopper", "--host-floor-from-smallest",
                        "--hw", "h100-sxm5", "--measurements", H100_CSV, "--hw", "h200", "--measurements", H200_CSV)
    hopper = [mlsim.chip(c, stack="cublas-hopper") for c in ("h100-sxm5", "h200")]
    got = mlsim.validate(hopper, [H100_CSV, H200_CSV], cv="chip", host_floor_from_smallest=True)
    assert got == expected
    assert [f["hardware"] for f in got["files"]] == ["h100-sxm5", "h200"]
    assert all(f["loco_mape_pct"] is not None for f in got["files"])


def test_validate_several_files_on_one_chip_equals_cli(cli):
    # One chip for all files (one --hw), scored as given.
    expected = cli.json("validate", "--cv", "none", "--hw", "t4-seed", "--measurements", T4_CSV,
                        "--measurements", T4_CSV)
    assert mlsim.validate("t4-seed", (T4_CSV, str(T4_CSV)), cv="none") == expected


def test_validate_refuses_what_the_cli_refuses(cli):
    # Leave-one-chip-out on one chip, and on two chips of different stacks.
    with pytest.raises(mlsim.MeasurementError) as e:
        mlsim.validate("t4-seed", T4_CSV, cv="chip")
    assert str(e.value) == cli.error("validate", "--cv", "chip", "--hw", "t4-seed", "--measurements", T4_CSV)
    with pytest.raises(mlsim.MeasurementError) as e:
        mlsim.validate(["t4-seed", "t4"], [T4_CSV, T4_CSV], cv="chip")
    assert str(e.value) == cli.error("validate", "--cv", "chip", "--hw", "t4-seed", "--measurements", T4_CSV,
                                     "--hw", "t4", "--measurements", T4_CSV)
    with pytest.raises(ValueError, match="3 chips for 2 measurement files"):
        mlsim.validate(["t4", "t4-seed", "h200"], [T4_CSV, T4_CSV], cv="none")
    with pytest.raises(ValueError, match="no measurements"):
        mlsim.validate("t4", [], cv="none")


class _Frame:
    """Stands in for a pandas DataFrame: what mlsim.validate calls on one."""

    def __init__(self, text):
        self.text = text

    def to_csv(self, buf, index=True):
        assert index is False
        buf.write(self.text)


def test_validate_accepts_a_dataframe():
    by_path = mlsim.validate("t4-seed", T4_CSV, cv="none")
    by_frame = mlsim.validate("t4-seed", _Frame(T4_CSV.read_text()), cv="none")
    assert by_frame["mape_pct"] == by_path["mape_pct"]
    assert by_frame["points"] == by_path["points"]
    assert by_frame["measurements"] == "<DataFrame>"


def test_model_and_recommend_equal_cli(cli):
    got = mlsim.model("h100-sxm5", "llama-3-8b", "decode", seq=2048, scheme="w4a16")
    assert got == cli.json("model", "--hw", "h100-sxm5", "--model", "llama-3-8b", "--phase", "decode", "--batch", 1,
                           "--seq", 2048, "--scheme", "w4a16")
    got = mlsim.recommend("t4", "mistral-7b", seq=1024, max_batch=64)
    assert got == cli.json("recommend", "--hw", "t4", "--model", "mistral-7b", "--phase", "decode", "--seq", 1024,
                           "--max-batch", 64)
    # Energy and cost a token per scheme.
    got = mlsim.recommend("h100-sxm5", "llama-3-8b", seq=1024, batch=16, max_batch=64, usd_per_hour=2.5)
    assert got == cli.json("recommend", "--hw", "h100-sxm5", "--model", "llama-3-8b", "--seq", 1024, "--batch", 16,
                           "--max-batch", 64, "--usd-per-hour", 2.5)
    assert all(s["usd_per_million_tokens"] > 0 and s["joules_per_token"] > 0 for s in got["schemes"])
    with pytest.raises(ValueError):
        mlsim.recommend("h100-sxm5", "gpt2", usd_per_hour=-1)


SUITE_CASES = [("h100-sxm5", "llm", None), ("t4", "vision", ["w16a16", "bf16", "w8a8"]), ("mi300x", "all", None),
               ("xeon-sapphire-rapids", "scaling", ["fp32", "bf16", "w8a8"])]


@pytest.mark.parametrize("hw,suite,schemes", SUITE_CASES, ids=[c[0] for c in SUITE_CASES])
def test_recommend_suite_equals_cli(cli, hw, suite, schemes):
    args = ["recommend", "--hw", hw, "--suite", suite]
    if schemes:
        args += ["--schemes", ",".join(schemes)]
    expected = cli.json(*args)
    assert mlsim.recommend(hw, suite=suite, schemes=schemes) == expected
    assert isinstance(expected, list) and expected


def test_recommend_needs_a_model_or_a_suite():
    for kwargs in ({}, {"model": "gpt2", "suite": "llm"}, {"suite": "speech"}):
        with pytest.raises(ValueError):
            mlsim.recommend("t4", **kwargs)


def test_chips_equal_cli_presets_list(cli):
    expected = cli.json("presets", "list")
    assert mlsim.chips() == expected
    assert mlsim.chip_names() == [c["name"] for c in expected]
    t4 = next(c for c in mlsim.chips() if c["name"] == "t4")
    # The T4 datasheet: 65 TFLOP/s fp16, 320 GB/s.
    assert (t4["peak_tflops"]["fp16"], t4["memory_bandwidth_gb_s"]) == (65.0, 320.0)


def _stub_functions():
    import ast

    tree = ast.parse((pathlib.Path(mlsim.__file__).parent / "__init__.pyi").read_text())
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}, {
        n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}


def test_stubs_name_exactly_the_public_api():
    import inspect

    functions, classes = _stub_functions()
    public = {n for n in mlsim.__all__}
    assert set(functions) | set(classes) == public
    for name in functions:
        assert callable(getattr(mlsim, name)), name
    for name, cls in classes.items():
        runtime = getattr(mlsim, name)
        assert inspect.isclass(runtime), name
        for item in cls.body:
            member = getattr(item, "name", None) or getattr(getattr(item, "target", None), "id", None)
            if member and not member.startswith("__"):
                assert hasattr(runtime, member), f"{name}.{member}"
    # And every public member a class defines (not inherits) is in its stub.
    for name, cls in classes.items():
        stubbed = {getattr(i, "name", None) or getattr(getattr(i, "target", None), "id", None) for i in cls.body}
        runtime = {m for m in vars(getattr(mlsim, name)) if not m.startswith("_")}
        assert runtime <= stubbed, (name, runtime - stubbed)


def test_stub_signatures_match_the_runtime():
    import ast
    import inspect

    functions, _ = _stub_functions()
    for name, node in functions.items():
        sig = inspect.signature(getattr(mlsim, name))
        a = node.args
        stub_positional = [x.arg for x in a.posonlyargs + a.args]
        stub_keyword = [x.arg for x in a.kwonlyargs]
        params = list(sig.parameters.values())
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        keyword = [p.name for p in params if p.kind == p.KEYWORD_ONLY]
        assert (stub_positional, stub_keyword) == (positional, keyword), name
        # Defaults: the stub's literal defaults equal the runtime's.
        defaults = dict(zip(stub_positional[len(stub_positional) - len(a.defaults):], a.defaults))
        defaults.update({k.arg: d for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None})
        for arg, d in defaults.items():
            if isinstance(d, ast.Constant) and d.value is not Ellipsis:
                assert sig.parameters[arg].default == d.value, (name, arg)


def test_help_reads_well():
    # Every public function and class has a docstring with an example, and
    # pyo3's functions show their signature.
    import inspect

    for name in mlsim.__all__:
        obj = getattr(mlsim, name)
        doc = inspect.getdoc(obj)
        assert doc and len(doc) > 20, name
        if callable(obj) and not inspect.isclass(obj):
            assert ">>>" in doc, name
            inspect.signature(obj)


# --- errors -------------------------------------------------------------------------------------


def test_bad_arguments_are_value_errors():
    for call in (
        lambda: mlsim.matmul(0, 1, 1),
        lambda: mlsim.matmul(1, 1, 1, "fp12"),
        lambda: mlsim.elementwise(10, "sigmoid"),
        lambda: mlsim.chip("t4", timing="sometimes"),
        lambda: mlsim.chip("t4", host_floor_us=float("nan")),
        lambda: mlsim.sweep("t4", [], ["fp16"]),
        lambda: mlsim.sweep("t4", ["1x2"], ["fp16"]),
        lambda: mlsim.sweep("t4", [200000], ["fp32"]),  # beyond 2^53 FLOPs
        lambda: mlsim.validate("t4-seed", T4_CSV, cv="sometimes"),
        lambda: mlsim.recommend("t4", suite="llm", schemes=[]),
        lambda: mlsim.crossover("t4", from_size=0),
        lambda: mlsim.model("t4", "gpt2", "training", seq=8),
        lambda: mlsim.model("t4", "gpt2", "decode", seq=0),
        lambda: mlsim.recommend("t4", "gpt2", schemes=["w3a5"]),
        lambda: mlsim.chip("t4").predict(mlsim.matmul(8, 8, 8, "fp64")),  # no fp64 path on a T4
    ):
        with pytest.raises(ValueError) as e:
            call()
        assert type(e.value) is ValueError, e.value
        assert str(e.value)


def test_unknown_chip_and_missing_file_say_what_the_cli_says(cli, tmp_path):
    with pytest.raises(mlsim.ChipFileError) as e:
        mlsim.chip("t4-seeed")
    assert str(e.value) == cli.error("sim", "matmul", "--m", 1, "--n", 1, "--k", 1, "--hw", "t4-seeed")
    missing = tmp_path / "nope.toml"
    with pytest.raises(mlsim.ChipFileError) as e:
        mlsim.chip(missing)
    assert str(e.value) == cli.error("sim", "matmul", "--m", 1, "--n", 1, "--k", 1, "--hw", missing)
    with pytest.raises(mlsim.MeasurementError) as e:
        mlsim.validate("t4", tmp_path / "none.csv")
    assert str(e.value) == cli.error("validate", "--hw", "t4", "--measurements", tmp_path / "none.csv")


CHIP_CORPUS = sorted((ROOT / "crates/mlsim-hw/tests/it/invalid").glob("*.toml")) + sorted(
    (ROOT / "crates/mlsim-cli/tests/it/bad").glob("*.toml"))
STACK_CORPUS = sorted((ROOT / "crates/mlsim-hw/tests/it/invalid-stacks").glob("*.toml"))


def test_the_corpus_is_there():
    assert len(CHIP_CORPUS) >= 80 and len(STACK_CORPUS) >= 20


@pytest.mark.parametrize("path", CHIP_CORPUS, ids=[p.name for p in CHIP_CORPUS])
def test_invalid_chip_files_raise_the_cli_message(cli, path):
    with pytest.raises(mlsim.ChipFileError) as e:
        mlsim.chip(path)
    message = str(e.value)
    assert message.startswith(f"{path}:"), message
    assert message == cli.error("sim", "matmul", "--m", 1, "--n", 1, "--k", 1, "--hw", path)


@pytest.mark.parametrize("path", STACK_CORPUS, ids=[p.name for p in STACK_CORPUS])
def test_invalid_stack_files_raise_the_cli_message(cli, path):
    with pytest.raises(mlsim.ChipFileError) as e:
        mlsim.chip("t4", stack=path)
    assert str(e.value) == cli.error("sim", "matmul", "--m", 1, "--n", 1, "--k", 1, "--hw", "t4", "--stack", path)


HEADER = "hardware,op,m,n,k,dtype,runtime_ms\n"
MALFORMED = {
    "missing-column.csv": "hardware,op,m,n,dtype,runtime_ms\nX,gemm,1,1,fp32,1\n",
    "non-numeric.csv": HEADER + "X,gemm,1,1,1,fp32,1.0\nX,gemm,2,2,2,fp32,fast\n",
    "non-positive.csv": "# comment\n" + HEADER + "X,gemm,1,1,1,fp32,0\n",
    "unknown-dtype.csv": HEADER + "X,gemm,1,1,1,fp12,1\n",
    "zero-dimension.csv": HEADER + "X,gemm,0,1,1,fp32,1\n",
    "unknown-op.csv": HEADER + "X,conv,1,1,1,fp32,1\n",
    "ragged.csv": HEADER + "X,gemm,1,1,1,fp32\n",
    "empty.csv": "",
    "header-only.csv": HEADER,
    "two-devices.csv": HEADER + "X,gemm,1,1,1,fp32,1\nY,gemm,2,2,2,fp32,1\n",
    "duplicate.csv": HEADER + "X,gemm,1,1,1,fp32,1\nX,gemm,1,1,1,fp32,2\n",
    "binary.csv": "\x00\x01\x02garbage\xff",
    "nan.csv": HEADER + "X,gemm,1,1,1,fp32,NaN\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_measurements_raise_the_cli_message(cli, tmp_path, name):
    path = tmp_path / name
    path.write_text(MALFORMED[name])
    with pytest.raises(mlsim.MeasurementError) as e:
        mlsim.validate("t4-seed", path, cv="none")
    assert str(e.value).startswith(str(path)), str(e.value)
    assert str(e.value) == cli.error("validate", "--hw", "t4-seed", "--measurements", path, "--cv", "none")
    with pytest.raises(mlsim.MeasurementError):
        mlsim.validate("t4-seed", _Frame(MALFORMED[name]), cv="none")


@pytest.mark.parametrize("kind", ["chip_file", "stack_file", "measurements"])
def test_fuzz_corpus_never_crashes(kind):
    files = sorted((ROOT / "fuzz/corpus" / kind).rglob("*"))
    files = [f for f in files if f.is_file()]
    for f in files:
        try:
            if kind == "chip_file":
                c = mlsim.chip(f)
                assert all(math.isfinite(v) for v in c.peak_tflops.values())
            elif kind == "stack_file":
                mlsim.chip("t4", stack=f)
            else:
                r = mlsim.validate("t4-seed", f, cv="none")
                assert math.isfinite(r["mape_pct"])
        except (mlsim.ChipFileError, mlsim.MeasurementError):
            pass


def test_predictions_release_the_gil():
    # Another Python thread runs while a sweep predicts (GIL released); the
    # check is on progress, not on time.
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(1)

    t = threading.Thread(target=tick)
    t.start()
    before = len(ticks)
    mlsim.sweep("h100-sxm5", [(m, 4096, 4096) for m in range(1, 50001)], ["bf16", "fp8_e4m3"], output="arrays")
    during = len(ticks) - before
    done.set()
    t.join()
    assert during > 0
