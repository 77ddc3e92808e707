"""Persistent NMF (Zhang, Miao & Li, 2026): one factorisation per topological scale.

Objective over the scales t = 1..T (finest first), with L_t the Laplacian of
the ε_t-graph of :class:`nmfcore.graphs.ScaleGraphs`:

    Σ_t [‖X - W_t H_t‖² + λ1 Tr(H_t L_t H_tᵀ) + λ3 ‖H_t‖²] + λ2 Σ_{t≥2} ‖H_t - H_{t-1}‖².

with every column of every W_t of unit Euclidean norm. The authors' code fixes
that gauge by renormalising W after each multiplicative step, which rescales H
and can raise the objective (their loss rises after a few sweeps). Here the
gauge is a constraint: each column of W_t is updated by its exact minimiser on
the unit sphere (a HALS step) and H_t by the multiplicative update, so no step
increases the objective.

Solver. A GNMF chain from the coarsest scale to the finest initialises every
scale (each warm-started from the previous one, W renormalised after each step,
as the authors' code). Each sweep then updates the even scales together and
then the odd scales together: a scale is coupled only to its two neighbours, so
each half is one exact block of block-coordinate descent, and the total
objective never increases. Updating a whole half at once turns the T small
matrix products with X into a few large ones; the rest (graph products, HALS
and multiplicative steps) runs in compiled kernels over batches of scales
(:mod:`nmfcore.topology._kernels`), the batches spread over threads. Graph weights
are computed on the fly from one shared list of item pairs, so memory is
O(T r (m + n) + #edges), not O(T n²).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp

from nmfcore.topology import _kernels as _k
from nmfcore.utils.parallel import run_jobs, single_threaded_blas
from nmfcore.utils.validation import (
    check_choice,
    check_dtype,
    check_matrix,
    check_nonnegative_float,
    check_positive_int,
    check_random_state,
    check_rank,
)
from nmfcore.topology.graph_nmf import _EPS, _graph_step, _gram_x
from nmfcore.topology.graphs import ScaleGraphs, _check_scales
from nmfcore.results import Layer
from nmfcore.topology.homology import SCALE_METHODS, canonical_scales

PREPROCESS = (None, "l2", "log1p_l2")
# Bytes of per-scale work arrays a batch of scales may use at once (one batch
# per thread is in flight).
_BATCH_BYTES = 8 * 2**20
_MAX_BATCH = 64
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


def _xt_w_batch(X, Wb: np.ndarray) -> np.ndarray:
    """W_bᵀ X for a batch of bases (c, m, r) -> (c, r, n) in one product."""
    c, m, r = Wb.shape
    flat = Wb.transpose(0, 2, 1).reshape(c * r, m)
    out = np.asarray(X.T @ flat.T).T if sp.issparse(X) else flat @ X
    return out.reshape(c, r, -1)


def _x_ht_batch(X, Hb: np.ndarray) -> np.ndarray:
    """X H_bᵀ for a batch (c, r, n) in one product, shape (m, c r): columns s r .. s r + r - 1 are X H_sᵀ."""
    c, r, n = Hb.shape
    return np.asarray(X @ Hb.reshape(c * r, n).T)


def _increments(H: np.ndarray, chunk: int = 32) -> np.ndarray:
    """‖H_{t+1} - H_t‖_F for t = 0..T-2, a few scales at a time (no T x r x n temporary)."""
    out = np.empty(max(H.shape[0] - 1, 0))
    for start in range(0, out.size, chunk):
        stop = min(start + chunk, out.size)
        diff = H[start + 1 : stop + 1] - H[start:stop]
        out[start:stop] = np.sqrt(np.einsum("tij,tij->t", diff, diff))
    return out


class _Solver:
    """State of one pNMF fit: factors, per-scale losses and the scale graphs."""

    def __init__(self, X, W, H, graphs: ScaleGraphs, lambdas, xx: float, passes: tuple[int, int]) -> None:
        self.X, self.W, self.H, self.graphs = X, W, H, graphs
        self.l1, self.l2, self.l3 = lambdas
        self.xx = xx
        self.w_passes, self.h_passes = passes
        T = W.shape[0]
        self.recon = np.zeros(T)
        self.graph = np.zeros(T)
        m, r = W.shape[1:]
        n = H.shape[2]
        size = W.dtype.itemsize
        self.batch = int(max(1, min(_MAX_BATCH, _BATCH_BYTES // (size * r * (2 * m + 6 * n)))))
        self.deg = graphs.degrees(np.arange(T)).astype(W.dtype) if self.l1 else np.zeros((T, n), W.dtype)

    def total(self) -> float:
        H = self.H
        coupling = float(np.sum(_increments(H) ** 2))
        return float(
            self.recon.sum()
            + self.l1 * self.graph.sum()
            + self.l3 * _sum_squares(H)
            + self.l2 * coupling
        )

    def _graph_products(self, idx: np.ndarray, Hb: np.ndarray, threads: int | None = None) -> np.ndarray:
        return self.graphs.products(idx, Hb, threads) if self.l1 else np.zeros_like(Hb)

    def update(self, idx: np.ndarray) -> None:
        """Update the scales ``idx`` (no two adjacent), a batch at a time.

        The batches are independent (they only read the other half's scales),
        so each thread takes whole batches with single-threaded BLAS and
        kernels: on few cores this beats multithreaded BLAS calls alternating
        with multithreaded kernels, whose idle workers spin against each other.
        """
        batches = [idx[s : s + self.batch] for s in range(0, idx.size, self.batch)]
        if min(numba.get_num_threads(), len(batches)) <= 1:
            for b in batches:
                self._update_batch(b, None)
            return
        with single_threaded_blas():
            run_jobs(self._update_batches, len(batches), batches)

    def _update_batches(self, batches: list[np.ndarray], offset: int, stride: int) -> None:
        """The batches ``offset``, ``offset + stride``, ... on one thread (see :func:`nmfcore._parallel.run_jobs`)."""
        for b in batches[offset::stride]:
            self._update_batch(b, 1)

    def _update_batch(self, b: np.ndarray, threads: int | None) -> None:
        """One X Hᵀ feeds ``w_passes`` unit-sphere HALS passes over the W of the
        scales ``b``, then one WᵀX feeds ``h_passes`` multiplicative H updates.
        Each pass is an exact descent step with the other scales fixed.
        """
        Wb, Hb = self.W[b], self.H[b]
        c = b.size
        XHt = _x_ht_batch(self.X, Hb)
        run_jobs(_k.unit_column_passes, c, Wb, XHt, Hb @ Hb.transpose(0, 2, 1), self.w_passes, threads=threads)
        WtX = _xt_w_batch(self.X, Wb)
        WtW = Wb.transpose(0, 2, 1) @ Wb
        deg = self.deg[b]
        HA = self._graph_products(b, Hb, threads)
        for _ in range(self.h_passes):
            run_jobs(
                _k.multiplicative_h, c, Hb, WtX, WtW, HA, deg, self.H, b, self.l1, self.l2, self.l3, _EPS,
                threads=threads,
            )
            HA = self._graph_products(b, Hb, threads)
        self.W[b], self.H[b] = Wb, Hb
        HHt = Hb @ Hb.transpose(0, 2, 1)
        recon = self.xx - 2.0 * _batch_dot(WtX, Hb) + _batch_dot(WtW, HHt)
        self.recon[b] = np.maximum(recon, 0.0)
        self.graph[b] = _batch_dot(Hb * deg[:, None, :], Hb) - _batch_dot(HA, Hb)

    def chain(self, W0: np.ndarray, H0: np.ndarray, n_iter: int, updated: np.ndarray) -> None:
        """GNMF warm-start chain from the coarsest scale to the finest.

        Scales with ``updated[t]`` get ``n_iter`` GNMF updates; the others keep
        the factors of the last updated (coarser) scale. The chain is
        sequential and its graph products small: they run on one thread.
        """
        for t in range(self.W.shape[0] - 1, -1, -1):
            deg = self.deg[t]
            HA = self._graph_products(np.array([t]), H0[None], 1)[0]
            if updated[t]:
                for _ in range(n_iter):
                    W0, H0, recon, _ = _graph_step(
                        self.X, W0, H0, HA, partial(self.graphs.product, t, threads=1), deg, self.l1, 0.0, 0.0, self.xx
                    )
                    # the authors' gauge: unit columns of W (the product W H is unchanged)
                    norms = np.maximum(np.linalg.norm(W0, axis=0), _EPS)
                    W0 /= norms
                    H0 *= norms[:, None]
                    HA *= norms[:, None]
                self.recon[t] = recon
            else:  # the coarsest scale is always updated
                self.recon[t] = self.recon[t + 1]
            self.W[t], self.H[t] = W0, H0
            self.graph[t] = float(deg @ np.einsum("ij,ij->j", H0, H0, dtype=np.float64)) - _batch_dot(HA, H0)


def _batch_dot(A: np.ndarray, B: np.ndarray) -> np.ndarray | float:
    """Σ A ⊙ B over the last two axes, accumulated in float64."""
    return np.einsum("...ij,...ij->...", A, B, dtype=np.float64)


def _sum_squares(H: np.ndarray, chunk: int = 32) -> float:
    """‖H‖_F² accumulated in float64, a few scales at a time."""
    return float(sum(_batch_dot(H[s : s + chunk], H[s : s + chunk]).sum() for s in range(0, H.shape[0], chunk)))


def pnmf(
    X,
    rank: int | None = None,
    *,
    scales=None,
    n_scales: int | None = None,
    scale_method: str = "levels",
    lambdas=(1.0, 1.0, 1.0),
    max_sweeps: int = 10,
    tol: float = 1e-3,
    inner_iter: int = 1,
    init_iter: int | None = None,
    init: str = "nndsvda",
    preprocess: str | None = None,
    random_state: None | int | np.random.Generator = None,
    callback: Callable[[int, np.ndarray, np.ndarray, float], bool | None] | None = None,
    dtype: Any = None,
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
    max_sweeps : int
        Maximum number of sweeps over all scales (the authors run 10).
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

    dtype = check_dtype(dtype, getattr(X, "dtype", None))
    X = preprocess_items(X, preprocess)
    m, n = X.shape
    if n < 2:
        raise ValueError(f"X must have at least 2 columns (items), got {n}")
    rank = check_rank(math.ceil(math.sqrt(n)) if rank is None else rank, X.shape)
    lambdas = _check_lambdas(lambdas)
    check_choice(scale_method, "scale_method", SCALE_METHODS)
    max_sweeps = check_positive_int(max_sweeps, "max_sweeps")
    inner_iter = check_positive_int(inner_iter, "inner_iter")
    tol = check_nonnegative_float(tol, "tol")
    rng = check_random_state(random_state)
    seed = int(rng.integers(0, 2**31 - 1))

    start = time.perf_counter()
    if scales is None:
        scales = canonical_scales(X, n_scales=n_scales, method=scale_method)
    scales = _check_scales(scales)
    T = scales.size
    chain_iter, updated = _chain_plan(T, init_iter)
    graphs = ScaleGraphs(X, scales)
    t_graphs = time.perf_counter() - start

    W0, H0 = initialize(X, rank, init, seed)
    solver = _Solver(
        X.astype(dtype),
        np.empty((T, m, rank), dtype),
        np.empty((T, rank, n), dtype),
        graphs,
        lambdas,
        _gram_x(X),
        (inner_iter, inner_iter),
    )
    solver.chain(W0.astype(dtype), H0.astype(dtype), chain_iter, updated)
    losses = [solver.total()]
    times = [time.perf_counter() - start]
    converged = stopped = False
    sweep = 0
    even, odd = np.arange(0, T, 2), np.arange(1, T, 2)
    for sweep in range(1, max_sweeps + 1):
        solver.update(even)
        solver.update(odd)
        losses.append(solver.total())
        times.append(time.perf_counter() - start)
        if callback is not None and callback(sweep, solver.W, solver.H, losses[-1]) is False:
            stopped = True
            break
        if abs(losses[-2] - losses[-1]) <= tol * max(abs(losses[-2]), _EPS):
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
        "max_sweeps": max_sweeps,
        "tol": tol,
        "inner_iter": inner_iter,
        "init_iter": init_iter,
        "init": init,
        "preprocess": preprocess,
        "random_state": random_state if not isinstance(random_state, np.random.Generator) else seed,
        "dtype": dtype.name,
    }
    return PNMFResult(
        W=solver.W,
        H=H,
        scales=scales,
        loss=np.asarray(losses),
        times=np.asarray(times),
        increments=_increments(H),
        n_sweeps=sweep,
        converged=converged,
        stopped=stopped,
        params=params,
        extra={
            "relative_errors": np.sqrt(solver.recon / max(solver.xx, _EPS)),
            "edge_counts": graphs.edge_counts.copy(),
            "graph_seconds": t_graphs,
        },
    )
