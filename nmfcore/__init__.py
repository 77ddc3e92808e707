"""nmfcore: nonnegative matrix factorisation for exploring data.

X (m x n, nonnegative; columns are the items) is approximated by W H with
W >= 0 (m x r basis) and H >= 0 (r x n coefficients). nmfcore never imports
Streamlit: everything the app computes is available here.

Public API
----------
Data
    :func:`load`, :class:`Dataset`, :class:`DataError`, :func:`samples`,
    :func:`load_sample`, :func:`open_lazy`, :func:`load_isolated`, :mod:`nmfcore.export`
Classic NMF
    :func:`nmf`, :class:`NMF`, :class:`MiniBatchNMF`, :func:`online_nmf`, :func:`beta_divergence`, :func:`initialize`, :class:`NMFResult`
Deep NMF
    :func:`deep_nmf`, :func:`multilayer_nmf`, :class:`DeepNMFResult`
Topology, GNMF and persistent NMF
    :func:`barcodes`, :func:`canonical_scales`, :func:`euclidean_mst`, :func:`scale_graphs`,
    :func:`knn_graph`, :func:`gnmf`, :func:`pnmf`, :class:`PNMFResult`
Judging and separable NMF
    :func:`rank_scan`, :func:`suggest_rank`, :func:`compare_results`, :func:`score_result`,
    :func:`spa`, :func:`snpa`
Metrics
    :func:`hoyer_sparsity`, :func:`match_factors`, :func:`spectral_angle_distance`,
    :func:`cluster_scores`, :func:`knn_accuracy`
App support
    :class:`FitJob`, :func:`estimate_fit`, :func:`default_params`, :mod:`nmfcore.plot`
scanpy-style tools
    :mod:`nmfcore.tl`

Importing the package loads none of this: each name (and each subpackage) is imported
on first use (PEP 562), so ``import nmfcore`` stays fast and a script that only loads
data never pays for numba, scikit-learn's text module, scanpy, plotly or ripser.
"""

from __future__ import annotations

import importlib
from typing import Any

from nmfcore.version import __version__

_NAMES_BY_MODULE = {
    "nmfcore.results": (
        "FitResult", "Layer", "NMFResult", "relative_error",
    ),
    "nmfcore.classic": (
        "NMF", "beta_divergence", "initialize", "nmf",
    ),
    "nmfcore.classic.minibatch": (
        "MiniBatchNMF",
    ),
    "nmfcore.classic.online": (
        "online_nmf",
    ),
    "nmfcore.deep": (
        "DeepNMFResult", "deep_nmf", "multilayer_nmf",
    ),
    "nmfcore.topology": (
        "Barcodes", "PNMFResult", "ScaleGraphs", "barcodes", "canonical_scales", "euclidean_mst",
        "gnmf", "knn_graph", "pnmf", "scale_graphs",
    ),
    "nmfcore.judge": (
        "Alignment", "RankScan", "cluster_scores", "compare_results", "consensus_matrix",
        "cophenetic_correlation", "explained_variance", "factor_silhouette", "hoyer_sparsity",
        "knn_accuracy", "match_factors", "rank_scan", "score_result", "snpa", "spa",
        "spectral_angle_distance", "suggest_rank",
    ),
    "nmfcore.data": (
        "DataError", "Dataset", "data_fingerprint", "load", "load_isolated", "load_sample", "open_lazy",
        "samples",
    ),
    "nmfcore.app": (
        "FitEstimate", "FitJob", "JobProgress", "default_params", "estimate_fit", "fit_key",
    ),
}
_SUBPACKAGES = ("app", "classic", "data", "deep", "distributed", "export", "judge", "models", "plot",
                "results", "tl", "topology", "utils")
_HOME = {name: module for module, names in _NAMES_BY_MODULE.items() for name in names}

__all__ = sorted(_HOME) + ["__version__"]


def __getattr__(name: str) -> Any:
    """Import a public name or a subpackage on first use, then keep it in the namespace."""
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"nmfcore.{name}")
    else:
        raise AttributeError(f"module 'nmfcore' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME) | set(_SUBPACKAGES))
