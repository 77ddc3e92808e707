"""The canonical scales of persistent NMF, from the H0 persistence of the items of X.

The graph {D_ij < ε} of the items only changes at the H0 death times (the
edge lengths of the Euclidean minimum spanning tree): :func:`canonical_scales`
returns those scales, or a reduced set of them, and :func:`check_scales`
validates a user's scales for :class:`nmfcore.topology.graphs.ScaleGraphs`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nmfcore.topology.homology import Barcodes, barcodes
from nmfcore.utils.validation import check_choice, check_positive_int

SCALE_METHODS = ("levels", "gaps")


def check_scales(scales) -> np.ndarray:
    """Check that ``scales`` is a strictly increasing 1-D array of finite numbers >= 0.

    Parameters
    ----------
    scales : array-like, shape (T,)

    Returns
    -------
    ndarray of float64, shape (T,)
    """
    scales = np.asarray(scales, dtype=np.float64).ravel()
    if scales.size == 0 or not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise ValueError(
            "scales must be a non-empty 1-D array of finite numbers >= 0; get them from "
            "nmfcore.canonical_scales(X)"
        )
    if np.any(np.diff(scales) <= 0):
        raise ValueError("scales must be strictly increasing (finest first); sort them and drop repeats")
    return scales


def _component_counts(deaths: np.ndarray, scales: np.ndarray, n: int) -> np.ndarray:
    """Components of the graph {D_ij < ε} at each ε: n minus the tree edges shorter than ε."""
    return n - np.searchsorted(deaths, scales, side="left")


def canonical_scales(
    barcodes_or_X: Barcodes | np.ndarray | sp.spmatrix,
    *,
    n_scales: int | None = None,
    method: str = "levels",
) -> np.ndarray:
    """Scales at which the ε-neighbourhood graph of the items changes connectivity.

    The full canonical set is the distinct H0 death times plus one scale just
    above the largest distance (diameter + 1e-9, as the authors' code), ascending:
    scale 1 is the finest (no edges), the last one the complete graph. The graph
    {D_ij < ε} has a fixed edge set between two consecutive scales of the set.

    Parameters
    ----------
    barcodes_or_X : Barcodes or array-like of shape (m, n)
        Diagrams from :func:`barcodes`, or the data (Euclidean H0 is computed).
    n_scales : int or None
        None keeps the full set. Otherwise at most this many scales of the full
        set are kept, always including the finest and the top scale:

        - ``"levels"``: the scales where the number of components first drops to
          or below levels spaced geometrically from n down to 1 (equal relative
          change in connectivity between kept scales);
        - ``"gaps"``: the scales that end the ``n_scales - 2`` largest gaps between
          consecutive canonical scales (the most persistent configurations).
    method : {"levels", "gaps"}

    Returns
    -------
    ndarray, shape (T,)
        Ascending scales.
    """
    if not isinstance(barcodes_or_X, Barcodes):
        barcodes_or_X = barcodes(barcodes_or_X, maxdim=0)
    bc = barcodes_or_X
    check_choice(method, "method", SCALE_METHODS)
    deaths = np.sort(bc.deaths)
    full = np.append(np.unique(deaths), bc.diameter + 1e-9)
    if n_scales is None or n_scales >= full.size:
        if n_scales is not None:
            check_positive_int(n_scales, "n_scales", minimum=2)
        return full
    n_scales = check_positive_int(n_scales, "n_scales", minimum=2)
    last = full.size - 1
    if method == "levels":
        counts = _component_counts(deaths, full, bc.n_items)
        levels = np.geomspace(bc.n_items, 1, n_scales)
        # first scale whose component count is at or below each level (counts decrease)
        picked = np.searchsorted(-counts, -levels, side="left")
        picked = np.unique(np.clip(picked, 0, last))
        if picked.size < n_scales:
            spare = np.setdiff1d(np.arange(full.size), picked)
            fill = spare[np.linspace(0, spare.size - 1, n_scales - picked.size).round().astype(int)]
            picked = np.union1d(picked, fill)
    else:
        gaps = np.diff(full)
        ends = np.argsort(-gaps, kind="stable")[: n_scales - 2] + 1
        picked = np.union1d([0, last], ends)
    return full[picked]
