#!/usr/bin/env python3
"""Convert a PyTorch state dict (``.pth``) into a gfp HDF5 checkpoint.

The output has the layout ``Checkpoint`` in ``Sources/NN/Checkpoint/Checkpoint.swift`` reads
(format version 1):

- every floating-point tensor becomes a little-endian float32 dataset at its key with dots turned
  into slashes (``encoder.conv1.weight`` -> ``/encoder/conv1/weight``; rank-0 tensors get a scalar
  dataspace);
- every integer or boolean rank-0 tensor (e.g. BatchNorm's ``num_batches_tracked``) becomes an
  int64 attribute named by the key's last component on the group the other components name;
- the root group carries the attributes ``format``, ``version``, ``kind`` and ``config`` (JSON
  text): fixed-length UTF-8 strings (h5py reads them as ``bytes``) and an int64.

Integer tensors of higher rank have no place in the format and stop the conversion with an error.
The file is written to a temporary name beside the output and renamed into place.

Usage (any Python with torch and h5py, e.g. /work/torchvenv/bin/python on the dev box)::

    torch_to_hdf5.py encoder.pth encoder.h5 --kind stego-encoder \\
        --config '{"resolution": 128, "bits": 100}' --strip-prefix module.

The state dict may be the saved object itself or nested under a ``state_dict`` or ``model`` key
(as training scripts often save ``{"model": ..., "optimizer": ...}``); ``--entry`` picks another.
Only ``load_state_dict`` needs torch: the rest works on NumPy arrays, which is how the Swift test
suite exercises ``write_checkpoint`` without torch.
"""

import argparse
import json
import os
import sys

import h5py
import numpy as np

FORMAT = "gfp-checkpoint"
VERSION = 1
RESERVED_ROOT_NAMES = {"format", "version", "kind", "config"}
NESTED_STATE_DICT_KEYS = ("state_dict", "model")


def load_state_dict(path, entry=None, allow_pickle=False):
    """Loads ``path`` with torch on the CPU and returns the state dict inside it."""
    import torch  # only needed here

    obj = torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    return find_state_dict(obj, entry)


def find_state_dict(obj, entry=None):
    """Returns the mapping of names to tensors inside ``obj``.

    With ``entry`` (dotted, e.g. ``checkpoint.generator``) that path is followed; otherwise
    ``state_dict`` and ``model`` keys are followed for as long as they lead to dictionaries.
    """
    if entry:
        for part in entry.split("."):
            if not isinstance(obj, dict) or part not in obj:
                raise KeyError(f"--entry {entry}: no key {part!r}")
            obj = obj[part]
    else:
        while isinstance(obj, dict):
            nested = next((k for k in NESTED_STATE_DICT_KEYS if isinstance(obj.get(k), dict)), None)
            if nested is None:
                break
            obj = obj[nested]
    if not isinstance(obj, dict):
        raise TypeError(f"expected a state dict, found {type(obj).__name__}")
    return obj


def rename_keys(state, strip_prefixes=(), prefix=""):
    """Removes the first matching prefix of ``strip_prefixes`` from every key, then puts
    ``prefix`` and a dot in front (when ``prefix`` is not empty)."""
    renamed = {}
    for key, value in state.items():
        for strip in strip_prefixes:
            if key.startswith(strip):
                key = key[len(strip):]
                break
        if prefix:
            key = f"{prefix}.{key}"
        if key in renamed:
            raise ValueError(f"two entries map to the key {key!r}")
        renamed[key] = value
    return renamed


def to_numpy(value):
    """A NumPy array for a torch tensor, NumPy array or Python number."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu()
        if value.is_floating_point():
            value = value.float()  # bfloat16 has no NumPy counterpart; everything is written as float32
        return value.numpy()
    return np.asarray(value)


def write_string_attribute(obj, name, text):
    """A fixed-length NUL-padded UTF-8 string attribute (h5py reads it back as bytes), kept out
    of the global heap that variable-length strings use, which has no checksum."""
    data = text.encode("utf-8")
    if b"\0" in data:
        raise ValueError(f"attribute {name} must not contain NUL")
    obj.attrs.create(name, np.bytes_(data or b"\0"), dtype=h5py.string_dtype("utf-8", max(len(data), 1)))


def write_checkpoint(path, arrays, kind, config="{}", format=FORMAT, version=VERSION, compress=False):
    """Writes ``arrays`` (key -> array-like) as a gfp checkpoint at ``path``, atomically.

    With ``compress``, tensors of rank >= 1 are stored chunked with HDF5's shuffle and deflate
    filters, which libhdf5 undoes transparently on reading (the Swift reader needs nothing more).
    """
    json.loads(config)  # must be JSON
    plan = []
    for key in sorted(arrays):
        components = key.split(".")
        if any(c == "" for c in components) or "/" in key:
            raise ValueError(f"invalid key {key!r}: keys are dot-separated non-empty names without '/'")
        array = to_numpy(arrays[key])
        if array.dtype.kind == "f":
            plan.append(("dataset", components, np.array(array, dtype="<f4", order="C")))
        elif array.dtype.kind in "iub" and array.ndim == 0:
            if len(components) == 1 and key in RESERVED_ROOT_NAMES:
                raise ValueError(f"key {key!r} is a reserved root attribute")
            plan.append(("attribute", components, np.int64(array)))
        else:
            raise ValueError(f"{key}: {array.dtype} tensor of shape {list(array.shape)} has no place in a "
                             "checkpoint (only floating-point tensors and integer scalars)")

    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.tmp-{os.getpid()}")
    try:
        # HDF5 1.8 object formats (checksummed metadata), as the Swift writer uses.
        with h5py.File(temporary, "w", libver=("v108", "v108")) as f:
            write_string_attribute(f, "format", format)
            f.attrs["version"] = np.int64(version)
            write_string_attribute(f, "kind", kind)
            write_string_attribute(f, "config", config)
            for what, components, value in plan:
                if what == "dataset":
                    filters = dict(compression="gzip", compression_opts=9, shuffle=True) if compress and value.ndim else {}
                    f.create_dataset("/".join(components), data=value, **filters)
                else:
                    group = f.require_group("/".join(components[:-1])) if len(components) > 1 else f
                    group.attrs[components[-1]] = value
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="the .pth file written by torch.save")
    parser.add_argument("output", help="the .h5 checkpoint to write")
    parser.add_argument("--kind", required=True, help="the root attribute kind, e.g. stego-encoder")
    parser.add_argument("--format", default=FORMAT, help=f"the root attribute format (default {FORMAT})")
    parser.add_argument("--version", type=int, default=VERSION, help=f"the root attribute version (default {VERSION})")
    parser.add_argument("--config", default="{}", help="the model configuration as JSON text (default {})")
    parser.add_argument("--config-file", help="read the configuration JSON from this file instead")
    parser.add_argument("--strip-prefix", action="append", default=[], metavar="PREFIX",
                        help="remove PREFIX (e.g. 'module.') from the start of keys; repeatable, first match wins")
    parser.add_argument("--prefix", default="", help="put PREFIX and a dot before every key, e.g. 'model'")
    parser.add_argument("--entry", help="dotted path of the state dict inside the loaded object")
    parser.add_argument("--compress", action="store_true", help="store tensors with the shuffle and deflate filters")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="load with weights_only=False (only for files you trust)")
    args = parser.parse_args(argv)

    config = args.config
    if args.config_file:
        with open(args.config_file, encoding="utf-8") as handle:
            config = handle.read()
    state = load_state_dict(args.input, args.entry, args.allow_pickle)
    arrays = rename_keys(state, args.strip_prefix, args.prefix)
    write_checkpoint(args.output, arrays, kind=args.kind, config=config, format=args.format, version=args.version,
                     compress=args.compress)
    print(f"wrote {len(arrays)} entries to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
