#!/usr/bin/env python3
"""Reference trajectories of PyTorch's Adam and SGD for Tests/NNTests/OptimizerTests.swift.

Run with any Python that has torch:  python Tools/make_optimizer_fixtures.py
Writes Tests/NNTests/Fixtures/optimizers.json: for each configuration, the initial parameters,
the gradient fed at every step, and the parameters after every step (float32 values).
"""
import json
import pathlib

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "NNTests" / "Fixtures" / "optimizers.json"


def trajectory(name, make, steps=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    p = torch.randn(3, 4, generator=g, dtype=torch.float32).requires_grad_(True)
    start = p.detach().clone()
    opt = make([p])
    grads, after = [], []
    for _ in range(steps):
        grad = torch.randn(3, 4, generator=g, dtype=torch.float32) * 0.5
        p.grad = grad.clone()
        opt.step()
        grads.append(grad.flatten().tolist())
        after.append(p.detach().flatten().tolist())
    return {"name": name, "shape": [3, 4], "initial": start.flatten().tolist(), "gradients": grads, "parameters": after}


cases = [
    trajectory("adam_default", lambda ps: torch.optim.Adam(ps, lr=1e-2)),
    trajectory("adam_beta1_zero", lambda ps: torch.optim.Adam(ps, lr=2e-3, betas=(0.0, 0.99), eps=1e-8), seed=1),
    trajectory("sgd_momentum", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), seed=2),
]
OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps({"torch": torch.__version__, "cases": cases}))
print(f"{OUT.relative_to(ROOT)}: {len(cases)} cases, {OUT.stat().st_size} bytes")
