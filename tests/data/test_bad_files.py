"""A corpus of bad files, generated in tmp_path: each must raise DataError (a ValueError)
whose message names the problem and the fix, and nothing may be unpickled or allocated."""

from __future__ import annotations

import io
import zipfile

import anndata
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import nmfcore
from nmfcore.data import DataError
from _bad_files import mat_v5, mat_v73, npy, npz, png, zip_bytes

SMALL_LIMIT = 10_000


def _png_pair(shapes):
    return {f"im{i}.png": png(np.full(shape, 100, dtype=np.uint8)) for i, shape in enumerate(shapes)}


def _fake_npy_header(shape) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _h5ad_bytes(tmp_path, adata) -> bytes:
    path = tmp_path / "x.h5ad"
    adata.write_h5ad(path)
    return path.read_bytes()


def _plain_hdf5(tmp_path) -> bytes:
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f["something"] = np.ones(3)
    return path.read_bytes()


def _v73_text_only(tmp_path) -> bytes:
    return mat_v73(tmp_path / "t.mat", title="hello").read_bytes()


def _bomb() -> bytes:
    return zip_bytes({"zeros.png": b"\x00" * 5_000_000})


def _crc_mismatch() -> bytes:
    data = bytearray(zip_bytes({"a.png": png(np.zeros((4, 4))), "b.png": png(np.ones((4, 4)))},
                               compression=zipfile.ZIP_STORED))
    position = data.find(b"IDAT") + 6
    data[position] ^= 0xFF
    return bytes(data)


DENSE = np.arange(1.0, 13.0).reshape(3, 4)
PNG = png(np.arange(64, dtype=np.uint8).reshape(8, 8))

# id -> (file name, content builder taking tmp_path, load options, words the message must contain)
CASES = {
    "empty file": ("data.csv", lambda t: b"", {}, ["empty", "choose a file"]),
    "empty image": ("photo.png", lambda t: b"", {}, ["empty"]),
    "wrong extension": ("report.docx", lambda t: b"PK\x03\x04 not really", {}, ["not a supported", "rename"]),
    "no extension": ("datafile", lambda t: DENSE.tobytes(), {}, ["not a supported", "use one of"]),
    "text named png": ("photo.png", lambda t: b"hello,world\n1,2\n", {}, ["not recognisable", "re-export"]),
    "png named npy": ("array.npy", lambda t: PNG, {}, ["PNG data", "rename"]),
    "binary named csv": ("table.csv", lambda t: PNG, {}, ["binary", "save it as"]),
    "truncated png": ("photo.png", lambda t: PNG[:40], {}, ["truncated or corrupt", "export it again"]),
    "corrupt png in zip": ("pics.zip", lambda t: _crc_mismatch(), {}, ["corrupt", "again"]),
    "truncated zip": ("pics.zip", lambda t: zip_bytes(_png_pair([(4, 4), (4, 4)]))[:60], {},
                      ["not a readable ZIP", "create the archive again"]),
    "corrupt zip": ("pics.zip", lambda t: b"PK\x03\x04" + bytes(range(256)) * 4, {},
                    ["not a readable ZIP", "re-upload"]),
    "empty zip": ("pics.zip", lambda t: zip_bytes({}), {}, ["empty ZIP", "add the data files"]),
    "zip without data files": ("stuff.zip", lambda t: zip_bytes({"notes.docx": b"x", "a.exe": b"y"}), {},
                               ["none of which is a supported", "may hold images"]),
    "truncated h5ad": ("cells.h5ad", lambda t: _h5ad_bytes(t, anndata.AnnData(X=np.ones((5, 4))))[:3000], {},
                       ["truncated or corrupt", "write_h5ad"]),
    "corrupt h5ad": ("cells.h5ad", lambda t: b"\x89HDF\r\n\x1a\n" + b"\x07" * 2000, {},
                     ["truncated or corrupt", "write it again"]),
    "hdf5 without X": ("cells.h5ad", _plain_hdf5, {}, ["no 'X' matrix", "write_h5ad"]),
    "h5ad with no cells": ("cells.h5ad", lambda t: _h5ad_bytes(t, anndata.AnnData(
        X=np.zeros((0, 5)), var=pd.DataFrame(index=[f"g{i}" for i in range(5)]))), {},
        ["no cells", "filtering"]),
    "truncated mat": ("data.mat", lambda t: mat_v5(X=np.ones((20, 20)))[:300], {}, ["truncated or corrupt", "save it again"]),
    "corrupt mat": ("data.mat", lambda t: mat_v5(X=np.ones((20, 20)))[:128] + b"\xff" * 400, {},
                    ["truncated or corrupt", "save it again"]),
    "truncated v7.3 mat": ("data.mat", lambda t: mat_v73(t / "v.mat", X=np.ones((30, 30))).read_bytes()[:1500], {},
                           ["truncated or corrupt", "save it again"]),
    "mat without numbers": ("notes.mat", lambda t: mat_v5(title="just text", cells=np.array(["a", "b"], dtype=object)),
                            {}, ["no numeric matrix", "numeric variable"]),
    "v7.3 mat without numbers": ("notes.mat", _v73_text_only, {}, ["no numeric matrix", "numeric"]),
    "mat of scalars": ("n.mat", lambda t: mat_v5(a=1.0, b=np.arange(5.0)), {}, ["no numeric matrix", "2-D"]),
    "negative csv": ("neg.csv", lambda t: b"1,2,-3\n4,-5,6\n7,8,9\n", {},
                     ["2 negative entries", "minimum -5", "negative='clip'", "negative='shift'"]),
    "negative npy": ("neg.npy", lambda t: npy(-DENSE), {}, ["12 negative entries", "negative='clip'"]),
    "nan csv": ("nan.csv", lambda t: b"1,2,3\n4,,6\n7,8,9\n", {}, ["1 NaN", "nan='zero'"]),
    "inf npy": ("inf.npy", lambda t: npy(np.where(DENSE > 11, np.inf, DENSE)), {}, ["1 infinite", "nan='zero'"]),
    "text in numeric csv": ("t.csv", lambda t: b"a,b,c\n1,2,3\n4,five,6\n", {},
                            ["text where a number should be", "'five'", "row 2", "text_column="]),
    "ragged csv": ("r.csv", lambda t: b"1,2,3\n4,5\n6,7,8\n", {}, ["ragged", "line 2 has 2 fields", "same number"]),
    "non utf-8 csv": ("l.csv", lambda t: "x,é\n1,2\n".encode("latin-1"), {}, ["not UTF-8", "save it as UTF-8"]),
    "one by one": ("one.npy", lambda t: npy(np.ones((1, 1))), {}, ["1 x 1", "at least 2 features and 2 items"]),
    "one row": ("row.csv", lambda t: b"1,2,3,4,5\n", {}, ["1 x 5", "at least 2"]),
    "all zeros": ("z.npy", lambda t: npy(np.zeros((4, 5))), {}, ["all zeros", "right variable"]),
    "sizes differ without resizing": ("pics.zip", lambda t: zip_bytes(_png_pair([(4, 4), (4, 4), (6, 5)])),
                                      {"resize": False}, ["differ from the size 4 x 4", "resize=True"]),
    "pickled npy": ("obj.npy", lambda t: npy(np.array([{"a": 1}, None], dtype=object), allow_pickle=True), {},
                    ["Python objects", "pickles are never loaded", "numeric array"]),
    "pickled array in npz": ("obj.npz", lambda t: _pickled_npz(), {}, ["Python objects", "never loaded"]),
    "zip bomb": ("bomb.zip", lambda t: _bomb(), {}, ["ZIP bomb", "nothing was extracted"]),
    "path traversal": ("evil.zip", lambda t: zip_bytes({"../../etc/evil.png": PNG, "ok.png": PNG}), {},
                       ["outside the archive", "'../../etc/evil.png'", "relative file names"]),
    "absolute path": ("evil.zip", lambda t: zip_bytes({"/tmp/evil.png": PNG, "ok.png": PNG}), {},
                      ["outside the archive", "relative file names"]),
    "over memory limit npy": ("huge.npy", lambda t: _fake_npy_header((200_000, 300_000)), {},
                              ["(200000, 300000)", "447.0 GiB", "above the limit", "max_bytes="]),
    "over configured limit mat": ("big.mat", lambda t: mat_v5(X=np.ones((100, 100))), {"max_bytes": SMALL_LIMIT},
                                  ["above the limit of 9.8 KiB", "subsample"]),
    "inconsistent sparse npz": ("s.npz", lambda t: npz(format=np.array("csr"), shape=np.array([3, 3]),
                                                       data=np.ones(2), indices=np.array([0, 9]),
                                                       indptr=np.array([0, 1, 2, 2])), {},
                                ["inconsistent", "save_npz"]),
    "npz without arrays": ("a.npz", lambda t: zip_bytes({"readme.txt": b"hi"}), {}, ["no .npy arrays", "savez"]),
    "envi header alone": ("scene.hdr", lambda t: b"ENVI\nsamples = 2\nlines = 2\nbands = 2\ndata type = 4\n", {},
                          ["without its data file", "ZIP holding both"]),
    "envi data truncated": ("scene.zip", lambda t: zip_bytes({
        "s.hdr": b"ENVI\nsamples = 4\nlines = 4\nbands = 3\ndata type = 4\ninterleave = bsq\n",
        "s.img": np.ones(10, dtype="<f4").tobytes()}), {}, ["truncated", "belongs to another header"]),
    "complex mtx": ("c.mtx", lambda t: b"%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 1 1.0 2.0\n", {},
                    ["complex", "nonnegative"]),
    "only stop words": ("docs.zip", lambda t: zip_bytes({"a.txt": b"the and of", "b.txt": b"a the it"}), {},
                        ["no usable vocabulary", "turn stop words off"]),
}


def _pickled_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, X=np.array([{"a": 1}], dtype=object))
    return buffer.getvalue()


def test_the_corpus_has_at_least_thirty_bad_files():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_gives_a_clear_data_error(case, tmp_path, monkeypatch):
    name, build, options, words = CASES[case]
    monkeypatch.setattr(np, "load", _no_unpickling(np.load))
    content = build(tmp_path)
    with pytest.raises(DataError) as info:
        nmfcore.load(content, name=name, **options)
    message = str(info.value)
    for word in words:
        assert word in message, f"{case}: {word!r} missing from {message!r}"
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError):
        nmfcore.load(path, **options)


def _no_unpickling(original):
    def guarded(*args, **kwargs):
        assert not kwargs.get("allow_pickle", False), "np.load was asked to unpickle"
        return original(*args, **kwargs)

    return guarded


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def test_bomb_is_refused_before_extracting(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a member was extracted")

    bomb = _bomb()
    monkeypatch.setattr(zipfile.ZipFile, "open", fail)
    with pytest.raises(DataError, match="ZIP bomb"):
        nmfcore.load(bomb, name="bomb.zip")


def test_negative_values_can_be_clipped_or_shifted_instead():
    content = b"1,2,-3\n4,-5,6\n7,8,9\n"
    clipped = nmfcore.load(content, name="n.csv", negative="clip")
    assert clipped.X.min() == 0 and clipped.X[0, 0] == 1
    shifted = nmfcore.load(content, name="n.csv", negative="shift")
    assert shifted.X.min() == 0 and shifted.X[0, 0] == 6
    zeroed = nmfcore.load(b"1,2,3\n4,,6\n7,8,9\n", name="x.csv", nan="zero")
    assert zeroed.X[1, 1] == 0 and "replaced 1 NaN" in zeroed.meta["steps"][0]


def test_sparse_memory_limit_uses_non_zeros(tmp_path):
    buffer = io.BytesIO()
    sp.save_npz(buffer, sp.random(2000, 2000, density=0.01, random_state=0, format="csr"))
    with pytest.raises(DataError, match="stored non-zeros"):
        nmfcore.load(_mtx(tmp_path), max_bytes=1_000)
    dataset = nmfcore.load(buffer.getvalue(), name="s.npz", max_bytes=1_000_000)
    assert sp.issparse(dataset.X)


def _mtx(tmp_path):
    import scipy.io

    path = tmp_path / "m.mtx"
    scipy.io.mmwrite(path, sp.random(200, 200, density=0.05, random_state=0))
    return path


def test_unknown_kind_and_options_are_value_errors():
    with pytest.raises(ValueError, match="kind='pictures' is not valid"):
        nmfcore.load(b"1,2\n3,4\n", name="a.csv", kind="pictures")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['colour'\]"):
        nmfcore.load(b"1,2\n3,4\n", name="a.csv", colour=True)
