"""Chunked export of a lazy result: H streamed to .zarr / .h5ad one chunk at a time."""

from __future__ import annotations

import dataclasses
import json
import weakref

import anndata
import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import zarr

import nmfcore
from nmfcore import export
from nmfcore.data import data_fingerprint


@pytest.fixture(scope="module")
def lazy_result():
    X = da.from_array(np.random.default_rng(0).random((30, 500)), chunks=(30, 100))
    result = nmfcore.nmf(X, 3, max_iter=5)
    assert isinstance(result.H, da.Array) and result.H.numblocks == (1, 5)
    return result


class Tracked:
    """H as a Dask array whose chunks, when computed, are counted while they are alive."""

    def __init__(self, H: np.ndarray, width: int) -> None:
        self.alive = self.peak = self.made = 0
        r, n = H.shape
        blocks = [da.from_delayed(dask.delayed(self._make)(H[:, s:s + width]), shape=(r, min(width, n - s)),
                                  dtype=H.dtype) for s in range(0, n, width)]
        self.H = da.concatenate(blocks, axis=1)

    def _make(self, values: np.ndarray) -> np.ndarray:
        block = values.copy()
        self.made += 1
        self.alive += 1
        self.peak = max(self.peak, self.alive)
        weakref.finalize(block, self._freed)
        return block

    def _freed(self) -> None:
        self.alive -= 1


def test_the_tracker_sees_h_computed_whole(lazy_result):
    tracked = Tracked(lazy_result.H.compute(), 100)
    whole = np.asarray(tracked.H)
    assert tracked.peak == 5  # what a .compute() of H holds at once
    del whole


@pytest.mark.parametrize("suffix", [".zarr", ".h5ad"])
def test_export_streams_h_one_chunk_at_a_time_and_reads_back(lazy_result, tmp_path, suffix):
    H = lazy_result.H.compute()
    tracked = Tracked(H, 100)
    result = dataclasses.replace(lazy_result, H=tracked.H)
    assert export.is_lazy_result(result)
    path = export.write_chunked(result, tmp_path / f"cells{suffix}")
    assert tracked.made == 5 and tracked.peak == 1  # every chunk once, never two alive together

    adata = anndata.read_zarr(path) if suffix == ".zarr" else anndata.read_h5ad(path)
    assert adata.shape == (500, 30) and adata.X is None
    np.testing.assert_array_equal(adata.obsm["X_nmf"], H.T)
    np.testing.assert_array_equal(adata.varm["NMF_basis"], lazy_result.W)
    info = adata.uns["nmf"]
    np.testing.assert_array_equal(info["loss"], lazy_result.loss)
    assert json.loads(info["recipe"])["layers"] == [{"name": "NMF", "W": [30, 3], "H": [3, 500]}]

    back = export.read_result(path)
    np.testing.assert_array_equal(back.H, H)
    np.testing.assert_array_equal(back.W, lazy_result.W)
    assert back.params["model"] == "nmf" and back.params["rank"] == 3


def test_rows_are_stored_in_chunks_of_h(lazy_result, tmp_path):
    import h5py

    zarr_path = export.write_chunked(lazy_result, tmp_path / "r.zarr")
    assert zarr.open_group(str(zarr_path), mode="r")["obsm"]["X_nmf"].chunks == (100, 3)
    h5_path = export.write_chunked(lazy_result, tmp_path / "r.h5ad")
    with h5py.File(h5_path, "r") as file:
        assert file["obsm"]["X_nmf"].chunks == (100, 3)
    assert export.read_result(h5_path).H.shape == (3, 500)


def test_export_of_a_lazy_dataset_keeps_its_names_labels_and_fingerprint(tmp_path):
    counts = sp.random(120, 25, density=0.3, random_state=1, format="csr", dtype=np.float32)
    obs = pd.DataFrame({"cell_type": pd.Categorical(np.repeat(["a", "b", "c"], 40))},
                       index=[f"cell{i}" for i in range(120)])
    anndata.AnnData(X=counts, obs=obs, var=pd.DataFrame(index=[f"g{i}" for i in range(25)])).write_h5ad(
        tmp_path / "atlas.h5ad")
    ds = nmfcore.load(tmp_path / "atlas.h5ad", lazy=True, chunk_items=50)
    result = nmfcore.nmf(ds.X, 2, max_iter=3)
    path = export.write_chunked(result, tmp_path / "out.h5ad", ds)
    adata = anndata.read_h5ad(path)
    assert list(adata.obs_names) == list(ds.item_names) and list(adata.var_names) == list(ds.feature_names)
    assert list(adata.obs["cell_type"]) == list(obs["cell_type"])
    recipe = json.loads(adata.uns["nmf"]["recipe"])
    assert recipe["data"]["fingerprint"] == data_fingerprint(ds.X)
    np.testing.assert_allclose(adata.obsm["X_nmf"], result.H.compute().T)


def test_in_memory_results_export_too(tmp_path):
    result = nmfcore.nmf(np.random.default_rng(2).random((10, 40)), 2, max_iter=5)
    assert not export.is_lazy_result(result)
    back = export.read_result(export.write_chunked(result, tmp_path / "small.zarr"))
    np.testing.assert_array_equal(back.H, result.H)


def test_bad_targets_are_refused(lazy_result, tmp_path):
    with pytest.raises(ValueError, match="does not end in .zarr or .h5ad"):
        export.write_chunked(lazy_result, tmp_path / "result.npz")
    path = export.write_chunked(lazy_result, tmp_path / "result.zarr")
    with pytest.raises(ValueError, match="exists; choose another name, or pass overwrite=True"):
        export.write_chunked(lazy_result, path)
    export.write_chunked(lazy_result, path, overwrite=True)
    assert export.read_result(path).H.shape == (3, 500)
