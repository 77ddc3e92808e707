"""Separable NMF: pick r columns of X that span the others (SPA and SNPA).

X is *separable* when X = W [I_r, H'] Π: every column of the basis W appears
among the columns of X, and the other columns are nonnegative combinations of
them. Geometrically the columns of W are the extreme rays of the cone spanned
by the columns of X. Both algorithms here select those columns greedily
(Gillis, *Nonnegative Matrix Factorization*, SIAM 2021, chapter 7):

- SPA (successive projection algorithm, Araújo et al. 2001; Gillis and Vavasis
  2014) takes the column of largest residual norm, projects every column onto
  the orthogonal complement of it, and repeats.
- SNPA (successive nonnegative projection algorithm, Gillis 2014) takes the
  same column but replaces the orthogonal projection by the projection onto the
  convex hull of the selected columns and the origin, which keeps it robust when
  W is ill-conditioned or rank deficient.

Both return an :class:`~nmfcore.results.NMFResult` whose W is ``X[:, indices]``
and whose H is the nonnegative least-squares fit of X on that W, so that the
app treats them like any other factorisation.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.utils.validation import check_matrix, check_positive_int
from nmfcore.results import NMFResult, relative_error_from_sums

_TIE_TOLERANCE = 1e-6


def spa(X: Any, rank: int, *, normalize: bool = False) -> NMFResult:
    """Successive projection algorithm.

    Parameters
    ----------
    X : array-like or sparse matrix, shape (m, n)
        Nonnegative data, one item per column. Sparse input stays sparse: the
        residual is tracked through its column norms, one dense m-vector per step.
    rank : int
        Number of columns r to select.
    normalize : bool
        Scale every column of X to unit ℓ1 norm before selecting, which turns
        cone geometry into simplex geometry (use it when the items' sizes differ
        but their proportions matter, e.g. documents of different lengths).

    Returns
    -------
    NMFResult
        ``W`` (m, r) = ``X[:, indices]``, ``H`` (r, n) the nonnegative
        least-squares coefficients, ``extra["indices"]`` the selected columns in
        the order they were picked. ``loss[k]`` is half the squared Frobenius
        norm of the residual of the orthogonal projection after k selections
        (``loss[0] = ½‖X‖²``).
    """
    X, rank, Xs = _prepare(X, rank, normalize)
    start = time.perf_counter()
    norms2 = _column_norms2(Xs)
    original = norms2.copy()
    basis = np.zeros((Xs.shape[0], 0))
    indices: list[int] = []
    loss = [0.5 * norms2.sum()]
    times = [time.perf_counter() - start]
    for _ in range(rank):
        j = _pick(norms2, original, indices)
        indices.append(j)
        u = _dense_column(Xs, j)
        for _ in range(2):  # Gram-Schmidt twice keeps the basis orthonormal in floating point
            u = u - basis @ (basis.T @ u)
        length = np.linalg.norm(u)
        if length > np.sqrt(np.finfo(float).eps) * np.sqrt(original.max()):
            u /= length
            basis = np.column_stack([basis, u])
            norms2 = np.maximum(norms2 - np.asarray(Xs.T @ u).ravel() ** 2, 0.0)
        loss.append(0.5 * norms2.sum())
        times.append(time.perf_counter() - start)
    return _result(X, indices, loss, times, "spa", {"normalize": normalize})


def snpa(X: Any, rank: int, *, normalize: bool = False, inner_iter: int = 200) -> NMFResult:
    """Successive nonnegative projection algorithm.

    Parameters
    ----------
    X : array-like or sparse matrix, shape (m, n)
        Nonnegative data, one item per column (sparse stays sparse).
    rank : int
        Number of columns r to select.
    normalize : bool
        Scale every column of X to unit ℓ1 norm first (see :func:`spa`).
    inner_iter : int
        Iterations of the accelerated projected gradient that projects X onto
        the convex hull of the selected columns and the origin at each step.

    Returns
    -------
    NMFResult
        As for :func:`spa`; ``loss[k]`` is half the squared Frobenius norm of
        ``X - X[:, J] H_J`` with H_J ≥ 0 and column sums ≤ 1 after k selections.
    """
    inner_iter = check_positive_int(inner_iter, "inner_iter")
    X, rank, Xs = _prepare(X, rank, normalize)
    start = time.perf_counter()
    norms2_x = _column_norms2(Xs)
    norms2 = norms2_x.copy()
    indices: list[int] = []
    loss = [0.5 * norms2.sum()]
    times = [time.perf_counter() - start]
    H = np.zeros((0, Xs.shape[1]))
    for _ in range(rank):
        j = _pick(norms2, norms2_x, indices)
        indices.append(j)
        W = _dense_columns(Xs, indices)
        A = np.asarray(Xs.T @ W).T  # W^T X, (k, n)
        B = W.T @ W
        H = _project_on_hull(A, B, np.vstack([H, np.zeros((1, H.shape[1]))]), inner_iter)
        norms2 = np.maximum(
            norms2_x - 2.0 * np.einsum("kn,kn->n", H, A) + np.einsum("kn,kn->n", H, B @ H), 0.0
        )
        loss.append(0.5 * norms2.sum())
        times.append(time.perf_counter() - start)
    return _result(X, indices, loss, times, "snpa", {"normalize": normalize, "inner_iter": inner_iter})


def _prepare(X: Any, rank: int, normalize: bool) -> tuple[Any, int, Any]:
    X = check_matrix(X, "X", dtype=np.float64)
    rank = check_positive_int(rank, "rank")
    if rank > X.shape[1]:
        raise ValueError(
            f"rank={rank} is out of range: X has only {X.shape[1]} columns to select from"
        )
    if not isinstance(normalize, (bool, np.bool_)):
        raise ValueError(f"normalize must be True or False, got {normalize!r}")
    if not normalize:
        return X, rank, X
    sums = np.asarray(X.sum(axis=0)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    Xs = X @ sp.diags(scale) if sp.issparse(X) else X * scale
    return X, rank, sp.csr_matrix(Xs) if sp.issparse(X) else Xs


def _column_norms2(X: Any) -> np.ndarray:
    if sp.issparse(X):
        return np.asarray(X.multiply(X).sum(axis=0)).ravel()
    return np.einsum("ij,ij->j", X, X)


def _dense_column(X: Any, j: int) -> np.ndarray:
    return X[:, [j]].toarray().ravel() if sp.issparse(X) else np.array(X[:, j], dtype=float)


def _dense_columns(X: Any, indices: list[int]) -> np.ndarray:
    return X[:, indices].toarray() if sp.issparse(X) else np.array(X[:, indices], dtype=float)


def _pick(norms2: np.ndarray, original: np.ndarray, taken: list[int]) -> int:
    """Column of largest residual; near-ties go to the largest original norm (Gillis's rule)."""
    score = norms2.copy()
    score[taken] = -np.inf
    best = score.max()
    near = np.flatnonzero(score >= best - _TIE_TOLERANCE * max(best, np.finfo(float).tiny))
    return int(near[np.argmax(original[near])])


def _project_on_hull(A: np.ndarray, B: np.ndarray, H: np.ndarray, n_iter: int) -> np.ndarray:
    """min_H ½‖X − WH‖² over H ≥ 0 with column sums ≤ 1, given A = WᵀX and B = WᵀW.

    Nesterov's accelerated projected gradient, warm-started from ``H``.
    """
    lipschitz = max(np.linalg.eigvalsh(B)[-1], np.finfo(float).tiny)
    Y = H.copy()
    momentum = 1.0
    for _ in range(n_iter):
        H_next = _project_capped_simplex(Y - (B @ Y - A) / lipschitz)
        next_momentum = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * momentum**2))
        Y = H_next + ((momentum - 1.0) / next_momentum) * (H_next - H)
        change = np.linalg.norm(H_next - H)
        H, momentum = H_next, next_momentum
        if change <= 1e-9 * max(np.linalg.norm(H), 1.0):
            break
    return H


def _project_capped_simplex(V: np.ndarray) -> np.ndarray:
    """Project each column of V onto {h ≥ 0, Σh ≤ 1} (sort-based, Duchi et al. 2008)."""
    P = np.maximum(V, 0.0)
    over = P.sum(axis=0) > 1.0
    if over.any():
        Vo = V[:, over]
        U = -np.sort(-Vo, axis=0)
        cumulative = np.cumsum(U, axis=0) - 1.0
        steps = np.arange(1, V.shape[0] + 1)[:, None]
        support = (U - cumulative / steps) > 0
        rho = V.shape[0] - 1 - np.argmax(support[::-1], axis=0)
        theta = cumulative[rho, np.arange(Vo.shape[1])] / (rho + 1)
        P[:, over] = np.maximum(Vo - theta, 0.0)
    return P


def _nonnegative_coefficients(A: np.ndarray, B: np.ndarray, n_iter: int = 300) -> np.ndarray:
    """min_H ½‖X − WH‖² over H ≥ 0 by HALS sweeps, given A = WᵀX and B = WᵀW."""
    H = np.maximum(np.linalg.lstsq(B, A, rcond=None)[0], 0.0)
    diag = np.maximum(np.diag(B), np.finfo(float).tiny)
    for _ in range(n_iter):
        previous = H.copy()
        for k in range(H.shape[0]):
            H[k] = np.maximum(H[k] + (A[k] - B[k] @ H) / diag[k], 0.0)
        if np.linalg.norm(H - previous) <= 1e-10 * max(np.linalg.norm(H), 1.0):
            break
    return H


def _result(
    X: Any, indices: list[int], loss: list[float], times: list[float], model: str, options: dict
) -> NMFResult:
    W = _dense_columns(X, indices)
    A = np.asarray(X.T @ W).T
    B = W.T @ W
    H = _nonnegative_coefficients(A, B)
    norm2_x = _column_norms2(X).sum()
    if sp.issparse(X):  # from the products already made, without densifying X
        residual2 = norm2_x - 2.0 * np.sum(H * A) + np.sum(B * (H @ H.T))
    else:
        residual2 = float(np.sum((X - W @ H) ** 2))
    return NMFResult(
        W=W,
        H=H,
        loss=np.asarray(loss),
        times=np.asarray(times),
        n_iter=len(indices),
        converged=True,
        params={"model": model, "rank": len(indices), **options},
        relative_error=relative_error_from_sums(residual2, norm2_x),
        extra={"indices": np.asarray(indices)},
    )
