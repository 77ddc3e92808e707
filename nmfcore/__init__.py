"""nmfcore: nonnegative matrix factorisation for exploring data.

X (m x n, nonnegative; columns are the items) is approximated by W H with
W >= 0 (m x r basis) and H >= 0 (r x n coefficients). nmfcore never imports
Streamlit: everything the app computes is available here.

Public API
----------
Data
    :func:`load`, :class:`Dataset`, :class:`DataError`, :func:`samples`,
    :func:`load_sample`, :mod:`nmfcore.export`
Classic NMF
    :func:`nmf`, :class:`NMF`, :func:`beta_divergence`, :func:`initialize`, :class:`NMFResult`
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
"""

from nmfcore.results import Layer, NMFResult
from nmfcore.divergence import beta_divergence
from nmfcore.classic import nmf
from nmfcore.estimator import NMF
from nmfcore.init import initialize
from nmfcore.metrics import (
    cluster_scores,
    hoyer_sparsity,
    knn_accuracy,
    match_factors,
    spectral_angle_distance,
)

# deep NMF
from nmfcore.deep import DeepNMFResult, deep_nmf, multilayer_nmf

# topology, graph-regularised and persistent NMF
from nmfcore.topology import Barcodes, barcodes, canonical_scales, euclidean_mst
from nmfcore.graphs import ScaleGraphs, knn_graph, scale_graphs
from nmfcore.gnmf import gnmf
from nmfcore.pnmf import PNMFResult, pnmf

# data loading and export
from nmfcore import export
from nmfcore.data import DataError, Dataset, load, load_sample, samples

# judging factorisations and separable NMF
from nmfcore.judge import (
    Alignment,
    RankScan,
    compare_results,
    consensus_matrix,
    cophenetic_correlation,
    explained_variance,
    factor_silhouette,
    rank_scan,
    score_result,
    suggest_rank,
)
from nmfcore.separable import snpa, spa

# app support: background fits, estimates, defaults
from nmfcore.estimate import FitEstimate, estimate_fit
from nmfcore.jobs import FitJob, JobProgress, data_fingerprint, fit_key
from nmfcore.presets import default_params

__version__ = "0.1.0"
