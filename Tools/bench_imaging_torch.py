#!/usr/bin/env python3
"""Pillow + torchvision side of `gfp bench imaging`, on the PNG folders that command wrote.

For each resolution R it times, on ``<work-dir>/png<R>`` (written by ``gfp bench imaging
--work-dir <work-dir>``), the same work as gfp's workloads and prints JSON lines of the same
shape, with ``"framework": "torchvision"``:

``png_decode_preprocess_img_s``
    one thread: ``Image.open(p).convert("RGB")``, ``Resize(R)``, ``CenterCrop(R)``,
    ``ToTensor()`` for every file in sorted order (torch limited to 1 thread);
``loader_img_s``
    ``torchvision.datasets.ImageFolder`` with that transform through
    ``torch.utils.data.DataLoader(batch_size=64, num_workers=1)``: decoding in one worker
    process, batches collated in the main one (gfp: one background thread).

Medians of ``--repeats`` passes after two warm-up passes, as gfp does.

    /work/torchvenv/bin/python Tools/bench_imaging_torch.py --work-dir /tmp/gfp-bench-imaging
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
import torchvision
import torchvision.transforms as T
from PIL import Image


def median_seconds(repeats: int, body) -> float:
    body()
    body()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        body()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def emit(workload: str, resolution: int, images: int, value: float) -> None:
    print(json.dumps({"framework": "torchvision", "images": images, "resolution": resolution,
                      "threads": os.cpu_count(), "value": value, "workload": workload}, sort_keys=True), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for resolution in (32, 128):
        root = args.work_dir / f"png{resolution}"
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        transform = T.Compose([T.Resize(resolution), T.CenterCrop(resolution), T.ToTensor()])

        def decode_all():
            for path in files:
                with Image.open(path) as image:
                    transform(image.convert("RGB"))

        seconds = median_seconds(args.repeats, decode_all)
        emit("png_decode_preprocess_img_s", resolution, len(files), len(files) / seconds)

        dataset = torchvision.datasets.ImageFolder(str(root), transform=transform)

        def load_all():
            loader = torch.utils.data.DataLoader(dataset, batch_size=64, num_workers=1)
            for _ in loader:
                pass

        seconds = median_seconds(args.repeats, load_all)
        emit("loader_img_s", resolution, len(dataset), len(dataset) / seconds)


if __name__ == "__main__":
    main()
