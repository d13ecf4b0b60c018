#!/usr/bin/env python3
"""Where a stego decoder loses the fingerprint (Docs/reproductions/stego.md, section 1).

Reads a gfp decoder file (`gfp stego train`'s decoder.h5: HDF5, tensors under model/) and a
folder written by `gfp stego embed --random-per-image` (images/NNNNNN.png, fingerprints.txt),
runs the decoder's layers in PyTorch on the first N images and prints, for every convolution,
how many of its channels are never active, then how well a linear read-out (ridge regression,
trained on 80 % of the images, scored on the rest) recovers the bits from the pixels and from
each layer's features. A decoder that reads fewer bits than a linear read-out of its own input
is losing them on the way.

    python Tools/probe_stego_decoder.py DECODER.h5 EMBED_DIR [N] [NEGATIVE_SLOPE]

Needs torch, h5py and pillow (a venv outside the repository).
"""
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def tensors(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, item):
            if isinstance(item, h5py.Dataset):
                out[name] = torch.tensor(item[:])
        f.visititems(visit)
    return out


def ridge_accuracy(features, bits, split, lam):
    mean, std = features[:split].mean(0), features[:split].std(0) + 1e-6
    z = torch.cat([(features - mean) / std, torch.ones(len(features), 1)], 1).double()
    a, y = z[:split], (bits[:split] * 2 - 1).double()
    w = torch.linalg.solve(a.T @ a + lam * torch.eye(a.shape[1], dtype=torch.double), a.T @ y)
    return ((z[split:] @ w > 0).float() == bits[split:]).float().mean().item()


def main():
    decoder_path, embed_dir = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    slope = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    w = tensors(decoder_path)
    records = dict(line.split() for line in open(f"{embed_dir}/fingerprints.txt"))
    names = sorted(records)[:n]
    images = torch.tensor(np.stack([np.array(Image.open(f"{embed_dir}/images/{name}"), dtype=np.float32) / 255
                                    for name in names]))
    if images.ndim == 3:
        images = images[:, None]
    else:
        images = images.permute(0, 3, 1, 2)
    bits = torch.tensor([[c == "1" for c in records[name]] for name in names], dtype=torch.float32)
    split = int(0.8 * len(names))

    layers = sorted({int(k.split("/")[2]) for k in w if k.startswith("model/decoder/")})
    strides = [2, 1, 2, 1, 2, 2, 2]
    act = (lambda x: F.leaky_relu(x, slope)) if slope > 0 else F.relu
    h, features = images, {"pixels": images.flatten(1)}
    for index, stride in zip(layers, strides):
        pre = F.conv2d(h, w[f"model/decoder/{index}/weight"], w[f"model/decoder/{index}/bias"], stride=stride, padding=1)
        h = act(pre)
        active = (pre > 0).float().mean((0, 2, 3))
        print(f"decoder.{index}: {tuple(h.shape[1:])}, channels never active {(active == 0).sum().item()} of {h.shape[1]}")
        features[f"decoder.{index}"] = h.flatten(1)
    hidden = act(h.flatten(1) @ w["model/dense/0/weight"].T + w["model/dense/0/bias"])
    print(f"dense.0: units never active {((hidden > 0).float().mean(0) == 0).sum().item()} of {hidden.shape[1]}")
    logits = hidden @ w["model/dense/2/weight"].T + w["model/dense/2/bias"]
    print(f"decoder's own bit accuracy on the held-out images: "
          f"{((logits[split:] > 0).float() == bits[split:]).float().mean().item():.4f}")
    for name, feature in features.items():
        if feature.shape[1] <= 4096:
            print(f"linear read-out from {name} ({feature.shape[1]} values): "
                  f"{ridge_accuracy(feature, bits, split, 10.0):.4f}")


if __name__ == "__main__":
    main()
