#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for the gfp `Tensor` test-suite.

Writes one JSON file per op family into ``Tests/TensorTests/Fixtures/``
(conv2d.json, conv_transpose2d.json, resample.json, upfirdn2d.json, pad.json,
losses.json, double_backward.json, matmul.json). Each file is::

    {"cases": [
      {"name": ..., "op": ..., "params": {...},
       "inputs":      {"x": {"shape": [...], "data": [...]}, ...},
       "output":      {"shape": [...], "data": [...]},
       "grad_output": {"shape": [...], "data": [...]},
       "grads":       {"x": {...}, ...}},
      ...]}

``data`` is the flat row-major tensor. ``grads[k]`` is d(sum(output * grad_output))/d inputs[k]
for every differentiable input. Scalars have shape [] and one data element.

Numerics: every input (and grad_output, and filter) is drawn in float64 and then rounded to
float32, so the Swift side sees exactly the values torch used; all maths runs in float64 and the
results are rounded to float32 and printed with 9 significant digits (float32 round-trip).
Every case seeds ``torch.manual_seed`` from a CRC32 of its name, so reruns give byte-identical
files (for a given torch version).

Run from anywhere (any python with torch; the venv path is just where it lives on the dev box):

    /work/torchvenv/bin/python Tools/make_tensor_fixtures.py [--out DIR]

``--out`` defaults to ``<repo root>/Tests/TensorTests/Fixtures``.

Conventions (all spatial pairs are [h, w]):
  conv2d            padding [top, bottom, left, right] (asymmetric); w [O, C/groups, kh, kw].
  conv_transpose2d  padding [ph, pw] (PyTorch semantics), output_padding [oh, ow];
                    w [Cin, Cout/groups, kh, kw] (PyTorch layout).
  upfirdn2d         pad [padx0, padx1, pady0, pady1] (StyleGAN2 order, negative = crop),
                    up [uy, ux], down [dy, dx] (NB: [y, x], unlike StyleGAN's scalar-or-[x, y]);
                    filter {"shape": [fh, fw], "data"} is a fixed, non-differentiable param.
  upsample_bilinear size [oh, ow], align_corners false (half-pixel, src clamped at 0, no
                    antialias; downscale just samples).
  avg_pool2d        kernel/stride/padding [h, w], symmetric padding, count_include_pad, floor mode.
  pad               pads [[before, after], ...] one pair per axis, negative = crop.
  gradient_penalty  output = sum((dD/dx)^2), grad_output fixed to 1; see gradient_penalty_cases().
"""

from __future__ import annotations

import argparse
import math
import zlib
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

F64 = torch.float64
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "Tests" / "TensorTests" / "Fixtures"


# --------------------------------------------------------------------------------------------
# Tensor helpers and JSON emission
# --------------------------------------------------------------------------------------------

def randn(*shape: int, scale: float = 1.0) -> torch.Tensor:
    return q(torch.randn(shape, dtype=F64) * scale)


def rand(*shape: int) -> torch.Tensor:
    return q(torch.rand(shape, dtype=F64))


from fixture_json import TensorJSON, _emit, _emit_tensor_map, q  # noqa: E402  (shared emitters)


def emit_file(cases: list[dict]) -> str:
    parts = []
    for c in cases:
        ind = "    "
        lines = [
            f'{ind}"name": {_emit(c["name"])}',
            f'{ind}"op": {_emit(c["op"])}',
            f'{ind}"params": {_emit(c["params"])}',
            f'{ind}"inputs": {_emit_tensor_map(c["inputs"], ind)}',
            f'{ind}"output": {c["output"].to_json()}',
            f'{ind}"grad_output": {c["grad_output"].to_json()}',
            f'{ind}"grads": {_emit_tensor_map(c["grads"], ind)}',
        ]
        parts.append("  {\n" + ",\n".join(lines) + "\n  }")
    return '{"cases": [\n' + ",\n".join(parts) + "\n]}\n"


# --------------------------------------------------------------------------------------------
# Case builder
# --------------------------------------------------------------------------------------------

def seed_for(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def build_case(
    name: str,
    op: str,
    params: dict,
    make_inputs: Callable[[], dict[str, torch.Tensor]],
    forward: Callable[..., torch.Tensor],
    nondiff: tuple[str, ...] = (),
    unit_grad_output: bool = False,
) -> dict:
    """Seed, draw inputs, run forward, then backprop a random grad_output with autograd.grad.

    make_inputs() is called right after torch.manual_seed(crc32(name)); it returns named
    float64 tensors (rounded to float32 values). forward(**inputs) returns the output tensor.
    Inputs named in `nondiff` get no gradient.
    """
    torch.manual_seed(seed_for(name))
    inputs = {k: q(v).requires_grad_(k not in nondiff) for k, v in make_inputs().items()}
    out = forward(**inputs)
    if unit_grad_output:
        g = torch.ones_like(out)
    else:
        g = randn(*out.shape)
    diff_names = [k for k in inputs if k not in nondiff]
    grads = torch.autograd.grad(out, [inputs[k] for k in diff_names], grad_outputs=g,
                                allow_unused=True)
    grads_json = {}
    for k, gr in zip(diff_names, grads):
        grads_json[k] = TensorJSON(gr if gr is not None else torch.zeros_like(inputs[k]))
    return {
        "name": name,
        "op": op,
        "params": params,
        "inputs": {k: TensorJSON(v) for k, v in inputs.items()},
        "output": TensorJSON(out),
        "grad_output": TensorJSON(g),
        "grads": grads_json,
    }


# --------------------------------------------------------------------------------------------
# Reference implementations
# --------------------------------------------------------------------------------------------

def conv2d_ref(x, w, b, *, stride, padding, dilation, groups):
    top, bottom, left, right = padding
    x = F.pad(x, [left, right, top, bottom])
    return F.conv2d(x, w, b, stride=tuple(stride), padding=0, dilation=tuple(dilation),
                    groups=groups)


def conv_transpose2d_ref(x, w, b, *, stride, padding, output_padding, dilation, groups):
    return F.conv_transpose2d(x, w, b, stride=tuple(stride), padding=tuple(padding),
                              output_padding=tuple(output_padding), groups=groups,
                              dilation=tuple(dilation))


def pad_ref(x, *, pads, value=0.0):
    """pads: [[before, after], ...] per axis; positive pads with `value`, negative crops."""
    assert len(pads) == x.dim()
    flat = []
    for before, after in reversed(pads):  # F.pad wants last axis first
        flat += [max(before, 0), max(after, 0)]
    x = F.pad(x, flat, value=value)
    idx = tuple(slice(max(-before, 0), x.shape[d] - max(-after, 0))
                for d, (before, after) in enumerate(pads))
    return x[idx]


def upfirdn2d_ref(x, f, *, up, down, pad, gain, flip_filter):
    """StyleGAN2-ADA torch_utils/ops/upfirdn2d.py::_upfirdn2d_ref, 2-D filter only.

    up=[uy, ux], down=[dy, dx], pad=[padx0, padx1, pady0, pady1].
    """
    n, c, h, w = x.shape
    uy, ux = up
    dy, dx = down
    padx0, padx1, pady0, pady1 = pad
    # (a) upsample by inserting zeros after every pixel
    x = x.reshape(n, c, h, 1, w, 1)
    x = F.pad(x, [0, ux - 1, 0, 0, 0, uy - 1])
    x = x.reshape(n, c, h * uy, w * ux)
    # (b) pad, then crop for negative pads
    x = F.pad(x, [max(padx0, 0), max(padx1, 0), max(pady0, 0), max(pady1, 0)])
    x = x[:, :, max(-pady0, 0): x.shape[2] - max(-pady1, 0),
          max(-padx0, 0): x.shape[3] - max(-padx1, 0)]
    # (c) FIR filter (depthwise cross-correlation with the possibly flipped filter)
    f = f * (gain ** (f.ndim / 2))
    if not flip_filter:
        f = f.flip([0, 1])
    f = f[None, None].repeat(c, 1, 1, 1)
    x = F.conv2d(x, f, groups=c)
    # (d) downsample
    return x[:, :, ::dy, ::dx]


def upsample_nearest_ref(x, *, scale):
    sh, sw = scale
    return x.repeat_interleave(sh, dim=2).repeat_interleave(sw, dim=3)


def upsample_bilinear_ref(x, *, size, align_corners):
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=align_corners,
                         antialias=False)


def avg_pool2d_ref(x, *, kernel, stride, padding, count_include_pad):
    return F.avg_pool2d(x, tuple(kernel), tuple(stride), tuple(padding), ceil_mode=False,
                        count_include_pad=count_include_pad)


def setup_filter(taps: list[float]) -> torch.Tensor:
    """StyleGAN2 setup_filter: separable outer product, normalised to sum 1."""
    f = torch.tensor(taps, dtype=F64)
    f = torch.outer(f, f)
    return q(f / f.sum())


# --------------------------------------------------------------------------------------------
# Op families
# --------------------------------------------------------------------------------------------

def conv2d_cases() -> list[dict]:
    specs = [
        # name, x shape, w shape, stride, padding [t,b,l,r], dilation, groups
        ("conv2d_3x3_stride1_pad1", (2, 4, 7, 7), (5, 4, 3, 3), [1, 1], [1, 1, 1, 1], [1, 1], 1),
        ("conv2d_3x3_stride2_pad1", (2, 3, 8, 8), (4, 3, 3, 3), [2, 2], [1, 1, 1, 1], [1, 1], 1),
        ("conv2d_1x1", (2, 4, 5, 6), (3, 4, 1, 1), [1, 1], [0, 0, 0, 0], [1, 1], 1),
        ("conv2d_2x2_pad_0101_same", (2, 3, 6, 6), (4, 3, 2, 2), [1, 1], [0, 1, 0, 1], [1, 1], 1),
        ("conv2d_3x3_dilation2_pad2", (2, 3, 7, 7), (4, 3, 3, 3), [1, 1], [2, 2, 2, 2], [2, 2], 1),
        ("conv2d_3x3_groups2", (2, 4, 6, 6), (6, 2, 3, 3), [1, 1], [1, 1, 1, 1], [1, 1], 2),
        ("conv2d_3x3_depthwise", (2, 4, 6, 6), (4, 1, 3, 3), [1, 1], [1, 1, 1, 1], [1, 1], 4),
        ("conv2d_3x1_stride2x1", (2, 3, 7, 5), (4, 3, 3, 1), [2, 1], [1, 1, 0, 0], [1, 1], 1),
        ("conv2d_3x3_h5_w9", (2, 3, 5, 9), (4, 3, 3, 3), [1, 1], [1, 1, 1, 1], [1, 1], 1),
        # everything non-square / asymmetric, to catch h<->w mix-ups
        ("conv2d_2x3_mixed_asymmetric", (2, 3, 6, 9), (4, 3, 2, 3), [1, 2], [1, 0, 2, 1],
         [2, 1], 1),
    ]
    cases = []
    for name, xs, ws, stride, padding, dilation, groups in specs:
        params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        cases.append(build_case(
            name, "conv2d", params,
            lambda xs=xs, ws=ws: {"x": randn(*xs), "w": randn(*ws, scale=0.5),
                                  "b": randn(ws[0], scale=0.5)},
            lambda x, w, b, p=params: conv2d_ref(x, w, b, **p)))
    return cases


def conv_transpose2d_cases() -> list[dict]:
    specs = [
        # name, x shape, w shape [Cin, Cout/g, kh, kw], stride, padding, output_padding,
        # dilation, groups
        ("conv_transpose2d_3x3_stride1_pad1", (2, 4, 5, 5), (4, 3, 3, 3),
         [1, 1], [1, 1], [0, 0], [1, 1], 1),
        ("conv_transpose2d_4x4_stride2_pad1", (2, 4, 5, 5), (4, 3, 4, 4),
         [2, 2], [1, 1], [0, 0], [1, 1], 1),
        ("conv_transpose2d_3x3_stride2_pad1_outpad1", (2, 3, 5, 5), (3, 4, 3, 3),
         [2, 2], [1, 1], [1, 1], [1, 1], 1),
        ("conv_transpose2d_3x3_stride2_groups2", (2, 4, 5, 5), (4, 3, 3, 3),
         [2, 2], [1, 1], [0, 0], [1, 1], 2),
        ("conv_transpose2d_3x3_dilation2_pad1", (2, 3, 5, 5), (3, 2, 3, 3),
         [1, 1], [1, 1], [0, 0], [2, 2], 1),
        # non-square everything, to catch h<->w mix-ups
        ("conv_transpose2d_3x2_mixed", (2, 3, 4, 6), (3, 2, 3, 2),
         [2, 1], [1, 0], [1, 0], [1, 2], 1),
    ]
    cases = []
    for name, xs, ws, stride, padding, outpad, dilation, groups in specs:
        params = {"stride": stride, "padding": padding, "output_padding": outpad,
                  "dilation": dilation, "groups": groups}
        cout = ws[1] * groups
        cases.append(build_case(
            name, "conv_transpose2d", params,
            lambda xs=xs, ws=ws, cout=cout: {"x": randn(*xs), "w": randn(*ws, scale=0.5),
                                             "b": randn(cout, scale=0.5)},
            lambda x, w, b, p=params: conv_transpose2d_ref(x, w, b, **p)))
    return cases


def resample_cases() -> list[dict]:
    cases = []
    for name, xs, scale in [("upsample_nearest_2x2", (2, 3, 5, 5), [2, 2]),
                            ("upsample_nearest_3x2", (2, 3, 4, 5), [3, 2])]:
        params = {"scale": scale}
        cases.append(build_case(
            name, "upsample_nearest", params, lambda xs=xs: {"x": randn(*xs)},
            lambda x, p=params: upsample_nearest_ref(x, **p)))

    for name, xs, size in [("upsample_bilinear_5x5_to_10x10", (2, 3, 5, 5), [10, 10]),
                           ("upsample_bilinear_5x7_to_8x11", (2, 3, 5, 7), [8, 11]),
                           ("upsample_bilinear_9x9_to_4x4", (2, 3, 9, 9), [4, 4])]:
        params = {"size": size, "align_corners": False}
        cases.append(build_case(
            name, "upsample_bilinear", params, lambda xs=xs: {"x": randn(*xs)},
            lambda x, p=params: upsample_bilinear_ref(x, **p)))

    for name, xs, k, s, p in [("avg_pool2d_k2_s2_p0", (2, 3, 8, 8), [2, 2], [2, 2], [0, 0]),
                              ("avg_pool2d_k3_s1_p1", (2, 3, 7, 7), [3, 3], [1, 1], [1, 1]),
                              ("avg_pool2d_k3_s2_p1", (2, 3, 9, 9), [3, 3], [2, 2], [1, 1]),
                              ("avg_pool2d_k3x2_s2x1_p1x0", (2, 3, 7, 6), [3, 2], [2, 1],
                               [1, 0])]:
        params = {"kernel": k, "stride": s, "padding": p, "count_include_pad": True}
        cases.append(build_case(
            name, "avg_pool2d", params, lambda xs=xs: {"x": randn(*xs)},
            lambda x, p=params: avg_pool2d_ref(x, **p)))
    return cases


def upfirdn2d_cases() -> list[dict]:
    f4 = setup_filter([1, 3, 3, 1])
    fw = fh = 4
    up, down = 2, 2
    specs = [
        # name, x shape, filter, up, down, pad [x0,x1,y0,y1], gain, flip
        ("upfirdn2d_upsample2d_f1331", (2, 3, 5, 5), f4, [up, up], [1, 1],
         [(fw + up - 1) // 2, (fw - up) // 2, (fh + up - 1) // 2, (fh - up) // 2],
         float(up * up), False),
        ("upfirdn2d_downsample2d_f1331", (2, 3, 8, 8), f4, [1, 1], [down, down],
         [(fw - down + 1) // 2, (fw - down) // 2, (fh - down + 1) // 2, (fh - down) // 2],
         1.0, False),
        ("upfirdn2d_blur_f1331", (2, 3, 6, 7), f4, [1, 1], [1, 1], [2, 1, 2, 1], 1.0, False),
        # negative pads crop: x0=-1 (crop left col), y1=-2 (crop two bottom rows)
        ("upfirdn2d_negative_pad_crop", (2, 3, 7, 8), f4, [1, 1], [1, 1], [-1, 2, 1, -2],
         1.0, False),
    ]
    cases = []
    for name, xs, f, u, d, pad, gain, flip in specs:
        params = {"filter": TensorJSON(f), "up": u, "down": d, "pad": pad, "gain": gain,
                  "flip_filter": flip}
        cases.append(build_case(
            name, "upfirdn2d", params, lambda xs=xs: {"x": randn(*xs)},
            lambda x, f=f, u=u, d=d, pad=pad, gain=gain, flip=flip:
                upfirdn2d_ref(x, f, up=u, down=d, pad=pad, gain=gain, flip_filter=flip)))

    # Filters that are random (non-separable, non-symmetric) need the seed too: draw them with
    # their own generator so the case seed stays dedicated to the inputs.
    def random_filter(name: str, fh: int, fw: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed_for(name + "/filter"))
        return q(torch.randn(fh, fw, dtype=F64, generator=gen) * 0.5)

    name = "upfirdn2d_up1x2_down2x1_flip_random3x3"
    f3 = random_filter(name, 3, 3)
    params = {"filter": TensorJSON(f3), "up": [1, 2], "down": [2, 1], "pad": [1, 2, 2, 0],
              "gain": 1.5, "flip_filter": True}
    cases.append(build_case(
        name, "upfirdn2d", params, lambda: {"x": randn(2, 3, 7, 5)},
        lambda x: upfirdn2d_ref(x, f3, up=[1, 2], down=[2, 1], pad=[1, 2, 2, 0], gain=1.5,
                                flip_filter=True)))

    # Non-square filter (fh=3, fw=2), no flip: catches filter h/w and flip mix-ups.
    name = "upfirdn2d_up2x1_random3x2_noflip"
    f32 = random_filter(name, 3, 2)
    params = {"filter": TensorJSON(f32), "up": [2, 1], "down": [1, 1], "pad": [0, 1, 1, 1],
              "gain": 2.0, "flip_filter": False}
    cases.append(build_case(
        name, "upfirdn2d", params, lambda: {"x": randn(2, 3, 5, 6)},
        lambda x: upfirdn2d_ref(x, f32, up=[2, 1], down=[1, 1], pad=[0, 1, 1, 1], gain=2.0,
                                flip_filter=False)))
    return cases


def pad_cases() -> list[dict]:
    specs = [
        ("pad_spatial_asymmetric", (2, 3, 5, 6), [[0, 0], [0, 0], [0, 1], [2, 0]]),
        ("pad_all_axes_positive_3d", (2, 3, 4), [[1, 2], [2, 0], [1, 3]]),
        ("pad_negative_crop_mixed", (2, 4, 6, 7), [[0, 0], [-1, 1], [2, -3], [-2, -1]]),
    ]
    cases = []
    for name, xs, pads in specs:
        params = {"pads": pads, "value": 0.0}
        cases.append(build_case(
            name, "pad", params, lambda xs=xs: {"x": randn(*xs)},
            lambda x, p=params: pad_ref(x, **p)))
    return cases


def loss_cases() -> list[dict]:
    cases = []

    def bce_inputs_large():
        x = randn(4, 5, scale=3.0)
        x[0, 0], x[0, 1], x[1, 2], x[2, 3], x[3, 4], x[3, 0] = 30.0, -30.0, 100.0, -100.0, 50.0, 0.0
        return {"x": x, "z": rand(4, 5)}

    bce = lambda x, z: F.binary_cross_entropy_with_logits(x, z, reduction="mean")
    cases.append(build_case("bce_with_logits_mean", "bce_with_logits", {"reduction": "mean"},
                            lambda: {"x": randn(2, 3, 4, scale=2.0), "z": rand(2, 3, 4)}, bce))
    cases.append(build_case("bce_with_logits_mean_large_logits", "bce_with_logits",
                            {"reduction": "mean"}, bce_inputs_large, bce))

    ce_specs = [
        ("cross_entropy_mean", [0, 3, 4, 1, 2, 4], False),
        ("cross_entropy_mean_large_logits", [2, 0, 1, 4], True),
    ]
    for name, labels, large in ce_specs:
        def make(n=len(labels), large=large):
            x = randn(n, 5, scale=2.0)
            if large:
                x[0, 2], x[1, 1], x[2, 3], x[3, 0], x[3, 4] = 100.0, 100.0, -100.0, 30.0, 95.0
            return {"x": x}
        labels_t = torch.tensor(labels)
        cases.append(build_case(
            name, "cross_entropy", {"labels": labels, "reduction": "mean"}, make,
            lambda x, lt=labels_t: F.cross_entropy(x, lt, reduction="mean")))

    def large_rows():
        x = randn(4, 7, scale=2.0)
        x[1] += 100.0
        x[2, 3] = -100.0
        x[3, 5] = 95.0
        return {"x": x}

    for name, make in [("log_softmax_axis1", lambda: {"x": randn(4, 7, scale=2.0)}),
                       ("log_softmax_axis1_large", large_rows)]:
        cases.append(build_case(name, "log_softmax", {"axis": 1}, make,
                                lambda x: F.log_softmax(x, dim=1)))
    for name, make in [("logsumexp_axis1", lambda: {"x": randn(4, 7, scale=2.0)}),
                       ("logsumexp_axis1_large", large_rows)]:
        cases.append(build_case(name, "logsumexp", {"axis": 1, "keepdim": False}, make,
                                lambda x: torch.logsumexp(x, dim=1)))
    return cases


def gradient_penalty_cases() -> list[dict]:
    def make():
        return {"x": randn(2, 3, 6, 6), "w1": randn(4, 3, 3, 3, scale=0.4),
                "b1": randn(4, scale=0.4), "w2": randn(1, 4, 3, 3, scale=0.4)}

    def penalty(x, w1, b1, w2, *, activation, output_activation):
        def D(x):
            h = F.conv2d(x, w1, b1, padding=1)
            h = F.leaky_relu(h, 0.2) if activation == "leaky_relu" else F.softplus(h)
            y = F.conv2d(h, w2, stride=2, padding=1)
            if output_activation == "softplus":
                y = F.softplus(y)
            return y.sum()
        (gx,) = torch.autograd.grad(D(x), x, create_graph=True)
        return gx.square().sum()

    conv_params = {"conv1": {"stride": [1, 1], "padding": [1, 1, 1, 1]},
                   "conv2": {"stride": [2, 2], "padding": [1, 1, 1, 1], "bias": False}}
    cases = []
    for name, act, out_act in [("gradient_penalty_leaky_relu", "leaky_relu", "none"),
                               ("gradient_penalty_softplus", "softplus", "softplus")]:
        params = dict(conv_params)
        params["activation"] = act
        if act == "leaky_relu":
            params["negative_slope"] = 0.2
        params["output_activation"] = out_act
        cases.append(build_case(
            name, "gradient_penalty", params, make,
            lambda x, w1, b1, w2, a=act, o=out_act:
                penalty(x, w1, b1, w2, activation=a, output_activation=o),
            unit_grad_output=True))
    return cases


def matmul_cases() -> list[dict]:
    mm = lambda a, b: torch.matmul(a, b)
    return [
        build_case("matmul_2d", "matmul", {}, lambda: {"a": randn(3, 4), "b": randn(4, 5)}, mm),
        build_case("matmul_2d_outer_shapes", "matmul", {},
                   lambda: {"a": randn(6, 1), "b": randn(1, 7)}, mm),
        build_case("matmul_batched", "matmul", {},
                   lambda: {"a": randn(2, 3, 4), "b": randn(2, 4, 5)}, mm),
    ]


FAMILIES: list[tuple[str, Callable[[], list[dict]]]] = [
    ("conv2d.json", conv2d_cases),
    ("conv_transpose2d.json", conv_transpose2d_cases),
    ("resample.json", resample_cases),
    ("upfirdn2d.json", upfirdn2d_cases),
    ("pad.json", pad_cases),
    ("losses.json", loss_cases),
    ("double_backward.json", gradient_penalty_cases),
    ("matmul.json", matmul_cases),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help=f"output directory (default: {DEFAULT_OUT})")
    args = ap.parse_args()
    torch.set_default_dtype(F64)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)

    total = 0
    for filename, make_cases in FAMILIES:
        cases = make_cases()
        names = [c["name"] for c in cases]
        assert len(set(names)) == len(names), f"duplicate case names in {filename}"
        text = emit_file(cases)
        path = args.out / filename
        path.write_text(text, encoding="utf-8")
        size = len(text.encode("utf-8"))
        total += size
        print(f"{filename:24s} {len(cases):3d} cases {size:9d} bytes")
    print(f"{'total':24s}           {total:9d} bytes  (torch {torch.__version__})")


if __name__ == "__main__":
    main()
