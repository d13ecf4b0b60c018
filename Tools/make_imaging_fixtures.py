#!/usr/bin/env python3
"""Generate the Pillow / torchvision reference fixtures for the gfp `Imaging` test-suite.

Writes into ``Tests/ImagingTests/Fixtures/``:

``png/*.png`` and ``png_cases.json``
    PNG files of every colour type and bit depth (gray 1/2/4/8/16, gray+alpha 8/16, RGB 8/16,
    RGBA 8/16, palette 1/2/4/8 with and without tRNS, gray and RGB with tRNS, Adam7 interlaced,
    every filter type). Files Pillow can write are written by Pillow; the others by the small
    PNG writer below (``write_png``), which cycles through all five filter types. For each file
    ``png_cases.json`` holds the pixels gfp must decode, as integers in channel-major (CHW)
    order: Pillow's own decode for everything Pillow reads at full precision (with palette
    files converted to RGB, or RGBA when they carry tRNS, and tRNS turned into alpha), and for
    16-bit gray+alpha / RGB / RGBA, which Pillow reads only to 8 bits, the exact 16-bit values
    written plus Pillow's 8-bit decode under ``pillow8`` (gfp's 16-bit values shifted right by
    8 must equal it).

``jpeg/*.jpg`` and ``jpeg/*.expected.png``
    JPEGs written by Pillow (4:4:4, 4:2:2, 4:2:0, gray, progressive, optimised Huffman tables,
    restart markers, a real Fashion-MNIST picture) and Pillow's decode of each as a PNG.
    ``jpeg/source.png`` and ``jpeg/source_gray.png`` with Pillow's encodes of them at several
    qualities (``jpeg/encode_q*.jpg``) check the encoder.

``resize/*.png`` and ``resize_cases.json``
    Sources and Pillow's ``Image.resize(..., BILINEAR)`` of them to smaller, larger and mixed
    sizes, plus torchvision pipelines: ``Resize(R)`` + ``CenterCrop(R)``, the CelebA preset
    ``CenterCrop(148)`` + ``Resize(128)``, ``Pad(2)`` (28 -> 32) and ``CenterCrop`` of odd
    offsets (to pin down torchvision's round-half-to-even offsets).

``idx/*``
    The first 100 images and labels of the Debian Fashion-MNIST test split
    (``/usr/share/datasets/fashion-mnist``), gzip-compressed and raw, for the IDX reader and the
    corruption walk.

Everything is deterministic (fixed seeds); rerunning rewrites identical images. Run with the
project's venv (Pillow, numpy, torch, torchvision):

    /work/torchvenv/bin/python Tools/make_imaging_fixtures.py [--out DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, features
import torchvision
import torchvision.transforms as T

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "Tests" / "ImagingTests" / "Fixtures"
FASHION = Path("/usr/share/datasets/fashion-mnist")

# ---------------------------------------------------------------------------------------------
# A small PNG writer for what Pillow cannot write (sub-byte gray, 16-bit colour, tRNS, Adam7).

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(row: np.ndarray, bits: int) -> bytes:
    """One scanline (samples already interleaved, 1-D) packed at `bits` per sample, big-endian."""
    if bits == 16:
        return row.astype(">u2").tobytes()
    if bits == 8:
        return row.astype(np.uint8).tobytes()
    per_byte = 8 // bits
    padded = np.zeros(-(-len(row) // per_byte) * per_byte, dtype=np.uint8)
    padded[: len(row)] = row
    out = np.zeros(len(padded) // per_byte, dtype=np.uint8)
    for k in range(per_byte):
        out |= padded[k::per_byte] << (8 - bits * (k + 1))
    return out.tobytes()


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_rows(rows: list[bytes], bpp: int, first_filter: int) -> bytes:
    """Filters each row with type (first_filter + index) % 5, so every type appears."""
    out = bytearray()
    previous = bytes(len(rows[0])) if rows else b""
    for index, row in enumerate(rows):
        kind = (first_filter + index) % 5
        filtered = bytearray(len(row))
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
            filtered[i] = (x - predictor) & 0xFF
        out.append(kind)
        out += filtered
        previous = row
    return bytes(out)


def write_png(path: Path, samples: np.ndarray, color_type: int, bits: int, palette=None, trns: bytes | None = None,
              interlace: bool = False) -> None:
    """samples: [H, W, C] integer array (indices for palette images)."""
    height, width, channels = samples.shape
    bpp = max(1, bits * channels // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    data = b""
    for number, (x0, y0, dx, dy) in enumerate(passes):
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        rows = [pack_row(sub[y].reshape(-1), bits) for y in range(sub.shape[0])]
        data += filter_rows(rows, bpp, number)
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bits, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    compressed = zlib.compress(data, 9)
    # Two IDAT chunks, to exercise chunk boundaries inside the zlib stream.
    half = len(compressed) // 2
    out += chunk(b"IDAT", compressed[:half]) + chunk(b"IDAT", compressed[half:]) + chunk(b"IEND", b"")
    path.write_bytes(out)


# ---------------------------------------------------------------------------------------------
# Source pictures: smooth gradients, edges and seeded noise (so codecs and resizes see detail).

def picture(height: int, width: int, channels: int, seed: int, maximum: int = 255, noise: float = 0.06) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(channels):
        base = 0.5 + 0.35 * np.sin(x / (3.0 + 2 * c) + c) * np.cos(y / (4.0 + c))
        base += 0.25 * ((x + 2 * y + 5 * c) % 17 < 6)  # hard edges
        base += rng.normal(0, noise, size=(height, width))
        planes.append(np.clip(base, 0, 1))
    return np.rint(np.stack(planes, axis=-1) * maximum).astype(np.uint16 if maximum > 255 else np.uint8)


def chw(array: np.ndarray) -> list[int]:
    """[H, W] or [H, W, C] -> flat CHW list of ints."""
    if array.ndim == 2:
        array = array[..., None]
    return [int(v) for v in np.transpose(array, (2, 0, 1)).reshape(-1)]


def png_fixtures(out: Path) -> list[dict]:
    folder = out / "png"
    folder.mkdir(parents=True, exist_ok=True)
    cases = []

    def add(name: str, pixels: np.ndarray, bit_depth: int, pillow8: np.ndarray | None = None):
        path = folder / name
        case = {"file": f"png/{name}", "bit_depth": bit_depth, "height": int(pixels.shape[0]),
                "width": int(pixels.shape[1]), "channels": 1 if pixels.ndim == 2 else int(pixels.shape[2]),
                "pixels": chw(pixels)}
        if pillow8 is not None:
            case["pillow8"] = chw(pillow8)
        with Image.open(path) as im:
            case["pillow_mode"] = im.mode
        cases.append(case)

    def pillow_pixels(name: str, mode: str | None = None) -> np.ndarray:
        with Image.open(folder / name) as im:
            return np.array(im.convert(mode) if mode else im)

    h, w = 13, 11  # odd sizes: partial bytes in sub-byte rows, partial Adam7 passes
    rgb8 = picture(h, w, 3, 1)
    rgba8 = np.concatenate([rgb8, picture(h, w, 1, 2)], axis=-1)
    gray8 = picture(h, w, 1, 3)[..., 0]
    rgb16 = picture(h, w, 3, 4, maximum=65535)
    rgba16 = np.concatenate([rgb16, picture(h, w, 1, 5, maximum=65535)], axis=-1)
    gray16 = picture(h, w, 1, 6, maximum=65535)[..., 0]

    # Written by Pillow.
    Image.fromarray(gray8, "L").save(folder / "gray8.png")
    add("gray8.png", pillow_pixels("gray8.png"), 8)
    Image.fromarray(gray8 > 128).save(folder / "gray1.png")  # mode "1": 1-bit gray
    add("gray1.png", pillow_pixels("gray1.png", "L"), 8)
    Image.fromarray(gray16.astype(np.uint16)).save(folder / "gray16.png")
    add("gray16.png", pillow_pixels("gray16.png").astype(np.int64), 16)
    Image.fromarray(np.stack([gray8, rgba8[..., 3]], -1), "LA").save(folder / "gray_alpha8.png")
    add("gray_alpha8.png", pillow_pixels("gray_alpha8.png"), 8)
    Image.fromarray(rgb8, "RGB").save(folder / "rgb8.png")
    add("rgb8.png", pillow_pixels("rgb8.png"), 8)
    Image.fromarray(rgba8, "RGBA").save(folder / "rgba8.png")
    add("rgba8.png", pillow_pixels("rgba8.png"), 8)
    Image.fromarray(rgb8, "RGB").save(folder / "rgb8_level0.png", compress_level=0)
    add("rgb8_level0.png", pillow_pixels("rgb8_level0.png"), 8)
    for bits in (1, 2, 4, 8):
        colors = 1 << bits
        palette = picture(1, colors, 3, 10 + bits)[0]
        indices = (picture(h, w, 1, 20 + bits)[..., 0].astype(np.int64) * colors // 256).astype(np.uint8)
        im = Image.fromarray(indices, "P")
        im.putpalette(palette.reshape(-1).tolist())
        im.save(folder / f"palette{bits}.png", bits=bits)
        add(f"palette{bits}.png", pillow_pixels(f"palette{bits}.png", "RGB"), 8)
        alpha = [int(a) for a in np.linspace(0, 255, colors).astype(np.uint8)]
        im.save(folder / f"palette{bits}_trns.png", bits=bits, transparency=bytes(alpha))
        add(f"palette{bits}_trns.png", pillow_pixels(f"palette{bits}_trns.png", "RGBA"), 8)

    # Written by write_png (Pillow cannot write these), decoded by Pillow where it can.
    for bits in (2, 4):
        levels = (gray8.astype(np.int64) * (1 << bits) // 256).astype(np.uint8)
        write_png(folder / f"gray{bits}.png", levels[..., None], 0, bits)
        add(f"gray{bits}.png", pillow_pixels(f"gray{bits}.png", "L"), 8)
    write_png(folder / "gray8_trns.png", gray8[..., None], 0, 8, trns=struct.pack(">H", int(gray8[3, 4])))
    add("gray8_trns.png", pillow_pixels("gray8_trns.png", "LA"), 8)
    write_png(folder / "rgb8_trns.png", rgb8, 2, 8, trns=struct.pack(">HHH", *[int(v) for v in rgb8[5, 6]]))
    add("rgb8_trns.png", pillow_pixels("rgb8_trns.png", "RGBA"), 8)
    write_png(folder / "rgb8_adam7.png", rgb8, 2, 8, interlace=True)
    add("rgb8_adam7.png", pillow_pixels("rgb8_adam7.png"), 8)
    write_png(folder / "gray4_adam7.png", (gray8 // 16)[..., None], 0, 4, interlace=True)
    add("gray4_adam7.png", pillow_pixels("gray4_adam7.png", "L"), 8)
    write_png(folder / "gray16_adam7.png", gray16[..., None], 0, 16, interlace=True)
    add("gray16_adam7.png", pillow_pixels("gray16_adam7.png").astype(np.int64), 16)
    write_png(folder / "rgba8_filters.png", rgba8, 6, 8)
    add("rgba8_filters.png", pillow_pixels("rgba8_filters.png"), 8)
    ga16 = np.stack([gray16, rgba16[..., 3]], -1)
    write_png(folder / "gray_alpha16.png", ga16, 4, 16)
    add("gray_alpha16.png", ga16, 16, pillow8=pillow_pixels("gray_alpha16.png", "LA"))
    write_png(folder / "rgb16.png", rgb16, 2, 16)
    add("rgb16.png", rgb16, 16, pillow8=pillow_pixels("rgb16.png"))
    write_png(folder / "rgba16.png", rgba16, 6, 16)
    add("rgba16.png", rgba16, 16, pillow8=pillow_pixels("rgba16.png"))
    write_png(folder / "rgba16_adam7.png", rgba16, 6, 16, interlace=True)
    add("rgba16_adam7.png", rgba16, 16, pillow8=pillow_pixels("rgba16_adam7.png"))
    return cases


def jpeg_fixtures(out: Path) -> None:
    folder = out / "jpeg"
    folder.mkdir(parents=True, exist_ok=True)
    rgb = picture(29, 37, 3, 30)
    gray = picture(29, 37, 1, 31)[..., 0]
    Image.fromarray(rgb).save(folder / "source.png")
    Image.fromarray(gray).save(folder / "source_gray.png")
    variants = {
        "rgb_444_q90": dict(quality=90, subsampling=0),
        "rgb_422_q85": dict(quality=85, subsampling=1),
        "rgb_420_q75": dict(quality=75, subsampling=2),
        "rgb_420_q30_progressive": dict(quality=30, progressive=True),
        "rgb_444_q95_optimized": dict(quality=95, subsampling=0, optimize=True),
        "rgb_420_q80_restart": dict(quality=80, restart_marker_blocks=2),
    }
    for name, options in variants.items():
        Image.fromarray(rgb).save(folder / f"{name}.jpg", **options)
    Image.fromarray(gray).save(folder / "gray_q90.jpg", quality=90)
    # A real picture: the first Fashion-MNIST test image, 3x upscaled in colour.
    with gzip.open(FASHION / "t10k-images-idx3-ubyte.gz") as f:
        first = np.frombuffer(f.read(16 + 784)[16:], dtype=np.uint8).reshape(28, 28)
    real = Image.fromarray(first).resize((84, 84), Image.BILINEAR).convert("RGB")
    real = Image.fromarray((np.array(real) * np.array([1.0, 0.8, 0.5])).astype(np.uint8))
    real.save(folder / "fashion_rgb.jpg", quality=88)
    real.save(folder / "fashion_rgb.png")
    for path in sorted(folder.glob("*.jpg")):
        with Image.open(path) as im:
            im.load()
            im.save(folder / f"{path.stem}.expected.png")
    # Encoder references: Pillow's default subsampling (4:2:0 for colour), baseline, no optimisation.
    encode = folder / "encode"
    encode.mkdir(exist_ok=True)
    for quality in (50, 75, 95):
        Image.fromarray(rgb).save(encode / f"rgb_q{quality}.jpg", quality=quality)
        Image.fromarray(gray).save(encode / f"gray_q{quality}.jpg", quality=quality)


def resize_fixtures(out: Path) -> list[dict]:
    folder = out / "resize"
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    sources = {"rgb_61x47": picture(47, 61, 3, 40), "gray_28x28": None, "rgb_178x218": picture(218, 178, 3, 41, noise=0.01)}
    with gzip.open(FASHION / "t10k-images-idx3-ubyte.gz") as f:
        sources["gray_28x28"] = np.frombuffer(f.read(16 + 2 * 784)[16 + 784:], dtype=np.uint8).reshape(28, 28)
    for name, array in sources.items():
        Image.fromarray(array).save(folder / f"{name}.png")

    def record(kind: str, source: str, output: Image.Image, **params):
        suffix = "".join(f".{k}{v}" for k, v in params.items())
        file = f"resize/{source}.{kind}{suffix}.png"
        output.save(out / file)
        cases.append({"kind": kind, "source": f"resize/{source}.png", "expected": file, **params})

    for source, sizes in {"rgb_61x47": [(20, 15), (7, 5), (61, 23), (30, 47), (100, 80), (30, 90), (1, 1), (61, 47)],
                          "gray_28x28": [(14, 14), (9, 13), (64, 64), (32, 32)],
                          "rgb_178x218": [(64, 78), (33, 200)]}.items():
        image = Image.open(folder / f"{source}.png")
        for width, height in sizes:
            record("bilinear", source, image.resize((width, height), Image.BILINEAR), width=width, height=height)
    for source, resolutions in {"rgb_61x47": [32, 24, 47, 80], "gray_28x28": [32, 20], "rgb_178x218": [128, 64]}.items():
        image = Image.open(folder / f"{source}.png")
        for resolution in resolutions:
            pipeline = T.Compose([T.Resize(resolution), T.CenterCrop(resolution)])
            record("resize_center_crop", source, pipeline(image), resolution=resolution)
    for source, crops in {"rgb_61x47": [(20, 20), (30, 17), (46, 60), (50, 70)], "gray_28x28": [(27, 27), (32, 32)]}.items():
        image = Image.open(folder / f"{source}.png")
        for height, width in crops:
            record("center_crop", source, T.CenterCrop((height, width))(image), height=height, width=width)
    celeba = T.Compose([T.CenterCrop(148), T.Resize(128)])
    record("celeba", "rgb_178x218", celeba(Image.open(folder / "rgb_178x218.png")))
    record("pad", "gray_28x28", T.Pad(2)(Image.open(folder / "gray_28x28.png")), padding=2)
    return cases


def idx_fixtures(out: Path) -> None:
    folder = out / "idx"
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(FASHION / "t10k-images-idx3-ubyte.gz") as f:
        images = f.read(16 + 100 * 784)
    with gzip.open(FASHION / "t10k-labels-idx1-ubyte.gz") as f:
        labels = f.read(8 + 100)
    images = images[:4] + struct.pack(">I", 100) + images[8:]
    labels = labels[:4] + struct.pack(">I", 100) + labels[8:]
    # Uncompressed IDX files hold the first 10 only.
    (folder / "t10k-10-images-idx3-ubyte").write_bytes(images[:4] + struct.pack(">I", 10) + images[8:16 + 10 * 784])
    (folder / "t10k-10-labels-idx1-ubyte").write_bytes(labels[:4] + struct.pack(">I", 10) + labels[8:8 + 10])
    # mtime=0 keeps the gzip bytes reproducible.
    (folder / "t10k-100-images-idx3-ubyte.gz").write_bytes(gzip.compress(images, mtime=0))
    (folder / "t10k-100-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels, mtime=0))
    # The same labels as two concatenated gzip members (RFC 1952 allows it; gzip -d reads it).
    (folder / "t10k-100-labels-idx1-ubyte.2members.gz").write_bytes(
        gzip.compress(labels[:50], mtime=0) + gzip.compress(labels[50:], mtime=0))
    # A 2-D float32 IDX (type 0x0D) and a 1-D int16 one (0x0B), for the general reader.
    floats = (np.arange(12).reshape(3, 4) / 8 - 0.5).astype(">f4")
    (folder / "floats-3x4.idx").write_bytes(b"\x00\x00\x0d\x02" + struct.pack(">II", 3, 4) + floats.tobytes())
    shorts = np.array([-300, -1, 0, 1, 300], dtype=">i2")
    (folder / "shorts-5.idx").write_bytes(b"\x00\x00\x0b\x01" + struct.pack(">I", 5) + shorts.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    png_cases = png_fixtures(args.out)
    jpeg_fixtures(args.out)
    resize_cases = resize_fixtures(args.out)
    idx_fixtures(args.out)
    versions = {"pillow": PIL.__version__, "libjpeg_turbo": features.version("libjpeg_turbo"),
                "zlib": features.version("zlib"), "torchvision": torchvision.__version__}
    (args.out / "png_cases.json").write_text(json.dumps({"versions": versions, "cases": png_cases}) + "\n")
    (args.out / "resize_cases.json").write_text(json.dumps({"versions": versions, "cases": resize_cases}, indent=1) + "\n")
    print(f"wrote {len(png_cases)} PNG cases, {len(resize_cases)} resize cases to {args.out} ({versions})")


if __name__ == "__main__":
    main()
