#!/usr/bin/env bash
# The ICCV'21 training-data fingerprint reproduction on Fashion-MNIST (Docs/reproductions/stego.md),
# stage by stage. Every stage is resumable: rerun the script after an interruption and it continues
# (training from its last checkpoint, finished stages skipped).
#
#   Tools/reproduce-stego.sh [stage...]
#   stages: encoder embed gan-fp gan-clean evaluate (default: these five); gan-tune, which
#   continues the fingerprinted GAN in a run of its own under a weaker R1 (γ TUNE_GAMMA, 0.01;
#   `gan train --init-from`); grids, which decodes the fingerprinted GAN's sample grids
#   (results/grid-accuracy.csv); gan-wide and gan-clean-wide, the same GAN with 64 channels at
#   32 x 32 too (--channel-base 1024) on the fingerprinted and the clean set (RUNS/gan-fingerprinted-wide,
#   RUNS/gan-clean-wide); decoder-attenuated, the encoder run's decoder fine-tuned alone to read
#   weaker fingerprints (RUNS/dec-att03, then RUNS/dec-att03n: the decoder-attenuated.h5 shipped
#   until session 12); and ship, which copies the trained encoder, decoder and fingerprinted
#   GAN into Models/ (as they were shipped).
#   evaluate, grids and ship read the fingerprinted GAN from FP_RUN (default RUNS/gan-fingerprinted;
#   RUNS/gan-fingerprinted-tuned or RUNS/gan-fingerprinted-wide for the others) and the clean one
#   from CLEAN_RUN (default RUNS/gan-clean).
#   The robust pair (session 12): encoder-robust fine-tunes the encoder run's encoder and decoder
#   together with every residual scaled by U[0.5, 1] before the decoder (RUNS/encoder-robust);
#   with PAIR=robust, embed, evaluate, grids and ship use that pair, RUNS/embedded-*-robust,
#   RUNS/results-robust and (FP_RUN's default) RUNS/gan-fingerprinted-robust; gan-robust continues
#   the tuned GAN on the robust pair's training set (γ TUNE_GAMMA; what Models/ ships), and
#   gan-robust-scratch trains the same GAN from step 0 on it; gan-robust-scratch-tune continues
#   that run under γ TUNE_GAMMA (RUNS/gan-fingerprinted-robust-scratch-tuned). encoder-control is
#   encoder-robust without the weakening (RUNS/encoder-control).
#
# Environment: RUNS (default runs/stego-repro), GFP (default: the release build), DECODER_BASE
# (the folder decoder-attenuated starts from; default the 12,000-step pair's model files), PAIR (above), STEGO_STEPS
# (12000, the 12,000-step pair's length), GAN_STEPS (10000), FINGERPRINT (the 100 bits embedded;
# default drawn from Python's random.Random(42)).
# The defaults are those of the shipped encoder and of the clean GAN (about 30 minutes each on
# 2 cores); the shipped fingerprinted GAN ran with GAN_STEPS=40000, stopped at 30,000 steps, and
# was resumed with GAN_STEPS=100000 and stopped at 65,500: `GAN_STEPS=100000 Tools/reproduce-stego.sh
# gan-fp ship` resumes it there (--steps is not part of a run's configuration).
# Run one stage at a time: alone, with OpenMP's default (spinning) wait policy, a GAN step is about
# three times faster than with OMP_WAIT_POLICY=PASSIVE (6.5 against 2.2 steps/s measured here); two
# trainings at once need PASSIVE, or their spinning threads stall each other many times over.
set -euo pipefail
cd "$(dirname "$0")/.."
gfp=${GFP:-$(swift build -c release --show-bin-path)/gfp}
runs=${RUNS:-runs/stego-repro}
stego_steps=${STEGO_STEPS:-12000}
gan_steps=${GAN_STEPS:-10000}
tune_gamma=${TUNE_GAMMA:-0.01}
# The encoder/decoder pair: the 12,000-step one (RUNS/encoder) or, with PAIR=robust, RUNS/encoder-robust.
case ${PAIR:-} in
  "") enc_run=$runs/encoder sfx="" ;;
  robust) enc_run=$runs/encoder-robust sfx=-robust ;;
  *) echo "PAIR is empty or robust, not ${PAIR}" >&2; exit 64 ;;
esac
res=$runs/results$sfx
fp_run=${FP_RUN:-$runs/gan-fingerprinted$sfx}
clean_run=${CLEAN_RUN:-$runs/gan-clean}
fingerprint=${FINGERPRINT:-1001000010111101000000110101111000101101101000001100000010101010101100101111101010010101010100001100}
# The GAN of the reproduction: StyleGAN2-type, 64 channels at 4..16 and 32 at 32 x 32 (base 512, max 64), batch 32.
gan_options=(--resolution 32 --channels 1 --channel-base 512 --channel-max 64 --batch-size 32
             --checkpoint-every 250 --sample-every 1000)
# The wider one: 64 channels at every resolution, 32 x 32 included (about 2.2 times the step time).
wide_options=(--resolution 32 --channels 1 --channel-base 1024 --channel-max 64 --batch-size 32
              --checkpoint-every 250 --sample-every 1000)
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(encoder embed gan-fp gan-clean evaluate)
mkdir -p "$res"

resume_flag() { [ -f "$1/checkpoints/latest.h5" ] && echo --resume || true; }
# start_from OUT FROM: sets start to (--resume) when OUT has a checkpoint, else to (--init-from FROM).
start_from() { if [ -n "$(resume_flag "$1")" ]; then start=(--resume); else start=(--init-from "$2"); fi; }
# finetune_pair OUT OPTIONS...: the 12,000-step pair trained on for 6,000 steps with OPTIONS, from the
# two model files alone (a fresh optimiser, as from Models/), copied apart from the run's checkpoint;
# resumed when OUT has a checkpoint, skipped when it has finished.
finetune_pair() {
  local out=$1; shift
  local base; base=$(first_pair_models)   # apart from local: set -e stops the script when the copy fails
  local start; start_from "$out" "$base"
  [ -f "$out/decoder.h5" ] || "$gfp" stego train --data fashion-mnist --resolution 32 --bits 100 \
    --decoder-negative-slope 0.2 "$@" --steps 6000 --checkpoint-every 250 --out "$out" "${start[@]}"
}
# train_gan DATA OUT OPTIONS...: a GAN run of GAN_STEPS steps, resumed when OUT has a checkpoint.
train_gan() {
  local data=$1 out=$2; shift 2
  "$gfp" gan train --data "$data" "$@" --steps "$gan_steps" --out "$out" $(resume_flag "$out")
}
# continue_gan DATA FROM OUT: FROM's last checkpoint trained on under R1 γ TUNE_GAMMA in a run of its
# own (a new run: --resume refuses changed settings), resumed when OUT has a checkpoint; GAN_STEPS
# counts from step 0, as in gan-fp.
continue_gan() {
  local data=$1 from=$2 out=$3 start; start_from "$out" "$from"
  "$gfp" gan train --data "$data" "${gan_options[@]}" --gamma "$tune_gamma" --steps "$gan_steps" --out "$out" "${start[@]}"
}
# The 12,000-step pair's encoder.h5 and decoder.h5 alone in a folder (RUNS/encoder-models), for stages that
# fine-tune them from the model files with a fresh optimiser (the run folder's checkpoint would
# be continued instead).
first_pair_models() {
  mkdir -p "$runs/encoder-models" \
    && cp "$runs/encoder/encoder.h5" "$runs/encoder/decoder.h5" "$runs/encoder-models/" \
    && echo "$runs/encoder-models"
}

for stage in "${stages[@]}"; do
  case $stage in
  encoder)
    # A leaky-ReLU decoder (slope 0.2), a deviation from the spec: with its ReLUs, the decoder's
    # 1 × 1 × 128 bottleneck loses half its units for good and the bit accuracy stops near 0.925
    # (Docs/reproductions/stego.md, section 1).
    "$gfp" stego train --data fashion-mnist --resolution 32 --bits 100 --out "$runs/encoder" --steps "$stego_steps" \
      --decoder-negative-slope 0.2 --checkpoint-every 250 $(resume_flag "$runs/encoder")
    ;;
  encoder-robust)
    # The encoder run's pair trained on together, each residual scaled by U[0.5, 1] before the
    # decoder, λ at its maximum from the first step: 6,000 steps.
    finetune_pair "$runs/encoder-robust" --attenuate 0.5
    ;;
  encoder-control)
    # encoder-robust without the weakening: what 6,000 more steps alone do (RUNS/encoder-control).
    finetune_pair "$runs/encoder-control"
    ;;
  embed)
    enc="$enc_run/encoder.h5" dec="$enc_run/decoder.h5"
    # Fidelity and bit accuracy of the 10,000 fingerprinted 8-bit test images.
    [ -f "$res/embed-test.json" ] || {
      rm -rf "$runs/embedded-test$sfx"
      "$gfp" stego embed --encoder "$enc" --decoder "$dec" --fingerprint "$fingerprint" fashion-mnist:test \
        "$runs/embedded-test$sfx" > "$res/embed-test.tmp" && mv "$res/embed-test.tmp" "$res/embed-test.json"
    }
    # The GAN's training set: all 60,000 training images with the one fingerprint, recorded in a registry.
    [ -f "$res/embed-train.json" ] || {
      rm -rf "$runs/embedded-train$sfx" "$runs/registry$sfx.sqlite"
      "$gfp" registry create --database "$runs/registry$sfx.sqlite" --bits 100 > /dev/null
      "$gfp" stego embed --encoder "$enc" --decoder "$dec" --fingerprint "$fingerprint" \
        --registry "$runs/registry$sfx.sqlite" --recipient "fashion-mnist GAN" --model-id "gan-fingerprinted$sfx" \
        fashion-mnist:train "$runs/embedded-train$sfx" > "$res/embed-train.tmp" \
        && mv "$res/embed-train.tmp" "$res/embed-train.json"
    }
    ;;
  gan-fp) train_gan "$runs/embedded-train/images" "$runs/gan-fingerprinted" "${gan_options[@]}" ;;
  gan-tune)
    # The fingerprinted GAN continued from its last checkpoint with a weaker R1 penalty.
    continue_gan "$runs/embedded-train/images" "$runs/gan-fingerprinted" "$runs/gan-fingerprinted-tuned"
    ;;
  gan-robust)
    # The tuned GAN continued on the robust pair's training set (PAIR=robust embed first), γ TUNE_GAMMA.
    continue_gan "$runs/embedded-train-robust/images" "$runs/gan-fingerprinted-tuned" "$runs/gan-fingerprinted-robust"
    ;;
  gan-robust-scratch)
    # The GAN of gan-fp, from step 0, on the robust pair's training set.
    train_gan "$runs/embedded-train-robust/images" "$runs/gan-fingerprinted-robust-scratch" "${gan_options[@]}"
    ;;
  gan-robust-scratch-tune)
    # gan-robust-scratch's last checkpoint continued under R1 γ TUNE_GAMMA, as gan-tune continued
    # gan-fp: a GAN whose whole history is the robust pair's images.
    continue_gan "$runs/embedded-train-robust/images" "$runs/gan-fingerprinted-robust-scratch" \
      "$runs/gan-fingerprinted-robust-scratch-tuned"
    ;;
  gan-clean) train_gan fashion-mnist "$runs/gan-clean" "${gan_options[@]}" ;;
  gan-wide) train_gan "$runs/embedded-train/images" "$runs/gan-fingerprinted-wide" "${wide_options[@]}" ;;
  gan-clean-wide) train_gan fashion-mnist "$runs/gan-clean-wide" "${wide_options[@]}" ;;
  decoder-attenuated)
    # The encoder frozen (the fingerprinted set and its GAN stay valid); each residual scaled by
    # U[0.3, 1] before the decoder: 3,000 steps, then 7,000 more with Gaussian noise (σ 0.02) too.
    # Starts from DECODER_BASE's encoder.h5 and decoder.h5 (the 12,000-step pair's by default, as the
    # decoder shipped until session 12 was made; a run folder that still holds a checkpoint would
    # be continued from the checkpoint instead).
    common=(--data fashion-mnist --resolution 32 --bits 100 --decoder-negative-slope 0.2 --freeze-encoder
            --attenuate 0.3 --checkpoint-every 500)
    if [ ! -f "$runs/dec-att03/decoder.h5" ]; then
      base=${DECODER_BASE:-}; [ -n "$base" ] || base=$(first_pair_models)
      start_from "$runs/dec-att03" "$base"
      "$gfp" stego train "${common[@]}" --steps 3000 --out "$runs/dec-att03" "${start[@]}"
    fi
    start_from "$runs/dec-att03n" "$runs/dec-att03"
    "$gfp" stego train "${common[@]}" --immunize noise:0.02 --steps 10000 --out "$runs/dec-att03n" "${start[@]}"
    ;;
  evaluate)
    dec="$enc_run/decoder.h5"
    # The clean GAN is measured when its run is here (a later session may continue the
    # fingerprinted one alone: the clean control's figures do not change with it).
    gans=(fingerprinted); [ -e "$clean_run" ] && gans+=(clean) || echo "no $clean_run: the clean GAN is not measured" >&2
    run_of() { [ "$1" = fingerprinted ] && echo "$fp_run" || echo "$clean_run"; }
    for gan in "${gans[@]}"; do
      rm -rf "$runs/generated-$gan"
      "$gfp" gan generate --run "$(run_of "$gan")" --seeds 0-999 --out "$runs/generated-$gan" > /dev/null
      "$gfp" stego detect --decoder "$dec" --expected "$fingerprint" --json "$runs/generated-$gan" \
        > "$res/detect-generated-$gan.json" || true   # exit 1 = no match, expected for the clean GAN
    done
    # Real test images (the first 1,000, not fingerprinted) for the deepfake-detection false positives.
    rm -rf "$runs/real-test"
    "$gfp" data import-fashion-mnist --split test --pad-to 32 --max-images 1000 "$runs/real-test" > /dev/null
    "$gfp" stego detect --decoder "$dec" --expected "$fingerprint" --json "$runs/real-test" > "$res/detect-real.json" || true
    "$gfp" stego robustness --decoder "$dec" --expected "$fingerprint" --generator "$fp_run" \
      --images 1000 --out "$res/robustness" > "$res/robustness.txt"
    # Fréchet distances with 10,000 images on each side (the estimate's bias grows as 1/N: compare
    # equal sizes only), against the 10,000 real test images.
    for gan in "${gans[@]}"; do
      rm -rf "$runs/fd-generated-$gan"
      "$gfp" gan generate --run "$(run_of "$gan")" --seeds 0-9999 --out "$runs/fd-generated-$gan" > /dev/null
      "$gfp" metrics fd --classifier Models/fashion-mnist-classifier/classifier.h5 "$runs/fd-generated-$gan" \
        fashion-mnist:test > "$res/fd-$gan.json"
    done
    "$gfp" metrics fd --classifier Models/fashion-mnist-classifier/classifier.h5 "$runs/embedded-test$sfx/images" \
      fashion-mnist:test > "$res/fd-fingerprinted-test.json"
    echo "results in $res"
    ;;
  grids)
    # The fingerprint in the sample grids the fingerprinted GAN wrote every 1000 steps (64 images
    # of fixed latents each): the run's only per-step record once its checkpoint has moved on.
    rm -rf "$runs/grid-cells"
    python3 Tools/split_sample_grids.py "$fp_run/samples" "$runs/grid-cells" > /dev/null
    echo "step,mean_bit_accuracy,majority_vote_bits_right" > "$res/grid-accuracy.csv"
    for cells in "$runs"/grid-cells/step*; do
      "$gfp" stego detect --decoder "$enc_run/decoder.h5" --expected "$fingerprint" --json "$cells" \
        | python3 -c "import json, sys; s = json.load(sys.stdin)['summary']; e = sys.argv[2]
print(int(sys.argv[1][-7:]), round(s['meanBitAccuracy'], 4), sum(a == b for a, b in zip(s['majorityVote'], e)), sep=',')" \
          "$cells" "$fingerprint" >> "$res/grid-accuracy.csv" || true
    done
    cat "$res/grid-accuracy.csv"
    ;;
  ship)
    mkdir -p Models/stego-fashion-mnist-32 Models/stego-gan-fashion-mnist-32
    cp "$enc_run/encoder.h5" "$enc_run/decoder.h5" Models/stego-fashion-mnist-32/
    echo "$fingerprint" > Models/stego-fashion-mnist-32/fingerprint.txt
    "$gfp" gan export --run "$fp_run" --out Models/stego-gan-fashion-mnist-32/generator.h5
    ;;
  *) echo "unknown stage $stage (encoder encoder-robust encoder-control embed gan-fp gan-tune gan-robust gan-robust-scratch gan-robust-scratch-tune gan-clean gan-wide gan-clean-wide decoder-attenuated evaluate grids ship)" >&2; exit 64 ;;
  esac
done
