"""Single-cell data: .h5ad via anndata (counts found in layers, .raw or X), 10x .h5 and .mtx
triplets via scanpy, optional preprocessing; cells become columns, obs columns labels."""

from __future__ import annotations

import anndata
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import nmfcore
from _bad_files import counts, tenx_h5, tenx_triplet, zip_bytes

GENES = [f"GENE{i}" for i in range(30)]


def _adata(**kwargs) -> anndata.AnnData:
    raw = counts()
    obs = pd.DataFrame({"cell_type": pd.Categorical(["T", "B"] * 20), "depth": np.arange(40.0)},
                       index=[f"c{i}" for i in range(40)])
    return anndata.AnnData(X=raw, obs=obs, var=pd.DataFrame(index=GENES), **kwargs)


def _h5ad(adata, tmp_path):
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    return path


def test_h5ad_counts_in_x_become_genes_by_cells_with_obs_labels(tmp_path):
    adata = _adata()
    ds = nmfcore.load(_h5ad(adata, tmp_path))
    assert ds.kind == "scrna" and sp.issparse(ds.X) and ds.shape == (30, 40)
    np.testing.assert_array_equal(ds.X.toarray(), adata.X.toarray().T)
    assert list(ds.feature_names) == GENES and ds.item_names[3] == "c3"
    assert ds.meta["matrix"] == "X (integer counts)"
    assert list(ds.label_options) == ["cell_type"] and ds.labels[:2].tolist() == ["T", "B"]


def test_h5ad_prefers_counts_layer_and_says_so(tmp_path):
    adata = _adata()
    adata.layers["counts"] = adata.X.copy()
    adata.X = sp.csr_matrix(np.log1p(adata.X.toarray()))
    ds = nmfcore.load(_h5ad(adata, tmp_path))
    assert ds.meta["matrix"] == "layers['counts']"
    np.testing.assert_array_equal(ds.X.toarray(), adata.layers["counts"].toarray().T)


def test_h5ad_uses_raw_counts_when_x_is_normalised(tmp_path):
    adata = _adata()
    adata.raw = adata.copy()
    adata.X = sp.csr_matrix(np.log1p(adata.X.toarray()))
    ds = nmfcore.load(_h5ad(adata, tmp_path))
    assert ds.meta["matrix"] == ".raw.X"
    assert np.all(ds.X.data == np.round(ds.X.data))
    explicit = nmfcore.load(_h5ad(adata, tmp_path), use="X")
    assert explicit.meta["matrix"].startswith("X (non-integer")


def test_scanpy_preprocessing_options_are_applied_and_recorded(tmp_path):
    ds = nmfcore.load(_h5ad(_adata(), tmp_path), min_cells=3, normalize_total=100.0, log1p=True,
                      n_top_genes=10)
    assert ds.shape == (10, 40)
    steps = " | ".join(ds.meta["steps"])
    assert "normalize_total(target_sum=100.0)" in steps and "log1p" in steps and "10 most" in steps
    totals = np.expm1(ds.X.toarray()).sum(axis=0)
    assert np.all(totals <= 100.0 + 1e-6)


def test_pnmf_recipe_gives_unit_norm_cells(tmp_path):
    adata = _adata()
    ds = nmfcore.load(_h5ad(adata, tmp_path), pnmf_recipe=True)
    norms = np.sqrt(np.asarray(ds.X.multiply(ds.X).sum(axis=0))).ravel()
    np.testing.assert_allclose(norms, 1.0)
    expected = np.log10(1 + adata.X.toarray()[0])
    np.testing.assert_allclose(ds.X[:, 0].toarray().ravel(), expected / np.linalg.norm(expected))


def test_tenx_h5_through_scanpy(tmp_path):
    raw = counts()
    ds = nmfcore.load(tenx_h5(tmp_path / "filtered_feature_bc_matrix.h5", raw, GENES))
    assert ds.kind == "scrna" and ds.shape == (30, 40) and ds.item_names[0] == "CELL0-1"
    np.testing.assert_array_equal(ds.X.toarray(), raw.toarray().T)


def test_tenx_mtx_triplet_zip_through_scanpy():
    raw = counts(seed=3)
    ds = nmfcore.load(zip_bytes(tenx_triplet(raw, GENES)), name="pbmc.zip")
    assert ds.kind == "scrna" and list(ds.feature_names) == GENES
    np.testing.assert_array_equal(ds.X.toarray(), raw.toarray().T)


def test_tenx_mtx_folder_through_scanpy(tmp_path):
    raw = counts(seed=4)
    for name, data in tenx_triplet(raw, GENES).items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(ValueError, match="use="):
        nmfcore.load(tmp_path / "matrix.mtx", use="bogus")
    ds = nmfcore.load(tmp_path / "matrix.mtx")
    np.testing.assert_array_equal(ds.X.toarray(), raw.toarray().T)


def test_with_labels_switches_between_obs_columns(tmp_path):
    adata = _adata()
    adata.obs["batch"] = pd.Categorical(["x"] * 20 + ["y"] * 20)
    ds = nmfcore.load(_h5ad(adata, tmp_path), label="batch")
    assert ds.labels[0] == "x" and ds.labels[-1] == "y"
    assert ds.with_labels("cell_type").labels[1] == "B"
    with pytest.raises(ValueError, match="choose one of"):
        ds.with_labels("depth")
