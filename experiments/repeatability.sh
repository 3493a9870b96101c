#!/usr/bin/env bash
# Run-to-run scatter of small GEMMs: the same square set measured RUNS times,
# each in a fresh Python process (a fresh CUDA context, as separate sessions
# would be), to show how much of the small-size error no deterministic model
# can remove. Writes $OUT/<tag>-repeat-<i>.csv (or ./device-out when OUT is
# unset) and $OUT/<tag>-repeat-median.csv (medians with their spread), and
# prints the summary of experiments/repeatability.py.
# Usage: bash experiments/repeatability.sh TAG [RUNS] [DEVICE]
set -euo pipefail
tag=${1:-gpu}
runs=${2:-5}
device=${3:-cuda}
out=${OUT:-./device-out}
if [ "$runs" -lt 2 ]; then
  echo "repeatability.sh: RUNS must be at least 2 (got $runs)" >&2
  exit 2
fi
mkdir -p "$out"
here=$(dirname "$0")
files=()
for i in $(seq 1 "$runs"); do
  f="$out/$tag-repeat-$i.csv"
  "${PYTHON:-python3}" "$here/gemm_bench.py" --device "$device" --sizes 32 64 128 256 512 1024 \
    --dtypes fp32 fp16 bf16 int8 --out "$f" > /dev/null
  files+=("$f")
done
# Only this invocation's files: older runs in the same folder are not mixed in.
"${PYTHON:-python3}" "$here/repeatability.py" --out "$out/$tag-repeat-median.csv" "${files[@]}"
