"""Lazy, chunked input (nmfcore.data.lazy): .h5ad, zarr and 10x .h5 opened without reading X,
chunks along the items only, each checked as it is read; user Dask arrays brought to the same
form; item subsamples; the planted atlas writer of benchmarks/make_atlas.py."""

from __future__ import annotations

import pickle
import subprocess
import sys
import tracemalloc
from pathlib import Path

import anndata
import dask
import dask.array as da
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import zarr

import nmfcore
from _bad_files import tenx_h5
from nmfcore.data import DataError
from nmfcore.data.lazy import (
    MAX_DENSE_CHUNK_BYTES, TARGET_CHUNK_BYTES, as_item_chunks, check_lazy, chunk_items_for,
    lazy_problem, open_lazy, subsample_items,
)
from nmfcore.data.lazy_chunks import ChunkReader

REPO = Path(__file__).resolve().parents[2]
N_CELLS, N_GENES = 200, 50


def _counts(cells: int = N_CELLS, genes: int = N_GENES, density: float = 0.2, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    X = sp.random(cells, genes, density=density, format="csr", random_state=rng,
                  data_rvs=lambda k: rng.integers(1, 20, size=k)).astype(np.float32)
    every = sp.csr_matrix((np.ones(cells, np.float32), (np.arange(cells), np.arange(cells) % genes)),
                          shape=(cells, genes))
    return sp.csr_matrix(X.maximum(every))  # every cell and gene has a count


def _adata(X=None) -> anndata.AnnData:
    X = _counts() if X is None else X
    cells, genes = X.shape
    obs = pd.DataFrame({"cell_type": pd.Categorical(["T", "B", "NK", "B"] * (cells // 4)),
                        "depth": np.arange(cells, dtype=float)},
                       index=[f"cell{i}" for i in range(cells)])
    return anndata.AnnData(X=X, obs=obs, var=pd.DataFrame(index=[f"G{i}" for i in range(genes)]))


def _h5ad(tmp_path: Path, adata: anndata.AnnData | None = None, name: str = "cells.h5ad") -> Path:
    path = tmp_path / name
    (adata if adata is not None else _adata()).write_h5ad(path)
    return path


def _dense(X) -> np.ndarray:
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def _item_chunks_only(X, rows: int) -> None:
    assert isinstance(X, da.Array)
    assert X.chunks[0] == (rows,) and X.numblocks[0] == 1


# --- opening each format -------------------------------------------------------------------

def test_h5ad_csr_opens_as_column_chunks_of_csr_equal_to_load(tmp_path):
    path = _h5ad(tmp_path)
    ds = open_lazy(path, chunk_items=64)
    _item_chunks_only(ds.X, N_GENES)
    assert ds.X.chunks[1] == (64, 64, 64, 8) and ds.shape == (N_GENES, N_CELLS)
    assert ds.kind == "scrna" and ds.meta["lazy"] is True and ds.meta["source"] == str(path)
    assert ds.meta["chunking"]["chunk_items"] == 64 and ds.meta["chunking"]["n_chunks"] == 4
    block = ds.X.blocks[0, 1].compute()
    assert isinstance(block, sp.csr_matrix) and block.shape == (N_GENES, 64) and block.dtype == np.float32
    loaded = nmfcore.load(path)
    np.testing.assert_array_equal(_dense(ds.X.compute()), loaded.X.toarray())
    assert ds.meta["nnz"] == loaded.X.nnz and ds.meta["matrix"] == loaded.meta["matrix"]
    assert list(ds.feature_names) == list(loaded.feature_names)
    assert list(ds.item_names) == list(loaded.item_names)
    assert list(ds.label_options) == list(loaded.label_options) == ["cell_type"]
    np.testing.assert_array_equal(ds.labels, loaded.labels)


def test_h5ad_dense_x_gives_dense_chunks(tmp_path):
    adata = _adata(_counts().toarray())
    path = _h5ad(tmp_path, adata)
    ds = open_lazy(path, chunk_items=50, dtype=np.float64)
    _item_chunks_only(ds.X, N_GENES)
    block = ds.X.blocks[0, 0].compute()
    assert isinstance(block, np.ndarray) and block.flags.c_contiguous and block.dtype == np.float64
    np.testing.assert_array_equal(ds.X.compute(), nmfcore.load(path).X)


@pytest.mark.filterwarnings("ignore::UserWarning")  # zarr and anndata announce future defaults
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_anndata_zarr_store_matches_the_same_data_as_h5ad(tmp_path, zarr_format, monkeypatch):
    adata = _adata()
    store = tmp_path / "cells.zarr"
    monkeypatch.setattr(anndata.settings, "zarr_write_format", zarr_format)
    adata.write_zarr(store)
    ds = open_lazy(store, chunk_items=75)
    _item_chunks_only(ds.X, N_GENES)
    assert ds.X.chunks[1] == (75, 75, 50) and ds.meta["format"] == "zarr"
    loaded = nmfcore.load(_h5ad(tmp_path, adata))
    np.testing.assert_array_equal(_dense(ds.X.compute()), loaded.X.toarray())
    assert list(ds.item_names) == list(loaded.item_names) and ds.labels[:3].tolist() == ["T", "B", "NK"]


def test_plain_zarr_array_is_features_by_items_and_chunks_follow_storage(tmp_path):
    values = np.random.default_rng(1).random((30, 100)).astype(np.float32)
    array = zarr.open_array(tmp_path / "m.zarr", mode="w", shape=values.shape, chunks=(30, 16), dtype="f4")
    array[:] = values
    ds = open_lazy(tmp_path / "m.zarr")
    _item_chunks_only(ds.X, 30)
    assert ds.kind == "matrix" and ds.meta["format"] == "zarr array"
    np.testing.assert_array_equal(ds.X.compute(), values)
    small = open_lazy(tmp_path / "m.zarr", max_bytes=30 * 4 * 40 * 4)  # a quarter holds 40 items
    assert small.X.chunks[1][0] == 32  # a multiple of the stored 16 columns


def test_tenx_h5_cells_are_columns_and_non_expression_features_are_dropped(tmp_path):
    raw = _counts(cells=60, genes=12)
    genes = [f"GENE{i}" for i in range(12)]
    path = tenx_h5(tmp_path / "filtered_feature_bc_matrix.h5", raw, genes)
    with h5py.File(path, "r+") as f:
        types = np.array(["Gene Expression"] * 10 + ["Antibody Capture"] * 2, dtype="S")
        del f["matrix/features/feature_type"]
        f["matrix/features/feature_type"] = types
    ds = open_lazy(path, chunk_items=25)
    _item_chunks_only(ds.X, 10)
    assert ds.X.chunks[1] == (25, 25, 10) and ds.item_names[0] == "CELL0-1"
    loaded = nmfcore.load(path)
    np.testing.assert_array_equal(_dense(ds.X.compute()), loaded.X.toarray())
    assert list(ds.feature_names) == list(loaded.feature_names) == genes[:10]
    assert ds.X.dtype == loaded.X.dtype == np.float32  # integers, as float32 like scanpy reads them


def test_h5ad_layer_and_raw_are_chosen_like_load(tmp_path):
    adata = _adata()
    adata.raw = adata.copy()
    adata.X = sp.csr_matrix(np.log1p(adata.X.toarray()), dtype=np.float32)
    path = _h5ad(tmp_path, adata)
    ds = open_lazy(path)
    assert ds.meta["matrix"] == nmfcore.load(path).meta["matrix"] == ".raw.X"
    np.testing.assert_array_equal(_dense(ds.X.compute()), nmfcore.load(path).X.toarray())
    assert open_lazy(path, use="X").meta["matrix"].startswith("X (non-integer")
    with pytest.raises(DataError, match="no layers"):
        open_lazy(path, use="counts")
    with pytest.raises(ValueError, match="use="):
        open_lazy(path, use="bogus")
    with pytest.raises(DataError, match="label="):
        open_lazy(path, label="depth")


def test_a_lazy_array_pickles_so_workers_on_other_processes_read_their_own_chunks(tmp_path):
    path = _h5ad(tmp_path)
    X = open_lazy(path, chunk_items=64).X
    copy = pickle.loads(pickle.dumps(X))
    np.testing.assert_array_equal(_dense(copy.compute()), _dense(X.compute()))


def test_lazy_checks_need_one_chunk_along_features_and_float_chunks(tmp_path):
    ds = open_lazy(_h5ad(tmp_path), chunk_items=64)
    assert lazy_problem(ds.X) is None and check_lazy(ds) is ds
    assert "chunks along the features" in lazy_problem(ds.X.rechunk({0: 10}))
    assert "dtype int64" in lazy_problem(da.ones((3, 4), dtype=np.int64, chunks=(3, 2)))
    assert "not a Dask array" in lazy_problem(np.ones((3, 4)))
    ds.item_names = ds.item_names[:-1]
    with pytest.raises(ValueError, match="item_names has shape"):
        check_lazy(ds)


# --- opening reads headers only ----------------------------------------------------------

def test_opening_a_50_mb_matrix_allocates_under_5_mb_and_reads_no_chunk(tmp_path, monkeypatch):
    cells, genes, per_cell = 10_000, 5_000, 640
    indices = (np.arange(per_cell)[None, :] * 7 + np.arange(cells)[:, None]) % genes
    indices.sort(axis=1)
    X = sp.csr_matrix((np.ones(cells * per_cell, np.float32), indices.ravel().astype(np.int32),
                       np.arange(cells + 1, dtype=np.int64) * per_cell), shape=(cells, genes))
    adata = anndata.AnnData(X=X, obs=pd.DataFrame(index=[f"c{i}" for i in range(cells)]),
                            var=pd.DataFrame(index=[f"g{i}" for i in range(genes)]))
    path = _h5ad(tmp_path, adata, "big.h5ad")
    assert path.stat().st_size > 50e6
    del X, adata, indices
    open_lazy(_h5ad(tmp_path))  # imports and first-use caches outside the measurement

    def no_reads(self, start, stop):
        raise AssertionError("opening read a chunk")

    monkeypatch.setattr(ChunkReader, "__call__", no_reads)
    tracemalloc.start()
    try:
        ds = open_lazy(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ds.shape == (genes, cells) and ds.meta["nnz"] == cells * per_cell
    assert peak < 5 * 2**20, f"opening allocated {peak / 2**20:.1f} MiB"


# --- corrupt files ------------------------------------------------------------------------

def _corrupt(path: Path, name: str, position: int, value) -> None:
    with h5py.File(path, "r+") as f:
        f[f"X/{name}"][position] = value


def test_an_index_out_of_range_fails_when_its_chunk_is_computed(tmp_path):
    path = _h5ad(tmp_path)
    with h5py.File(path, "r") as f:
        position = int(f["X/indptr"][100]) + 1  # an entry of cell 100, in chunk 64:128
    _corrupt(path, "indices", position, 10_000)
    ds = open_lazy(path, chunk_items=64)  # opening reads no chunk, so it succeeds
    ds.X.blocks[0, 0].compute()
    with pytest.raises(DataError, match="items 64:128 .*indices reach 10000"):
        ds.X.blocks[0, 1].compute()
    with pytest.raises(DataError, match="indices reach"):
        ds.X.compute()


@pytest.mark.parametrize("name, position, value, message", [
    ("indptr", 70, 0, "pointers decrease"),
    ("indptr", 0, 3, "start at 3"),
    ("indptr", 130, 10**9, "outside the"),
    ("data", 5, -2.0, "negative values"),
    ("data", 5, np.nan, "NaN or infinite"),
])
def test_corrupt_pointers_and_values_fail_per_chunk(tmp_path, name, position, value, message):
    path = _h5ad(tmp_path)
    _corrupt(path, name, position, value)
    with pytest.raises(DataError, match=message):
        open_lazy(path, chunk_items=64).X.compute()


def test_a_chunk_claiming_more_than_the_memory_limit_is_refused(tmp_path):
    path = _h5ad(tmp_path, _adata(sp.csr_matrix(np.ones((40, 100), np.float32))))
    limit = 16 * 2**10  # the names take 11 KiB, a chunk of one cell 0.8 KiB, all entries 31 KiB
    ds = open_lazy(path, chunk_items=1, max_bytes=limit)
    with h5py.File(path, "r+") as f:  # cell 0 now claims every entry of the matrix
        nnz = f["X/data"].shape[0]
        f["X/indptr"][1:] = nnz
    with pytest.raises(DataError, match="above the limit"):
        ds.X.blocks[0, 0].compute()


def test_header_claims_are_checked_against_the_file(tmp_path):
    raw = _counts(cells=20, genes=8)
    path = tenx_h5(tmp_path / "m.h5", raw, [f"G{i}" for i in range(8)])
    with h5py.File(path, "r+") as f:
        for key in ("data", "indices"):
            del f[f"matrix/{key}"]
            f["matrix"].create_dataset(key, shape=(10**10,), dtype=np.int64, chunks=(2**16,))
        f["matrix/indptr"][-1] = 10**10
    with pytest.raises(DataError, match="the file holds only"):
        open_lazy(path)
    csc = _h5ad(tmp_path, _adata(sp.csc_matrix(_counts())), "by_gene.h5ad")
    with pytest.raises(DataError, match="stored by gene"):
        open_lazy(csc)
    (tmp_path / "x.npy").write_bytes(b"\x93NUMPY")
    with pytest.raises(DataError, match="cannot be opened lazily"):
        open_lazy(tmp_path / "x.npy")
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match="not a zarr store"):
        open_lazy(tmp_path / "folder")
    (tmp_path / "bad.h5ad").write_bytes(b"not hdf5 at all")
    with pytest.raises(DataError, match="cannot be read"):
        open_lazy(tmp_path / "bad.h5ad")


# --- chunk sizes --------------------------------------------------------------------------

def test_default_chunks_bound_the_stored_and_the_dense_bytes():
    # 2M cells x 2,000 genes at 5 %: 100 entries of 8 bytes per cell
    count = chunk_items_for((2000, 2_000_000), 200_000_000, 4, 2**31)
    assert count * 2000 * 4 <= MAX_DENSE_CHUNK_BYTES and count * (100 * 8 + 4) <= TARGET_CHUNK_BYTES
    assert chunk_items_for((30_000, 10**6), None, 8, 2**31) == TARGET_CHUNK_BYTES // (30_000 * 8)
    assert chunk_items_for((10, 50), None, 8, 2**31) == 50
    assert chunk_items_for((100, 10_000), None, 8, 8 * 100 * 400, align=64) == 64  # a quarter: 100 items
    with pytest.raises(ValueError, match="choose at most 10"):
        chunk_items_for((100, 1000), None, 8, 8 * 100 * 10, chunk_items=20)
    with pytest.raises(ValueError, match="chunk_items"):
        chunk_items_for((100, 1000), None, 8, 2**30, chunk_items=0)


# --- user Dask arrays ---------------------------------------------------------------------

def test_as_item_chunks_merges_row_chunks_and_converts_to_checked_floats():
    values = np.arange(600, dtype=np.int64).reshape(20, 30)
    X = as_item_chunks(da.from_array(values, chunks=(7, 11)))
    _item_chunks_only(X, 20)
    assert X.chunks[1] == (11, 11, 8) and X.dtype == np.float64
    np.testing.assert_array_equal(X.compute(), values)
    assert as_item_chunks(da.from_array(values.astype(np.float32), chunks=(20, 10))).dtype == np.float32
    assert as_item_chunks(da.from_array(values, chunks=(20, 10)), chunk_items=15).chunks[1] == (15, 15)

    csr = sp.random(20, 30, density=0.3, format="csr", random_state=0)
    S = as_item_chunks(da.from_array(csr, chunks=(10, 16), asarray=False))
    _item_chunks_only(S, 20)
    block = S.blocks[0, 1].compute()
    assert isinstance(block, sp.csr_matrix) and block.shape == (20, 14)
    np.testing.assert_array_equal(_dense(S.compute()), csr.toarray())


def test_as_item_chunks_names_the_items_of_a_bad_chunk_and_refuses_other_input(tmp_path):
    values = np.ones((5, 12))
    values[2, 9] = -1
    X = as_item_chunks(da.from_array(values, chunks=(5, 4)))
    X.blocks[0, 0].compute()
    with pytest.raises(DataError, match="items 8:12 of X has negative values"):
        X.compute()
    with pytest.raises(TypeError, match="from_array"):
        as_item_chunks(values)
    with pytest.raises(ValueError, match="dimension"):
        as_item_chunks(da.ones(5))
    lazy = open_lazy(_h5ad(tmp_path), chunk_items=50).X
    assert as_item_chunks(lazy) is lazy


# --- subsamples ---------------------------------------------------------------------------

def test_subsample_items_takes_sorted_distinct_items_and_their_columns(tmp_path):
    X = open_lazy(_h5ad(tmp_path), chunk_items=32).X
    items, sub = subsample_items(X, 45, seed=3)
    assert items.shape == (45,) and np.all(np.diff(items) > 0) and items.max() < N_CELLS
    assert isinstance(sub, sp.csr_matrix) and sub.shape == (N_GENES, 45)
    np.testing.assert_array_equal(sub.toarray(), _dense(X.compute())[:, items])
    again, _ = subsample_items(X, 45, seed=3)
    np.testing.assert_array_equal(items, again)
    every, whole = subsample_items(X, 10**6, seed=0)
    np.testing.assert_array_equal(every, np.arange(N_CELLS))
    dense = np.arange(60.0).reshape(3, 20)
    picked, columns = subsample_items(da.from_array(dense, chunks=(3, 6)), 5, seed=1)
    np.testing.assert_array_equal(columns, dense[:, picked])
    np.testing.assert_array_equal(subsample_items(dense, 5, seed=1)[1], columns)


# --- the planted atlas --------------------------------------------------------------------

def test_planted_atlas_writer_gives_a_lazily_readable_h5ad(tmp_path):
    folder = tmp_path / "atlas"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "make_atlas.py"), str(folder), "--cells", "20000",
         "--genes", "300", "--rank", "6", "--chunk", "3000", "--seed", "1"],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    path = folder / "atlas.h5ad"
    truth = np.load(folder / "atlas_truth.npz")
    ds = open_lazy(path, chunk_items=4096)
    _item_chunks_only(ds.X, 300)
    assert ds.shape == (300, 20000) and ds.X.chunks[1] == (4096,) * 4 + (20000 - 4 * 4096,)
    with h5py.File(path, "r") as f:
        nnz = f["X/data"].shape[0]
        start, stop = f["X/indptr"][4096], f["X/indptr"][8192]
        rows = sp.csr_matrix((f["X/data"][start:stop], f["X/indices"][start:stop],
                              f["X/indptr"][4096:8193] - start), shape=(4096, 300))
    assert ds.meta["nnz"] == nnz and abs(nnz / (300 * 20000) - 0.05) < 0.005
    np.testing.assert_array_equal(ds.X.blocks[0, 1].compute().toarray(), rows.T.toarray())
    assert truth["W"].shape == (300, 6) and truth["labels"].shape == (20000,)
    np.testing.assert_array_equal(ds.labels, np.array([f"cluster{k}" for k in truth["labels"]]))
    adata = anndata.read_h5ad(path)  # anndata reads the layout written by hand
    assert adata.shape == (20000, 300) and adata.obs_names[0] == "cell0000000"
    # dask's reductions do not take SciPy chunks (csr_matrix.sum has no keepdims): sum per chunk
    sums = ds.X.map_blocks(lambda block: np.full((1, 1), block.sum()), chunks=(1, 1), dtype=np.float64,
                           meta=np.empty((0, 0)))
    with dask.config.set(scheduler="synchronous"):
        assert float(sums.compute().sum()) == pytest.approx(float(adata.X.sum()))
