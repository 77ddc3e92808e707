"""Persistent NMF (Zhang, Miao & Li, 2026): one factorisation per topological scale.

Objective over the scales t = 1..T (finest first), with L_t the Laplacian of
the ε_t-graph of :class:`nmfcore.topology.graphs.ScaleGraphs`:

    Σ_t [‖X - W_t H_t‖² + λ1 Tr(H_t L_t H_tᵀ) + λ3 ‖H_t‖²] + λ2 Σ_{t≥2} ‖H_t - H_{t-1}‖².

with every column of every W_t of unit Euclidean norm. The authors' code fixes
that gauge by renormalising W after each multiplicative step, which rescales H
and can raise the objective (their loss rises after a few sweeps). Here the
gauge is a constraint: each column of W_t is updated by its exact minimiser on
the unit sphere (a HALS step) and H_t by the multiplicative update, so no step
increases the objective.

The solver (a GNMF chain, then sweeps of block-coordinate descent over the
even and the odd scales) is :class:`nmfcore.topology.persistent_solver.PathSolver`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.results import Layer, relative_error_from_sums
from nmfcore.utils.validation import reject_renamed
from nmfcore.topology.geometry import squared_frobenius
from nmfcore.topology.graph_updates import EPS
from nmfcore.topology.graphs import ScaleGraphs
from nmfcore.topology.persistent_solver import PathSolver, increments
from nmfcore.topology.scales import SCALE_METHODS, canonical_scales, check_scales
from nmfcore.utils.validation import (
    check_choice,
    check_dtype,
    check_matrix,
    check_nonnegative_float,
    check_positive_int,
    check_rank,
    resolve_seed,
)

PREPROCESS = (None, "l2", "log1p_l2")
# GNMF updates of the initial chain when init_iter is None.
_CHAIN_UPDATES = 300


@dataclass
class PNMFResult:
    """Solution path of persistent NMF, one factor pair per scale.

    Attributes
    ----------
    W : ndarray, shape (T, m, r)
        ``W[t]`` is the basis at scale t (0 = finest).
    H : ndarray, shape (T, r, n)
        ``H[t]`` is the embedding of the n items at scale t.
    scales : ndarray, shape (T,)
        The scales ε_t, ascending.
    loss : ndarray, shape (n_sweeps + 1,)
        Total objective after the initial chain (entry 0) and after each sweep.
    times : ndarray, shape (n_sweeps + 1,)
        Seconds since the start at which each ``loss`` entry was taken.
    increments : ndarray, shape (T - 1,)
        ‖H_{t+1} - H_t‖_F between neighbouring scales.
    n_sweeps : int
    converged : bool
        True when the relative change of the total objective fell below ``tol``.
    stopped : bool
        True when the callback stopped the fit.
    params : dict
        Every argument needed to replay the fit; ``params["model"] == "pnmf"``.
    extra : dict
        ``relative_errors`` (per scale), ``edge_counts`` (per scale), timings.
    """

    W: np.ndarray
    H: np.ndarray
    scales: np.ndarray
    loss: np.ndarray
    times: np.ndarray
    increments: np.ndarray
    n_sweeps: int
    converged: bool
    stopped: bool
    params: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_scales(self) -> int:
        """Number of scales T."""
        return int(self.scales.size)

    def layers(self) -> list[Layer]:
        """One :class:`Layer` per scale, finest first, named ``"scale t (ε=...)"``."""
        return [
            Layer(f"scale {t + 1} (ε={scale:.3g})", self.W[t], self.H[t])
            for t, scale in enumerate(self.scales)
        ]


def preprocess_items(X, method: str | None):
    """Preprocessing of the pNMF paper for the items (columns) of X.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
    method : {None, "l2", "log1p_l2"}
        "l2" scales every column to unit Euclidean norm; "log1p_l2" first applies
        log10(1 + X) (the authors' scRNA-seq preprocessing). All-zero columns stay zero.

    Returns
    -------
    ndarray or csr_matrix, shape (m, n)
    """
    check_choice(method, "preprocess", PREPROCESS)
    X = check_matrix(X, "X", dtype=np.float64)
    if method is None:
        return X
    if method == "log1p_l2":
        if sp.issparse(X):
            X = X.copy()
            X.data = np.log10(1.0 + X.data)
        else:
            X = np.log10(1.0 + X)
    if sp.issparse(X):
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
        return (X @ sp.diags(1.0 / np.where(norms > 0, norms, 1.0))).tocsr()
    norms = np.linalg.norm(X, axis=0)
    return X / np.where(norms > 0, norms, 1.0)


def _chain_plan(T: int, init_iter: int | None) -> tuple[int, np.ndarray]:
    """Updates per scale of the initial chain and which scales get them, shape (T,) bool.

    An explicit ``init_iter`` updates every scale; None spreads about
    ``_CHAIN_UPDATES`` updates: ⌈_CHAIN_UPDATES / T⌉ per scale, or with more
    scales one update at _CHAIN_UPDATES scales evenly spread from the coarsest
    to the finest.
    """
    if init_iter is not None:
        return check_positive_int(init_iter, "init_iter"), np.ones(T, dtype=bool)
    updated = np.zeros(T, dtype=bool)
    updated[np.unique(np.round(np.linspace(0, T - 1, min(T, _CHAIN_UPDATES))).astype(int))] = True
    return max(1, math.ceil(_CHAIN_UPDATES / T)), updated


def _check_lambdas(lambdas) -> tuple[float, float, float]:
    try:
        values = tuple(lambdas)
    except TypeError:
        values = ()
    if len(values) != 3:
        raise ValueError(f"lambdas must be three numbers (λ1 graph, λ2 between scales, λ3 anchor), got {lambdas!r}")
    return tuple(check_nonnegative_float(v, f"lambdas[{k}]") for k, v in enumerate(values))  # type: ignore[return-value]


def total_objective(
    X, W: np.ndarray, H: np.ndarray, graphs: ScaleGraphs, lambdas: tuple[float, float, float]
) -> float:
    """The pNMF objective computed directly (dense residuals), for checks.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
    W : ndarray, shape (T, m, r)
    H : ndarray, shape (T, r, n)
    graphs : ScaleGraphs
    lambdas : (λ1, λ2, λ3)

    Returns
    -------
    float
    """
    l1, l2, l3 = lambdas
    Xd = X.toarray() if sp.issparse(X) else X
    total = 0.0
    for t in range(len(graphs)):
        L = graphs.laplacian(t)
        total += np.sum((Xd - W[t] @ H[t]) ** 2) + l1 * np.sum((L @ H[t].T) * H[t].T) + l3 * np.sum(H[t] ** 2)
        if t:
            total += l2 * np.sum((H[t] - H[t - 1]) ** 2)
    return float(total)


def pnmf(
    X,
    rank: int | None = None,
    *,
    scales=None,
    n_scales: int | None = None,
    scale_method: str = "levels",
    lambdas=(1.0, 1.0, 1.0),
    max_iter: int = 10,
    tol: float = 1e-3,
    inner_iter: int = 1,
    init_iter: int | None = None,
    init: str = "nndsvda",
    preprocess: str | None = None,
    random_state: None | int | np.random.Generator = None,
    callback: Callable[[int, np.ndarray, np.ndarray, float], bool | None] | None = None,
    dtype: Any = None,
    **renamed: Any,
) -> PNMFResult:
    """Persistent NMF: a path of graph-regularised factorisations over topological scales.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
        Nonnegative data, items (cells, points) as columns. Sparse X stays sparse.
    rank : int or None
        Number of factors r; None uses the paper's ⌈√n⌉.
    scales : array-like of shape (T,), optional
        Strictly increasing scales ε (finest first). Default: the canonical
        scales of X's H0 persistence (:func:`nmfcore.canonical_scales`).
    n_scales : int or None
        Reduce the canonical set to this many scales (ignored when ``scales`` is given).
    scale_method : {"levels", "gaps"}
        Reduction used with ``n_scales``.
    lambdas : (λ1, λ2, λ3)
        Weights of the graph term, of the coupling between neighbouring scales and
        of the anchor ‖H_t‖².
    max_iter : int
        Maximum number of sweeps over all scales (the authors run 10);
        ``max_sweeps`` before, named like every other fit's iteration count.
    tol : float
        Stop when the relative change of the total objective over a sweep is below ``tol``.
    inner_iter : int
        Per scale and sweep: unit-sphere HALS passes over the columns of W_t,
        all from one product X H_tᵀ, then multiplicative updates of H_t, all
        from one product W_tᵀX (only W_tᵀW_t H_t and the graph product change).
    init_iter : int or None
        GNMF updates per scale in the initial coarse-to-fine chain (every scale).
        None spreads about 300 updates: ⌈300 / T⌉ at every scale, or, with more
        than 300 scales, one at each of 300 evenly spread scales, the scales in
        between starting from the factors of the next coarser updated scale.
    init : str
        Initialisation of the chain's first scale (:func:`nmfcore.initialize`).
    preprocess : {None, "l2", "log1p_l2"}
        See :func:`preprocess_items`; applied before the scales are computed.
    random_state : int, Generator or None
        Seed of the initialisation; ``params["random_state"]`` records the integer
        that replays the fit (see :func:`nmfcore.utils.validation.resolve_seed`).
    callback : callable, optional
        ``callback(sweep, W, H, loss)`` with W (T, m, r) and H (T, r, n) after
        each sweep; returning False stops the fit (``stopped=True``).
    dtype : {None, numpy.float32, numpy.float64}
        Working precision of the factors and products; None keeps float32 input
        in float32 and uses float64 otherwise. Scales, graphs and the reported
        objective are computed in float64 either way.

    Returns
    -------
    PNMFResult
    """
    from nmfcore.classic.init import initialize

    reject_renamed("pnmf", renamed, {"max_sweeps": "max_iter"})
    dtype = check_dtype(dtype, getattr(X, "dtype", None))
    X = preprocess_items(X, preprocess)
    m, n = X.shape
    if n < 2:
        raise ValueError(f"X must have at least 2 columns (items), got {n}")
    rank = check_rank(math.ceil(math.sqrt(n)) if rank is None else rank, X.shape)
    lambdas = _check_lambdas(lambdas)
    check_choice(scale_method, "scale_method", SCALE_METHODS)
    max_iter = check_positive_int(max_iter, "max_iter")
    inner_iter = check_positive_int(inner_iter, "inner_iter")
    tol = check_nonnegative_float(tol, "tol")
    rng, recorded_seed = resolve_seed(random_state)
    seed = int(rng.integers(0, 2**31 - 1))

    start = time.perf_counter()
    if scales is None:
        scales = canonical_scales(X, n_scales=n_scales, method=scale_method)
    scales = check_scales(scales)
    T = scales.size
    chain_iter, updated = _chain_plan(T, init_iter)
    graphs = ScaleGraphs(X, scales)
    t_graphs = time.perf_counter() - start

    W0, H0 = initialize(X, rank, init, seed)
    solver = PathSolver(
        X.astype(dtype),
        np.empty((T, m, rank), dtype),
        np.empty((T, rank, n), dtype),
        graphs,
        lambdas,
        squared_frobenius(X),
        (inner_iter, inner_iter),
    )
    solver.chain(W0.astype(dtype), H0.astype(dtype), chain_iter, updated)
    losses = [solver.total()]
    times = [time.perf_counter() - start]
    converged = stopped = False
    sweep = 0
    even, odd = np.arange(0, T, 2), np.arange(1, T, 2)
    for sweep in range(1, max_iter + 1):
        solver.update(even)
        solver.update(odd)
        losses.append(solver.total())
        times.append(time.perf_counter() - start)
        if callback is not None and callback(sweep, solver.W, solver.H, losses[-1]) is False:
            stopped = True
            break
        if abs(losses[-2] - losses[-1]) <= tol * max(abs(losses[-2]), EPS):
            converged = True
            break

    H = solver.H
    params = {
        "model": "pnmf",
        "rank": rank,
        "scales": scales.tolist(),
        "n_scales": n_scales,
        "scale_method": scale_method,
        "lambdas": list(lambdas),
        "max_iter": max_iter,
        "tol": tol,
        "inner_iter": inner_iter,
        "init_iter": init_iter,
        "init": init,
        "preprocess": preprocess,
        "random_state": recorded_seed,
        "dtype": dtype.name,
    }
    return PNMFResult(
        W=solver.W,
        H=H,
        scales=scales,
        loss=np.asarray(losses),
        times=np.asarray(times),
        increments=increments(H),
        n_sweeps=sweep,
        converged=converged,
        stopped=stopped,
        params=params,
        extra={
            "relative_errors": np.array([relative_error_from_sums(r, solver.xx) for r in solver.recon]),
            "edge_counts": graphs.edge_counts.copy(),
            "graph_seconds": t_graphs,
        },
    )
