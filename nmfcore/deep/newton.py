"""Newton solves for the Lagrange multipliers of the sum-to-one constraints on H.

The MM step on H with every row summing to one is H ⊙ C ⊘ (D − μ 1ᵀ); the
multiplier μ_k of row k is the root of a convex function left of its pole,
found by a safeguarded Newton iteration vectorised over the rows.
"""

from __future__ import annotations

import numpy as np

_NEWTON_MAX_ITER = 100


def _newton_tol(dtype: np.dtype) -> float:
    return 1e-13 if np.dtype(dtype) == np.float64 else 1e-6


def newton_gaps(
    C: np.ndarray, D: np.ndarray, H: np.ndarray, gap0: np.ndarray
) -> tuple[np.ndarray, int]:
    """Root μ_k of f(μ_k) = Σ_j H_kj C_kj / (D_kj − μ_k) − 1 for every row k.

    The unknown is the gap g_k = min_j D_kj − μ_k > 0 (so that a root a hair
    from the pole is not lost to cancellation). With F(g) = f + 1, a sum of
    a_j / (b_j + g), 1/F is increasing and concave in g, so Newton's method on
    1/F = 1 started left of the root (f >= 0) climbs monotonically to it without
    reaching the pole. All rows are iterated together.

    Parameters
    ----------
    C, D, H : ndarray, shape (r, p)
        Nonnegative; D > 0.
    gap0 : ndarray, shape (r,)
        Starting gap g⁰ > 0 with f >= 0 there (see :func:`newton_start`).

    Returns
    -------
    gap : ndarray, shape (r,)
        g_k = min_j D_kj − μ_k > 0 at the root.
    n_steps : int
        Newton steps taken (at most 100).
    """
    d_min = D.min(axis=1)
    offset = D - d_min[:, None]
    floor = np.finfo(C.dtype).tiny
    g = np.maximum(gap0.astype(C.dtype, copy=True), floor)
    HC = H * C
    tol = _newton_tol(C.dtype)
    n_steps = 0
    for n_steps in range(1, _NEWTON_MAX_ITER + 1):
        denom = offset + g[:, None]
        G = HC / denom
        f = G.sum(axis=1) - 1.0
        slope = (G / denom).sum(axis=1)
        # Newton on 1/F(g) = 1 with F = f + 1: 1/F is concave, so from the start
        # (F >= 1) the steps rise monotonically to the root; exact in one step when
        # D is constant along the row (β = 1), where plain Newton would creep.
        step = np.divide(f * (f + 1.0), slope, out=np.zeros_like(f), where=slope > 0)
        g = np.maximum(g + step, floor)
        if np.all(np.abs(f) <= tol) or np.all(np.abs(step) <= tol * g):
            break
    return g, n_steps


def newton_multipliers(
    C: np.ndarray, D: np.ndarray, H: np.ndarray, gap0: np.ndarray
) -> tuple[np.ndarray, int]:
    """The multipliers μ_k = min_j D_kj − g_k of :func:`newton_gaps`, shape (r,), and the step count."""
    g, n_steps = newton_gaps(C, D, H, gap0)
    return D.min(axis=1) - g, n_steps


def newton_start(C: np.ndarray, D: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Starting gap g⁰_k = C_kj* H_kj* with j* = argmin_j D_kj, i.e. μ⁰ = D_kj* − C_kj* H_kj*.

    The term j* of f equals one there, so f(μ⁰) >= 0: right of the root, left of the pole.
    """
    rows = np.arange(C.shape[0])
    j = np.argmin(D, axis=1)
    return C[rows, j] * H[rows, j]

