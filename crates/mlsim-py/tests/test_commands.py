"""validate-serving, run, the file checks, the schemas and sharded sweeps from Python: each equal
to what the CLI prints for the same input (`--format json`, its `ok:` lines, its CSV rows), and
its errors equal to the CLI's."""

import csv
import io
import json
import pathlib

import pytest

import mlsim

ROOT = pathlib.Path(__file__).resolve().parents[3]

# --- validate-serving ---------------------------------------------------------------------------

SERVING_HEADER = ("model,hardware,num_gpus,precision,tp,pp,engine,engine_version,batch_or_concurrency,"
                  "input_len,output_len,metric,value,unit\n")

# SYNTHETIC rows, not measurements (as crates/mlsim-calibrate/tests/it/serving.rs): three rows the
# model predicts and four it cannot represent (an unknown model, GPUs that are not whole replicas,
# a model that does not fit, an unknown precision).
SYNTHETIC_ROWS = (
    "llama-3-70b,h100-sxm5,8,fp8,8,1,vLLM,0.6.0,16,1024,256,tpot_ms,8.0,ms\n"
    "llama-3-70b,h100-sxm5,8,fp8,8,1,vLLM,0.6.0,16,1024,256,tokens_per_s_per_user,100,tokens/s\n"
    "llama-3-70b,h100-sxm5,16,fp8,8,1,vLLM,0.6.0,16,1024,256,output_tokens_per_s,5000,tokens/s\n"
    "llama-3-8b,h100-sxm5,1,bf16,1,1,vLLM,,4,512,128,ttft_ms,20,ms\n"
    "no-such-model,h100-sxm5,2,bf16,2,1,vLLM,,4,128,128,tpot_ms,10,ms\n"
    "llama-3-8b,h100-sxm5,3,bf16,2,1,vLLM,,4,128,128,tpot_ms,10,ms\n"
    "llama-3-70b,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,tpot_ms,30,ms\n"
    "llama-3-8b,h100-sxm5,1,int3,1,1,vLLM,,1,128,128,tpot_ms,30,ms\n"
)
SYNTHETIC = "# synthetic rows (not measurements)\n" + SERVING_HEADER + SYNTHETIC_ROWS


def test_validate_serving_equals_cli(cli, tmp_path):
    path = tmp_path / "synthetic-serving.csv"
    path.write_text(SYNTHETIC)
    expected = cli.json("validate-serving", "--measurements", path)
    got = mlsim.validate_serving(path)
    assert got == expected
    assert mlsim.validate_serving(str(path)) == expected
    cases = got["cases"]
    assert len(cases) == 8 and cases[0]["row"]["line"] == 3
    assert [c["predicted"] is not None for c in cases] == [True] * 4 + [False] * 4
    # Hand check: error_pct = 100 (predicted - measured) / measured, TPOT against 8 ms.
    c = cases[0]
    assert c["error_pct"] == pytest.approx(100 * (c["predicted"] - 8.0) / 8.0, rel=1e-12)
    # tokens/s per user is 1000 / TPOT of the same configuration.
    assert cases[1]["predicted"] == pytest.approx(1e3 / c["predicted"], rel=1e-12)
    assert "no-such-model" in cases[4]["unrepresented"]


def test_validate_serving_of_rows_equals_cli_of_the_same_table(cli, tmp_path):
    # Without the comment line, a list of dicts numbers its rows as the file does.
    path = tmp_path / "synthetic-serving.csv"
    path.write_text(SERVING_HEADER + SYNTHETIC_ROWS)
    expected = cli.json("validate-serving", "--measurements", path)
    rows = list(csv.DictReader(io.StringIO(SERVING_HEADER + SYNTHETIC_ROWS)))
    got = mlsim.validate_serving(rows)
    assert got["measurements"] == "<rows>"
    expected["measurements"] = "<rows>"
    assert got == expected


BROKEN_SERVING = {
    "zero-gpus": "llama-3-8b,h100-sxm5,0,bf16,1,1,vLLM,,1,128,128,tpot_ms,10,ms\n",
    "unknown-metric": "llama-3-8b,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,ttft,10,ms\n",
    "wrong-unit": "llama-3-8b,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,tpot_ms,10,tokens/s\n",
    "nan": "llama-3-8b,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,tpot_ms,NaN,ms\n",
    "ragged": "llama-3-8b,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,tpot_ms\n",
    "empty": "",
}


@pytest.mark.parametrize("name", sorted(BROKEN_SERVING))
def test_broken_serving_files_raise_the_cli_message(cli, tmp_path, name):
    path = tmp_path / f"{name}.csv"
    path.write_text("# synthetic\n" + SERVING_HEADER + BROKEN_SERVING[name])
    with pytest.raises(mlsim.MeasurementError) as e:
        mlsim.validate_serving(path)
    assert str(e.value) == cli.error("validate-serving", "--measurements", path)
    assert f"{path}:" in str(e.value)


def test_missing_serving_file_raises_the_cli_message(cli, tmp_path):
    with pytest.raises(mlsim.MeasurementError) as e:
        mlsim.validate_serving(tmp_path / "none.csv")
    assert str(e.value) == cli.error("validate-serving", "--measurements", tmp_path / "none.csv")


def test_validate_serving_rejects_what_is_not_a_table():
    with pytest.raises(ValueError):
        mlsim.validate_serving(42)
    with pytest.raises(ValueError):
        mlsim.validate_serving(["not a dict"])


# --- run ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", ["llm", "vision", "scaling", "all"])
def test_run_equals_cli_run(cli, suite):
    assert mlsim.run(suite) == cli.json("run", suite)


def test_run_original_equals_cli(cli):
    assert mlsim.run("all", original=True) == cli.json("run", "all", "--original")


def test_run_on_chips_equals_cli(cli):
    got = mlsim.run("llm", ["t4", "h100-sxm5"])
    assert got == cli.json("run", "llm", "--hw", "t4", "--hw", "h100-sxm5")
    assert mlsim.run("vision", "t4") == cli.json("run", "vision", "--hw", "t4")
    hopper = mlsim.chip("h100-sxm5", framework="cuda-graph", timing="back-to-back")
    assert mlsim.run("scaling", [hopper]) == cli.json(
        "run", "scaling", "--hw", "h100-sxm5", "--framework", "cuda-graph", "--timing", "back-to-back")
    # Hand check: a summary's total runtime is the sum of its chip's results.
    suite = got["suites"][0]
    for s in suite["summaries"]:
        total = sum(r["runtime_ms"] for r in suite["results"] if r["hardware"] == s["hardware"])
        assert s["total_runtime_ms"] == pytest.approx(total, rel=1e-12)


def test_run_errors():
    with pytest.raises(ValueError, match="suite must be"):
        mlsim.run("speech")
    with pytest.raises(ValueError, match="original=True"):
        mlsim.run("llm", ["t4"], original=True)
    with pytest.raises(ValueError, match="two chips are named `t4`"):
        mlsim.run("llm", ["t4", "t4"])
    with pytest.raises(ValueError, match="no chips"):
        mlsim.run("llm", [])
    with pytest.raises(mlsim.ChipFileError):
        mlsim.run("llm", ["no-such-chip"])


# --- checks and schemas -------------------------------------------------------------------------


def _check_lines(r):
    """The CLI's stdout for a chip that passes, from mlsim.check_chip's dict."""
    lines = [f"ok: {r['file']} ({r['name']}, {r['display_name']}): {r['predictions']} predictions obey "
             "the model's laws"]
    lines += [f"  not checked: `{x['law']}`: {x['reason']}" for x in r["exempt"]]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", ["t4", "t4-seed", "h100-sxm5", "tpu-v5e", "xeon-sapphire-rapids", "npu-systolic"])
def test_check_chip_equals_cli_presets_check(cli, name):
    r = mlsim.check_chip(name)
    assert r["ok"] and r["violations"] == []
    assert _check_lines(r) == cli.run("presets", "check", name).stdout


def _first_error(stderr):
    """What the CLI printed after the first `error: `, up to its count line."""
    text = stderr.split("error: ", 1)[1]
    return text.rsplit("\nerror: ", 1)[0].rstrip("\n")


def test_check_chip_errors_equal_cli(cli, tmp_path):
    text = cli.run("presets", "show", "t4").stdout
    bad = tmp_path / "bad-chip.toml"
    bad.write_text("bogus_field = 1\n" + text)
    for path in (bad, tmp_path / "none.toml"):
        with pytest.raises(mlsim.ChipFileError) as e:
            mlsim.check_chip(path)
        r = cli.run("presets", "check", path, ok=False)
        assert r.returncode == 2
        assert str(e.value) == _first_error(r.stderr)
        assert str(path) in str(e.value)


def test_check_stack_and_system_equal_cli(cli, tmp_path):
    for name in ["cublas-hopper", "cuda-graph", "pytorch-eager"]:
        r = mlsim.check_stack(name)
        assert f"ok: {name} ({r['kind']} `{r['name']}`)\n" == cli.run("stacks", "check", name).stdout
    for name in ["hgx-h100-8", "tpu-v6e-8"]:
        r = mlsim.check_system(name)
        assert f"ok: {name} (system `{r['name']}`, {r['chips']} chips)\n" == cli.run("systems", "check", name).stdout
    bad_stack = tmp_path / "bad-stack.toml"
    bad_stack.write_text('name = "x"\nkind = "library"\nbogus = 1\n')
    bad_system = tmp_path / "bad-system.toml"
    bad_system.write_text('name = "x"\nkind = "system"\nchip = "h100-sxm5"\nchips_per_node = 0\n')
    for fn, cmd, path, exc in [(mlsim.check_stack, "stacks", bad_stack, mlsim.ChipFileError),
                               (mlsim.check_stack, "stacks", tmp_path / "none.toml", mlsim.ChipFileError),
                               (mlsim.check_system, "systems", bad_system, mlsim.SystemFileError),
                               (mlsim.check_system, "systems", tmp_path / "none.toml", mlsim.SystemFileError)]:
        with pytest.raises(exc) as e:
            fn(path)
        r = cli.run(cmd, "check", path, ok=False)
        assert r.returncode == 2
        assert str(e.value) == _first_error(r.stderr), (cmd, path)


def test_schemas_equal_cli_output(cli):
    assert mlsim.chip_schema() == cli.run("presets", "schema").stdout
    assert mlsim.stack_schema() == cli.run("stacks", "schema").stdout
    assert json.loads(mlsim.chip_schema())["title"] == "RawChip"


# --- sharded sweeps -----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 4, 7])
def test_sweep_shard_equals_cli_shard(cli, n):
    hw, sizes, dtypes = ["t4", "h100-sxm5"], [256, 1024, 4096], ["fp32", "fp16", "bf16"]
    seen = []
    for k in range(n):
        text = cli.run("sweep", "--hw", hw[0], "--hw", hw[1], "--sizes", ",".join(map(str, sizes)),
                       "--dtypes", ",".join(dtypes), "--shard", f"{k}/{n}", "--format", "csv").stdout
        assert text.startswith(f"# mlsim sweep shard {k}/{n}:")
        rows = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
        cols = mlsim.sweep(hw, sizes, dtypes, output="dict", shard=(k, n))
        assert len(cols["m"]) == len(rows)
        for i, row in enumerate(rows):
            for c in ("m", "n", "k"):
                assert cols[c][i] == int(row[c])
            for c in ("hardware", "dtype", "workload", "bottleneck"):
                assert cols[c][i] == row[c]
            for c in ("runtime_ms", "flops", "bytes", "compute_ms", "memory_ms", "achieved_tflops"):
                assert cols[c][i] == float(row[c]), (k, i, c)
        seen += list(zip(cols["hardware"], cols["m"], cols["dtype"]))
    # The slices in order are the whole grid in order.
    full = mlsim.sweep(hw, sizes, dtypes, output="dict")
    assert seen == list(zip(full["hardware"], full["m"], full["dtype"]))


def test_merge_equals_cli_merge_and_the_unsharded_sweep(cli, tmp_path):
    args = ["sweep", "--hw", "t4", "--sizes", "256,1024", "--dtypes", "fp32,fp16", "--format", "csv"]
    parts = []
    for k in range(3):
        part = tmp_path / f"part-{k}.csv"
        cli.run(*args, "--shard", f"{k}/3", "--out", str(part))
        parts.append(part)
    ours, theirs = tmp_path / "py.csv", tmp_path / "cli.csv"
    rows = mlsim.merge(ours, list(reversed(parts)))
    cli.run("merge", str(theirs), *map(str, parts))
    assert ours.read_bytes() == theirs.read_bytes() == cli.run(*args).stdout.encode()
    assert rows == 4
    # Never over an existing file without force; a missing slice is the CLI's error.
    with pytest.raises(ValueError, match="force=True"):
        mlsim.merge(ours, parts)
    assert mlsim.merge(ours, parts, force=True) == 4
    with pytest.raises(mlsim.MeasurementError) as e:
        mlsim.merge(tmp_path / "missing.csv", parts[:2])
    assert str(e.value) == cli.error("merge", str(tmp_path / "m.csv"), *map(str, parts[:2]))
    assert not (tmp_path / "missing.csv").exists()


@pytest.mark.parametrize("shard", [(3, 3), (-1, 2), (0, 0), "0/4", (1,), (0.0, 2)])
def test_bad_shards_raise_value_error(shard):
    with pytest.raises(ValueError, match="shard must be"):
        mlsim.sweep("t4", [256], ["fp16"], output="dict", shard=shard)


# --- calibrate ----------------------------------------------------------------------------------

T4_CSV = ROOT / "results" / "t4-colab-matmul.csv"
H200_CSV = ROOT / "results" / "h200-torch-square.csv"


def _cli_table(stdout):
    """The CLI's parameter table (name -> fitted, as printed) and its error rows."""
    params, errors, block = {}, {}, 0
    for line in stdout.splitlines():
        if not line.strip() or set(line.strip()) <= {"-", " "}:
            if not line.strip():
                block += 1
            continue
        cells = line.split()
        if cells[0] in ("parameter", "errors"):
            continue
        if block == 0:
            params[cells[0]] = cells[-1]
        elif cells[0] in ("in", "leave-one-size-out", "leave-one-chip-out"):
            errors[cells[0]] = (float(cells[-2]), float(cells[-1]))
    return params, errors


@pytest.mark.parametrize("case", ["t4-seed", "h200"])
def test_calibrate_equals_cli_calibrate(cli, tmp_path, monkeypatch, case):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")  # 1970-01-02, for both
    if case == "t4-seed":
        chip, csv_path, extra, noun = "t4-seed", T4_CSV, [], "chip"
    else:
        chip, csv_path, extra, noun = "h200", H200_CSV, ["--host-floor-from-smallest"], "stack"
    (tmp_path / "cli").mkdir()
    (tmp_path / "py").mkdir()
    cli_out, py_out = tmp_path / "cli" / "my-fit.toml", tmp_path / "py" / "my-fit.toml"
    r = cli.run("calibrate", "--hw", chip, "--measurements", csv_path, "--out", cli_out, *extra)
    got = mlsim.calibrate(chip, csv_path, out=py_out, host_floor_from_smallest=bool(extra))
    # The file the CLI writes, byte for byte, and the text returned.
    assert py_out.read_text() == cli_out.read_text()
    assert got[f"{noun}_toml"] == cli_out.read_text()
    assert got["written"] == [str(py_out)]
    assert "1970-01-02" in got[f"{noun}_toml"]
    # The table the CLI prints: each parameter's fitted value and the errors.
    params, errors = _cli_table(r.stdout)
    assert [p["parameter"] for p in got["parameters"]] == [k for k in params if not k.endswith(".tiles")
                                                            and not k.endswith(".split_k")]
    for p in got["parameters"]:
        assert float(params[p["parameter"]]) == pytest.approx(p["fitted"], rel=1e-5)
    assert errors["in"] == (round(got["in_sample"]["mape_pct"], 1), round(got["in_sample"]["median_ape_pct"], 1))
    cv = errors["leave-one-size-out"]
    assert got["cv"]["scheme"] == "leave-one-size-out"
    assert cv == (round(got["cv"]["mape_pct"], 1), round(got["cv"]["median_ape_pct"], 1))


def test_calibrate_without_out_writes_nothing_and_names_the_text(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    monkeypatch.chdir(tmp_path)
    got = mlsim.calibrate("t4-seed", T4_CSV, name="my-fit")
    assert got["written"] == [] and list(tmp_path.iterdir()) == []
    cli.run("calibrate", "--hw", "t4-seed", "--measurements", T4_CSV, "--out", tmp_path / "my-fit.toml")
    assert got["chip_toml"] == (tmp_path / "my-fit.toml").read_text()
    # The text loads as a chip, and predicts with the fitted efficiency.
    path = tmp_path / "my-fit.toml"
    assert mlsim.chip(path).name == "my-fit"


def test_calibrate_refuses_to_replace_a_file_unless_forced(cli, tmp_path):
    out = tmp_path / "my-fit.toml"
    out.write_text("keep me\n")
    with pytest.raises(ValueError) as e:
        mlsim.calibrate("t4-seed", T4_CSV, out=out)
    assert out.read_text() == "keep me\n"
    message = cli.error("calibrate", "--hw", "t4-seed", "--measurements", T4_CSV, "--out", out)
    # The same message, but the hint names Python's force=True for the CLI's --force.
    assert str(e.value) == message.replace("--force", "force=True")
    r = mlsim.calibrate("t4-seed", T4_CSV, out=out, force=True)
    assert out.read_text() == r["chip_toml"] and r["written"] == [str(out)]


def test_calibrate_errors():
    with pytest.raises(ValueError, match="lower-case"):
        mlsim.calibrate("t4-seed", T4_CSV, name="My Fit")
    with pytest.raises(ValueError, match="not both"):
        mlsim.calibrate("t4-seed", T4_CSV, name="a", out="b.toml")
    with pytest.raises(mlsim.MeasurementError):
        mlsim.calibrate("t4-seed", ROOT / "no-such.csv")
    with pytest.raises(ValueError):
        mlsim.calibrate("t4-seed", T4_CSV, params="warp-speed")
