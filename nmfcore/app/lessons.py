"""Data and computations behind the Learn page's lessons (no drawing, no streamlit).

Every function runs in well under a few seconds on two cores and is deterministic
for a given seed, so the lessons can be cached and tested.

Lessons: 1 what NMF is; 2 geometry (simplex, cone, separability,
non-uniqueness); 3 losses and noise; 4 algorithms (MU vs HALS, zeros,
initialisation); 5 deep NMF; 6 persistent homology and pNMF.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nmfcore.utils.validation import check_choice, check_nonnegative_float, check_positive_int
from nmfcore.judge.metrics import match_factors, spectral_angle_distance
from nmfcore.results import NMFResult

NOISE_MODELS = ("gaussian", "poisson", "gamma")
LOSSES = {"Frobenius (β=2)": 2.0, "Kullback–Leibler (β=1)": 1.0, "Itakura–Saito (β=0)": 0.0}
NOISE_FOR_BETA = {2.0: "gaussian", 1.0: "poisson", 0.0: "gamma"}


def _nmf(X: np.ndarray, rank: int, **options: Any) -> NMFResult:
    from nmfcore.classic.fit import nmf

    return nmf(X, rank, **options)


# ---------------------------------------------------------------- lesson 1


def toy_matrix(m: int = 10, n: int = 14, rank: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A small exact rank-``rank`` nonnegative matrix built from sparse parts.

    Returns
    -------
    X : ndarray, shape (m, n)
    W : ndarray, shape (m, rank)
        Each column is a contiguous block of features (a "part").
    H : ndarray, shape (rank, n)
        Sparse coefficients: each item uses one or two parts.
    """
    rng = np.random.default_rng(seed)
    W = np.zeros((m, rank))
    for k, block in enumerate(np.array_split(np.arange(m), rank)):
        W[block, k] = 1.0 + rng.random(block.size)
    H = rng.random((rank, n)) * (rng.random((rank, n)) < 0.5)
    H[rng.integers(0, rank, n), np.arange(n)] += 1.0
    return W @ H, W, H


def error_by_rank(X: np.ndarray, ranks: list[int], seed: int = 0) -> np.ndarray:
    """Relative error ``‖X − WH‖_F / ‖X‖_F`` of NMF at each rank, shape (len(ranks),)."""
    return np.array([_nmf(X, r, max_iter=300, random_state=seed).relative_error for r in ranks])


def nmf_vs_pca(X: np.ndarray, rank: int, seed: int = 0) -> dict[str, Any]:
    """NMF basis and PCA components of the same data, for side-by-side images.

    Parameters
    ----------
    X : ndarray, shape (m, n)
        Items (e.g. face images flattened) as columns.
    rank : int

    Returns
    -------
    dict
        ``nmf`` (m, rank) basis, ``pca`` (m, rank) principal directions (SVD of
        the centred data), ``nmf_error``/``pca_error`` relative errors (PCA
        reconstruction includes the mean), ``pca_negative`` the fraction of
        negative entries in the PCA components, ``nmf_sparsity`` the fraction of
        near-zero pixels in the NMF basis.
    """
    result = _nmf(X, rank, max_iter=300, random_state=seed)
    mean = X.mean(axis=1, keepdims=True)
    U, S, Vt = np.linalg.svd(X - mean, full_matrices=False)
    pca = U[:, :rank] * np.sign(U[:, :rank].sum(axis=0, keepdims=True) + 1e-300)
    approx = mean + U[:, :rank] * S[:rank] @ Vt[:rank]
    W = result.W / np.maximum(result.W.max(axis=0, keepdims=True), np.finfo(float).tiny)
    return {
        "nmf": result.W,
        "pca": pca,
        "nmf_error": result.relative_error,
        "pca_error": float(np.linalg.norm(X - approx) / np.linalg.norm(X)),
        "pca_negative": float(np.mean(pca < 0)),
        "nmf_sparsity": float(np.mean(W < 0.05)),
    }


# ---------------------------------------------------------------- lesson 2


def simplex_data(
    n: int = 150, concentration: float = 1.0, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Data X = W H in R³ with H's columns on the probability simplex (r = 3).

    Returns
    -------
    X : ndarray, shape (3, n)
    W : ndarray, shape (3, 3)
        The generators: X's columns lie in the cone they span.
    H : ndarray, shape (3, n)
        Dirichlet(``concentration``) columns; small values push items to the
        edges of the cone, large ones to its centre.
    """
    rng = np.random.default_rng(seed)
    W = np.array([[1.0, 0.15, 0.2], [0.2, 1.0, 0.15], [0.15, 0.2, 1.0]]) * rng.uniform(0.8, 1.2, 3)
    H = rng.dirichlet(np.full(3, concentration), size=n).T * rng.uniform(0.5, 1.5, n)
    X = W @ H
    if noise:
        X = np.maximum(X + noise * X.mean() * rng.standard_normal(X.shape), 0.0)
    return X, W, H


def ternary(X: np.ndarray) -> np.ndarray:
    """Plane coordinates of the columns of a 3 x n nonnegative matrix scaled to sum 1.

    The columns are projected radially onto the simplex {x ≥ 0, x₁+x₂+x₃ = 1},
    which is then drawn as an equilateral triangle with corners (0, 0), (1, 0)
    and (½, √3/2). A cone spanned by W becomes the polygon of W's columns.

    Returns
    -------
    ndarray, shape (2, n)
    """
    X = np.asarray(X, dtype=float)
    if X.shape[0] != 3:
        raise ValueError(f"X must have 3 rows to be drawn in the simplex, got {X.shape[0]}")
    P = X / np.maximum(X.sum(axis=0, keepdims=True), np.finfo(float).tiny)
    return np.vstack([P[1] + 0.5 * P[2], np.sqrt(3) / 2 * P[2]])


def inside_triangle(P: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Which plane points lie in a triangle (barycentric test).

    Parameters
    ----------
    P : ndarray, shape (2, n)
    T : ndarray, shape (2, 3)
        The triangle's corners, e.g. ``ternary(W)``.

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    a, b, c = np.asarray(T, dtype=float).T
    v0, v1, v2 = c - a, b - a, np.asarray(P, dtype=float) - a[:, None]
    d00, d01, d11 = v0 @ v0, v0 @ v1, v1 @ v1
    d20, d21 = v0 @ v2, v1 @ v2
    denominator = d00 * d11 - d01 * d01
    u = (d11 * d20 - d01 * d21) / denominator
    v = (d00 * d21 - d01 * d20) / denominator
    return (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1 + 1e-9)


def separable_data(
    n: int = 120, n_vertices: int = 3, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Separable data in R³: a polygon of ``n_vertices`` pure columns and mixtures of them.

    With ``n_vertices`` > 3 there are more extreme columns than dimensions, which
    SNPA can find and SPA (an orthogonal projection) cannot.

    Returns
    -------
    X : ndarray, shape (3, n)
        The first ``n_vertices`` columns are the pure ones (before noise).
    vertices : ndarray of int, shape (n_vertices,)
    """
    n_vertices = check_positive_int(n_vertices, "n_vertices", minimum=3)
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * (np.arange(n_vertices) / n_vertices + 1 / 12)
    centre = np.full(3, 1 / 3)
    e1 = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
    e2 = np.array([1.0, 1.0, -2.0]) / np.sqrt(6)
    corners = centre[:, None] + 0.28 * (np.outer(e1, np.cos(angles)) + np.outer(e2, np.sin(angles)))
    mixtures = corners @ rng.dirichlet(np.full(n_vertices, 0.7), size=n - n_vertices).T
    X = np.hstack([corners, mixtures]) * rng.uniform(0.5, 1.5, n)
    if noise:
        X = np.maximum(X + noise * X.mean() * rng.standard_normal(X.shape), 0.0)
    return X, np.arange(n_vertices)


def two_exact_factorizations(
    t: float = 0.5, n: int = 100, seed: int = 0
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """One X with two exact nonnegative factorisations that are not rescaled permutations.

    With Q = (1 − t) I + (t/3) 11ᵀ (nonnegative, invertible for t < 1) and
    X = W (Q H₀): both (W, Q H₀) and (W Q, H₀) are nonnegative and exact, and
    for t > 0 the bases differ by more than order and scale: the cone of W Q
    sits strictly inside the cone of W, and both contain every column of X.

    Returns
    -------
    X : ndarray, shape (3, n)
    first, second : (W, H) pairs with W of shape (3, 3) and H of shape (3, n)
    """
    if not 0.0 <= t < 1.0:
        raise ValueError(f"t must be in [0, 1), got {t!r}")
    _, W, H0 = simplex_data(n=n, concentration=1.0, seed=seed)
    Q = (1 - t) * np.eye(3) + t / 3 * np.ones((3, 3))
    return W @ Q @ H0, (W, Q @ H0), (W @ Q, H0)


def seed_factors(X: np.ndarray, rank: int, seeds: list[int], max_iter: int = 200) -> dict[str, Any]:
    """NMF from several random starts, each aligned to the first by Hungarian matching.

    Returns
    -------
    dict
        ``W`` list of (m, rank) bases, columns reordered to match the first run
        and scaled to unit maximum; ``angles`` (len(seeds), rank) angle in
        degrees of each matched factor to the first run's; ``errors`` relative
        errors of the runs.
    """
    aligned, angles, errors = [], [], []
    reference = None
    for seed in seeds:
        result = _nmf(X, rank, init="random", max_iter=max_iter, random_state=seed)
        W = result.W
        if reference is None:
            reference = W
        perm, angle = match_factors(reference, W)
        W = W[:, perm]
        aligned.append(W / np.maximum(W.max(axis=0, keepdims=True), np.finfo(float).tiny))
        angles.append(angle)
        errors.append(result.relative_error)
    return {"W": aligned, "angles": np.array(angles), "errors": np.array(errors)}


# ---------------------------------------------------------------- lesson 3


def low_rank_truth(m: int = 40, n: int = 60, rank: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Positive ground-truth factors (W of shape (m, rank), H of shape (rank, n)) with V = W H ≥ 0.05."""
    rng = np.random.default_rng(seed)
    W = rng.gamma(0.6, 1.0, (m, rank)) + 0.05
    H = rng.gamma(0.6, 1.0, (rank, n)) + 0.05
    return W, H


def simulate_noise(V: np.ndarray, model: str, level: float, seed: int = 0) -> np.ndarray:
    """Draw noisy data around a nonnegative mean V under a noise model.

    Parameters
    ----------
    V : ndarray, shape (m, n)
        The clean mean.
    model : {"gaussian", "poisson", "gamma"}
        - "gaussian": V + σ N(0, 1) with σ = ``level`` · mean(V), clipped at 0
          (variance independent of V: the model of the Frobenius loss);
        - "poisson": counts Poisson(V / level) · level (variance ∝ V: the
          model of the Kullback–Leibler loss);
        - "gamma": V · Gamma(1/level, level) (mean 1, variance ∝ V²:
          multiplicative noise, the model of the Itakura–Saito loss).
    level : float > 0
        Noise strength.

    Returns
    -------
    ndarray, shape (m, n)
    """
    check_choice(model, "model", NOISE_MODELS)
    level = check_nonnegative_float(level, "level")
    if level == 0:
        raise ValueError("level must be > 0; use the clean V itself for no noise")
    rng = np.random.default_rng(seed)
    if model == "gaussian":
        return np.maximum(V + level * V.mean() * rng.standard_normal(V.shape), 0.0)
    if model == "poisson":
        return rng.poisson(V / level) * level
    return V * rng.gamma(1.0 / level, level, V.shape)


def variance_slope(V: np.ndarray, X: np.ndarray, n_bins: int = 8) -> tuple[np.ndarray, np.ndarray, float]:
    """How the noise variance grows with the mean: binned (mean, variance) and the log-log slope p.

    A β-divergence is the negative log-likelihood of a noise whose variance is
    proportional to mean^(2 − β) (Tweedie family): p ≈ 0 fits β = 2, p ≈ 1 fits
    β = 1, p ≈ 2 fits β = 0.

    Returns
    -------
    means, variances : ndarray, shape (n_bins,)
    slope : float
    """
    v, r = V.ravel(), (X - V).ravel()
    edges = np.quantile(v, np.linspace(0, 1, n_bins + 1))
    which = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, n_bins - 1)
    means = np.array([v[which == b].mean() for b in range(n_bins)])
    variances = np.array([r[which == b].var() for b in range(n_bins)])
    keep = variances > 0
    slope = float(np.polyfit(np.log(means[keep]), np.log(variances[keep]), 1)[0])
    return means, variances, slope


def fit_losses(X: np.ndarray, rank: int, seed: int = 0, max_iter: int = 300) -> dict[str, NMFResult]:
    """NMF of X under the Frobenius, KL and Itakura–Saito losses (same start).

    Itakura–Saito needs X > 0, so zeros are raised to 1e-6 · mean(X) for all three.
    """
    X = np.maximum(X, 1e-6 * X.mean())
    return {
        name: _nmf(X, rank, beta=beta, solver="mu", init="nndsvda", max_iter=max_iter,
                   tol=1e-6, random_state=seed)
        for name, beta in LOSSES.items()
    }


def loss_noise_table(
    noise: str, level: float, rank: int = 3, seed: int = 0
) -> list[dict[str, Any]]:
    """Fit each loss to data simulated with ``noise`` and score the recovery of the truth.

    Returns
    -------
    list of dict
        One row per loss: the spectral angle distance (degrees) of the fitted W
        to the true W, and the relative error of W H to the clean mean V
        (not to the noisy data).
    """
    W, H = low_rank_truth(rank=rank, seed=seed)
    V = W @ H
    X = simulate_noise(V, noise, level, seed=seed + 1)
    rows = []
    for name, result in fit_losses(X, rank, seed=seed).items():
        sad, _, _ = spectral_angle_distance(result.W, W)
        rows.append({
            "loss": name,
            "matches the noise": NOISE_FOR_BETA[LOSSES[name]] == noise,
            "SAD to true W (°)": round(sad, 2),
            "error to clean V": round(float(np.linalg.norm(result.W @ result.H - V) / np.linalg.norm(V)), 4),
        })
    return rows


def log_errors(fits: dict[str, NMFResult], V: np.ndarray) -> dict[str, float]:
    """Mean |log10(WH / V)| of each fit against the clean V: the error as heard, in decades."""
    return {
        name: float(np.mean(np.abs(np.log10(np.maximum(r.W @ r.H, 1e-12) / V))))
        for name, r in fits.items()
    }


def spectrogram_like(n_freq: int = 64, n_time: int = 100, level: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A power spectrogram of three "notes": harmonic spectra times decaying activations.

    Returns
    -------
    X : ndarray, shape (n_freq, n_time)
        Clean power times multiplicative Gamma noise (as for a real
        periodogram), with a large dynamic range, the setting of Itakura–Saito.
    V : ndarray, shape (n_freq, n_time)
        The clean power.
    """
    rng = np.random.default_rng(seed)
    freqs = np.arange(n_freq)[:, None]
    W = np.zeros((n_freq, 3))
    for k, f0 in enumerate((5, 7, 9)):
        for h in range(1, 8):
            W[:, k] += 0.5 ** h * np.exp(-0.5 * ((freqs[:, 0] - f0 * h) / 0.8) ** 2)
    W += 1e-4
    H = np.zeros((3, n_time))
    for k in range(3):
        for onset in rng.choice(n_time - 10, 3, replace=False):
            H[k, onset:] += np.exp(-np.arange(n_time - onset) / 12.0) * rng.uniform(0.5, 2)
    V = W @ (H + 1e-3)
    return simulate_noise(V, "gamma", level, seed=seed), V


# ---------------------------------------------------------------- lesson 4


def solver_curves(X: np.ndarray, rank: int, max_iter: int = 100, seed: int = 0) -> dict[str, NMFResult]:
    """MU, relaxed MU and HALS on the Frobenius loss from the same random start.

    Returns
    -------
    dict
        ``{"MU": result, "relaxed MU": result, "HALS": result}``; ``loss`` and
        ``times`` give the curves against iteration and against seconds.
    """
    from nmfcore.classic.init import initialize

    W0, H0 = initialize(X, rank, "random", np.random.default_rng(seed))
    return {
        name: _nmf(X, rank, beta=2, solver=solver, init=(W0, H0), max_iter=max_iter, tol=0.0)
        for name, solver in (("MU", "mu"), ("relaxed MU", "relaxed-mu"), ("HALS", "hals"))
    }


def zero_entry_trace(n_iter: int = 50, seed: int = 0) -> dict[str, np.ndarray]:
    """Value of one coefficient started at exactly 0, iteration by iteration, under MU and HALS.

    The data are exact, X = W H with H[0, 0] = 1, so the optimum needs that
    entry positive. MU multiplies an entry by a ratio, so a zero (or the tiny
    floor the solver keeps) stays there; HALS sets each row by an exact
    minimisation and moves it at once.

    Returns
    -------
    dict
        ``{"MU": trace, "HALS": trace, "target": 1.0}``, traces of shape (n_iter,).
    """
    rng = np.random.default_rng(seed)
    W, H = rng.random((8, 2)) + 0.1, rng.random((2, 12)) + 0.1
    H[0, 0] = 1.0
    X = W @ H
    W0, H0 = rng.random((8, 2)) + 0.1, rng.random((2, 12)) + 0.1
    H0[0, 0] = 0.0
    traces: dict[str, Any] = {"target": 1.0}
    for name, solver in (("MU", "mu"), ("HALS", "hals")):
        trace: list[float] = []
        _nmf(X, 2, solver=solver, init=(W0, H0), max_iter=n_iter, tol=0.0,
             callback=lambda i, W, H, loss: trace.append(float(H[0, 0])))
        traces[name] = np.array(trace)
    return traces


def init_curves(
    X: np.ndarray, rank: int, solver: str = "mu", max_iter: int = 100, seed: int = 0
) -> dict[str, NMFResult]:
    """The same solver from each initialisation: random, NNDSVD, NNDSVDa, NNDSVDar."""
    return {
        init: _nmf(X, rank, solver=solver, init=init, max_iter=max_iter, tol=0.0, random_state=seed)
        for init in ("random", "nndsvd", "nndsvda", "nndsvdar")
        if not (solver == "mu" and init == "nndsvd")
    }


def planted_example(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 40 x 80 matrix with 4 planted parts and 4 item clusters, plus uniform noise.

    Returns
    -------
    X : ndarray, shape (40, 80)
    labels : ndarray of int, shape (80,)
        The dominant part of each item.
    """
    rng = np.random.default_rng(seed)
    W = np.kron(np.eye(4), np.ones((10, 1))) * (0.5 + rng.random((40, 1)))
    labels = np.repeat(np.arange(4), 20)
    H = 0.05 * rng.random((4, 80))
    H[labels, np.arange(80)] += 1 + rng.random(80)
    return W @ H + 0.1 * rng.random((40, 80)), labels


# ---------------------------------------------------------------- lesson 5


def swimmer_like(seed: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """Swimmer-like stick figures: a torso plus four limbs, each limb in one of four positions.

    Returns
    -------
    X : ndarray, shape (11 * 11, 256)
        One 11 x 11 image per column (all 4⁴ limb combinations), flattened in C order.
    shape : (11, 11)
    """
    size = 11
    torso = np.zeros((size, size))
    torso[3:8, 5] = 1
    slopes = ((0.0, 1.0), (0.5, 1.0), (1.0, 1.0), (1.0, 0.5))  # (down, out) per step
    limbs = []
    for anchor_row, anchor_col, up, side in ((3, 4, -1, -1), (3, 6, -1, 1), (7, 4, 1, -1), (7, 6, 1, 1)):
        positions = []
        for down, out in slopes:
            image = np.zeros((size, size))
            for step in range(1, 4):
                image[int(np.floor(anchor_row + up * down * step + 0.5)),
                      int(np.floor(anchor_col + side * out * step + 0.5))] = 1
            positions.append(image)
        limbs.append(positions)
    items = []
    for choice in np.ndindex(4, 4, 4, 4):
        image = torso.copy()
        for limb, position in zip(limbs, choice):
            image = np.maximum(image, limb[position])
        items.append(image.ravel())
    return np.array(items).T, (size, size)


def deep_vs_multilayer(
    X: np.ndarray, ranks: list[int], *, max_iter: int = 100, init_iter: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Deep β-NMF (β = 1) and the multilayer NMF it starts from, with the error of each layer.

    Returns
    -------
    dict
        ``deep`` (DeepNMFResult; ``deep.init`` is the multilayer result),
        ``table`` one row per layer with both errors and their ratio in percent
        (the paper's table: deep trades the first layer for the deeper ones).
    """
    from nmfcore.deep.model import deep_nmf

    deep = deep_nmf(X, list(ranks), beta=1, max_iter=max_iter, init_iter=init_iter, random_state=seed)
    multi = deep.init.layer_errors[-1]
    final = deep.layer_errors[-1]
    table = [
        {"layer": l + 1, "rank": int(r), "multilayer error": float(multi[l]),
         "deep error": float(final[l]), "deep / multilayer (%)": round(100 * final[l] / multi[l], 1)}
        for l, r in enumerate(ranks)
    ]
    return {"deep": deep, "table": table}


# ---------------------------------------------------------------- lesson 6


def point_cloud(kind: str = "clusters", n: int = 60, noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small nonnegative point cloud in the plane, one point per column.

    Parameters
    ----------
    kind : {"clusters", "circles"}
        Three Gaussian blobs, or two concentric circles.

    Returns
    -------
    X : ndarray, shape (2, n)
    labels : ndarray of int, shape (n,)
    """
    check_choice(kind, "kind", ("clusters", "circles"))
    rng = np.random.default_rng(seed)
    if kind == "clusters":
        labels = np.arange(n) % 3
        centres = np.array([[1.0, 1.0], [3.0, 1.3], [2.0, 3.0]])
        points = centres[labels] + (0.25 + noise) * rng.standard_normal((n, 2))
    else:
        labels = np.arange(n) % 2
        angles = rng.uniform(0, 2 * np.pi, n)
        radius = np.where(labels == 0, 0.8, 2.0)
        points = np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])
        points += noise * rng.standard_normal((n, 2))
    points -= points.min(axis=0) - 0.1
    return points.T, labels


def filtration_at(X: np.ndarray, epsilon: float) -> dict[str, Any]:
    """The Vietoris–Rips graph of the columns of X at scale ε and its H0 barcode.

    Parameters
    ----------
    X : ndarray, shape (d, n)
    epsilon : float
        Two points are joined when their distance is below ε (balls of radius
        ε/2 touch).

    Returns
    -------
    dict
        ``edges`` (k, 2) item pairs joined at ε, ``n_components`` connected
        components at ε, ``deaths`` (n − 1,) H0 death times ascending (each a
        merge of two components), ``alive`` boolean mask of the finite bars
        still alive at ε, ``barcodes`` the :class:`~nmfcore.topology.Barcodes`.
    """
    from scipy.spatial.distance import pdist, squareform

    from nmfcore.topology.homology import barcodes

    epsilon = check_nonnegative_float(epsilon, "epsilon")
    bars = barcodes(X, maxdim=0)
    D = squareform(pdist(X.T))
    i, j = np.nonzero(np.triu(D < epsilon, k=1))
    deaths = bars.deaths
    return {
        "edges": np.column_stack([i, j]),
        "n_components": int(1 + np.sum(deaths >= epsilon)),
        "deaths": deaths,
        "alive": deaths >= epsilon,
        "barcodes": bars,
    }


def pnmf_path(X: np.ndarray, rank: int = 2, n_scales: int = 6, seed: int = 0) -> Any:
    """Persistent NMF of the point cloud over a reduced canonical set of scales.

    Returns
    -------
    PNMFResult
        ``scales`` (T,) and one ``layers()`` entry per scale whose H (rank, n)
        is the embedding of the points at that scale.
    """
    from nmfcore.topology.persistent import pnmf

    return pnmf(X, rank, n_scales=n_scales, lambdas=(10.0, 10.0, 1.0), random_state=seed)
