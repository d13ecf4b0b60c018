#!/usr/bin/env python3
"""Cuts the sample grids of a `gfp gan train` run back into their images, so that the fingerprint
decoder can read them: the grids (samples/step-NNNNNN.png, 8 x 8 cells with 2-pixel gaps, the
layout of Imaging's SampleGrid) are the only per-step record of a run's images once its
checkpoints have been overwritten.

    python3 Tools/split_sample_grids.py RUN/samples OUT [--cell 32] [--rows 8] [--columns 8] [--gap 2]

writes OUT/step-NNNNNN/cellNN.png (8-bit, the grid's channels) for every grid; then, per folder,
`gfp stego detect --decoder DEC.h5 --expected BITS --json OUT/step-NNNNNN`.
Standard library only (zlib): reads and writes 8-bit grey or RGB PNGs without interlacing.
"""
import argparse
import pathlib
import struct
import sys
import zlib

CHANNELS = {0: 1, 2: 3}  # PNG colour type -> samples per pixel (grey, RGB)


def read_png(path):
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in CHANNELS or interlace:
        raise ValueError(f"{path}: only 8-bit grey or RGB PNGs without interlacing are read")
    channels = CHANNELS[colour]
    stride = width * channels
    raw = zlib.decompress(idat)
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def write_png(path, width, height, channels, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    colour = {1: 0, 3: 2}[channels]
    raw = b"".join(b"\x00" + row for row in rows)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", type=pathlib.Path)
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--cell", type=int, default=32)
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--columns", type=int, default=8)
    parser.add_argument("--gap", type=int, default=2)
    a = parser.parse_args()
    grids = sorted(a.samples.glob("*.png"))
    if not grids:
        sys.exit(f"no PNG grids in {a.samples}")
    expected = (a.columns * a.cell + (a.columns - 1) * a.gap, a.rows * a.cell + (a.rows - 1) * a.gap)
    for grid in grids:
        width, height, channels, rows = read_png(grid)
        if (width, height) != expected:
            sys.exit(f"{grid}: {width} x {height}, expected {expected[0]} x {expected[1]} for the layout asked")
        folder = a.out / grid.stem
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(a.rows * a.columns):
            top, left = (n // a.columns) * (a.cell + a.gap), (n % a.columns) * (a.cell + a.gap)
            cell = [rows[top + y][left * channels:(left + a.cell) * channels] for y in range(a.cell)]
            write_png(folder / f"cell{n:02d}.png", a.cell, a.cell, channels, cell)
    print(f"{len(grids)} grids cut into {a.rows * a.columns} cells each under {a.out}")


if __name__ == "__main__":
    main()
