"""nmfcore.tl: scanpy-style tools on AnnData, checked on scanpy's bundled pbmc68k_reduced."""

from __future__ import annotations

import numpy as np
import pytest

import nmfcore
import nmfcore.tl

sc = pytest.importorskip("scanpy")


@pytest.fixture(scope="module")
def pbmc():
    """pbmc68k_reduced's log-normalised values (its .X is scaled, with negatives)."""
    return sc.datasets.pbmc68k_reduced().raw.to_adata()


def test_nmf_writes_where_scanpy_looks_and_equals_the_engine(pbmc):
    adata = pbmc.copy()
    assert nmfcore.tl.nmf(adata, 8, beta="kl", max_iter=60, random_state=0) is None
    engine = nmfcore.nmf(pbmc.X.T, 8, beta="kl", max_iter=60, random_state=0)
    np.testing.assert_allclose(adata.obsm["X_nmf"], engine.H.T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(adata.varm["NMF_basis"], engine.W, rtol=0, atol=1e-12)
    uns = adata.uns["nmf"]
    np.testing.assert_allclose(uns["loss"], engine.loss)
    assert uns["model"] == "nmf" and uns["params"]["beta"] == 1.0
    assert list(uns["obsm_keys"]) == ["X_nmf"] and list(uns["varm_keys"]) == ["NMF_basis"]

    sc.pp.neighbors(adata, use_rep="X_nmf", random_state=0)
    sc.tl.leiden(adata, flavor="igraph", n_iterations=2, random_state=0)
    sc.tl.umap(adata, random_state=0)
    assert adata.obs["leiden"].nunique() >= 2
    assert adata.obsm["X_umap"].shape == (adata.n_obs, 2)


def test_copy_layer_and_key_added(pbmc):
    adata = pbmc.copy()
    adata.layers["counts"] = adata.X.copy()
    adata.X = adata.X * 0  # the layer, not X, must be fitted
    out = nmfcore.tl.nmf(adata, 4, layer="counts", key_added="prog", copy=True, max_iter=20, random_state=1)
    assert "X_prog" in out.obsm and "PROG_basis" in out.varm and "prog" in out.uns
    assert "X_prog" not in adata.obsm  # the original is untouched
    assert out.obsm["X_prog"].shape == (adata.n_obs, 4) and np.any(out.obsm["X_prog"] > 0)
    with pytest.raises(ValueError, match="no layer 'missing'"):
        nmfcore.tl.nmf(adata, 4, layer="missing")


def test_highly_variable_genes_fill_the_rest_of_the_basis_with_zeros(pbmc):
    adata = pbmc.copy()
    hv = np.zeros(adata.n_vars, dtype=bool)
    hv[::3] = True
    adata.var["highly_variable"] = hv
    nmfcore.tl.nmf(adata, 5, max_iter=30, random_state=0)  # None: uses the column when present
    basis = adata.varm["NMF_basis"]
    assert basis.shape == (adata.n_vars, 5)
    assert np.all(basis[~hv] == 0) and np.any(basis[hv] > 0)
    engine = nmfcore.nmf(adata.X[:, hv].T, 5, max_iter=30, random_state=0)
    np.testing.assert_allclose(basis[hv], engine.W, atol=1e-12)
    nmfcore.tl.nmf(adata, 5, use_highly_variable=False, key_added="all", max_iter=5)
    assert np.any(adata.varm["ALL_basis"][~hv] > 0)
    del adata.var["highly_variable"]
    with pytest.raises(ValueError, match="highly_variable_genes"):
        nmfcore.tl.nmf(adata, 5, use_highly_variable=True)


def test_deep_and_pnmf_layers_go_under_numbered_keys(pbmc):
    adata = pbmc[:200].copy()
    nmfcore.tl.deep_nmf(adata, [6, 3], init_iter=10, max_iter=5, random_state=0)
    assert adata.obsm["X_deep_nmf"].shape == (200, 6) and adata.obsm["X_deep_nmf_1"].shape == (200, 3)
    assert adata.varm["DEEP_NMF_basis_1"].shape == (adata.n_vars, 3)
    assert list(adata.uns["deep_nmf"]["layer_names"]) == ["layer 1", "layer 2"]
    result = nmfcore.tl.pnmf(adata, 4, n_scales=3, max_iter=2, random_state=0, copy=True)
    keys = list(result.uns["pnmf"]["obsm_keys"])
    assert len(keys) == len(result.uns["pnmf"]["layer_names"]) >= 2
    assert all(result.obsm[k].shape == (200, 4) for k in keys)


def test_gnmf_and_negative_data_message(pbmc):
    adata = pbmc[:150].copy()
    nmfcore.tl.gnmf(adata, 3, max_iter=10, random_state=0)
    assert adata.obsm["X_gnmf"].shape == (150, 3)
    scaled = sc.datasets.pbmc68k_reduced()[:50]  # z-scored: negative entries
    with pytest.raises(ValueError, match="negative"):
        nmfcore.tl.nmf(scaled, 3)


def test_to_h5ad_uses_the_same_layout(pbmc):
    anndata = pytest.importorskip("anndata")
    import io

    result = nmfcore.nmf(pbmc.X.T, 3, max_iter=10, random_state=0)
    data = nmfcore.export.to_h5ad(result)
    exported = anndata.read_h5ad(io.BytesIO(data))
    obsm, varm = nmfcore.tl.layer_keys("nmf", 1)
    np.testing.assert_allclose(exported.obsm[obsm[0]], result.H.T)
    np.testing.assert_allclose(exported.varm[varm[0]], result.W)
    assert list(exported.uns["nmf"]["obsm_keys"]) == obsm
