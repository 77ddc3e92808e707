"""Seeded mutations of file bytes, the way parser fuzzers work: truncation, byte flips,
zeroed blocks, duplicated chunks, stored sizes set to huge, zero, negative or off-by-one
values, and format-aware edits of ``.npy`` headers and PNG, JPEG and TIFF header fields.

Each mutator takes the bytes and a ``random.Random`` and returns the new bytes and a
description.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

#: Numbers a header field is set to: huge, zero, negative, off by one, absurd.
BAD_NUMBERS = (0, 1, -1, 2, -2**31, 2**31 - 1, 2**32 - 1, 2**32, 2**63 - 1, 4_000_000_001,
               10**12, 65535, 255, 3)
SUFFIXES = (".npy", ".npz", ".mat", ".h5ad", ".h5", ".mtx", ".csv", ".tsv", ".txt", ".png",
            ".jpg", ".tif", ".zip", ".hdr", ".gif", ".bmp", ".docx", "")



def truncate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    cut = rng.randrange(0, max(len(data), 1))
    return data[:cut], f"truncated at {cut}"


def _position(data: bytes, rng: random.Random) -> int:
    if rng.random() < 0.5:  # headers and metadata live near the start
        return rng.randrange(0, max(min(len(data), 1024), 1))
    return rng.randrange(0, max(len(data), 1))


def flip(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    out = bytearray(data)
    count = rng.choice((1, 1, 2, 3, 4, 8, 16, 32))
    for _ in range(count):
        if not out:
            break
        i = _position(out, rng)
        out[i] = rng.randrange(256) if rng.random() < 0.5 else out[i] ^ (1 << rng.randrange(8))
    return bytes(out), f"{count} byte flip(s)"


def zero_block(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    length = rng.choice((1, 4, 8, 16, 64, 256, 1024))
    start = _position(data, rng)
    out = bytearray(data)
    out[start:start + length] = bytes(len(out[start:start + length]))
    return bytes(out), f"zeroed {length} bytes at {start}"


def duplicate_chunk(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    start = rng.randrange(0, max(len(data), 1))
    length = rng.choice((4, 16, 64, 512))
    at = rng.randrange(0, max(len(data), 1))
    return data[:at] + data[start:start + length] + data[at:], f"copied {length} bytes from {start} to {at}"


def bad_number(value: int, rng: random.Random) -> int:
    """A replacement for a stored size: huge, zero, negative or off by a little."""
    return rng.choice(BAD_NUMBERS + (value + 1, value - 1, value * 2, value * 1000, -value))


def inflate(data: bytes, rng: random.Random, numbers: list[int]) -> tuple[bytes, str]:
    """Replace one stored copy of a known size (shape, nnz) with a bad number, in binary."""
    formats = ("<I", "<Q", "<i", "<q", ">I", ">Q", "<H")
    found = []
    for number in numbers:
        for fmt in formats:
            try:
                pattern = struct.pack(fmt, number)
            except struct.error:
                continue
            start = data.find(pattern)
            while start != -1 and len(found) < 400:
                found.append((start, fmt, number))
                start = data.find(pattern, start + 1)
    if not found:
        return flip(data, rng)
    start, fmt, number = rng.choice(found)
    new = bad_number(number, rng)
    low, high = (-(2 ** (8 * struct.calcsize(fmt) - 1)), 2 ** (8 * struct.calcsize(fmt) - 1) - 1) \
        if fmt[-1].islower() else (0, 2 ** (8 * struct.calcsize(fmt)) - 1)
    new = min(max(new, low), high)
    out = data[:start] + struct.pack(fmt, new) + data[start + struct.calcsize(fmt):]
    return out, f"stored size {number} at {start} ({fmt}) set to {new}"


GENERIC: tuple[Callable[[bytes, random.Random], tuple[bytes, str]], ...] = (truncate, flip, flip, zero_block, duplicate_chunk)


_DESCRS = ("<f8", "<f4", "|u1", "<i8", ">f8", "<c16", "|b1", "<U8", "|S4", "<M8[s]", "|V8",
           "<f2", "<u8", ">i4", "<U1000000000", "|V0", "[('a', '<f8')]")


def npy_header(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Rewrite a .npy header with a bad shape, dtype or order, keeping the data."""
    fh = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fh)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = reader(fh)
    except (ValueError, OSError, EOFError):
        return flip(data, rng)
    body = data[fh.tell():]
    header: dict[str, Any] = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": fortran,
                              "shape": tuple(shape)}
    choice = rng.randrange(5)
    if choice == 0 and shape:
        dims = list(shape)
        axis = rng.randrange(len(dims))
        dims[axis] = bad_number(dims[axis], rng)
        header["shape"] = tuple(dims)
        what = f"shape {tuple(shape)} -> {header['shape']}"
    elif choice == 1:
        header["descr"] = rng.choice(_DESCRS)
        what = f"dtype -> {header['descr']}"
    elif choice == 2:
        header["fortran_order"] = not fortran
        what = "fortran_order flipped"
    elif choice == 3:
        dims = list(shape)
        if dims and rng.random() < 0.5:
            dims.pop(rng.randrange(len(dims)))
        else:
            dims.insert(rng.randrange(len(dims) + 1), rng.choice((0, 1, 2, 7, 10**6)))
        header["shape"] = tuple(dims)
        what = f"shape {tuple(shape)} -> {tuple(dims)}"
    else:
        header["shape"] = rng.choice(((2.5, 3), (-1,), ("a", 2), (2**70, 2), (), None))
        what = f"shape -> {header['shape']!r}"
    out = io.BytesIO()
    out.write(np.lib.format.magic(1, 0))
    text = repr(header).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text = text + b" " * pad + b"\n"
    if len(text) < 65536:
        out.write(struct.pack("<H", len(text)))
    else:
        out.seek(0)
        out.write(np.lib.format.magic(2, 0) + struct.pack("<I", len(text)))
    out.write(text)
    return out.getvalue() + body, f"npy header: {what}"


def npy_values(content: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Set entries of an integer array (indices, indptr, shape) to bad numbers."""
    array = np.load(io.BytesIO(content), allow_pickle=False)
    if array.size == 0:
        return truncate(content, rng)
    flat = array.ravel().copy()
    for _ in range(rng.choice((1, 1, 2, 5))):
        k = rng.randrange(flat.size)
        if flat.dtype.kind in "iu":
            info = np.iinfo(flat.dtype)
            flat[k] = min(max(bad_number(int(flat[k]), rng), int(info.min)), int(info.max))
        elif flat.dtype.kind == "f":
            flat[k] = rng.choice((np.nan, np.inf, -1.0, 1e308, 0.0))
    if rng.random() < 0.2 and flat.size > 1:
        flat = flat[::-1].copy() if rng.random() < 0.5 else flat[: rng.randrange(flat.size)]
        return npy_bytes(flat), "values reversed or shortened"
    return npy_bytes(flat.reshape(array.shape)), "values set to bad numbers"


def _png_chunks(data: bytes) -> list[list[bytes]]:
    chunks, at = [], 8
    while at + 8 <= len(data):
        (length,), kind = struct.unpack(">I", data[at:at + 4]), data[at + 4:at + 8]
        chunks.append([kind, data[at + 8:at + 8 + length]])
        at += 12 + length
    return chunks


def _png_join(chunks: list[list[bytes]], fix_crc: bool = True) -> bytes:
    out = [b"\x89PNG\r\n\x1a\n"]
    for kind, body in chunks:
        crc = zlib.crc32(kind + body) if fix_crc else 0
        out.append(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc & 0xFFFFFFFF))
    return b"".join(out)


def png_edit(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Edit IHDR fields or the chunk list, with valid CRCs so the decoder gets past them."""
    chunks = _png_chunks(data)
    if not chunks or chunks[0][0] != b"IHDR":
        return flip(data, rng)
    op = rng.choice(("size", "size", "depth", "colour", "interlace", "drop", "duplicate", "idat"))
    ihdr = bytearray(chunks[0][1])
    if op == "size":
        at = rng.choice((0, 4))
        value = min(max(bad_number(struct.unpack(">I", ihdr[at:at + 4])[0], rng), 0), 2**32 - 1)
        ihdr[at:at + 4] = struct.pack(">I", value)
        what = f"{'width' if at == 0 else 'height'} -> {value}"
    elif op == "depth":
        ihdr[8] = rng.choice((1, 2, 4, 8, 16, 3, 0, 255))
        what = f"bit depth -> {ihdr[8]}"
    elif op == "colour":
        ihdr[9] = rng.choice((0, 2, 3, 4, 6, 1, 7))
        what = f"colour type -> {ihdr[9]}"
    elif op == "interlace":
        ihdr[10 + rng.randrange(3)] = rng.choice((1, 2, 255))
        what = "compression/filter/interlace byte changed"
    elif op == "drop":
        k = rng.randrange(len(chunks))
        what = f"dropped chunk {chunks[k][0]!r}"
        chunks.pop(k)
    elif op == "duplicate":
        k = rng.randrange(len(chunks))
        chunks.insert(rng.randrange(len(chunks) + 1), list(chunks[k]))
        what = f"duplicated chunk {chunks[k][0]!r}"
    else:
        idat = [c for c in chunks if c[0] == b"IDAT"]
        if idat:
            idat[0][1] = rng.choice(GENERIC)(idat[0][1], rng)[0]
        what = "IDAT data mutated (valid CRC)"
    chunks[0][1] = bytes(ihdr)
    return _png_join(chunks), f"png: {what}"


def jpeg_edit(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Edit the frame header (SOF0): precision, height, width, component count."""
    at = data.find(b"\xff\xc0")
    if at < 0:
        return flip(data, rng)
    out = bytearray(data)
    field_at, size = rng.choice(((at + 4, 1), (at + 5, 2), (at + 7, 2), (at + 9, 1), (at + 2, 2)))
    value = min(max(bad_number(int.from_bytes(out[field_at:field_at + size], "big"), rng), 0), 256**size - 1)
    out[field_at:field_at + size] = value.to_bytes(size, "big")
    return bytes(out), f"jpeg SOF0 field at {field_at - at} -> {value}"


def tiff_edit(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Edit an IFD entry (width, height, bits, strips...) or an IFD link (loops, out of file)."""
    if data[:2] != b"II":
        return flip(data, rng)
    entries, links, offset = [], [], struct.unpack("<I", data[4:8])[0]
    links.append(4)
    seen = set()
    while 8 <= offset < len(data) - 2 and offset not in seen and len(seen) < 20:
        seen.add(offset)
        (count,) = struct.unpack("<H", data[offset:offset + 2])
        for k in range(count):
            entries.append(offset + 2 + 12 * k)
        link = offset + 2 + 12 * count
        if link + 4 > len(data):
            break
        links.append(link)
        offset = struct.unpack("<I", data[link:link + 4])[0]
    out = bytearray(data)
    if entries and rng.random() < 0.75:
        entry = rng.choice(entries)
        tag, kind, count = struct.unpack("<HHI", out[entry:entry + 8])
        part = rng.choice(("value", "value", "count", "type"))
        if part == "value":
            size = 2 if kind == 3 else 4
            old = int.from_bytes(out[entry + 8:entry + 8 + size], "little")
            value = min(max(bad_number(old, rng), 0), 256**size - 1)
            out[entry + 8:entry + 8 + size] = value.to_bytes(size, "little")
        elif part == "count":
            value = min(max(bad_number(count, rng), 0), 2**32 - 1)
            out[entry + 4:entry + 8] = struct.pack("<I", value)
        else:
            value = rng.choice((1, 2, 3, 4, 5, 7, 11, 16, 0, 99))
            out[entry + 2:entry + 4] = struct.pack("<H", value)
        return bytes(out), f"tiff tag {tag} {part} -> {value}"
    link = rng.choice(links)
    value = rng.choice((struct.unpack("<I", data[4:8])[0], 8, len(data) + 10, 2**32 - 1, link - 2, 0))
    out[link:link + 4] = struct.pack("<I", value)
    return bytes(out), f"tiff IFD link at {link} -> {value}"


def npy_bytes(array: np.ndarray) -> bytes:
    """A .npy file of ``array``."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
