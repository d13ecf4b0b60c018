#!/usr/bin/env python3
"""Summarises the `evaluate` stage of Tools/reproduce-stego.sh (the figures of
Docs/reproductions/stego.md) from the JSON files in RUNS/results.

Usage: python3 Tools/summarize_stego_results.py RUNS/results FINGERPRINT
"""
import json
import os
import statistics
import sys


def load(folder, name):
    path = os.path.join(folder, name)
    return json.load(open(path)) if os.path.exists(path) else None


def detection(report, expected):
    s, images = report["summary"], report["images"]
    accuracies = [i["verdict"]["matchingBits"] / i["verdict"]["bitCount"] for i in images]
    pvalues = sorted(i["verdict"]["pValue"] for i in images)
    vote = s["majorityVote"]
    vote = vote if isinstance(vote, str) else vote.get("bits", str(vote))
    wrong = sum(a != b for a, b in zip(vote, expected))
    return {
        "images": s["images"],
        "mean bit accuracy": statistics.fmean(accuracies),
        "min / median / max bit accuracy": (min(accuracies), statistics.median(accuracies), max(accuracies)),
        "median p-value": statistics.median(pvalues),
        "detected at >= %.2f" % s["detectionThreshold"]: s.get("detectedImages"),
        "majority vote wrong bits": wrong,
        "majority-vote p-value": (s.get("majorityVerdict") or {}).get("pValue"),
    }


def main():
    folder, expected = sys.argv[1], sys.argv[2].strip()
    results = {}
    for name in ("generated-fingerprinted", "generated-clean", "real"):
        report = load(folder, f"detect-{name}.json")
        if report:
            results[name] = detection(report, expected)
            print(f"== {name}")
            for key, value in results[name].items():
                print(f"  {key}: {value}")
    if "generated-fingerprinted" in results and "real" in results:
        key = [k for k in results["real"] if k.startswith("detected")][0]
        fake, real = results["generated-fingerprinted"], results["real"]
        correct = fake[key] + (real["images"] - real[key])
        print(f"== deepfake detection: accuracy {correct / (fake['images'] + real['images']):.4f} "
              f"({fake[key]}/{fake['images']} generated detected, {real[key]}/{real['images']} real images flagged)")
    for name in ("fingerprinted", "clean", "fingerprinted-test"):
        fd = load(folder, f"fd-{name}.json")
        if fd:
            print(f"== Frechet distance, {name} vs real test: {json.dumps(fd)}")


if __name__ == "__main__":
    main()
