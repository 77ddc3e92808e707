"""Format-aware mutations of containers: ZIP members (duplicated, shuffled, renamed,
dropped, added, mutated inside, sizes falsified), HDF5 files edited through h5py
(dataset values, shapes and dtypes, attributes, deletions, swaps) and MATLAB v5
elements (class, flags, element types, dimensions, inside compressed elements)."""

from __future__ import annotations

import io
import random
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from _fuzz_files import zip_archive
from _mutations import GENERIC, SUFFIXES, bad_number, flip, inflate, npy_header, npy_values, png_edit

def _zip_list(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def zip_members(data: bytes, rng: random.Random, inner: Callable[[str, bytes, random.Random], tuple[bytes, str]] | None = None) -> tuple[bytes, str]:
    """Duplicate, shuffle, rename, drop, add or mutate members, or falsify a declared size."""
    members = _zip_list(data)
    op = rng.choice(("duplicate", "shuffle", "rename", "drop", "inner", "inner", "add", "size"))
    if not members:
        return flip(data, rng)
    i = rng.randrange(len(members))
    name, content = members[i]
    if op == "duplicate":
        copy = content if rng.random() < 0.5 else flip(content, rng)[0]
        members.insert(rng.randrange(len(members) + 1), (name, copy))
        what = f"duplicated {name}"
    elif op == "shuffle":
        rng.shuffle(members)
        what = "shuffled members"
    elif op == "rename":
        stem = name.rsplit(".", 1)[0]
        new = rng.choice((stem + rng.choice(SUFFIXES), "../" + name, "/abs/" + name, ".hidden/" + name,
                          "__MACOSX/" + name, name.upper(), members[0][0], "x" * 300 + ".png", stem))
        members[i] = (new, content)
        what = f"renamed {name} -> {new[:40]}"
    elif op == "drop":
        members.pop(i)
        what = f"dropped {name}"
    elif op == "add":
        new = rng.choice(("notes.docx", "extra.npy", "more.png", "y.txt", "s.hdr", "matrix.mtx", "barcodes.tsv"))
        members.append((new, rng.choice((content, bytes(rng.randrange(256) for _ in range(64)), b""))))
        what = f"added {new}"
    elif op == "inner":
        mutated, what = inner(name, content, rng) if inner else flip(content, rng)
        members[i] = (name, mutated)
        what = f"{name}: {what}"
    else:
        out = zip_archive(members)
        starts = [k for k in range(len(out)) if out.startswith(b"PK\x01\x02", k)]
        at = rng.choice(starts) + rng.choice((20, 24))
        value = min(max(bad_number(len(content), rng), 0), 2**32 - 1)
        return out[:at] + struct.pack("<I", value) + out[at + 4:], f"central directory size -> {value}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names
        return zip_archive(members, rng.choice((zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED))), what


def inner_npy(name: str, content: bytes, rng: random.Random) -> tuple[bytes, str]:
    if name.endswith(".npy") and rng.random() < 0.7:
        if rng.random() < 0.4:
            return npy_values(content, rng)
        return npy_header(content, rng)
    return rng.choice(GENERIC)(content, rng)


def inner_image(name: str, content: bytes, rng: random.Random) -> tuple[bytes, str]:
    if name.lower().endswith(".png") and rng.random() < 0.5:
        return png_edit(content, rng)
    return rng.choice(GENERIC)(content, rng)


def hdf5_edit(data: bytes, rng: random.Random, scratch: Path) -> tuple[bytes, str]:
    """Edit an HDF5 file through h5py: dataset values, shapes and dtypes, attributes, deletions."""
    path = scratch / "edit.h5"
    path.write_bytes(data)
    with h5py.File(path, "r+") as f:
        items: list[tuple[str, Any]] = []
        f.visititems(lambda name, obj: items.append((name, obj)))
        datasets = [(n, o) for n, o in items if isinstance(o, h5py.Dataset)]
        with_attrs = [(n, o) for n, o in items if len(o.attrs)] + ([("/", f)] if len(f.attrs) else [])
        op = rng.choice(("values", "values", "values", "replace", "replace", "attr", "attr", "delete", "swap"))
        if op == "attr" and with_attrs:
            name, obj = rng.choice(with_attrs)
            key = rng.choice(list(obj.attrs))
            old = obj.attrs[key]
            if np.asarray(old).dtype.kind in "iuf":
                array = np.array(old, ndmin=1).astype(np.int64)
                choice = rng.randrange(4)
                if choice == 0 and array.size:
                    array[rng.randrange(array.size)] = bad_number(int(array.ravel()[0]), rng)
                    new: Any = array
                elif choice == 1:
                    new = array.astype(float) + 0.5
                elif choice == 2:
                    new = np.concatenate([array, array])
                else:
                    new = np.bytes_("bogus")
            else:
                new = np.bytes_(rng.choice(("csc_matrix", "csr_matrix", "array", "dataframe", "", "double",
                                            "char", "sparse", "categorical", "0.9.9", "string-array", "cell")))
            obj.attrs[key] = new
            what = f"attribute {name}/{key} -> {new!r}"[:120]
        elif op == "delete" and items:
            name, _ = rng.choice(items)
            del f[name]
            what = f"deleted {name}"
        elif op == "swap" and len(datasets) >= 2:
            (a, _), (b, _) = rng.sample(datasets, 2)
            f.move(a, a + "_tmp")
            f.move(b, a)
            f.move(a + "_tmp", b)
            what = f"swapped {a} and {b}"
        elif op == "replace" and datasets:
            name, dataset = rng.choice(datasets)
            values = dataset[()]
            array = np.asarray(values)
            choice = rng.randrange(5)
            if choice == 0 and array.ndim and array.size:
                new = array[: rng.randrange(array.shape[0])]
            elif choice == 1 and array.ndim:
                new = np.concatenate([array, array[: max(1, array.shape[0] // 2)]])
            elif choice == 2 and array.dtype.kind in "iu":
                new = array.astype(np.float64) + 0.25
            elif choice == 3 and array.size:
                new = array.reshape(1, -1) if array.ndim == 1 else array.ravel()
            else:
                new = np.array([b"text", b"more"])
            attrs = dict(dataset.attrs)
            del f[name]
            f[name] = new
            f[name].attrs.update(attrs)
            what = f"replaced {name} {array.shape}/{array.dtype} by {np.shape(new)}/{np.asarray(new).dtype}"
        else:
            numeric = [(n, d) for n, d in datasets if d.dtype.kind in "iuf" and d.size]
            if not numeric:
                return flip(data, rng)
            name, dataset = rng.choice(numeric)
            flat = dataset[()].ravel()
            for _ in range(rng.choice((1, 1, 2, 4))):
                k = rng.randrange(flat.size)
                if flat.dtype.kind in "iu":
                    info = np.iinfo(flat.dtype)
                    flat[k] = min(max(bad_number(int(flat[k]), rng), int(info.min)), int(info.max))
                else:
                    flat[k] = rng.choice((np.nan, np.inf, -1.0, 1e308, -1e308, 0.0))
            if rng.random() < 0.15 and flat.size > 1:
                flat = flat[::-1].copy()
            dataset[...] = flat.reshape(dataset.shape)
            what = f"values of {name} set to bad numbers"
    return path.read_bytes(), f"hdf5: {what}"


def mat_v5_edit(data: bytes, rng: random.Random, numbers: list[int]) -> tuple[bytes, str]:
    """Inside a v5 .mat (decompressing miCOMPRESSED elements): change an array's class or
    flags, a data element's type, or a dimension."""
    if len(data) < 136:
        return flip(data, rng)
    body, at, elements = bytearray(data[128:]), 0, []
    while at + 8 <= len(body):
        kind, size = struct.unpack("<II", body[at:at + 8])
        elements.append((at, kind, size))
        at += 8 + size + (-size % 8 if kind != 15 else 0)
    if not elements:
        return flip(data, rng)
    at, kind, size = rng.choice(elements)
    raw = bytes(body[at + 8:at + 8 + size])
    compressed = kind == 15
    if compressed:
        try:
            raw = zlib.decompress(raw)
        except zlib.error:
            return flip(data, rng)
    raw = bytearray(raw)
    op = rng.choice(("class", "dims", "dims", "type", "flip"))
    flags_at = raw.find(struct.pack("<II", 6, 8))
    if op == "class" and flags_at >= 0:
        raw[flags_at + 8] = rng.choice((1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 15, 16, 17, 0, 99))
        raw[flags_at + 9] = rng.choice((0, 0, 0x08, 0x02, 0x04))
        what = f"class {raw[flags_at + 8]}, flags {raw[flags_at + 9]}"
    elif op == "dims":
        edited, what = inflate(bytes(raw), rng, numbers)
        raw = bytearray(edited)
    elif op == "type" and len(raw) > 64:
        tags = [k for k in range(8, len(raw) - 8, 8) if struct.unpack("<I", raw[k:k + 4])[0] in range(1, 16)]
        if tags:
            k = rng.choice(tags)
            raw[k:k + 4] = struct.pack("<I", rng.choice((1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 14, 16, 18, 99)))
        what = "a data element's type changed"
    else:
        edited, what = flip(bytes(raw), rng)
        raw = bytearray(edited)
    raw = zlib.compress(bytes(raw)) if compressed else bytes(raw)
    element = struct.pack("<II", kind, len(raw)) + raw
    out = bytes(body[:at]) + element + bytes(body[at + 8 + size:])
    return data[:128] + out, f"mat v5 element at {at}: {what}"
