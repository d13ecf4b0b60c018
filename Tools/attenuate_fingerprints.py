#!/usr/bin/env python3
"""Fingerprinted test images with their residual scaled down, to see how steeply a decoder
loses the bits as the fingerprint weakens (as a GAN reproduces it weaker):

    python3 Tools/attenuate_fingerprints.py EMBEDDED_TEST_IMAGES OUT --alphas 0.3 0.5 0.7 [--images 1000]
    gfp stego detect --decoder DECODER.h5 --expected BITS --json OUT/alpha-0.5

EMBEDDED_TEST_IMAGES holds `gfp stego embed ... fashion-mnist:test` output (NNNNNN.png in test
order); each image becomes round(x + α (fingerprinted − x)) in 8 bits, x the Fashion-MNIST test
image zero-padded to the same size (Debian's dataset-fashion-mnist), written to OUT/alpha-α/.
Needs numpy and Pillow.
"""
import argparse
import gzip
import os
import sys

import numpy as np
from PIL import Image

FASHION_TEST = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("embedded")
    parser.add_argument("out")
    parser.add_argument("--alphas", type=float, nargs="+", required=True)
    parser.add_argument("--images", type=int, default=1000)
    args = parser.parse_args()
    names = sorted(n for n in os.listdir(args.embedded) if n.endswith(".png"))[:args.images]
    if not names:
        sys.exit(f"error: no PNG images in {args.embedded}")
    fingerprinted = np.stack([np.asarray(Image.open(os.path.join(args.embedded, n)).convert("L"), np.float64) for n in names])
    size = fingerprinted.shape[1]
    with gzip.open(FASHION_TEST) as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    indices = [int(os.path.splitext(n)[0]) for n in names]
    pad = (size - 28) // 2
    originals = np.zeros_like(fingerprinted)
    originals[:, pad:pad + 28, pad:pad + 28] = raw[indices]
    for alpha in args.alphas:
        folder = os.path.join(args.out, f"alpha-{alpha}")
        os.makedirs(folder, exist_ok=True)
        scaled = np.clip(np.rint(originals + alpha * (fingerprinted - originals)), 0, 255).astype(np.uint8)
        for name, image in zip(names, scaled):
            Image.fromarray(image, "L").save(os.path.join(folder, name))
        print(folder)


if __name__ == "__main__":
    main()
