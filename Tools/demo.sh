#!/usr/bin/env bash
# The main job of `make demo`: training-data fingerprints (Yu et al., ICCV'21) end to end on
# Fashion-MNIST (Debian's dataset-fashion-mnist), with the models this project trained and ships
# under Models/ (Models/README.md: how each was made):
#   1. the 10,000 test images fingerprinted by the shipped encoder (8-bit PNGs) and read back by
#      the decoder: bit accuracy, PSNR, the paper's Figure 2;
#   2. 1,000 images from the GAN trained on the fingerprinted training set: the decoder finds the
#      fingerprint in them (bit accuracy, majority vote, p-value);
#   3. 1,000 real test images: no fingerprint (the paper's deepfake detection at 75 % bit accuracy).
# Usage: Tools/demo.sh   (DEMO_DIR sets the output folder, default runs/demo)
set -euo pipefail
cd "$(dirname "$0")/.."
gfp=$(swift build -c release --show-bin-path)/gfp
out=${DEMO_DIR:-runs/demo}
stego=Models/stego-fashion-mnist-32
gan=Models/stego-gan-fashion-mnist-32
fingerprint=$(cat "$stego/fingerprint.txt")
rm -rf "$out"
mkdir -p "$out"

# `gfp stego detect`, its summary line indented. Exit status 1 is a verdict (the majority vote does
# not match the fingerprint at a false-positive rate of 1e-6), not an error; 2 and above are errors.
detect() {
  local status=0
  "$gfp" stego detect --decoder "$stego/decoder.h5" --expected "$fingerprint" "$1" > "$out/detect.txt" || status=$?
  [ "$status" -le 1 ] || exit "$status"
  tail -n 1 "$out/detect.txt" | sed 's/^/  /'
}

echo "== 1. Fingerprinting the 10,000 Fashion-MNIST test images with the shipped encoder"
"$gfp" stego embed --encoder "$stego/encoder.h5" --decoder "$stego/decoder.h5" --fingerprint "$fingerprint" \
  fashion-mnist:test "$out/fingerprinted-test" > "$out/embed-test.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("  images %d, mean PSNR %.2f dB" % (s["images"], s["meanPSNR"]))' \
  "$out/embed-test.json" 2>/dev/null || cat "$out/embed-test.json"
detect "$out/fingerprinted-test/images"

echo "== 2. 1,000 images from the GAN trained on the fingerprinted training set"
"$gfp" gan generate --run "$gan/generator.h5" --seeds 0-999 --out "$out/generated" > /dev/null
detect "$out/generated"

echo "== 3. 1,000 real test images (no fingerprint: the detector must not fire)"
"$gfp" data import-fashion-mnist --split test --pad-to 32 --max-images 1000 "$out/real" > /dev/null
detect "$out/real"

echo "The GAN's images carry the fingerprint a little more weakly than its training images (about 97.5 % of the"
echo "bits against 99.9 %, Docs/reproductions/stego.md): 999 of the 1,000 pass the 75 % rule alone, and their majority"
echo "vote is the fingerprint."
echo "Outputs in $out: fingerprinted-test/ (images, residual-grid.png: the paper's Figure 2),"
echo "generated/ (GAN samples). Full figures: Docs/reproductions/stego.md."
