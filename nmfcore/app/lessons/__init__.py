"""Data and computations behind the Learn page's lessons (no drawing, no streamlit).

Every function runs in well under a few seconds on two cores and is deterministic
for a given seed, so the lessons can be cached and tested. One module per lesson:
:mod:`~.basics` (1, what NMF is; also the shared faces and the rank page's planted
example), :mod:`~.geometry` (2, simplex, cone, separability, non-uniqueness),
:mod:`~.losses` (3, losses and noise), :mod:`~.algorithms` (4, MU against HALS, zeros,
initialisation), :mod:`~.deep` (5, deep NMF) and :mod:`~.persistence` (6, persistent
homology and pNMF).
"""

from nmfcore.app.lessons.algorithms import (
    init_curves,
    init_remark,
    init_table,
    solver_curves,
    solver_race,
    zero_entry_trace,
)
from nmfcore.app.lessons.basics import (
    TOY_RANKS,
    error_by_rank,
    faces,
    nmf_vs_pca,
    planted_example,
    toy_fit,
    toy_matrix,
)
from nmfcore.app.lessons.deep import deep_vs_multilayer, swimmer_like
from nmfcore.app.lessons.geometry import (
    VERTEX_METHODS,
    cone_coverage,
    inside_triangle,
    pick_vertices,
    seed_factors,
    separable_data,
    simplex_data,
    ternary,
    two_exact_factorizations,
)
from nmfcore.app.lessons.losses import (
    LOG_ERROR,
    LOSSES,
    NOISE_FOR_BETA,
    NOISE_MODELS,
    fit_losses,
    log_errors,
    loss_noise_table,
    low_rank_truth,
    noise_law,
    simulate_noise,
    spectrogram_fits,
    spectrogram_like,
    variance_slope,
)
from nmfcore.app.lessons.persistence import filtration_at, filtration_range, pnmf_path, point_cloud

__all__ = [
    "LOG_ERROR", "LOSSES", "NOISE_FOR_BETA", "NOISE_MODELS", "TOY_RANKS", "VERTEX_METHODS", "cone_coverage",
    "deep_vs_multilayer", "error_by_rank", "faces", "filtration_at", "filtration_range", "fit_losses",
    "init_curves", "init_remark", "init_table", "inside_triangle", "log_errors", "loss_noise_table", "low_rank_truth",
    "nmf_vs_pca", "noise_law", "pick_vertices", "planted_example", "pnmf_path", "point_cloud", "seed_factors",
    "separable_data", "simplex_data", "simulate_noise", "solver_curves", "solver_race", "spectrogram_fits",
    "spectrogram_like", "swimmer_like", "ternary", "toy_fit", "toy_matrix", "two_exact_factorizations",
    "variance_slope", "zero_entry_trace",
]
