"""scanpy-style tools: fit a model on an AnnData object and store the result in it.

Cells are ``adata``'s rows, so the engine factorises ``adata.X.T`` (genes x cells, a
transposed view). Results go where scanpy users look (see
:mod:`nmfcore.tl.layout` for the full layout, shared with
:func:`nmfcore.export.to_h5ad`)::

    nmfcore.tl.nmf(adata, 10, beta="kl")
    sc.pp.neighbors(adata, use_rep="X_nmf")
    adata.varm["NMF_basis"]      # genes x 10
    adata.uns["nmf"]["loss"]

Every function takes ``layer`` (fit ``adata.layers[layer]`` instead of ``X``),
``use_highly_variable`` (None: the ``var["highly_variable"]`` genes when that column
exists), ``key_added`` (the keys' stem), ``copy`` (annotate and return a copy instead of
``adata``) and the family's own keyword arguments (``beta``, ``max_iter``,
``random_state``, ...), passed to the engine unchanged.
"""

from __future__ import annotations

from typing import Any, Sequence

from nmfcore.tl.layout import layer_keys, store_result
from nmfcore.tl._tools import run_tool

__all__ = ["deep_nmf", "gnmf", "layer_keys", "nmf", "pnmf", "store_result"]


def nmf(adata: Any, n_components: int, *, layer: str | None = None, use_highly_variable: bool | None = None,
        key_added: str = "nmf", copy: bool = False, **engine_kwargs: Any) -> Any:
    """Classic NMF (:func:`nmfcore.nmf`) of the cells: ``obsm["X_<key>"]`` (cells x r),
    ``varm["<KEY>_basis"]`` (genes x r), ``uns[key]``.

    Parameters
    ----------
    adata : anndata.AnnData, shape (n_cells, n_genes)
        Nonnegative counts or normalised values (not scaled data with negative entries).
    n_components : int
        Rank r.
    layer, use_highly_variable, key_added, copy, **engine_kwargs
        See :mod:`nmfcore.tl`.

    Returns
    -------
    AnnData or None
        The annotated copy when ``copy=True``.
    """
    return run_tool("nmf", adata, n_components, layer=layer, use_highly_variable=use_highly_variable,
                    key_added=key_added, copy=copy, engine_kwargs=engine_kwargs)


def deep_nmf(adata: Any, n_components: Sequence[int], *, layer: str | None = None,
             use_highly_variable: bool | None = None, key_added: str = "deep_nmf", copy: bool = False,
             **engine_kwargs: Any) -> Any:
    """Deep β-NMF (:func:`nmfcore.deep_nmf`) with ranks ``n_components`` (r1 > r2 > ...).

    Layer l's coefficients H_l ... H_1 go to ``obsm["X_<key>"]`` (l = 1) and
    ``obsm["X_<key>_<l-1>"]``, its basis to ``varm["<KEY>_basis"]`` and
    ``varm["<KEY>_basis_<l-1>"]``. Deep NMF runs on a dense copy of X.
    """
    return run_tool("deep_nmf", adata, n_components, layer=layer, use_highly_variable=use_highly_variable,
                    key_added=key_added, copy=copy, engine_kwargs=engine_kwargs)


def gnmf(adata: Any, n_components: int, *, layer: str | None = None, use_highly_variable: bool | None = None,
         key_added: str = "gnmf", copy: bool = False, **engine_kwargs: Any) -> Any:
    """Graph-regularised NMF (:func:`nmfcore.gnmf`) over a kNN graph of the cells."""
    return run_tool("gnmf", adata, n_components, layer=layer, use_highly_variable=use_highly_variable,
                    key_added=key_added, copy=copy, engine_kwargs=engine_kwargs)


def pnmf(adata: Any, n_components: int, *, layer: str | None = None, use_highly_variable: bool | None = None,
         key_added: str = "pnmf", copy: bool = False, **engine_kwargs: Any) -> Any:
    """Persistent NMF (:func:`nmfcore.pnmf`): scale t's factors go to ``obsm["X_<key>"]`` (t = 0)
    and ``obsm["X_<key>_<t>"]``; ``uns[key]["layer_names"]`` names each scale."""
    return run_tool("pnmf", adata, n_components, layer=layer, use_highly_variable=use_highly_variable,
                    key_added=key_added, copy=copy, engine_kwargs=engine_kwargs)
