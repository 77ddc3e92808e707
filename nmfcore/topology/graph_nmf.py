"""Graph-regularised NMF (GNMF, Cai, He, Han & Huang, IEEE TPAMI 2011).

Minimises ‖X - W H‖_F² + λ Tr(H L Hᵀ), L = diag(A 1) - A, by the multiplicative
updates of :func:`nmfcore.topology.graph_updates.graph_step`, which never
increase the objective.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.results import NMFResult, relative_error_from_sums
from nmfcore.utils.validation import reject_renamed
from nmfcore.topology.geometry import squared_frobenius
from nmfcore.topology.graph_updates import EPS, graph_energy, graph_product, graph_step
from nmfcore.topology.graphs import knn_graph
from nmfcore.utils.validation import (
    check_matrix,
    check_nonnegative_float,
    check_positive_int,
    check_rank,
    resolve_seed,
)


def gnmf(
    X,
    rank: int,
    *,
    graph: str | np.ndarray | sp.spmatrix = "knn",
    n_neighbors: int = 8,
    lambdas: float = 1.0,
    init: str = "nndsvda",
    max_iter: int = 500,
    tol: float = 1e-4,
    random_state: None | int | np.random.Generator = None,
    callback: Callable[[int, np.ndarray, np.ndarray, float], bool | None] | None = None,
    dtype: Any = None,
    **renamed: Any,
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
        :func:`nmfcore.knn_graph`; otherwise a symmetric nonnegative
        adjacency matrix over the items (dense or sparse).
    n_neighbors : int
        k of the kNN graph.
    lambdas : float
        Weight λ >= 0 of Tr(H L Hᵀ) (``lam`` before; named like pNMF's weights).
    init : str
        Initialisation passed to :func:`nmfcore.initialize`.
    max_iter : int
        Maximum number of iterations.
    tol : float
        Stop when the relative decrease of the objective is below ``tol``.
    random_state : int, Generator or None
        Seed of the initialisation; ``params["random_state"]`` records the integer
        that replays the fit (see :func:`nmfcore.utils.validation.resolve_seed`).
    callback : callable, optional
        ``callback(iteration, W, H, loss)``; returning False stops the fit.
    dtype : {None, numpy.float32, numpy.float64}
        Working precision of the factors and products; None keeps float32 input
        in float32 and uses float64 otherwise. The graph is built in float64.

    Returns
    -------
    NMFResult
        ``W`` (m, r), ``H`` (r, n), ``loss`` (objective per iteration),
        ``params["model"] == "gnmf"``.
    """
    from nmfcore.classic.init import initialize

    reject_renamed("gnmf", renamed, {"lam": "lambdas"})
    X = check_matrix(X, "X", dtype=dtype)
    dtype = X.dtype
    rank = check_rank(rank, X.shape)
    lam = check_nonnegative_float(lambdas, "lambdas")
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
    rng, recorded_seed = resolve_seed(random_state)
    W, H = initialize(X, rank, init, int(rng.integers(0, 2**31 - 1)))
    W, H = W.astype(dtype), H.astype(dtype)  # own copies, updated in place
    deg = np.asarray(A.sum(axis=1, dtype=np.float64)).ravel().astype(dtype, copy=False)
    A = A.astype(dtype, copy=False)
    xx = squared_frobenius(X)
    HA = graph_product(A, H)
    recon = float(np.linalg.norm((X - W @ H) if not sp.issparse(X) else (X.toarray() - W @ H)) ** 2)
    losses = [recon + lam * graph_energy(H, HA, deg)]
    start = time.perf_counter()
    times = [0.0]
    converged = stopped = False
    it = 0
    for it in range(1, max_iter + 1):
        W, H, recon, graph_term = graph_step(X, W, H, HA, A, deg, lam, xx)
        losses.append(recon + lam * graph_term)
        times.append(time.perf_counter() - start)
        if callback is not None and callback(it, W, H, losses[-1]) is False:
            stopped = True
            break
        if abs(losses[-2] - losses[-1]) <= tol * max(abs(losses[-2]), EPS):
            converged = True
            break
    params = {
        "model": "gnmf",
        "rank": rank,
        "graph": graph if isinstance(graph, str) else "custom",
        "n_neighbors": n_neighbors,
        "lambdas": lam,
        "init": init,
        "max_iter": max_iter,
        "tol": tol,
        "random_state": recorded_seed,
        "dtype": dtype.name,
    }
    return NMFResult(
        W=W,
        H=H,
        loss=np.asarray(losses),
        times=np.asarray(times),
        n_iter=it,
        converged=converged,
        params=params,
        relative_error=relative_error_from_sums(recon, xx),
        stopped=stopped,
        extra={"graph_edges": int((A != 0).sum() // 2) if sp.issparse(A) else int(np.count_nonzero(A) // 2)},
    )
