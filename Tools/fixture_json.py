"""JSON emission shared by the fixture generators (make_tensor_fixtures.py, make_nn_fixtures.py).

Tensors are written as {"shape": [...], "data": [...]} with float32 values printed with nine
significant digits (enough to round-trip float32 exactly); other values compactly and in a fixed
order, so that regenerating gives byte-identical files.
"""
from __future__ import annotations

import math

import torch

F64 = torch.float64


def q(t: torch.Tensor) -> torch.Tensor:
    """Round to float32-representable values, keep float64 dtype."""
    return t.detach().to(torch.float32).to(F64)


class TensorJSON:
    """A tensor destined for JSON: its shape and float32-rounded flat data."""

    def __init__(self, t: torch.Tensor):
        t = q(t)
        flat = t.reshape(-1).tolist()
        if not all(math.isfinite(v) for v in flat):
            raise ValueError("non-finite value in fixture tensor")
        self.shape = list(t.shape)
        self.data = flat

    def to_json(self) -> str:
        data = ", ".join("%.9g" % v for v in self.data)
        return '{"shape": %s, "data": [%s]}' % (_emit(self.shape), data)


def _emit(obj) -> str:
    """Compact, deterministic JSON for params / shapes (TensorJSON inline)."""
    if isinstance(obj, TensorJSON):
        return obj.to_json()
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError("non-finite param")
        return repr(obj)
    if isinstance(obj, str):
        return '"%s"' % obj.replace("\\", "\\\\").replace('"', '\\"')
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(_emit(v) for v in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ", ".join('"%s": %s' % (k, _emit(v)) for k, v in obj.items()) + "}"
    raise TypeError(f"cannot emit {type(obj)}")


def _emit_tensor_map(m: dict[str, TensorJSON], indent: str) -> str:
    if not m:
        return "{}"
    inner = ",\n".join(f'{indent}  "{k}": {v.to_json()}' for k, v in m.items())
    return "{\n" + inner + "\n" + indent + "}"
