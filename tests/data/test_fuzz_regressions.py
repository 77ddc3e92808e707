"""The crashes, hangs and stray exceptions the mutation corpus found, each reduced to a
hand-made file. They run through ``load_isolated`` so that a regression fails its test
(the reader's own message is expected, never "could not be parsed safely") instead of
ending the test run."""

from __future__ import annotations

import io
import struct
import zipfile

import anndata
import h5py
import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from _bad_files import counts, npy, png, tenx_h5
from nmfcore.data import DataError, load_isolated


def _mat(**variables) -> bytes:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables)
    return buffer.getvalue()


def _patched(data: bytes, at: int, value: bytes) -> bytes:
    return data[:at] + value + data[at + len(value):]


# savemat of one 3 x 4 double "X": its matrix element starts at byte 128; the array
# flags' class byte is at 144, the name (a small element) at 168, the data's tag at 176
_MAT = _mat(X=np.arange(1.0, 13.0).reshape(3, 4))


def _h5ad(tmp_path, edit=None) -> bytes:
    adata = anndata.AnnData(X=counts(), var={"name": [f"G{i}" for i in range(30)]})
    adata.var_names = [f"G{i}" for i in range(30)]
    path = tmp_path / "x.h5ad"
    adata.write_h5ad(path)
    if edit:
        with h5py.File(path, "r+") as f:
            edit(f)
    return path.read_bytes()


def _zero_heap_object(data: bytes) -> bytes:
    at = data.find(b"GCOL") + 16  # the collection's first object header
    return data[:at] + bytes(16) + data[at + 16:]


def _out_of_range(f: h5py.File) -> None:
    indices = f["X/indices"][()]
    indices[3] = 912
    f["X/indices"][...] = indices


def _vlen_attribute(f: h5py.File) -> None:
    sequence = np.empty(1, dtype=object)
    sequence[0] = np.arange(3, dtype=np.int32)
    del f.attrs["encoding-type"]
    f.attrs.create("encoding-type", data=sequence, dtype=h5py.vlen_dtype(np.int32))


def _tenx_decreasing(tmp_path) -> bytes:
    path = tenx_h5(tmp_path / "m.h5", counts(), [f"G{i}" for i in range(30)])
    with h5py.File(path, "r+") as f:
        indptr = f["matrix/indptr"][()]
        indptr[5] = indptr[7] + 3
        f["matrix/indptr"][...] = indptr
    return path.read_bytes()


def _png_idat_claim() -> bytes:
    data = png(np.arange(64, dtype=np.uint8).reshape(8, 8))
    at = data.find(b"IDAT") - 4
    return _patched(data, at, struct.pack(">I", 2**31 - 1))  # PIL would read that many bytes


def _zip_with_empty_name() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.png", png(np.ones((4, 4), dtype=np.uint8)))
        archive.writestr("b.png", png(np.zeros((4, 4), dtype=np.uint8)))
    return buffer.getvalue().replace(b"b.png", b"\x00\x00\x00\x00\x00")


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


_ENVI = b"ENVI\nsamples = 4\nlines = 3\nbands = 2\ndata type = 4\ninterleave = bsq\n"
_MTX = b"%%MatrixMarket matrix coordinate real general\n"

# id -> (file name, builder taking tmp_path, load options, words the message must contain)
FOUND = {
    "mtx claiming 4e9 non-zeros (MemoryError)": (
        "m.mtx", lambda t: _MTX + b"3 3 4000000001\n1 1 1.0\n2 2 2.0\n", {"max_bytes": 64 * 2**30},
        ["4000000001 stored entries", "the file holds only"]),
    "mtx size beyond 64 bits (OverflowError)": (
        "m.mtx", lambda t: _MTX + b"3 3 99999999999999999999999\n1 1 1.0\n", {},
        ["not a valid MatrixMarket file", "OverflowError"]),
    "mtx with a NUL after a value (segfault)": (
        "m.mtx", lambda t: _MTX + b"3 3 1\n1 1 5\x00\n", {}, ["NUL bytes", "not MatrixMarket text"]),
    "ENVI samples not an integer (ValueError)": (
        "s.zip", lambda t: _zip({"s.hdr": _ENVI.replace(b"samples = 4", b"samples = 4.5"), "s.img": bytes(96)}),
        {}, ["samples = '4.5'", "not a whole number"]),
    "ENVI with zero bands (zero-size reduction)": (
        "s.zip", lambda t: _zip({"s.hdr": _ENVI.replace(b"bands = 2", b"bands = 0"), "s.img": bytes(96)}),
        {}, ["0 bands", "nothing to factorise"]),
    "h5ad index beyond its columns (segfault)": (
        "x.h5ad", lambda t: _h5ad(t, _out_of_range), {}, ["indices reach 912", "only 30 columns"]),
    "h5ad global heap object zeroed (libhdf5 infinite loop)": (
        "x.h5ad", lambda t: _zero_heap_object(_h5ad(t)), {}, ["corrupt HDF5 global heap"]),
    "h5ad attribute turned into a vlen sequence (libhdf5 segfault)": (
        "x.h5ad", lambda t: _h5ad(t, _vlen_attribute), {}, ["HDF5 type class 9"]),
    "10x pointers that decrease (segfault)": (
        "m.h5", _tenx_decreasing, {}, ["pointers decrease"]),
    "mat v5 data element of type 63497 (segfault)": (
        "x.mat", lambda t: _patched(_MAT, 176, struct.pack("<I", 63497)), {}, ["unknown element type 63497"]),
    "mat v5 logical of class code 0 (UnboundLocalError)": (
        "x.mat", lambda t: _patched(_MAT, 144, b"\x00\x02"), {}, ["MATLAB class code 0"]),
    "mat v5 name of 256 MiB (MemoryError)": (
        "x.mat", lambda t: _patched(_MAT, 168, struct.pack("<II", 1, 2**28)), {}, ["variable name of 268435456 bytes"]),
    "npy header cut inside its dict (tokenize.TokenError)": (
        "x.npy", lambda t: _patched(npy(np.ones((3, 3))), 20, b"(((((("), {}, ["not a readable .npy array"]),
    "zip member with an empty name (IndexError)": (
        "x.zip", lambda t: _zip_with_empty_name(), {}, ["'x.zip'"]),
    "npz cube flattened to 1-D (ValueError)": (
        "x.npz", lambda t: _npz(X=np.ones(40), wavelengths=np.arange(4.0)), {}, ["1 dimension(s)", "hyperspectral"]),
}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("case", list(FOUND))
def test_what_the_fuzzer_found_is_a_clear_data_error(case, tmp_path):
    name, build, options, words = FOUND[case]
    with pytest.raises(DataError) as info:
        load_isolated(build(tmp_path), name=name, timeout=60, **options)
    message = str(info.value)
    assert "could not be parsed safely" not in message, f"{case}: the reader crashed again: {message}"
    for word in words:
        assert word in message, f"{case}: {word!r} missing from {message!r}"


def test_a_chunk_claiming_2_gib_is_read_without_allocating_it(tmp_path):
    # a file object allocates the size asked for; Source.open caps reads at what is left
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    paths[0].write_bytes(_png_idat_claim())
    paths[1].write_bytes(png(np.full((8, 8), 9, dtype=np.uint8)))
    dataset = load_isolated(paths, memory=256 * 2**20)
    assert dataset.shape == (64, 2)


def test_a_sparse_file_with_a_valid_structure_still_loads(tmp_path):
    matrix = sp.random(30, 20, density=0.2, random_state=0, format="csr")
    buffer = io.BytesIO()
    sp.save_npz(buffer, matrix)
    dataset = load_isolated(buffer.getvalue(), name="s.npz")
    np.testing.assert_allclose(dataset.X.toarray(), matrix.toarray().T)
