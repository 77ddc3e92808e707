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
from nmfcore.classic import NMF, beta_divergence, initialize, nmf
from nmfcore.deep import DeepNMFResult, deep_nmf, multilayer_nmf
from nmfcore.topology import (
    Barcodes,
    PNMFResult,
    ScaleGraphs,
    barcodes,
    canonical_scales,
    euclidean_mst,
    gnmf,
    knn_graph,
    pnmf,
    scale_graphs,
)
from nmfcore.judge import (
    Alignment,
    RankScan,
    cluster_scores,
    compare_results,
    consensus_matrix,
    cophenetic_correlation,
    explained_variance,
    factor_silhouette,
    hoyer_sparsity,
    knn_accuracy,
    match_factors,
    rank_scan,
    score_result,
    snpa,
    spa,
    spectral_angle_distance,
    suggest_rank,
)
from nmfcore import export, models
from nmfcore.data import DataError, Dataset, data_fingerprint, load, load_sample, samples
from nmfcore.app import FitEstimate, FitJob, JobProgress, default_params, estimate_fit, fit_key

from nmfcore.version import __version__
