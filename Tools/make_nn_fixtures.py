#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for the gfp `NN` test-suite (the networks of the two papers).

Writes into ``Tests/NNTests/Fixtures/``:

  stegastamp.json   StegaStamp encoder / decoder (Artificial GAN Fingerprints, spec AGF §2-§3),
                    plus one ``<case>.bin`` per case (see "StegaStamp cases" below).
  stylegan2.json    StyleGAN2 primitives with TF semantics (Scalable GAN Fingerprints spec §2-§5,
                    §11): EqualizedLinear, EqualizedConv2d (plain / down), ModulatedConv2d
                    (demod / no demod, k 3 / 1, up), SynthesisLayer, ToRGB, SynthesisBlock,
                    MappingNetwork, DiscriminatorBlock, MinibatchStdDev, DiscriminatorEpilogue.

The references are independent PyTorch re-implementations written from the specs (not the official
code). Each file is the same format as ``Tests/TensorTests/Fixtures`` (make_tensor_fixtures.py)::

    {"cases": [
      {"name": ..., "op": ..., "params": {...},
       "inputs":      {"x": {"shape": [...], "data": [...]}, ...},
       "output":      {"shape", "data"},          # or "outputs": {name: {...}} for several
       "grad_output": {"shape", "data"},          # or "grad_outputs": {name: {...}}
       "grads":       {input name: {...}},        # every input, incl. w / noise / bits
       "parameters":      {dotted key: {"shape", "data"}},   # module cases (JSON storage)
       "parameter_grads": {dotted key: {"shape", "data"}},
       "diagnostics": {"min_abs_preactivation", "preactivations_below_1e-5"}},  # informative
      ...]}

``grads`` / ``parameter_grads`` are d(objective)/d(input or parameter), where the objective is
``sum(output * grad_output)`` (several outputs: the sum of those terms). ``data`` is flat row-major.

StegaStamp cases (~1M parameters each; Tests/NNTests/Fixtures/README.md has the full spec):
parameters are not stored. They, the inputs and grad_output come from one SplitMix64 stream
seeded with CRC32(name), through integer / float32 arithmetic the Swift test replicates bit for
bit (``"parameter_generation"``: algorithm, seed, per-tensor key / shape / fan_in / bound, then
the draws after the parameters). Tensors of <= 4096 elements are inline; larger outputs /
grad_outputs / input gradients and the stored parameter gradients (weight and bias of a few
layers, large weights cut to their leading dim-0 rows, at most 16384 elements) go to
``<case>.bin``: raw little-endian float32, indexed by ``"binary": [{"name", "shape", "offset"
(in floats), "full_shape" (only for a cut gradient)}]``. Large inputs are not stored at all.

Numerics (as make_tensor_fixtures.py): every input, parameter and grad_output is float32-valued
(the Swift side sees exactly the values torch used), all maths runs in float64, results are
rounded to float32 and printed with '%.9g'. StyleGAN2 cases seed ``torch.manual_seed`` with
CRC32(name) and draw (in float64, rounded to float32), in this order: parameters (in parameter
order), inputs (in input order), grad_outputs (in output order). Reruns are byte-identical for a
given torch version.

Run from anywhere (any python with torch; the venv is just where it lives on the dev box):

    /work/torchvenv/bin/python Tools/make_nn_fixtures.py [--out DIR] [--no-128px]

Conventions (StyleGAN2 part; "lrelu" always means leaky_relu(slope 0.2) * sqrt(2)):
  EqualizedLinear   weight [out, in] raw V, bias [out] raw; y = x (V*lrmul/sqrt(in))^T + bias*lrmul,
                    then the activation.
  EqualizedConv2d   weight [out, in, k, k], bias [out] optional, effective W = V/sqrt(in*k*k);
                    plain: 'SAME' zero padding ((k-1)/2 each side), stride 1;
                    down:  pad p0/p1 + FIR K (gain 1) then valid stride-2 conv, p = 2 + (k-1),
                           p0 = (p+1)//2, p1 = p//2 (3x3: 2/2, 1x1: 1/1); then bias, activation.
  FIR K             outer([1,3,3,1], [1,3,3,1]) / 64 (sums to 1); x4 when upsampling.
  upsample_2d       zero-insert x2 (x[i] at 2i), pad 2 before / 1 after, FIR with 4K -> 2H.
  ModulatedConv2d   affine (EqualizedLinear wDim -> Cin, lrmul 1, linear); s = affine(w) + 1;
                    W' = V/sqrt(Cin*k*k) * s (input channels); d[n,o] = 1/sqrt(sum W'^2 + 1e-8)
                    (if demodulate); per-sample conv ('SAME', or the up recipe: zero-insert x[i] at
                    2i (2H-1), pad 2 all sides, valid cross-correlation with W'', pad 1/1, FIR 4K).
                    No bias / noise / activation inside.
  SynthesisLayer    lrelu(conv(x, w) + noise * noise_strength + bias); noise [N,1,H',W'] is an input.
  ToRGB             conv (k 1, no demod) + bias, linear.
  SynthesisBlock    x' = conv1(conv0(x, w, noise0), w, noise1); img' = upsample_2d(img) + torgb(x', w).
                    One w for all three layers (every dlatent slot carries the same w in the paper).
  MappingNetwork    layers.i EqualizedLinear lrmul 0.01 + lrelu after every layer, c not normalised.
  DiscriminatorBlock  (lrelu(conv1_down(lrelu(conv0(x)))) + skip_down(x)) / sqrt(2).
  MinibatchStdDev   G = min(4, N), one feature, sample j in group j mod (N/G); std = sqrt(biased
                    var + 1e-8), averaged over C, H, W; appended as the last channel.
  DiscriminatorEpilogue  [mbstd] -> conv 3x3 lrelu -> flatten (c, y, x) -> dense0 lrelu -> output.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

F64 = torch.float64
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "Tests" / "NNTests" / "Fixtures"
TORCH_REFERENCE = Path("/work/shared/bench/torch_reference.py")  # optional cross-check
SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------------------------
# Tensor helpers and JSON emission (same format as make_tensor_fixtures.py)
# --------------------------------------------------------------------------------------------

def randn(*shape: int, std: float = 1.0) -> torch.Tensor:
    return q(torch.randn(shape, dtype=F64) * std)


def bernoulli(*shape: int) -> torch.Tensor:
    return (torch.rand(shape, dtype=F64) < 0.5).to(F64)


from fixture_json import TensorJSON, _emit, _emit_tensor_map, q  # noqa: E402  (shared emitters)


def _emit_order(order: list[dict], indent: str) -> str:
    inner = ",\n".join(f"{indent}  {_emit(e)}" for e in order)
    return "[\n" + inner + "\n" + indent + "]"


def emit_file(cases: list[dict]) -> str:
    parts = []
    ind = "    "
    for c in cases:
        lines = [
            f'{ind}"name": {_emit(c["name"])}',
            f'{ind}"op": {_emit(c["op"])}',
            f'{ind}"params": {_emit(c["params"])}',
        ]
        if "parameter_generation" in c:  # StegaStamp: generated parameters + binary file
            gen = dict(c["parameter_generation"])
            order, after = gen.pop("order"), gen.pop("after_parameters")
            head = _emit(gen)[1:-1]
            lines += [
                f'{ind}"parameter_generation": {{{head},\n'
                f'{ind}  "order": {_emit_order(order, ind + "  ")},\n'
                f'{ind}  "after_parameters": {_emit_order(after, ind + "  ")}}}',
                f'{ind}"binary_file": {_emit(c["binary_file"])}',
                f'{ind}"binary": {_emit_order(c["binary"], ind)}',
            ]
        lines.append(f'{ind}"inputs": {_emit_tensor_map(c["inputs"], ind)}')
        if "outputs" in c:
            lines.append(f'{ind}"outputs": {_emit_tensor_map(c["outputs"], ind)}')
            lines.append(f'{ind}"grad_outputs": {_emit_tensor_map(c["grad_outputs"], ind)}')
        else:  # StegaStamp 128 px: output / grad_output live in the binary file instead
            for k in ("output", "grad_output"):
                if k in c:
                    lines.append(f'{ind}"{k}": {c[k].to_json()}')
        lines.append(f'{ind}"grads": {_emit_tensor_map(c["grads"], ind)}')
        if "parameters" in c:
            lines.append(f'{ind}"parameters": {_emit_tensor_map(c["parameters"], ind)}')
            lines.append(f'{ind}"parameter_grads": {_emit_tensor_map(c["parameter_grads"], ind)}')
        if c.get("diagnostics"):
            lines.append(f'{ind}"diagnostics": {_emit(c["diagnostics"])}')
        parts.append("  {\n" + ",\n".join(lines) + "\n  }")
    return '{"cases": [\n' + ",\n".join(parts) + "\n]}\n"


# --------------------------------------------------------------------------------------------
# Kink diagnostics: every ReLU / leaky ReLU records its smallest |pre-activation|, so a test that
# disagrees in one gradient element can tell a float32 kink flip from a real bug.
# --------------------------------------------------------------------------------------------

_MARGIN = [math.inf, 0]  # smallest |pre-activation|, count of |pre-activation| < 1e-5


def _record(x: torch.Tensor) -> None:
    a = x.detach().abs()
    _MARGIN[0] = min(_MARGIN[0], float(a.min()))
    _MARGIN[1] += int((a < 1e-5).sum())


def relu(x: torch.Tensor) -> torch.Tensor:
    _record(x)
    return F.relu(x)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """StyleGAN2 'lrelu': leaky_relu(0.2) * sqrt(2)."""
    _record(x)
    return F.leaky_relu(x, 0.2) * SQRT2


def act(x: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "lrelu":
        return lrelu(x)
    assert activation == "linear"
    return x


# --------------------------------------------------------------------------------------------
# Case builder
# --------------------------------------------------------------------------------------------

def seed_for(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def build_case(
    name: str,
    op: str,
    params: dict,
    make_parameters: Callable[[], "OrderedDict[str, torch.Tensor]"] | None,
    make_inputs: Callable[[], dict[str, torch.Tensor]],
    forward: Callable[..., torch.Tensor | dict[str, torch.Tensor]],
) -> dict:
    """Seed, draw parameters then inputs, run forward, backprop random grad_output(s).

    forward(P, **inputs) with P the ordered parameter dict (float64 leaves). It returns a tensor
    or a dict of named tensors ("outputs"). (StegaStamp cases use stegastamp_case instead.)
    """
    torch.manual_seed(seed_for(name))
    P = OrderedDict()
    if make_parameters is not None:
        P = OrderedDict((k, q(v).requires_grad_(True)) for k, v in make_parameters().items())
    inputs = OrderedDict((k, q(v).requires_grad_(True)) for k, v in make_inputs().items())
    _MARGIN[:] = [math.inf, 0]
    out = forward(P, **inputs)
    margin, near = _MARGIN
    outs = out if isinstance(out, dict) else {"": out}
    gouts = OrderedDict((k, randn(*v.shape)) for k, v in outs.items())
    leaves = list(inputs.values()) + list(P.values())
    grads = torch.autograd.grad(list(outs.values()), leaves, grad_outputs=list(gouts.values()),
                                allow_unused=True)
    grads = [g if g is not None else torch.zeros_like(l) for g, l in zip(grads, leaves)]
    in_grads = grads[:len(inputs)]
    p_grads = OrderedDict(zip(P.keys(), grads[len(inputs):]))

    case = {"name": name, "op": op, "params": dict(params)}
    case["inputs"] = {k: TensorJSON(v) for k, v in inputs.items()}
    if isinstance(out, dict):
        case["outputs"] = {k: TensorJSON(v) for k, v in outs.items()}
        case["grad_outputs"] = {k: TensorJSON(v) for k, v in gouts.items()}
    else:
        case["output"] = TensorJSON(out)
        case["grad_output"] = TensorJSON(gouts[""])
    case["grads"] = {k: TensorJSON(g) for k, g in zip(inputs.keys(), in_grads)}
    if margin != math.inf:
        case["diagnostics"] = {"min_abs_preactivation": float("%.3g" % margin),
                               "preactivations_below_1e-5": near}

    if P:
        case["parameters"] = {k: TensorJSON(v) for k, v in P.items()}
        case["parameter_grads"] = {k: TensorJSON(g) for k, g in p_grads.items()}
    # kept for the self-checks; not emitted
    case["_tensors"] = (P, inputs, out)
    return case


def close(a: torch.Tensor, b: torch.Tensor, what: str, tol: float = 1e-10) -> None:
    err = float((a - b).detach().abs().max())
    scale = max(1.0, float(b.detach().abs().max()))
    if not err <= tol * scale:
        raise AssertionError(f"self-check failed: {what}: max |diff| {err:.3g} (scale {scale:.3g})")


# ============================================================================================
# StegaStamp (AGF spec §2-§3), functional form over a parameter dict
# ============================================================================================

def upsample_nearest(x: torch.Tensor, factor: int) -> torch.Tensor:
    return x.repeat_interleave(factor, dim=2).repeat_interleave(factor, dim=3)


def stega_conv(P, key, x, stride=1, padding=0):
    return F.conv2d(x, P[key + ".weight"], P[key + ".bias"], stride=stride, padding=padding)


def stega_encoder(P, fingerprint, image, *, C: int, R: int):
    def up(key, x):  # nearest x2, zero-pad right/bottom by one, 2x2 conv, ReLU (TF 'same')
        return relu(stega_conv(P, key, F.pad(upsample_nearest(x, 2), (0, 1, 0, 1))))

    f = relu(F.linear(fingerprint, P["secret_dense.weight"], P["secret_dense.bias"]))
    f = upsample_nearest(f.reshape(-1, C, 16, 16), R // 16)
    inputs = torch.cat([f, image], 1)
    c1 = relu(stega_conv(P, "conv1", inputs, 1, 1))
    c2 = relu(stega_conv(P, "conv2", c1, 2, 1))
    c3 = relu(stega_conv(P, "conv3", c2, 2, 1))
    c4 = relu(stega_conv(P, "conv4", c3, 2, 1))
    c5 = relu(stega_conv(P, "conv5", c4, 2, 1))
    c6 = relu(stega_conv(P, "conv6", torch.cat([c4, up("up6", c5)], 1), 1, 1))
    c7 = relu(stega_conv(P, "conv7", torch.cat([c3, up("up7", c6)], 1), 1, 1))
    c8 = relu(stega_conv(P, "conv8", torch.cat([c2, up("up8", c7)], 1), 1, 1))
    c9 = relu(stega_conv(P, "conv9", torch.cat([c1, up("up9", c8), inputs], 1), 1, 1))
    c10 = relu(stega_conv(P, "conv10", c9, 1, 1))
    return torch.sigmoid(stega_conv(P, "residual", c10))


DECODER_CONVS = [  # (key index, out channels, stride); in channels follow
    (0, 32, 2), (2, 32, 1), (4, 64, 2), (6, 64, 1), (8, 64, 2), (10, 128, 2), (12, 128, 2)]


def stega_decoder(P, image):
    x = image
    for idx, _, stride in DECODER_CONVS:
        x = relu(stega_conv(P, f"decoder.{idx}", x, stride, 1))
    x = x.flatten(1)  # NCHW order (c, y, x)
    x = relu(F.linear(x, P["dense.0.weight"], P["dense.0.bias"]))
    return F.linear(x, P["dense.2.weight"], P["dense.2.bias"])


# ---- deterministic parameter / input generation (replicated bit-for-bit by the Swift tests) ----

MASK64 = (1 << 64) - 1
SM_GAMMA, SM_MUL1, SM_MUL2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def splitmix64_reference(seed: int, count: int) -> list[int]:
    """Plain-integer SplitMix64, one draw at a time (self-check of the vectorised form)."""
    state, out = seed & MASK64, []
    for _ in range(count):
        state = (state + SM_GAMMA) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * SM_MUL1) & MASK64
        z = ((z ^ (z >> 27)) * SM_MUL2) & MASK64
        out.append(z ^ (z >> 31))
    return out


class SplitMix64:
    """SplitMix64 stream. The state after k draws is seed + k * gamma (mod 2^64), so a block of
    draws is computed at once in numpy uint64 arithmetic (which wraps mod 2^64)."""

    def __init__(self, seed: int):
        self.seed = seed & MASK64
        self.count = 0

    def next_u64(self, n: int) -> np.ndarray:
        k = np.arange(self.count + 1, self.count + n + 1, dtype=np.uint64)
        self.count += n
        with np.errstate(over="ignore"):
            z = np.uint64(self.seed) + k * np.uint64(SM_GAMMA)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(SM_MUL1)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(SM_MUL2)
        return z ^ (z >> np.uint64(31))

    def uniform24(self, n: int) -> np.ndarray:
        """u = (next() >> 40) / 2^24: float32 in [0, 1), exact (24 significant bits)."""
        return (self.next_u64(n) >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)


def init_bound(fan_in: int) -> np.float32:
    """float32(1) / sqrt_float32(float32(fan_in)), every step rounded to float32."""
    return np.float32(1.0) / np.sqrt(np.float32(fan_in))


def generated_uniform(gen: SplitMix64, shape: tuple, bound: np.float32) -> np.ndarray:
    """value = float32(float32(2u - 1) * bound). 2u - 1 is exact in float32 (|2^24 (2u-1)| < 2^24
    is an integer), so the only rounding is the float32 product."""
    u = gen.uniform24(math.prod(shape)).reshape(shape)
    v = (np.float32(2.0) * u - np.float32(1.0)) * bound
    assert v.dtype == np.float32
    # the same value through float64 (exact product of two float32s, then one rounding)
    w = ((2.0 * u.astype(np.float64) - 1.0) * float(bound)).astype(np.float32)
    assert np.array_equal(v, w), "float32 generation is not the correctly rounded product"
    return v


def stega_fan_in(shapes: "OrderedDict[str, tuple]", key: str) -> int:
    """in * kh * kw of the layer's weight (conv) or in_features (linear); also for its bias."""
    return math.prod(shapes[key.rsplit(".", 1)[0] + ".weight"][1:])


def f64(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.astype(np.float64))


def encoder_shapes(C: int, L: int) -> "OrderedDict[str, tuple]":
    layers = [("secret_dense", (16 * 16 * C, L)),
              ("conv1", (32, 2 * C, 3, 3)), ("conv2", (32, 32, 3, 3)), ("conv3", (64, 32, 3, 3)),
              ("conv4", (128, 64, 3, 3)), ("conv5", (256, 128, 3, 3)),
              ("up6", (128, 256, 2, 2)), ("conv6", (128, 256, 3, 3)),
              ("up7", (64, 128, 2, 2)), ("conv7", (64, 128, 3, 3)),
              ("up8", (32, 64, 2, 2)), ("conv8", (32, 64, 3, 3)),
              ("up9", (32, 32, 2, 2)), ("conv9", (32, 64 + 2 * C, 3, 3)),
              ("conv10", (32, 32, 3, 3)), ("residual", (C, 32, 1, 1))]
    s = OrderedDict()
    for name, w in layers:
        s[name + ".weight"] = w
        s[name + ".bias"] = (w[0],)
    return s


def decoder_shapes(C: int, R: int, L: int) -> "OrderedDict[str, tuple]":
    s = OrderedDict()
    cin = C
    for idx, cout, _ in DECODER_CONVS:
        s[f"decoder.{idx}.weight"] = (cout, cin, 3, 3)
        s[f"decoder.{idx}.bias"] = (cout,)
        cin = cout
    flat = 128 * (R // 32) ** 2
    s["dense.0.weight"], s["dense.0.bias"] = (512, flat), (512,)
    s["dense.2.weight"], s["dense.2.bias"] = (L, 512), (L,)
    return s


def _load_torch_reference():
    if not TORCH_REFERENCE.exists():
        print(f"note: {TORCH_REFERENCE} not found; skipping the nn.Module cross-check")
        return None
    spec = importlib.util.spec_from_file_location("torch_reference", TORCH_REFERENCE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


INLINE_MAX = 4096          # tensors up to this many elements go inline in the case JSON
GRAD_SLICE_MAX = 16384     # a stored parameter gradient keeps at most this many elements
STEGA_GRAD_LAYERS = {      # layers whose parameter gradients are stored (weight and bias)
    "encoder": ["secret_dense", "conv1", "conv5", "up6", "conv9", "conv10", "residual"],
    "decoder": ["decoder.0", "decoder.6", "decoder.12", "dense.0", "dense.2"],
}


def grad_rows(shape: tuple) -> int:
    """Leading rows (dim 0) of a parameter gradient to store: all if it has <= GRAD_SLICE_MAX
    elements, else floor(GRAD_SLICE_MAX / row size)."""
    row = math.prod(shape[1:])
    return shape[0] if math.prod(shape) <= GRAD_SLICE_MAX else max(1, GRAD_SLICE_MAX // row)


def stegastamp_case(name: str, kind: str, R: int, C: int, L: int, N: int, out_dir: Path) -> dict:
    """Generate parameters, inputs and grad_output from SplitMix64(crc32(name)); forward and
    backward in float64; write <name>.bin (large tensors) and return the case."""
    shapes = encoder_shapes(C, L) if kind == "encoder" else decoder_shapes(C, R, L)
    seed = seed_for(name)
    gen = SplitMix64(seed)
    first_draws = [int(v) for v in SplitMix64(seed).next_u64(3)]
    assert first_draws == splitmix64_reference(seed, 3)

    order, P = [], OrderedDict()
    for key, shape in shapes.items():
        fan_in = stega_fan_in(shapes, key)
        bound = init_bound(fan_in)
        P[key] = f64(generated_uniform(gen, shape, bound)).requires_grad_(True)
        order.append({"key": key, "shape": list(shape), "fan_in": fan_in, "bound": float(bound)})
    n_param_draws = gen.count

    input_shapes = OrderedDict()
    if kind == "encoder":
        input_shapes["fingerprint"] = (N, L)
    input_shapes["image"] = (N, C, R, R)
    inputs = OrderedDict()
    for k, shape in input_shapes.items():
        u = gen.uniform24(math.prod(shape)).reshape(shape)
        v = (u < np.float32(0.5)).astype(np.float32) if k == "fingerprint" else u
        inputs[k] = f64(v).requires_grad_(True)

    _MARGIN[:] = [math.inf, 0]
    if kind == "encoder":
        out = stega_encoder(P, inputs["fingerprint"], inputs["image"], C=C, R=R)
    else:
        out = stega_decoder(P, inputs["image"])
    margin, near = _MARGIN
    out_shape = tuple(out.shape)
    u = gen.uniform24(math.prod(out_shape)).reshape(out_shape)
    gout = f64(u * np.float32(2.0) - np.float32(1.0))
    leaves = list(inputs.values()) + list(P.values())
    grads = torch.autograd.grad([out], leaves, grad_outputs=[gout])
    in_grads = OrderedDict(zip(inputs.keys(), grads[:len(inputs)]))
    p_grads = OrderedDict(zip(P.keys(), grads[len(inputs):]))

    after = [{"name": "inputs." + k, "shape": list(s),
              "value": "u < 0.5 ? 1 : 0" if k == "fingerprint" else "u"}
             for k, s in input_shapes.items()]
    after.append({"name": "grad_output", "shape": list(out_shape), "value": "2u - 1"})
    case = {"name": name, "op": f"stegastamp_{kind}",
            "params": {"resolution": R, "channels": C, "fingerprint_length": L, "batch": N,
                       "init": "splitmix64-uniform: float32(float32(2u - 1) * float32(1/sqrt(fan_in)))",
                       "parameter_count": sum(p.numel() for p in P.values())},
            "parameter_generation": {
                "algorithm": "splitmix64-uniform", "seed": seed,
                "first_outputs_hex": ["0x%016x" % v for v in first_draws],
                "parameter_draws": n_param_draws,
                "order": order, "after_parameters": after}}

    # ---- storage: small tensors inline, the rest in <name>.bin (little-endian float32) ----
    blobs, index, offset = [], [], 0

    def to_binary(entry_name, t, full_shape=None):
        nonlocal offset
        a = q(t).numpy().astype("<f4")
        assert np.isfinite(a).all()
        entry = {"name": entry_name, "shape": list(a.shape), "offset": offset}
        if full_shape is not None:
            entry["full_shape"] = list(full_shape)
        index.append(entry)
        blobs.append(a.reshape(-1).tobytes())
        offset += a.size

    case["inputs"] = {k: TensorJSON(v) for k, v in inputs.items() if v.numel() <= INLINE_MAX}
    for k, t in (("output", out), ("grad_output", gout)):
        if t.numel() <= INLINE_MAX:
            case[k] = TensorJSON(t)
        else:
            to_binary(k, t)
    case["grads"] = {}
    for k, g in in_grads.items():
        if g.numel() <= INLINE_MAX:
            case["grads"][k] = TensorJSON(g)
        else:
            to_binary("grads." + k, g)
    stored = [k for k in P if k.rsplit(".", 1)[0] in STEGA_GRAD_LAYERS[kind]]
    assert len(stored) == 2 * len(STEGA_GRAD_LAYERS[kind]), stored
    for k in stored:
        shape = tuple(P[k].shape)
        rows = grad_rows(shape)
        to_binary("parameter_grads." + k, p_grads[k][:rows], None if rows == shape[0] else shape)
    case["binary_file"] = f"{name}.bin"
    case["binary"] = index
    data = b"".join(blobs)
    assert len(data) == 4 * offset
    (out_dir / case["binary_file"]).write_bytes(data)
    case["_binary_bytes"] = len(data)
    if margin != math.inf:
        case["diagnostics"] = {"min_abs_preactivation": float("%.3g" % margin),
                               "preactivations_below_1e-5": near}
    case["_tensors"] = (P, inputs, out)
    return case


def stegastamp_cases(out_dir: Path, include_128: bool) -> list[dict]:
    specs = [  # name, kind, R, C, L, N
        ("stegastamp_encoder_r32_c1_l100_n2", "encoder", 32, 1, 100, 2),
        ("stegastamp_encoder_r128_c3_l100_n1", "encoder", 128, 3, 100, 1),
        ("stegastamp_decoder_r32_c1_l100_n2", "decoder", 32, 1, 100, 2),
        ("stegastamp_decoder_r128_c3_l100_n1", "decoder", 128, 3, 100, 1),
    ]
    # SplitMix64: the numpy block form agrees with the one-at-a-time integer form, also across
    # block boundaries
    g = SplitMix64(0x0123456789ABCDEF)
    blocks = np.concatenate([g.next_u64(1), g.next_u64(700), g.next_u64(299)])
    assert [int(v) for v in blocks] == splitmix64_reference(0x0123456789ABCDEF, 1000)
    assert splitmix64_reference(0, 1) == [0xE220A8397B1DCDAF]  # published SplitMix64 value
    ref = _load_torch_reference()
    cases = []
    for name, kind, R, C, L, N in specs:
        if R == 128 and not include_128:
            continue
        case = stegastamp_case(name, kind, R, C, L, N, out_dir)

        # ---- self-checks ----
        P, inputs, out = case["_tensors"]
        count = case["params"]["parameter_count"]
        if kind == "encoder" and C == 3 and L == 100:
            assert count == 1_069_315, count  # AGF spec §2.3
        if kind == "decoder" and C == 3 and L == 100:
            assert count == {32: 441_284, 64: 637_892, 128: 1_424_324}[R], count  # spec §3
        for e in case["parameter_generation"]["order"]:  # float32 values within [-bound, bound)
            p = P[e["key"]]
            p = p.detach()
            assert torch.equal(p, q(p)) and float(p.abs().max()) <= e["bound"], e["key"]
        if ref is not None:
            # the shared nn.Module implementation (state_dict keys = ours; strict load) with the
            # generated values reproduces the forward output
            module = (ref.Encoder(R, C, L) if kind == "encoder" else ref.Decoder(R, C, L)).double()
            module.load_state_dict({k: v.detach() for k, v in P.items()}, strict=True)
            with torch.no_grad():
                y = module(*[v.detach() for v in inputs.values()])
            close(y, out.detach(), f"{name} vs torch_reference.py nn.Module")
        cases.append(case)
    return cases


# ============================================================================================
# StyleGAN2 primitives (TF semantics), functional form over a parameter dict
# ============================================================================================

def fir_k() -> torch.Tensor:
    k = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=F64)
    return torch.outer(k, k) / 64.0


def upfirdn2d(x: torch.Tensor, f: torch.Tensor, *, up: int = 1, down: int = 1,
              pad0: int = 0, pad1: int = 0) -> torch.Tensor:
    """Spec §2.3: zero-insert (up-1 zeros after every sample), pad, valid conv with flipped f,
    keep every down-th sample. Same pads on both axes."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x = F.pad(x, [pad0, pad1, pad0, pad1])
    fk = f.flip([0, 1])[None, None].repeat(c, 1, 1, 1)  # conv = cross-correlation, flipped f
    x = F.conv2d(x, fk, groups=c)
    return x[:, :, ::down, ::down]


def upsample_2d(x: torch.Tensor) -> torch.Tensor:
    return upfirdn2d(x, fir_k() * 4.0, up=2, pad0=2, pad1=1)


def upsample_conv_2d(x: torch.Tensor, weight: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """Spec §2.3 recipe for a 3x3 weight [O, I/groups, 3, 3]: zero-insert x[i] at 2i (2H-1),
    pad 2 on every side, valid cross-correlation, pad 1/1, FIR with 4K -> 2H."""
    n, c, h, w = x.shape
    k = weight.shape[-1]
    assert k == 3 and weight.shape[-2] == 3
    xs = x.new_zeros(n, c, 2 * h - 1, 2 * w - 1)
    xs[:, :, ::2, ::2] = x
    xs = F.pad(xs, [k - 1] * 4)
    y = F.conv2d(xs, weight, groups=groups)
    return upfirdn2d(y, fir_k() * 4.0, pad0=1, pad1=1)


def conv_downsample_2d(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Spec §2.3: pad p0/p1 + FIR K, then valid stride-2 conv; p = (4 - 2) + (k - 1)."""
    k = weight.shape[-1]
    p = 2 + (k - 1)
    x = upfirdn2d(x, fir_k(), pad0=(p + 1) // 2, pad1=p // 2)
    return F.conv2d(x, weight, stride=2)


def eq_linear(P, prefix, x, *, lrmul=1.0, activation="linear"):
    wt = P[prefix + "weight"]
    y = x @ (wt * (lrmul / math.sqrt(wt.shape[1]))).t()
    if prefix + "bias" in P:
        y = y + P[prefix + "bias"] * lrmul
    return act(y, activation)


def eq_conv2d(P, prefix, x, *, down=False, activation="linear"):
    wt = P[prefix + "weight"]
    o, i, k, _ = wt.shape
    wt = wt * (1.0 / math.sqrt(i * k * k))
    y = conv_downsample_2d(x, wt) if down else F.conv2d(x, wt, padding=(k - 1) // 2)
    if prefix + "bias" in P:
        y = y + P[prefix + "bias"].reshape(1, -1, 1, 1)
    return act(y, activation)


def modulated_conv2d(P, prefix, x, w, *, demodulate=True, up=False):
    """Unfused form (spec §2.4 step 4): scale input channels by s, conv with V*gain, scale output
    channels by d."""
    wt = P[prefix + "weight"]
    o, i, k, _ = wt.shape
    s = eq_linear(P, prefix + "affine.", w) + 1.0                      # [N, I]
    wt = wt * (1.0 / math.sqrt(i * k * k))                             # [O, I, k, k]
    xm = x * s[:, :, None, None]
    y = upsample_conv_2d(xm, wt) if up else F.conv2d(xm, wt, padding=(k - 1) // 2)
    if demodulate:
        ww = wt[None] * s[:, None, :, None, None]                      # [N, O, I, k, k]
        d = torch.rsqrt(ww.square().sum([2, 3, 4]) + 1e-8)             # [N, O]
        y = y * d[:, :, None, None]
    return y


def modulated_conv2d_grouped(P, prefix, x, w, *, demodulate=True, up=False):
    """Fused form (what the TF code runs): per-sample weights as one grouped conv. Self-check only."""
    wt = P[prefix + "weight"]
    o, i, k, _ = wt.shape
    n = x.shape[0]
    s = eq_linear(P, prefix + "affine.", w) + 1.0
    ww = wt[None] * (1.0 / math.sqrt(i * k * k)) * s[:, None, :, None, None]
    if demodulate:
        ww = ww * torch.rsqrt(ww.square().sum([2, 3, 4]) + 1e-8)[:, :, None, None, None]
    xg = x.reshape(1, n * i, *x.shape[2:])
    wg = ww.reshape(n * o, i, k, k)
    if up:
        # conv_transpose2d form (spec: steps (a)-(c) = transposed conv with a flipped kernel)
        wt_t = wg.flip([2, 3]).reshape(n, o, i, k, k).transpose(1, 2).reshape(n * i, o, k, k)
        y = F.conv_transpose2d(xg, wt_t, stride=2, groups=n)
        y = upfirdn2d(y, fir_k() * 4.0, pad0=1, pad1=1)
    else:
        y = F.conv2d(xg, wg, padding=(k - 1) // 2, groups=n)
    return y.reshape(n, o, *y.shape[2:])


def synthesis_layer(P, prefix, x, w, noise, *, up=False, modconv=modulated_conv2d):
    y = modconv(P, prefix + "conv.", x, w, demodulate=True, up=up)
    y = y + noise * P[prefix + "noise_strength"] + P[prefix + "bias"].reshape(1, -1, 1, 1)
    return lrelu(y)


def to_rgb(P, prefix, x, w, *, modconv=modulated_conv2d):
    y = modconv(P, prefix + "conv.", x, w, demodulate=False)
    return y + P[prefix + "bias"].reshape(1, -1, 1, 1)


def synthesis_block(P, x, img, w, noise0, noise1, *, modconv=modulated_conv2d):
    x = synthesis_layer(P, "conv0.", x, w, noise0, up=True, modconv=modconv)
    x = synthesis_layer(P, "conv1.", x, w, noise1, modconv=modconv)
    img = upsample_2d(img) + to_rgb(P, "torgb.", x, w, modconv=modconv)
    return OrderedDict([("x", x), ("img", img)])


def mapping_network(P, c, *, depth):
    x = c
    for i in range(depth):
        x = eq_linear(P, f"layers.{i}.", x, lrmul=0.01, activation="lrelu")
    return x


def discriminator_block(P, x):
    t = eq_conv2d(P, "skip.", x, down=True)
    x = eq_conv2d(P, "conv0.", x, activation="lrelu")
    x = eq_conv2d(P, "conv1.", x, down=True, activation="lrelu")
    return (x + t) * (1.0 / SQRT2)


def minibatch_stddev(x, group_size=4):
    """TF-style reshape form (spec §2.6): [N,...] -> [G, M, ...] so sample j = g*M + m."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    assert n % g == 0
    m = n // g
    y = x.reshape(g, m, 1, c, h, w)
    y = y - y.mean(0)
    y = y.square().mean(0)
    y = torch.sqrt(y + 1e-8)
    y = y.mean([2, 3, 4])                          # [M, 1]
    y = y.reshape(m, 1, 1, 1).repeat(g, 1, h, w)   # row j = g*M + m gets group m
    return torch.cat([x, y], 1)


def minibatch_stddev_loop(x, group_size=4):
    """Naive per-sample form (self-check only)."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    m = n // g
    feats = []
    for j in range(n):
        members = x[[j % m + k * m for k in range(g)]]
        var = ((members - members.mean(0)) ** 2).mean(0)
        feats.append(torch.sqrt(var + 1e-8).mean().expand(1, 1, h, w))
    return torch.cat([x, torch.cat(feats, 0)], 1)


def discriminator_epilogue(P, x, *, mbstd):
    if mbstd:
        x = minibatch_stddev(x)
    x = eq_conv2d(P, "conv.", x, activation="lrelu")
    x = eq_linear(P, "dense0.", x.flatten(1), activation="lrelu")
    return eq_linear(P, "output.", x)


# ---- parameter makers (raw values; weights N(0,1), biases N(0, 0.5^2)) ----

BIAS_STD = 0.5


def p_linear(prefix, fin, fout, *, bias=True, wstd=1.0, bstd=BIAS_STD):
    p = OrderedDict([(prefix + "weight", randn(fout, fin, std=wstd))])
    if bias:
        p[prefix + "bias"] = randn(fout, std=bstd)
    return p


def p_conv(prefix, cin, cout, k, *, bias=True):
    p = OrderedDict([(prefix + "weight", randn(cout, cin, k, k))])
    if bias:
        p[prefix + "bias"] = randn(cout, std=BIAS_STD)
    return p


def p_modconv(prefix, cin, cout, k, wdim):
    p = p_linear(prefix + "affine.", wdim, cin)
    p[prefix + "weight"] = randn(cout, cin, k, k)
    return p


def p_synthesis_layer(prefix, cin, cout, wdim):
    p = p_modconv(prefix + "conv.", cin, cout, 3, wdim)
    p[prefix + "noise_strength"] = randn(1, std=BIAS_STD)
    p[prefix + "bias"] = randn(cout, std=BIAS_STD)
    return p


def p_to_rgb(prefix, cin, wdim):
    p = p_modconv(prefix + "conv.", cin, 3, 1, wdim)
    p[prefix + "bias"] = randn(3, std=BIAS_STD)
    return p


def stylegan2_cases() -> list[dict]:
    cases = []

    def add(name, op, params, make_p, make_i, fwd, check=None):
        c = build_case(name, op, params, make_p, make_i, fwd)
        if check is not None:
            check(c, fwd)
        cases.append(c)

    def check_vs(alt):
        """Re-run the case with an alternative implementation; compare outputs and all grads."""
        def chk(case, fwd):
            P, inputs, _ = case["_tensors"]
            out = fwd(P, **inputs)  # fresh graph (build_case consumed its own)
            outs = out if isinstance(out, dict) else {"": out}
            alt_out = alt(P, **inputs)
            alt_outs = alt_out if isinstance(alt_out, dict) else {"": alt_out}
            gos = [torch.randn(v.shape, dtype=F64) for v in outs.values()]
            leaves = list(inputs.values()) + list(P.values())
            g1 = torch.autograd.grad(list(outs.values()), leaves, gos, allow_unused=True)
            g2 = torch.autograd.grad(list(alt_outs.values()), leaves, gos, allow_unused=True)
            for k in outs:
                close(alt_outs[k], outs[k], f"{case['name']} output {k!r} vs alternative form")
            for a, b, nm in zip(g1, g2, list(inputs) + list(P)):
                if a is None and b is None:
                    continue
                close(b, a, f"{case['name']} grad {nm} vs alternative form")
        return chk

    # ---- EqualizedLinear ----
    add("equalized_linear_lrmul1_linear", "equalized_linear",
        {"in_features": 7, "out_features": 5, "lrmul": 1.0, "bias": True, "activation": "linear"},
        lambda: p_linear("", 7, 5), lambda: {"x": randn(3, 7)},
        lambda P, x: eq_linear(P, "", x))
    add("equalized_linear_lrmul0.01_lrelu", "equalized_linear",
        {"in_features": 6, "out_features": 4, "lrmul": 0.01, "bias": True, "activation": "lrelu"},
        lambda: p_linear("", 6, 4, wstd=100.0, bstd=1.0), lambda: {"x": randn(3, 6)},
        lambda P, x: eq_linear(P, "", x, lrmul=0.01, activation="lrelu"))

    # ---- EqualizedConv2d ----
    def conv_params(cin, cout, k, down, bias, activation):
        return {"in_channels": cin, "out_channels": cout, "kernel": k, "down": down,
                "bias": bias, "activation": activation}

    add("equalized_conv2d_3x3_same_lrelu", "equalized_conv2d", conv_params(4, 5, 3, False, True, "lrelu"),
        lambda: p_conv("", 4, 5, 3), lambda: {"x": randn(2, 4, 5, 7)},
        lambda P, x: eq_conv2d(P, "", x, activation="lrelu"))
    add("equalized_conv2d_down_3x3_lrelu", "equalized_conv2d", conv_params(4, 5, 3, True, True, "lrelu"),
        lambda: p_conv("", 4, 5, 3), lambda: {"x": randn(2, 4, 8, 6)},
        lambda P, x: eq_conv2d(P, "", x, down=True, activation="lrelu"),
        check_vs(lambda P, x: act(_down_by_composed_kernel(P, x), "lrelu")))
    add("equalized_conv2d_down_1x1_nobias_linear", "equalized_conv2d",
        conv_params(4, 5, 1, True, False, "linear"),
        lambda: p_conv("", 4, 5, 1, bias=False), lambda: {"x": randn(2, 4, 8, 6)},
        lambda P, x: eq_conv2d(P, "", x, down=True),
        check_vs(lambda P, x: _down_by_composed_kernel(P, x)))

    # ---- ModulatedConv2d ----
    def mc_params(cin, cout, k, wdim, demod, up):
        return {"in_channels": cin, "out_channels": cout, "kernel": k, "w_dim": wdim,
                "demodulate": demod, "up": up}

    for k, demod, up, hw in [(3, True, False, (5, 7)), (3, False, False, (5, 7)),
                             (1, True, False, (5, 7)), (1, False, False, (5, 7)),
                             (3, True, True, (4, 5)), (3, False, True, (4, 5))]:
        name = f"modulated_conv2d_{k}x{k}_{'demod' if demod else 'nodemod'}{'_up' if up else ''}"
        add(name, "modulated_conv2d", mc_params(5, 4, k, 7, demod, up),
            lambda k=k: p_modconv("", 5, 4, k, 7),
            lambda hw=hw: {"x": randn(2, 5, *hw), "w": randn(2, 7)},
            lambda P, x, w, d=demod, u=up: modulated_conv2d(P, "", x, w, demodulate=d, up=u),
            check_vs(lambda P, x, w, d=demod, u=up:
                     modulated_conv2d_grouped(P, "", x, w, demodulate=d, up=u)))

    # ---- SynthesisLayer / ToRGB ----
    for up, hw, ohw in [(False, (5, 6), (5, 6)), (True, (4, 5), (8, 10))]:
        name = "synthesis_layer_3x3" + ("_up" if up else "")
        add(name, "synthesis_layer",
            {"in_channels": 5, "out_channels": 4, "kernel": 3, "w_dim": 7, "up": up,
             "demodulate": True, "activation": "lrelu"},
            lambda: p_synthesis_layer("", 5, 4, 7),
            lambda hw=hw, ohw=ohw: {"x": randn(2, 5, *hw), "w": randn(2, 7),
                                    "noise": randn(2, 1, *ohw)},
            lambda P, x, w, noise, up=up: synthesis_layer(P, "", x, w, noise, up=up),
            check_vs(lambda P, x, w, noise, up=up: synthesis_layer(
                P, "", x, w, noise, up=up, modconv=modulated_conv2d_grouped)))
    add("to_rgb", "to_rgb", {"in_channels": 6, "out_channels": 3, "kernel": 1, "w_dim": 7,
                             "demodulate": False, "activation": "linear"},
        lambda: p_to_rgb("", 6, 7), lambda: {"x": randn(2, 6, 5, 4), "w": randn(2, 7)},
        lambda P, x, w: to_rgb(P, "", x, w),
        check_vs(lambda P, x, w: to_rgb(P, "", x, w, modconv=modulated_conv2d_grouped)))

    # ---- SynthesisBlock (Cin 8 -> Cout 6, 4x4 -> 8x8, wDim 16, N 2) ----
    def p_block():
        p = p_synthesis_layer("conv0.", 8, 6, 16)
        p.update(p_synthesis_layer("conv1.", 6, 6, 16))
        p.update(p_to_rgb("torgb.", 6, 16))
        return p

    add("synthesis_block_8to6_4x4_to_8x8", "synthesis_block",
        {"in_channels": 8, "out_channels": 6, "w_dim": 16, "in_resolution": 4,
         "out_resolution": 8, "img_channels": 3},
        p_block,
        lambda: {"x": randn(2, 8, 4, 4), "img": randn(2, 3, 4, 4), "w": randn(2, 16),
                 "noise0": randn(2, 1, 8, 8), "noise1": randn(2, 1, 8, 8)},
        synthesis_block,
        check_vs(lambda P, **kw: synthesis_block(P, **kw, modconv=modulated_conv2d_grouped)))

    # ---- MappingNetwork (Nc 12, width 16, depth 4, N 3); raw W ~ N(0, 100^2), b ~ N(0, 1) ----
    def p_mapping():
        p = OrderedDict()
        for i in range(4):
            p.update(p_linear(f"layers.{i}.", 12 if i == 0 else 16, 16, wstd=100.0, bstd=1.0))
        return p

    add("mapping_network_nc12_w16_d4", "mapping_network",
        {"in_features": 12, "width": 16, "depth": 4, "lrmul": 0.01, "activation": "lrelu"},
        p_mapping, lambda: {"c": bernoulli(3, 12)},
        lambda P, c: mapping_network(P, c, depth=4))

    # ---- DiscriminatorBlock (C 6 -> 8, 8x8 -> 4x4, N 4) ----
    def p_dblock():
        p = p_conv("conv0.", 6, 6, 3)
        p.update(p_conv("conv1.", 6, 8, 3))
        p.update(p_conv("skip.", 6, 8, 1, bias=False))
        return p

    add("discriminator_block_6to8_8x8", "discriminator_block",
        {"in_channels": 6, "out_channels": 8, "in_resolution": 8, "out_resolution": 4},
        p_dblock, lambda: {"x": randn(4, 6, 8, 8)}, discriminator_block)

    # ---- MinibatchStdDev (op only) ----
    for n in (4, 8, 2):
        add(f"minibatch_stddev_n{n}", "minibatch_stddev",
            {"group_size": 4, "num_features": 1, "effective_group": min(4, n),
             "groups": n // min(4, n)},
            None, lambda n=n: {"x": randn(n, 3, 4, 5)},
            lambda P, x: minibatch_stddev(x),
            check_vs(lambda P, x: minibatch_stddev_loop(x)))

    # ---- DiscriminatorEpilogue ----
    for name, mbstd, n, outs in [("discriminator_epilogue_mbstd_c8_n8", True, 8, 1),
                                 ("discriminator_epilogue_nombstd_c8_n3_out5", False, 3, 5)]:
        def p_epi(mbstd=mbstd, outs=outs):
            p = p_conv("conv.", 8 + (1 if mbstd else 0), 8, 3)
            p.update(p_linear("dense0.", 8 * 16, 8))
            p.update(p_linear("output.", 8, outs))
            return p
        add(name, "discriminator_epilogue",
            {"channels": 8, "resolution": 4, "mbstd": mbstd, "mbstd_group_size": 4,
             "outputs": outs},
            p_epi, lambda n=n: {"x": randn(n, 8, 4, 4)},
            lambda P, x, mbstd=mbstd: discriminator_epilogue(P, x, mbstd=mbstd))
    return cases


def _down_by_composed_kernel(P, x):
    """Alternative conv_downsample_2d: fold FIR K into the conv weight (full convolution of the
    (k x k) weight with the 4x4 K gives a (k+3)^2 kernel), then one stride-2 conv with padding
    (k+1)/2... i.e. the same pad p0/p1 applied once. Self-check only."""
    wt = P["weight"]
    o, i, k, _ = wt.shape
    wt = wt * (1.0 / math.sqrt(i * k * k))
    # cross-correlation composition: y = xcorr(xcorr(x, K), W) = xcorr(x, full_conv(K, W)) as K
    # is symmetric; full_conv(K, W)[a] = sum_b K[a-b] W[b]
    kk = fir_k()
    big = wt.new_zeros(o, i, k + 3, k + 3)
    for by in range(k):
        for bx in range(k):
            big[:, :, by:by + 4, bx:bx + 4] += wt[:, :, by:by + 1, bx:bx + 1] * kk
    p = 2 + (k - 1)
    y = F.conv2d(F.pad(x, [(p + 1) // 2, p // 2] * 2), big, stride=2)
    if "bias" in P:
        y = y + P["bias"].reshape(1, -1, 1, 1)
    return y


# --------------------------------------------------------------------------------------------
# Stand-alone primitive checks (run every time; cheap)
# --------------------------------------------------------------------------------------------

def primitive_self_checks() -> None:
    gen = torch.Generator().manual_seed(1234)
    k = fir_k()
    close(k.sum(), torch.tensor(1.0, dtype=F64), "FIR K sums to 1")
    close(k, k.flip([0, 1]), "FIR K symmetric")
    # upsample_2d of a constant is constant (each output phase sums 4K taps to 1) away from edges
    ones = torch.ones(1, 1, 6, 6, dtype=F64)
    close(upsample_2d(ones)[:, :, 2:-2, 2:-2], torch.ones(1, 1, 8, 8, dtype=F64),
          "upsample_2d keeps constants")
    # upfirdn2d vs a naive loop (up 2, pads 2/1)
    x = torch.randn(1, 2, 3, 4, dtype=F64, generator=gen)
    f = torch.randn(4, 4, dtype=F64, generator=gen)
    got = upfirdn2d(x, f, up=2, pad0=2, pad1=1)
    xs = torch.zeros(1, 2, 6 + 3, 8 + 3, dtype=F64)
    xs[:, :, 2:8:2, 2:10:2] = x
    want = torch.zeros(1, 2, 6, 8, dtype=F64)
    for py in range(6):
        for px in range(8):  # true convolution with f == cross-correlation with flipped f
            want[:, :, py, px] = (xs[:, :, py:py + 4, px:px + 4] * f.flip([0, 1])).sum([2, 3])
    close(got, want, "upfirdn2d vs naive loop")
    # upsample_2d vs conv_transpose2d with 4K (stride 2) cropped by one
    x = torch.randn(2, 3, 4, 5, dtype=F64, generator=gen)
    ct = F.conv_transpose2d(x, (4 * k)[None, None].repeat(3, 1, 1, 1), stride=2, groups=3)
    close(upsample_2d(x), ct[:, :, 1:-1, 1:-1], "upsample_2d vs conv_transpose2d")
    # upsample_conv_2d (spec recipe) vs conv_transpose2d with the flipped kernel, then FIR
    wt = torch.randn(4, 3, 3, 3, dtype=F64, generator=gen)
    ct = F.conv_transpose2d(x, wt.flip([2, 3]).transpose(0, 1), stride=2)
    assert ct.shape[-2:] == (9, 11)
    close(upsample_conv_2d(x, wt), upfirdn2d(ct, 4 * k, pad0=1, pad1=1),
          "upsample_conv_2d vs conv_transpose2d")
    assert upsample_conv_2d(x, wt).shape[-2:] == (8, 10)
    # conv_downsample_2d shapes (3x3 and 1x1 halve)
    x = torch.randn(1, 3, 8, 6, dtype=F64, generator=gen)
    assert conv_downsample_2d(x, torch.randn(2, 3, 3, 3, dtype=F64)).shape[-2:] == (4, 3)
    assert conv_downsample_2d(x, torch.randn(2, 3, 1, 1, dtype=F64)).shape[-2:] == (4, 3)


# --------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help=f"output directory (default: {DEFAULT_OUT})")
    ap.add_argument("--no-128px", action="store_true",
                    help="skip the two 128 px StegaStamp cases (most of the bytes)")
    args = ap.parse_args()
    torch.set_default_dtype(F64)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    primitive_self_checks()

    total = 0
    for filename, make_cases in [("stegastamp.json",
                                  lambda: stegastamp_cases(args.out, not args.no_128px)),
                                 ("stylegan2.json", stylegan2_cases)]:
        cases = make_cases()
        names = [c["name"] for c in cases]
        assert len(set(names)) == len(names), f"duplicate case names in {filename}"
        binary = 0
        for c in cases:
            binary += c.pop("_binary_bytes", 0)
            c.pop("_tensors")
            d = c.get("diagnostics", {})
            print(f"  {c['name']:44s} min|pre-act| {d.get('min_abs_preactivation', '-')!s:9s}"
                  f" #<1e-5 {d.get('preactivations_below_1e-5', '-')}")
        text = emit_file(cases)
        (args.out / filename).write_text(text, encoding="utf-8")
        size = len(text.encode("utf-8"))
        total += size + binary
        print(f"{filename:24s} {len(cases):3d} cases {size:10d} bytes JSON + {binary:10d} bytes bin")
    print(f"{'total':24s}           {total:10d} bytes  (torch {torch.__version__})")


if __name__ == "__main__":
    main()
