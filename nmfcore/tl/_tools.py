"""Running a registered model family on an AnnData object, scanpy-style."""

from __future__ import annotations

from typing import Any

import numpy as np

from nmfcore.models import get as get_family
from nmfcore.results import FitResult
from nmfcore.tl.layout import store_result


def genes_used(adata: Any, use_highly_variable: bool | None) -> np.ndarray | None:
    """Boolean mask of the genes to fit on, or None for all of them.

    Parameters
    ----------
    adata : anndata.AnnData
    use_highly_variable : bool or None
        None: use ``var["highly_variable"]`` when it exists (scanpy's rule for PCA).

    Raises
    ------
    ValueError
        True was asked for but ``var`` has no ``highly_variable`` column.
    """
    has = "highly_variable" in adata.var.columns
    if use_highly_variable is None:
        use_highly_variable = has
    if not use_highly_variable:
        return None
    if not has:
        raise ValueError(
            "use_highly_variable=True, but adata.var has no 'highly_variable' column; run "
            "sc.pp.highly_variable_genes(adata) first, or pass use_highly_variable=False"
        )
    mask = np.asarray(adata.var["highly_variable"], dtype=bool)
    if not mask.any():
        raise ValueError("adata.var['highly_variable'] marks no gene; nothing to factorise")
    return mask


def cells_as_columns(adata: Any, layer: str | None, mask: np.ndarray | None) -> Any:
    """X of the fit (genes x cells): ``adata.X.T`` or ``adata.layers[layer].T``, a transposed view."""
    if layer is None:
        matrix = adata.X
    elif layer in adata.layers:
        matrix = adata.layers[layer]
    else:
        raise ValueError(f"adata has no layer {layer!r}; its layers are {sorted(adata.layers)} (or use layer=None for X)")
    if matrix is None:
        raise ValueError("adata.X is empty; pass layer= naming a layer with the counts")
    if mask is not None:
        matrix = matrix[:, mask]
    return matrix.T


def run_tool(
    family: str,
    adata: Any,
    n_components: Any,
    *,
    layer: str | None,
    use_highly_variable: bool | None,
    key_added: str,
    copy: bool,
    engine_kwargs: dict[str, Any],
) -> Any:
    """Fit a registry family on ``adata``'s cells and store the result (see :mod:`nmfcore.tl`).

    Returns
    -------
    AnnData or None
        The annotated copy when ``copy`` is True, else None (``adata`` is annotated in place).
    """
    if not isinstance(key_added, str) or not key_added:
        raise ValueError(f"key_added must be a non-empty string such as 'nmf', got {key_added!r}")
    entry = get_family(family)
    if copy:
        adata = adata.copy()
    mask = genes_used(adata, use_highly_variable)
    X = cells_as_columns(adata, layer, mask)
    if entry.dense_only and hasattr(X, "toarray"):
        X = X.toarray()
    kwargs = {**entry.fixed, **engine_kwargs}
    result: FitResult = entry.fit(X, n_components, **kwargs)
    store_result(adata, result, key_added, var_mask=mask,
                 extra_uns={"layer": "None" if layer is None else layer,
                            "use_highly_variable": mask is not None})
    return adata if copy else None
