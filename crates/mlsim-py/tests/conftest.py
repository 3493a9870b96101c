"""Shared fixtures: the repository root and the `mlsim` binary to compare with."""

import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _binary():
    given = os.environ.get("MLSIM_BIN")
    if given:
        return pathlib.Path(given)
    for profile in ("release", "debug"):
        p = ROOT / "target" / profile / "mlsim"
        if p.exists():
            return p
    return None


@pytest.fixture(scope="session")
def root():
    return ROOT


class Cli:
    def __init__(self, path):
        self.path = path

    def run(self, *args, ok=True):
        r = subprocess.run([str(self.path), *map(str, args)], capture_output=True, text=True, cwd=ROOT)
        if ok and r.returncode != 0:
            raise AssertionError(f"mlsim {' '.join(map(str, args))} failed: {r.stderr}")
        return r

    def json(self, *args):
        return json.loads(self.run(*args, "--format", "json").stdout)

    def error(self, *args):
        """The message the CLI prints after `error: ` (exit 2)."""
        r = self.run(*args, ok=False)
        assert r.returncode == 2, (args, r.returncode, r.stdout, r.stderr)
        lines = [l for l in r.stderr.splitlines() if not l.startswith("note:")]
        text = "\n".join(lines)
        assert text.startswith("error: "), r.stderr
        return text[len("error: "):]


@pytest.fixture(scope="session")
def cli():
    path = _binary()
    if path is None or not path.exists():
        if os.environ.get("MLSIM_REQUIRE_CLI"):
            pytest.fail("no mlsim binary (set MLSIM_BIN or run cargo build -p mlsim-cli)")
        pytest.skip("no mlsim binary to compare with (cargo build -p mlsim-cli)")
    return Cli(path)
