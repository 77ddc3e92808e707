"""Graph-regularised NMF (GNMF, Cai, He, Han & Huang, IEEE TPAMI 2011).

Minimises ‖X - W H‖_F² + λ Tr(H L Hᵀ), L = diag(A 1) - A, by the multiplicative
updates of Cai et al.:

    W <- W ⊙ (X Hᵀ) ⊘ (W H Hᵀ),
    H <- H ⊙ (WᵀX + λ H A) ⊘ (WᵀW H + λ H diag(A 1)),

which never increase the objective. The same step, with the extra terms of
persistent NMF, is reused by :mod:`nmfcore.topology.persistent`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from nmfcore.utils.validation import (
    check_matrix,
    check_nonnegative_float,
    check_positive_int,
    check_random_state,
    check_rank,
)
from nmfcore.topology.graphs import knn_graph
from nmfcore.results import NMFResult

_EPS = 1e-16


def _gram_x(X) -> float:
    return float(X.multiply(X).sum()) if sp.issparse(X) else float(np.einsum("ij,ij->", X, X))


def graph_product(A, H: np.ndarray) -> np.ndarray:
    """H A for a symmetric adjacency A (dense, sparse, or a callable H -> H A), shape (r, n)."""
    if callable(A):
        return A(H)
    if sp.issparse(A):
        return np.asarray(A @ H.T).T
    return H @ A


def _xt_w(X, W: np.ndarray) -> np.ndarray:
    """WᵀX, shape (r, n), for dense or sparse X."""
    if sp.issparse(X):
        return np.asarray(X.T @ W).T
    return W.T @ X


def _graph_step(
    X,
    W: np.ndarray,
    H: np.ndarray,
    HA: np.ndarray,
    A,
    deg: np.ndarray,
    lam: float,
    pull: np.ndarray | float,
    shrink: float,
    xx: float,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """One W and one H multiplicative update of the graph-regularised objective.

    The H-part of the objective is ‖X - WH‖² + lam Tr(H L Hᵀ) + shrink ‖H‖²
    - 2 <pull, H> (+ constants); ``pull`` and ``shrink`` carry persistent NMF's
    couplings to the neighbouring scales and its anchoring term.

    Returns
    -------
    W, H : updated factors (in place)
    recon : ‖X - WH‖_F² at the new factors
    graph : Tr(H L Hᵀ) at the new H (``HA`` is overwritten with the new H A)
    """
    HHt = H @ H.T
    XHt = np.asarray(X @ H.T)
    W *= XHt / np.maximum(W @ HHt, _EPS)
    WtX = _xt_w(X, W)
    WtW = W.T @ W
    num = WtX + lam * HA + pull
    den = WtW @ H + lam * H * deg + shrink * H
    H *= num / np.maximum(den, _EPS)
    HA[...] = graph_product(A, H) if lam else 0.0
    recon = xx - 2.0 * np.einsum("ij,ij->", WtX, H) + np.einsum("ij,ij->", WtW, H @ H.T)
    graph = float(np.einsum("ij,j,ij->", H, deg, H) - np.einsum("ij,ij->", HA, H)) if lam else 0.0
    return W, H, max(float(recon), 0.0), graph


def gnmf(
    X,
    rank: int,
    *,
    graph: str | np.ndarray | sp.spmatrix = "knn",
    n_neighbors: int = 8,
    lam: float = 1.0,
    init: str = "nndsvda",
    max_iter: int = 500,
    tol: float = 1e-4,
    random_state: None | int | np.random.Generator = None,
    callback: Callable[[int, np.ndarray, np.ndarray, float], bool | None] | None = None,
) -> NMFResult:
    """Graph-regularised NMF of Cai et al. (2011).

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
        Nonnegative data, items as columns.
    rank : int
        Number of factors r.
    graph : "knn" or array-like of shape (n, n)
        "knn" builds the symmetric kNN heat-kernel graph of
        :func:`nmfcore.graphs.knn_graph`; otherwise a symmetric nonnegative
        adjacency matrix over the items (dense or sparse).
    n_neighbors : int
        k of the kNN graph.
    lam : float
        Weight λ >= 0 of Tr(H L Hᵀ).
    init : str
        Initialisation passed to :func:`nmfcore.initialize`.
    max_iter : int
        Maximum number of iterations.
    tol : float
        Stop when the relative decrease of the objective is below ``tol``.
    random_state : int, Generator or None
    callback : callable, optional
        ``callback(iteration, W, H, loss)``; returning False stops the fit.

    Returns
    -------
    NMFResult
        ``W`` (m, r), ``H`` (r, n), ``loss`` (objective per iteration),
        ``params["model"] == "gnmf"``.
    """
    from nmfcore.classic.init import initialize

    X = check_matrix(X, "X", dtype=np.float64)
    rank = check_rank(rank, X.shape)
    lam = check_nonnegative_float(lam, "lam")
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_nonnegative_float(tol, "tol")
    n = X.shape[1]
    if isinstance(graph, str):
        if graph != "knn":
            raise ValueError(f"graph={graph!r} is not valid; use 'knn' or an (n, n) adjacency matrix")
        A = knn_graph(X, n_neighbors)
    else:
        A = sp.csr_matrix(graph, dtype=np.float64) if sp.issparse(graph) else np.asarray(graph, dtype=np.float64)
        if A.shape != (n, n):
            raise ValueError(f"graph must have shape (n, n) = {(n, n)} over the columns of X, got {A.shape}")
        if (A.min() if not sp.issparse(A) else min(A.data.min(initial=0), 0)) < 0:
            raise ValueError("graph must be a nonnegative adjacency matrix")
    rng = check_random_state(random_state)
    seed = int(rng.integers(0, 2**31 - 1))
    W, H = initialize(X, rank, init, seed)
    W, H = W.astype(np.float64), H.astype(np.float64)
    deg = np.asarray(A.sum(axis=1)).ravel()
    xx = _gram_x(X)
    HA = graph_product(A, H)
    recon = float(np.linalg.norm((X - W @ H) if not sp.issparse(X) else (X.toarray() - W @ H)) ** 2)
    losses = [recon + lam * float(np.einsum("ij,j,ij->", H, deg, H) - np.einsum("ij,ij->", HA, H))]
    start = time.perf_counter()
    times = [0.0]
    converged = stopped = False
    it = 0
    for it in range(1, max_iter + 1):
        W, H, recon, graph_term = _graph_step(X, W, H, HA, A, deg, lam, 0.0, 0.0, xx)
        losses.append(recon + lam * graph_term)
        times.append(time.perf_counter() - start)
        if callback is not None and callback(it, W, H, losses[-1]) is False:
            stopped = True
            break
        if abs(losses[-2] - losses[-1]) <= tol * max(abs(losses[-2]), _EPS):
            converged = True
            break
    params = {
        "model": "gnmf",
        "rank": rank,
        "graph": graph if isinstance(graph, str) else "custom",
        "n_neighbors": n_neighbors,
        "lam": lam,
        "init": init,
        "max_iter": max_iter,
        "tol": tol,
        "random_state": random_state if not isinstance(random_state, np.random.Generator) else seed,
    }
    return NMFResult(
        W=W,
        H=H,
        loss=np.asarray(losses),
        times=np.asarray(times),
        n_iter=it,
        converged=converged,
        params=params,
        relative_error=float(np.sqrt(recon / max(xx, _EPS))),
        stopped=stopped,
        extra={"graph_edges": int((A != 0).sum() // 2) if sp.issparse(A) else int(np.count_nonzero(A) // 2)},
    )
