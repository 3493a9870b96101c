#!/usr/bin/env bash
# One unattended measurement session on a lent NVIDIA GPU (see
# experiments/README.md). Writes into $OUT (or ./device-out when unset):
#   gpu-info.txt                 nvidia-smi -q and the software versions
#   <tag>-torch-square.csv       square N = 32 ... 8192, every dtype, warm L2
#   <tag>-torch-llm-shapes.csv   LLM-style shapes (decode and prefill GEMMs), fp16/bf16/int8/fp8
#   <tag>-torch-square-coldl2.csv  square N = 256 ... 8192, fp16/bf16/fp32, cold L2
# Usage: bash experiments/device_run.sh TAG
set -uo pipefail
tag=${1:-gpu}
out=${OUT:-./device-out}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
here=$(dirname "$0")
{
  date -u +%FT%TZ
  nvidia-smi -q 2>&1 | head -120
  python3 -c 'import torch, sys; print("python", sys.version.split()[0]); print("torch", torch.__version__, "cuda", torch.version.cuda); print(torch.cuda.get_device_properties(0))'
} > "$out/gpu-info.txt" 2>&1

python3 "$here/gemm_bench.py" --device cuda --out "$out/$tag-torch-square.csv"
python3 "$here/gemm_bench.py" --device cuda \
  --shapes 1x4096x4096 8x4096x4096 32x4096x4096 128x4096x4096 512x4096x4096 2048x4096x4096 \
           32x14336x4096 512x14336x4096 2048x14336x4096 32x4096x14336 512x4096x14336 2048x4096x14336 \
  --dtypes fp16 bf16 int8 fp8_e4m3 --out "$out/$tag-torch-llm-shapes.csv"
python3 "$here/gemm_bench.py" --device cuda --cold-l2 --sizes 256 512 1024 2048 4096 8192 \
  --dtypes fp32 fp16 bf16 --out "$out/$tag-torch-square-coldl2.csv"
nvidia-smi --query-gpu=clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv >> "$out/gpu-info.txt" 2>&1
ls -l "$out"
