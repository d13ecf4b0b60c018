#!/usr/bin/env python3
"""Per-bit accuracy of fingerprint detections: which of the L bits a decoder reads well.

Reads the JSON that `gfp stego detect --expected BITS --json` writes (one file per image set)
and prints, for each, the mean bit accuracy, the spread of the per-bit accuracies, the worst
bits and how much of the missing accuracy they hold, and how many bits read at least 0.9 and
below 0.6 (over a training run's snapshots: do the bits lock on together or one by one?); with two
or more files, the Pearson correlation of their per-bit accuracies (do the same bits fail in
different image sets?), unless --no-correlation.

    gfp stego detect --decoder DEC.h5 --expected BITS --json IMAGES_A > a.json
    gfp stego detect --decoder DEC.h5 --expected BITS --json IMAGES_B > b.json
    Tools/per_bit_accuracy.py BITS a.json b.json [--worst 12] [--no-correlation]

Standard library only.
"""
import argparse
import json
import statistics
import sys


def per_bit(path, expected):
    with open(path) as f:
        images = json.load(f)["images"]
    if not images:
        sys.exit(f"per_bit_accuracy: {path} holds no images")
    for image in images:
        if len(image["bits"]) != len(expected):
            sys.exit(f"per_bit_accuracy: {path}: {image['name']} has {len(image['bits'])} bits, expected {len(expected)}")
    return [sum(image["bits"][j] == expected[j] for image in images) / len(images) for j in range(len(expected))]


def pearson(a, b):
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    var = (sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b)) ** 0.5
    return cov / var if var > 0 else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("expected", help="the expected fingerprint, a string of 0/1")
    parser.add_argument("detections", nargs="+", help="JSON files of gfp stego detect --json")
    parser.add_argument("--worst", type=int, default=12, help="how many of the worst bits to list")
    parser.add_argument("--no-correlation", action="store_true", help="skip the pairwise correlations")
    args = parser.parse_args()
    if not args.expected or set(args.expected) - {"0", "1"}:
        sys.exit("per_bit_accuracy: the expected fingerprint must be a string of 0 and 1")
    accuracies = [per_bit(path, args.expected) for path in args.detections]
    for path, acc in zip(args.detections, accuracies):
        order = sorted(range(len(acc)), key=lambda j: acc[j])
        deciles = statistics.quantiles(acc, n=10)
        missing = sum(1 - a for a in acc)
        worst_share = sum(1 - acc[j] for j in order[:20]) / missing if missing > 0 else 0
        print(f"{path}: mean {statistics.fmean(acc):.4f}; per bit min {acc[order[0]]:.3f}, "
              f"10th pct {deciles[0]:.3f}, median {statistics.median(acc):.3f}, 90th pct {deciles[-1]:.3f}, "
              f"max {acc[order[-1]]:.3f}; the 20 worst bits hold {worst_share:.0%} of the missing accuracy; "
              f"{sum(a >= 0.9 for a in acc)} bits at >= 0.9, {sum(a < 0.6 for a in acc)} below 0.6")
        print("  worst (bit: accuracy):", ", ".join(f"{j}: {acc[j]:.3f}" for j in order[:args.worst]))
    if args.no_correlation:
        return
    for i in range(len(accuracies)):
        for k in range(i + 1, len(accuracies)):
            print(f"correlation of per-bit accuracies, {args.detections[i]} vs {args.detections[k]}: "
                  f"{pearson(accuracies[i], accuracies[k]):.3f}")


if __name__ == "__main__":
    main()
