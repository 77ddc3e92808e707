"""Layer divergences of deep NMF: D_β(Y | W H), blocked KL sums, and the logdet penalty."""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from nmfcore.classic.divergence import elementwise_divergence

_CHUNK = 1 << 15  # entries per block of the KL sum: its log buffer stays in cache


def _kl(
    Y: np.ndarray, V: np.ndarray, sum_y: float, sum_v: float, has_zeros: bool = True
) -> tuple[float, np.ndarray]:
    """KL(Y | V) and the ratio R = Y ⊘ V (reused by the next H step); Y, V of shape (m, p)."""
    R = Y / V
    if has_zeros:
        return float(xlogy(Y, R).sum()) - sum_y + sum_v, R
    return float(np.vdot(Y, np.log(R))) - sum_y + sum_v, R


def _divergence(
    Y: np.ndarray, W: np.ndarray, H: np.ndarray, V: np.ndarray, beta: float
) -> tuple[float, np.ndarray | None]:
    """D_β(Y | V) with V = W H (Y, V (m, p), W (m, r), H (r, p)), and Y ⊘ V for β = 1 (None otherwise)."""
    if beta == 1:
        return _kl(Y, V, float(Y.sum()), float(W.sum(axis=0) @ H.sum(axis=1)))
    if beta == 2:
        diff = Y - V
        return 0.5 * float(np.vdot(diff, diff)), None
    return float(elementwise_divergence(Y, V, beta).sum()), None


def _kl_ratio_sum(Y: np.ndarray, V: np.ndarray, R: np.ndarray, buffer: np.ndarray) -> float:
    """Σ Y ⊙ log(Y ⊘ V) for Y, V > 0 of shape (m, p), leaving R = Y ⊘ V.

    Works through blocks of rows so that each block's logarithm is summed while
    it is still in cache (``buffer`` holds at least one row and ``_CHUNK`` entries).
    """
    rows = max(1, _CHUNK // max(Y.shape[1], 1))
    total = 0.0
    for start in range(0, Y.shape[0], rows):
        y, r = Y[start:start + rows], R[start:start + rows]
        np.divide(y, V[start:start + rows], out=r)
        log_r = buffer[: r.size].reshape(r.shape)
        np.log(r, out=log_r)
        total += float(np.vdot(y, log_r))
    return total


def _kl_plain(Y: np.ndarray, V: np.ndarray) -> float:
    """KL(Y | V) for Y, V of the same shape, without caching anything."""
    return float(xlogy(Y, Y / V).sum() - Y.sum() + V.sum())


def _logdet(W: np.ndarray, delta: float) -> float:
    """log det(Wᵀ W + δ I) for W of shape (m, r); −inf if the matrix is not positive definite."""
    sign, value = np.linalg.slogdet(W.T @ W + delta * np.eye(W.shape[1], dtype=W.dtype))
    return float(value) if sign > 0 else float("-inf")
