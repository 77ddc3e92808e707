"""nmfcore: nonnegative matrix factorisation for exploring data.

X (m x n, nonnegative; columns are the items) is approximated by W H with
W >= 0 (m x r basis) and H >= 0 (r x n coefficients).

Public API
----------
Classic NMF
    :func:`nmf`, :class:`NMF`, :func:`beta_divergence`, :func:`initialize`, :class:`NMFResult`
Metrics
    :func:`hoyer_sparsity`, :func:`match_factors`, :func:`spectral_angle_distance`,
    :func:`cluster_scores`, :func:`knn_accuracy`
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

# --- deep NMF (issue 7) ---
from nmfcore.deep import DeepNMFResult, deep_nmf, multilayer_nmf

# --- topology, GNMF and persistent NMF (issue 6) ---
from nmfcore.topology import Barcodes, barcodes, canonical_scales, euclidean_mst
from nmfcore.graphs import ScaleGraphs, knn_graph, scale_graphs
from nmfcore.gnmf import gnmf
from nmfcore.pnmf import PNMFResult, pnmf

# --- data loading and export (issue 3) ---
from nmfcore import export
from nmfcore.data import DataError, Dataset, load, load_sample, samples

# --- judging factorisations (issue 4) ---

# --- app support: jobs and estimates (issue 5) ---
from nmfcore.estimate import FitEstimate, estimate_fit
from nmfcore.jobs import FitJob, JobProgress, data_fingerprint, fit_key
from nmfcore.presets import default_params

__version__ = "0.1.0"
