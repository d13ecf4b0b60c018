#!/usr/bin/env bash
# The main job of `make demo`. Until the Stego issue lands, the most complete end-to-end job that
# exists is the engine benchmark, so that is what runs, and it says so.
set -euo pipefail
cd "$(dirname "$0")/.."
gfp=$(swift build -c release --show-bin-path)/gfp
echo "gfp demo: the fingerprinting methods have not landed yet (see README.md, Status);"
echo "running the most complete end-to-end job that exists: the Tensor engine benchmark."
"$gfp" bench tensor
