"""Where results live in an AnnData object: the one layout :mod:`nmfcore.tl` and
:func:`nmfcore.export.to_h5ad` share.

For ``key="nmf"`` (scanpy's habit: ``sc.tl.pca`` writes ``X_pca``, ``PCs``, ``pca``):

- ``obsm["X_nmf"]`` (cells x r): layer 0's coefficients Hᵀ, the embedding to use in
  ``sc.pp.neighbors(adata, use_rep="X_nmf")``;
- ``varm["NMF_basis"]`` (genes x r): layer 0's basis W;
- layer i > 0 (the coarser layers of a deep model, the further scales of pNMF):
  ``obsm["X_nmf_<i>"]`` and ``varm["NMF_basis_<i>"]``;
- ``uns["nmf"]``: ``model``, ``params`` (JSON-friendly), ``loss`` and ``times`` (one
  entry per iteration), ``layer_names``, ``obsm_keys`` and ``varm_keys`` (in layer order).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from nmfcore.data.lazy_checks import is_lazy_array
from nmfcore.results import FitResult


def layer_keys(key: str, n_layers: int) -> tuple[list[str], list[str]]:
    """The ``obsm`` and ``varm`` keys of each layer of a result stored under ``key``.

    Parameters
    ----------
    key : str
        E.g. ``"nmf"``.
    n_layers : int

    Returns
    -------
    obsm_keys, varm_keys : list of str, one per layer
    """
    suffixes = [""] + [f"_{i}" for i in range(1, n_layers)]
    return [f"X_{key}{s}" for s in suffixes], [f"{key.upper()}_basis{s}" for s in suffixes]


def jsonable_params(params: dict[str, Any]) -> dict[str, Any]:
    """A result's parameters as values AnnData can write (arrays summarised, others as JSON text)."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, (str, bool, int, float)) or value is None:
            out[name] = "None" if value is None else value
        elif isinstance(value, np.ndarray):
            out[name] = f"array of shape {value.shape}"
        else:
            try:
                out[name] = json.dumps(value, default=str)
            except (TypeError, ValueError):
                out[name] = repr(value)
    return out


def store_result(
    adata: Any,
    result: FitResult,
    key: str,
    *,
    var_mask: np.ndarray | None = None,
    extra_uns: dict[str, Any] | None = None,
) -> None:
    """Write a result's layers and history into ``adata`` under ``key`` (layout above).

    Parameters
    ----------
    adata : anndata.AnnData, shape (n_cells, n_genes)
    result : FitResult
        Fitted on genes x cells (columns are the cells).
    key : str
    var_mask : ndarray of bool, shape (n_genes,), optional
        The genes the fit used; the basis of the other genes is stored as zeros, so
        ``varm`` keeps one row per gene (as scanpy does for PCA on highly variable genes).
    extra_uns : dict, optional
        More entries for ``uns[key]`` (e.g. an export's recipe).
    """
    layers = result.layers()
    obsm_keys, varm_keys = layer_keys(key, len(layers))
    for layer, obsm_key, varm_key in zip(layers, obsm_keys, varm_keys):
        # a Dask H (a lazy fit) stays lazy: AnnData holds Dask arrays, and its writers stream them
        adata.obsm[obsm_key] = layer.H.T if is_lazy_array(layer.H) else np.ascontiguousarray(layer.H.T)
        W = np.asarray(layer.W)
        if var_mask is not None:
            full = np.zeros((var_mask.size, W.shape[1]), dtype=W.dtype)
            full[var_mask] = W
            W = full
        adata.varm[varm_key] = np.ascontiguousarray(W)
    adata.uns[key] = {
        "model": str(result.params.get("model")),
        "params": jsonable_params(result.params),
        "loss": np.asarray(result.loss, dtype=float),
        "times": np.asarray(result.times, dtype=float),
        "layer_names": np.array([layer.name for layer in layers], dtype=str),
        "obsm_keys": np.array(obsm_keys, dtype=str),
        "varm_keys": np.array(varm_keys, dtype=str),
        **(extra_uns or {}),
    }
