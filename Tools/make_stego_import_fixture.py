#!/usr/bin/env python3
"""Fixture for `gfp stego import-torch`: a decoder saved by PyTorch, converted, and its logits.

Builds the official ArtificialGANFingerprints `StegaStampDecoder` (artificial-fingerprints spec §3:
`decoder` = seven Conv2d + ReLU, `dense` = Linear + ReLU + Linear; R = 32, one channel, L = 100,
the model this project ships), initialised by PyTorch's defaults from `torch.manual_seed(20261123)`,
saves its `state_dict` with `torch.save` as the official training script does, and converts that
`.pth` with the real `Tools/torch_to_hdf5.py` command line (`--compress`). The Swift test imports the
result through `StegoModelFile.importPyTorch` and must reproduce the logits PyTorch computes here.

The weights are rounded to bfloat16 precision (8 significant bits) before saving, so that the
committed HDF5 file compresses to well under a megabyte; the logits are computed by PyTorch from
exactly those weights, in float32, so nothing about the comparison is weakened.

Writes Tests/StegoTests/Fixtures/official_decoder_r32_c1_l100.h5 and official_decoder_logits.json.
Run with a Python that has torch and h5py (e.g. /work/torchvenv/bin/python Tools/make_stego_import_fixture.py).
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "StegoTests", "Fixtures")
RESOLUTION, CHANNELS, BITS, IMAGES = 32, 1, 100, 4


class StegaStampDecoder(nn.Module):
    """The official decoder's module structure and key names (spec §3 table)."""

    def __init__(self, resolution, channels, bits):
        super().__init__()
        self.decoder = nn.Sequential(
            nn.Conv2d(channels, 32, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(64, 128, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(128, 128, 3, 2, 1), nn.ReLU(),
        )
        self.dense = nn.Sequential(
            nn.Linear(resolution * resolution * 128 // 32 // 32, 512), nn.ReLU(),
            nn.Linear(512, bits),
        )

    def forward(self, image):
        x = self.decoder(image)
        return self.dense(x.view(-1, x.shape[1] * x.shape[2] * x.shape[3]))


def main():
    torch.manual_seed(20261123)
    model = StegaStampDecoder(RESOLUTION, CHANNELS, BITS)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
    images = torch.rand(IMAGES, CHANNELS, RESOLUTION, RESOLUTION)
    images = torch.round(images * 255) / 255  # 8-bit values, as decoded PNGs are
    with torch.no_grad():
        logits = model(images)

    os.makedirs(OUT, exist_ok=True)
    h5 = os.path.join(OUT, "official_decoder_r32_c1_l100.h5")
    with tempfile.TemporaryDirectory() as tmp:
        pth = os.path.join(tmp, "decoder.pth")
        torch.save(model.state_dict(), pth)
        subprocess.run([sys.executable, os.path.join(ROOT, "Tools", "torch_to_hdf5.py"), pth, h5,
                        "--kind", "pytorch-state-dict", "--compress"], check=True)

    def tensor(t):
        values = ", ".join("%.9g" % v for v in t.reshape(-1).tolist())  # 9 digits: exact float32
        return '{"shape": %s, "data": [%s]}' % (json.dumps(list(t.shape)), values)

    text = "{\n" + ",\n".join([
        '"about": %s' % json.dumps("Tools/make_stego_import_fixture.py, torch " + torch.__version__),
        '"resolution": %d, "channels": %d, "bits": %d' % (RESOLUTION, CHANNELS, BITS),
        '"images": ' + tensor(images),
        '"logits": ' + tensor(logits),
    ]) + "\n}\n"
    with open(os.path.join(OUT, "official_decoder_logits.json"), "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {h5} ({os.path.getsize(h5)} bytes) and official_decoder_logits.json")


if __name__ == "__main__":
    main()
