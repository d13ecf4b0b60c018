#!/usr/bin/env bash
# gfp against PyTorch on the same CPU, in one sitting: `gfp bench stego` (release build) and
# shared/bench/torch_reference.py run alternately ROUNDS times for each resolution (the machines are
# noisy); the median of each workload over the rounds is printed, with the ratio gfp/PyTorch
# expressed as a speed-up (> 1: gfp is faster; for stego_train_step_ms that is torch_ms / gfp_ms).
# Also dnnl_sgemm's GFLOP/s from C (the practical peak of the machine) in the same sitting.
#
# Usage: TORCH_VENV=/path/to/venv [REPEATS=n] Tools/bench-vs-torch.sh [rounds] [resolutions]   (default: 5 "32 128")
# REPEATS (default 5) is both benchmarks' --repeats: each workload's figure per round is the median
# of that many timed runs (a decode of 256 images at R = 32 takes ~14 ms, so more repeats steady it).
# The venv needs torch (python3 -m venv VENV && VENV/bin/pip install torch). Other processes on the
# machine distort the figures: run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
resolutions=${2:-32 128}
repeats=${REPEATS:-5}
: "${TORCH_VENV:?set TORCH_VENV to a Python venv with torch}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/dnnl_sgemm_bench" Tools/dnnl_sgemm_bench.c -ldnnl
swift build -c release --product gfp >/dev/null
gfp=$(swift build -c release --show-bin-path)/gfp
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p') nproc=$(nproc) rounds=$rounds repeats=$repeats"
for r in $resolutions; do
  for _ in $(seq "$rounds"); do
    "$tmp/dnnl_sgemm_bench" | sed 's/^{/{"engine": "dnnl_sgemm", /' >> "$tmp/lines"
    "$gfp" bench stego --resolution "$r" --channels 3 --bits 100 --batch 64 --repeats "$repeats" \
      | sed 's/^{/{"side": "gfp", /' >> "$tmp/lines"
    "$TORCH_VENV/bin/python" ../shared/bench/torch_reference.py --resolution "$r" --channels 3 --bits 100 \
      --batch 64 --threads 2 --repeats "$repeats" | sed 's/^{/{"side": "torch", /' >> "$tmp/lines"
    # PyTorch's peak resident memory of the same training step, in a process of its own.
    "$TORCH_VENV/bin/python" Tools/torch_train_step_rss.py --resolution "$r" --channels 3 --bits 100 \
      --batch 64 --threads 2 --repeats 5 | sed 's/^{/{"side": "torch", /' >> "$tmp/lines"
  done
done
python3 - "$tmp/lines" <<'EOF'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
def median(side, workload, resolution=None):
    values = [r["value"] for r in rows if r.get("side") == side and r["workload"] == workload
              and (resolution is None or r.get("resolution") == resolution)]
    return statistics.median(values) if values else None
sgemm = [r["value"] for r in rows if r.get("engine") == "dnnl_sgemm" and "gflops" in r["workload"]]
if sgemm:
    print(f"dnnl_sgemm (C) median {statistics.median(sgemm):.1f} GFLOP/s over {len(sgemm)} runs")
def step_flops(R, C=3, L=100, N=64):
    """FLOPs of one training step of torch_reference.py's networks: 3 x the forward's
    multiply-adds x 2 (forward, backward data, backward weights); 26.8 GFLOP at R = 32."""
    conv = lambda cin, cout, side, k=3: 2 * N * cin * cout * side * side * k * k
    f = 2 * N * L * 256 * C
    f += conv(2*C, 32, R) + conv(32, 32, R//2) + conv(32, 64, R//4) + conv(64, 128, R//8) + conv(128, 256, R//16)
    f += conv(256, 128, R//8, 2) + conv(256, 128, R//8) + conv(128, 64, R//4, 2) + conv(128, 64, R//4)
    f += conv(64, 32, R//2, 2) + conv(64, 32, R//2) + conv(32, 32, R, 2) + conv(64 + 2*C, 32, R) + conv(32, 32, R)
    f += conv(32, C, R, 1)
    f += conv(C, 32, R//2) + conv(32, 32, R//2) + conv(32, 64, R//4) + conv(64, 64, R//4) + conv(64, 64, R//8)
    f += conv(64, 128, R//16) + conv(128, 128, R//32)
    f += 2 * N * (128 * (R//32)**2 * 512 + 512 * L)
    return 3 * f
print(f"{'R':>4} {'workload':<24} {'gfp':>10} {'torch':>10} {'gfp better by':>14}")
lower_is_better = ("stego_train_step_ms", "stego_train_peak_rss_mb")
for resolution in sorted({r["resolution"] for r in rows if "resolution" in r}):
    for workload in ("stego_train_step_ms", "stego_decode_img_s", "stego_embed_img_s", "conv3x3_fwd_bwd_gflops",
                     "stego_train_peak_rss_mb"):
        ours, theirs = median("gfp", workload, resolution), median("torch", workload, resolution)
        if ours is None or theirs is None:
            continue
        speedup = theirs / ours if workload in lower_is_better else ours / theirs
        print(f"{resolution:>4} {workload:<24} {ours:>10.2f} {theirs:>10.2f} {speedup:>13.2f}x")
    ours, theirs = median("gfp", "stego_train_step_ms", resolution), median("torch", "stego_train_step_ms", resolution)
    if ours and theirs:
        flops = step_flops(resolution)
        line = f"{resolution:>4} train step {flops / 1e9:.1f} GFLOP: gfp {flops / ours / 1e6:.1f} GFLOP/s, torch {flops / theirs / 1e6:.1f} GFLOP/s"
        if sgemm:
            line += f"; gfp at {flops / ours / 1e6 / statistics.median(sgemm):.2f} of dnnl_sgemm"
        print(line)
    conv = median("gfp", "conv3x3_fwd_bwd_gflops", resolution)
    if conv and sgemm:
        print(f"{resolution:>4} conv3x3 fwd+bwd at {conv / statistics.median(sgemm):.2f} of dnnl_sgemm")
EOF
