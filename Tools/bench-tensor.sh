#!/usr/bin/env bash
# Engine benchmark in one sitting: oneDNN's own dnnl_sgemm from a small C program, then
# `gfp bench tensor` (release build), then PyTorch's conv3x3 workload when a venv with torch is
# given (TORCH_VENV=/path/to/venv; see shared/bench/torch_reference.py for its set-up).
# Usage: Tools/bench-tensor.sh [rounds]   (rounds alternate the three, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/dnnl_sgemm_bench" Tools/dnnl_sgemm_bench.c -ldnnl
swift build -c release --product gfp >/dev/null
gfp=$(swift build -c release --show-bin-path)/gfp
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p') nproc=$(nproc)"
for _ in $(seq "$rounds"); do
  "$tmp/dnnl_sgemm_bench"
  "$gfp" bench tensor
  if [ -n "${TORCH_VENV:-}" ]; then
    "$TORCH_VENV/bin/python" ../shared/bench/torch_reference.py --resolution 32 --channels 3 --bits 100 \
      | grep conv3x3_fwd_bwd_gflops
  fi
done
