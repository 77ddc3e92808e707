"""The fingerprint of a lazy X: read from a few windows of items, never from X whole."""

from __future__ import annotations

import anndata
import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp

import nmfcore
from nmfcore.data import data_fingerprint
from nmfcore.data.fingerprint import lazy_windows
from nmfcore.data.lazy_chunks import ChunkReader


def _counted(values: np.ndarray, chunk: int, sparse: bool = False):
    """``values`` as a Dask array of item chunks, and the list of the chunks computed."""
    read: list[int] = []

    def block(j: int) -> np.ndarray:
        read.append(j)
        part = values[:, j * chunk:(j + 1) * chunk]
        return sp.csr_matrix(part) if sparse else part.copy()

    m, n = values.shape
    blocks = [da.from_delayed(dask.delayed(block)(j), shape=(m, min(chunk, n - j * chunk)), dtype=values.dtype,
                              meta=sp.csr_matrix((0, 0)) if sparse else np.empty((0, 0)))
              for j in range(-(-n // chunk))]
    return da.concatenate(blocks, axis=1), read


def test_windows_cover_start_middle_and_end():
    assert lazy_windows(100, 64) == [(0, 100)]
    assert lazy_windows(1000, 64) == [(0, 64), (468, 532), (936, 1000)]


def test_lazy_fingerprint_reads_only_the_chunks_of_its_windows():
    values = np.random.default_rng(0).random((6, 2000))
    X, read = _counted(values, 100)
    found = data_fingerprint(X)
    assert sorted(set(read)) == [0, 9, 10, 19]  # the middle window spans chunks 9 and 10; 16 chunks unread
    assert len(read) == 4
    assert found != data_fingerprint(values)  # not the in-memory hash: that would read every value


def test_lazy_fingerprint_is_stable_and_independent_of_chunking_and_dtype():
    values = np.random.default_rng(1).random((5, 1500))
    first = data_fingerprint(da.from_array(values, chunks=(5, 100)))
    assert data_fingerprint(da.from_array(values, chunks=(5, 100))) == first
    assert data_fingerprint(da.from_array(values, chunks=(5, 333))) == first
    assert data_fingerprint(da.from_array(values.astype(np.float32).astype(np.float64), chunks=(5, 100))) != first
    rounded = values.astype(np.float32)
    assert (data_fingerprint(da.from_array(rounded, chunks=(5, 200)))
            == data_fingerprint(da.from_array(rounded.astype(np.float64), chunks=(5, 100))))


def test_lazy_fingerprint_changes_with_the_values_it_reads_and_the_shape():
    values = np.random.default_rng(2).random((5, 1500))
    first = data_fingerprint(da.from_array(values, chunks=(5, 100)))
    for column in (0, 1500 // 2, 1499):
        changed = values.copy()
        changed[3, column] += 1
        assert data_fingerprint(da.from_array(changed, chunks=(5, 100))) != first, column
    assert data_fingerprint(da.from_array(values[:, :1499], chunks=(5, 100))) != first
    assert data_fingerprint(da.from_array(values[:4], chunks=(4, 100))) != first


def test_sparse_chunks_hash_like_the_dense_ones_of_their_kind():
    values = sp.random(8, 600, density=0.1, random_state=3, format="csr").toarray()
    X, read = _counted(values, 50, sparse=True)
    again, _ = _counted(values, 150, sparse=True)
    assert data_fingerprint(X) == data_fingerprint(again)
    assert data_fingerprint(X) != data_fingerprint(da.from_array(values, chunks=(8, 50)))  # CSR vs dense, as in memory
    assert sorted(set(read)) == [0, 1, 5, 6, 10, 11]  # windows 0:64, 268:332, 536:600 of 12 chunks


def test_lazy_file_fingerprint_reads_only_the_chunks_of_its_windows(tmp_path, monkeypatch):

    counts = sp.random(2000, 30, density=0.2, random_state=4, format="csr", dtype=np.float32)
    path = tmp_path / "cells.h5ad"
    anndata.AnnData(X=counts).write_h5ad(path)
    ds = nmfcore.load(path, lazy=True, chunk_items=100)
    assert ds.X.numblocks[1] == 20
    read: list[tuple[int, int]] = []
    original = ChunkReader.__call__

    def counted(self, start, stop):
        read.append((start, stop))
        return original(self, start, stop)

    monkeypatch.setattr(ChunkReader, "__call__", counted)
    first = data_fingerprint(ds.X)
    assert sorted(read) == [(0, 100), (900, 1000), (1000, 1100), (1900, 2000)]  # 4 chunks of 20
    assert data_fingerprint(nmfcore.load(path, lazy=True, chunk_items=300).X) == first
