#!/usr/bin/env python3
"""Peak resident memory of PyTorch's stego training step, measured as `gfp bench stego` measures its own.

Imports the networks of shared/bench/torch_reference.py (unchanged), runs its training step
(two warm-ups + --repeats, as its `timed` does) and prints one JSON line with the process's peak
resident set size in MiB (getrusage, KiB on Linux): the workload `stego_train_peak_rss_mb`.
Run with the venv that has torch: VENV/bin/python Tools/torch_train_step_rss.py --resolution 128
"""
import argparse
import json
import os
import resource
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch_reference import Decoder, Encoder  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--bits", type=int, default=100)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    enc, dec = Encoder(a.resolution, a.channels, a.bits), Decoder(a.resolution, a.channels, a.bits)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-4)
    x = torch.rand(a.batch, a.channels, a.resolution, a.resolution)
    for _ in range(a.repeats + 2):
        bits = torch.randint(0, 2, (a.batch, a.bits)).float()
        y = enc(bits, x)
        loss = F.binary_cross_entropy_with_logits(dec(y), bits) + 10 * F.mse_loss(y, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(resolution=a.resolution, channels=a.channels, bits=a.bits, batch=a.batch,
                          threads=a.threads, engine="torch " + torch.__version__,
                          workload="stego_train_peak_rss_mb", value=peak)))


if __name__ == "__main__":
    main()
