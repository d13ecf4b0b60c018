#!/usr/bin/env bash
# Imaging benchmark in one sitting: `gfp bench imaging` (release build) writes folders of 32×32
# and 128×128 PNGs made from Fashion-MNIST and times PNG decode + preprocess, the data loader
# and JPEG round trips; Tools/bench_imaging_torch.py then times Pillow + torchvision on the
# same files, when a venv with torch, torchvision and Pillow is given (TORCH_VENV=/path/to/venv).
# Usage: Tools/bench-imaging.sh [rounds]   (rounds alternate the two, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swift build -c release --product gfp >/dev/null
gfp=$(swift build -c release --show-bin-path)/gfp
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p') nproc=$(nproc)"
for _ in $(seq "$rounds"); do
  "$gfp" bench imaging --work-dir "$work"
  if [ -n "${TORCH_VENV:-}" ]; then
    "$TORCH_VENV/bin/python" Tools/bench_imaging_torch.py --work-dir "$work"
  fi
done
