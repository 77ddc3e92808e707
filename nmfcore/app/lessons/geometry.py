"""Lesson 2, geometry: the simplex and the cone of W, separable data, non-uniqueness, random starts."""

from __future__ import annotations

from typing import Any

import numpy as np

from nmfcore.classic import nmf
from nmfcore.judge import match_factors, snpa, spa
from nmfcore.utils.validation import check_choice, check_positive_int

VERTEX_METHODS = ("SNPA", "SPA")


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


def cone_coverage(X: np.ndarray, W: np.ndarray) -> float:
    """Share of the columns of X inside the cone of a 3 x 3 basis W, in [0, 1].

    Parameters
    ----------
    X : ndarray, shape (3, n)
    W : ndarray, shape (3, 3)
    """
    return float(np.mean(inside_triangle(ternary(X), ternary(W))))


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


def pick_vertices(X: np.ndarray, vertices: np.ndarray, method: str = "SNPA") -> tuple[np.ndarray, int]:
    """Columns of separable data picked by SNPA or SPA, and how many true vertices they hit.

    Parameters
    ----------
    X : ndarray, shape (3, n)
    vertices : ndarray of int, shape (k,)
        The pure columns; as many columns are picked.
    method : {"SNPA", "SPA"}

    Returns
    -------
    picked : ndarray of int, shape (k,)
        In the order the algorithm chose them.
    found : int
        True vertices among the picks.
    """
    method = check_choice(method, "method", VERTEX_METHODS)
    vertices = np.asarray(vertices, dtype=int)
    picked = (snpa if method == "SNPA" else spa)(X, vertices.size, normalize=True).extra["indices"]
    return picked, len(set(picked.tolist()) & set(vertices.tolist()))


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
        and scaled to unit maximum; ``stacked`` those bases side by side, shape
        (m, len(seeds) * rank), one mosaic row per seed when drawn ``rank`` images
        wide; ``angles`` (len(seeds), rank) angle in degrees of each matched factor
        to the first run's; ``mean_angle`` their mean over the runs after the first
        (NaN for one seed); ``table`` the angles per factor, rounded to 0.1°;
        ``errors`` relative errors of the runs.
    """
    aligned, angles, errors = [], [], []
    reference = None
    for seed in seeds:
        result = nmf(X, rank, init="random", max_iter=max_iter, random_state=seed)
        W = result.W
        if reference is None:
            reference = W
        perm, angle = match_factors(reference, W)
        W = W[:, perm]
        aligned.append(W / np.maximum(W.max(axis=0, keepdims=True), np.finfo(float).tiny))
        angles.append(angle)
        errors.append(result.relative_error)
    angles = np.array(angles)
    return {
        "W": aligned,
        "stacked": np.hstack(aligned),
        "angles": angles,
        "mean_angle": float(angles[1:].mean()) if len(seeds) > 1 else float("nan"),
        "table": {f"factor {k + 1}": np.round(angles[:, k], 1) for k in range(angles.shape[1])},
        "errors": np.array(errors),
    }
