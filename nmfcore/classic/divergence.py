"""The β-divergence between X and its approximation W H.

D_β(X | V) summed over entries, with x = X_ij and y = V_ij = (W H)_ij:

- β = 2: ½ (x − y)²  (Frobenius; half the squared error)
- β = 1: x log(x / y) − x + y  (generalised Kullback–Leibler, 0 log 0 = 0)
- β = 0: x / y − log(x / y) − 1  (Itakura–Saito)
- otherwise: (x^β + (β − 1) y^β − β x y^(β−1)) / (β (β − 1))
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nmfcore.classic.products import row_blocks, sampled_product
from nmfcore.utils.validation import check_beta, check_mask, check_matrix


def _tiny(dtype: np.dtype) -> float:
    return float(np.finfo(dtype).eps)


def elementwise_divergence(x: np.ndarray, y: np.ndarray, beta: float) -> np.ndarray:
    """Entrywise β-divergence d_β(x | y) of arrays of the same shape.

    Parameters
    ----------
    x, y : ndarray
        Data and approximation; ``y`` is floored at machine epsilon.
    beta : float

    Returns
    -------
    ndarray
        Same shape as ``x``.
    """
    y = np.maximum(y, _tiny(y.dtype))
    if beta == 2:
        return 0.5 * (x - y) ** 2
    if beta == 1:
        return np.where(x > 0, x * np.log(np.where(x > 0, x, 1) / y), 0.0) - x + y
    if beta == 0:
        ratio = x / y
        return ratio - np.log(ratio) - 1
    return (x**beta + (beta - 1) * y**beta - beta * x * y ** (beta - 1)) / (beta * (beta - 1))


def _sparse_divergence(X: sp.csr_matrix, W: np.ndarray, H: np.ndarray, beta: float) -> float:
    """β-divergence of a sparse X without forming the dense product W H."""
    x = X.data
    v = np.maximum(sampled_product(W, H, X), _tiny(x.dtype))
    if beta == 2:
        gram = float(np.sum((W.T @ W) * (H @ H.T)))
        return 0.5 * (float(x @ x) - 2.0 * float(x @ v) + gram)
    total_v = float(W.sum(axis=0) @ H.sum(axis=1))
    if beta == 1:
        return float(np.sum(x * np.log(x / v))) - float(x.sum()) + total_v
    if beta == 0:
        raise ValueError(
            "beta=0 (Itakura-Saito) is undefined where X has zeros; a sparse X has zeros. "
            "Add a small positive offset to X or use beta > 0"
        )
    # Terms at the non-zeros, then (β − 1) Σ y^β over every entry in row blocks.
    at_nonzeros = float(np.sum(x**beta - beta * x * v ** (beta - 1)))
    power_sum = 0.0
    for block in row_blocks(X.shape[0], X.shape[1]):
        V = np.maximum(W[block] @ H, _tiny(x.dtype))
        power_sum += float(np.sum(V**beta))
    return (at_nonzeros + (beta - 1) * power_sum) / (beta * (beta - 1))


def beta_divergence(
    X: np.ndarray | sp.spmatrix,
    W: np.ndarray,
    H: np.ndarray,
    beta: float | str,
    mask: np.ndarray | None = None,
) -> float:
    """β-divergence D_β(X | W H), summed over the (observed) entries.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
        Nonnegative data. Entries hidden by ``mask`` may be NaN.
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
    beta : float or str
        A number, or "frobenius" (2), "kullback-leibler"/"kl" (1),
        "itakura-saito"/"is" (0).
    mask : ndarray, shape (m, n), optional
        1 where X is observed, 0 where it is missing; missing entries do not count.

    Returns
    -------
    float
        For β = 2 this is ½ ||X − W H||²_F.
    """
    beta = check_beta(beta)
    X = check_matrix(X, allow_nan=mask is not None)
    W = np.asarray(W, dtype=X.dtype)
    H = np.asarray(H, dtype=X.dtype)
    if W.shape[0] != X.shape[0] or H.shape[1] != X.shape[1] or W.shape[1] != H.shape[0]:
        raise ValueError(
            f"shapes do not chain: X {X.shape}, W {W.shape}, H {H.shape}; W must be (m, r) and H (r, n)"
        )
    M = check_mask(mask, X.shape, X.dtype)
    if M is None and sp.issparse(X):
        return _sparse_divergence(X, W, H, beta)
    Xd = X.toarray() if sp.issparse(X) else X
    if M is not None:
        Xd = np.where(M > 0, Xd, 0.0)
    if beta == 0 and np.any(Xd[M > 0] == 0 if M is not None else Xd == 0):
        raise ValueError(
            "beta=0 (Itakura-Saito) is undefined where X has zeros; add a small positive "
            "offset to X, mask those entries, or use beta > 0"
        )
    V = W @ H
    if beta == 0 and M is not None:  # hidden entries of X are 0, where d_0 is infinite: d_0(v | v) = 0
        Xd = np.where(M > 0, Xd, np.maximum(V, _tiny(V.dtype)))
    d = elementwise_divergence(Xd, V, beta)
    if M is not None:
        d = d * M
    return float(d.sum())
