"""Memory and time estimates of a fit, before running it.

The estimates count the arrays a solver holds at its peak and the floating-point
operations of its matrix products and entrywise steps. Time is the operation count
divided by a rate measured once on this machine (a small matrix product, so the
figure follows the local BLAS and core count). They are orders of magnitude for a
user interface, not promises: sparse products and entrywise steps run below the
GEMM rate, which the ``_ENTRYWISE_COST`` weighting only partly captures.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from nmfcore.models import FAMILIES, get
from nmfcore.utils.validation import check_beta, check_choice, check_positive_int

MODELS = ("nmf", "deep_nmf", "gnmf", "pnmf")
"""The cost models; a registry entry names its own as ``cost_model``."""
# entrywise passes over the data per MU iteration with beta != 2 (X / WH, powers, loss)
_ENTRYWISE_PASSES = 4
# inner iterations per scale and sweep assumed for pNMF
_PNMF_INNER = 30
# neighbours per item assumed for GNMF's kNN graph and pNMF's scale graphs
_GRAPH_DEGREE = 8
# entries of the blocks that sparse products gather at once (nmfcore.classic.products)
_GATHER_BLOCK = 1 << 22


@dataclass(frozen=True)
class FitEstimate:
    """Predicted cost of a fit.

    Attributes
    ----------
    memory_bytes : int
        Peak bytes of the arrays the fit allocates, the data X included.
    data_bytes : int
        Bytes of X itself (dense values, or CSR data, indices and pointers).
    flops : float
        Floating-point operations of the whole fit.
    seconds : float
        ``flops`` divided by the measured rate.
    flops_per_second : float
        The rate used.
    """

    memory_bytes: int
    data_bytes: int
    flops: float
    seconds: float
    flops_per_second: float

    def summary(self) -> str:
        """One line for display, e.g. ``"about 12 MB of memory and 0.8 s"``."""
        return f"about {format_bytes(self.memory_bytes)} of memory and {format_seconds(self.seconds)}"


def format_bytes(n_bytes: float) -> str:
    """Human-readable size with a decimal unit (B, kB, MB, GB, TB)."""
    value = float(n_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.3g} {unit}"
        value /= 1000
    return f"{value:.3g} TB"


def format_seconds(seconds: float) -> str:
    """Human-readable duration: ``"0.12 s"``, ``"3.4 min"`` or ``"2.1 h"``."""
    if seconds < 60:
        return f"{seconds:.2g} s"
    if seconds < 3600:
        return f"{seconds / 60:.2g} min"
    return f"{seconds / 3600:.2g} h"


@functools.lru_cache(maxsize=None)
def measure_flops(size: int = 1000, rank: int = 16, dtype: str = "float64") -> float:
    """Measure this machine's rate for the products NMF does (cached).

    NMF's products are thin: an m x n matrix times an n x r one with small r,
    bound by memory traffic more than by arithmetic, so the rate is measured on
    that shape rather than on a square product.

    Parameters
    ----------
    size : int
        m = n of the data-sized factor.
    rank : int
        r of the thin factor.
    dtype : {"float64", "float32"}

    Returns
    -------
    float
        Floating-point operations per second of ``A @ B``, best of three.
    """
    size = check_positive_int(size, "size", minimum=16)
    rank = check_positive_int(rank, "rank")
    rng = np.random.default_rng(0)
    A = rng.random((size, size)).astype(dtype)
    B = rng.random((size, rank)).astype(dtype)
    A @ B
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        A @ B
        best = min(best, time.perf_counter() - start)
    return 2.0 * size * size * rank / max(best, 1e-9)


@functools.lru_cache(maxsize=None)
def measure_entrywise_cost() -> float:
    """Flop-equivalents of one entrywise division plus logarithm on this machine (cached).

    Measured as the time per element of ``np.log(A / B)`` on a million entries,
    times the rate of :func:`measure_flops`.
    """
    rng = np.random.default_rng(0)
    A, B = rng.random(1_000_000) + 0.1, rng.random(1_000_000) + 0.1
    np.log(A / B)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        np.log(A / B)
        best = min(best, time.perf_counter() - start)
    return best / A.size * measure_flops()


@functools.lru_cache(maxsize=None)
def measure_iteration_overhead() -> float:
    """Seconds one solver iteration costs beyond its arithmetic (Python, dispatch), cached.

    Measured as the time per iteration of a tiny KL fit (40 x 30, rank 4), where
    the arithmetic is negligible.
    """
    nmf = get("nmf").fit
    X = np.random.default_rng(0).random((40, 30)) + 0.01
    nmf(X, 4, beta=1, max_iter=2, tol=0.0, random_state=0)
    start = time.perf_counter()
    nmf(X, 4, beta=1, max_iter=40, tol=0.0, random_state=0)
    return (time.perf_counter() - start) / 40


def _nmf_iteration(m: int, n: int, r: int, cells: float, beta: float, entrywise: float) -> float:
    """Flops of one MU/HALS iteration; ``cells`` is m*n for dense X, nnz for sparse."""
    gram = 4.0 * (m + n) * r * r
    if beta == 2:
        return 4.0 * cells * r + gram
    # WH at the observed cells for each of the two updates, then W^T(.) and (.)H^T
    return 8.0 * cells * r + 4.0 * (m + n) * r + _ENTRYWISE_PASSES * entrywise * cells


def _nmf_memory(m: int, n: int, r: int, cells: float, itemsize: int, beta: float, sparse: bool) -> int:
    factors = (m + n) * r
    if sparse:
        # MU gathers rows of W and columns of H at the non-zeros, in bounded blocks,
        # and keeps each non-zero's row and column index (int64, two values' worth)
        gathered = 2 * min(cells * r, _GATHER_BLOCK)
        temporaries = 0 if beta == 2 else gathered + 5 * cells
    else:
        temporaries = 2 * cells if beta == 2 else 3 * cells
    return int(itemsize * (factors + temporaries + 2 * (m + n) * r))


def estimate_fit(
    shape: tuple[int, int],
    ranks: int | Sequence[int],
    *,
    model: str = "nmf",
    beta: float | str = 2.0,
    max_iter: int = 200,
    nnz: int | None = None,
    dtype: type | np.dtype = np.float64,
    init_iter: int = 500,
    n_scales: int = 10,
    flops_per_second: float | None = None,
    iteration_overhead: float | None = None,
) -> FitEstimate:
    """Estimate the peak memory and the run time of a fit before running it.

    Parameters
    ----------
    shape : tuple of int
        ``(m, n)`` of X.
    ranks : int or sequence of int
        Rank r, or the decreasing ranks ``[r1, r2, ...]`` of a deep model.
    model : str
        A family of :data:`nmfcore.models.FAMILIES` (e.g. ``"min_vol_deep_nmf"``); its
        entry's ``cost_model``, one of :data:`MODELS`, is what is estimated.
    beta : float or str
        β of the divergence (a name such as ``"kl"`` is accepted).
    max_iter : int
        Iterations (outer iterations for deep NMF, sweeps for pNMF).
    nnz : int, optional
        Stored entries when X is sparse; None for dense X.
    dtype : float32 or float64
    init_iter : int
        Multilayer iterations per layer before a deep fit.
    n_scales : int
        Scales of a pNMF fit.
    flops_per_second : float, optional
        Rate to use; by default :func:`measure_flops` on this machine (then entrywise
        steps are weighted by :func:`measure_entrywise_cost`, else by 10 flops).
    iteration_overhead : float, optional
        Seconds per iteration beyond the arithmetic; by default
        :func:`measure_iteration_overhead` when the rate is measured, else 0.

    Returns
    -------
    FitEstimate
    """
    family = FAMILIES[check_choice(model, "model", tuple(FAMILIES))]
    cost_model = check_choice(family.cost_model, "cost_model", MODELS)
    beta = check_beta(beta)
    max_iter = check_positive_int(max_iter, "max_iter")
    if len(shape) != 2:
        raise ValueError(f"shape must be (m, n), got {shape!r}")
    m, n = (check_positive_int(s, "shape") for s in shape)
    rank_list = [ranks] if np.isscalar(ranks) else list(ranks)
    if not rank_list:
        raise ValueError("ranks must hold at least one rank; pass an int or a list such as [10, 5]")
    rank_list = [check_positive_int(r, "ranks") for r in rank_list]
    if family.rank_keyword == "rank" and len(rank_list) != 1:
        raise ValueError(f"model={model!r} takes one rank, got {rank_list}; use model='deep_nmf' for several")
    measured = flops_per_second is None
    rate = measure_flops() if measured else float(flops_per_second)
    if not rate > 0:
        raise ValueError(f"flops_per_second must be positive, got {flops_per_second!r}")
    entrywise = measure_entrywise_cost() if measured else 10.0
    if iteration_overhead is None:
        iteration_overhead = measure_iteration_overhead() if measured else 0.0
    sparse = nnz is not None
    if sparse:
        nnz = check_positive_int(nnz, "nnz", minimum=0)
    itemsize = np.dtype(dtype).itemsize
    cells = float(nnz) if sparse else float(m) * n
    data_bytes = int(nnz * (itemsize + 4) + 4 * (m + 1)) if sparse else int(itemsize * m * n)
    r = rank_list[0]

    if cost_model == "deep_nmf":
        flops, work = 0.0, 0
        rows_in = (n, *rank_list[:-1])
        for cols, rank in zip(rows_in, rank_list):
            layer_cells = cells if cols == n else float(m) * cols
            per_iter = _nmf_iteration(m, cols, rank, layer_cells, beta, entrywise)
            flops += per_iter * (init_iter + max_iter)
            work += _nmf_memory(m, cols, rank, layer_cells, itemsize, beta, sparse and cols == n)
        iterations = len(rank_list) * (init_iter + max_iter)
    elif cost_model == "pnmf":
        per_scale = _nmf_iteration(m, n, r, cells, 2.0, entrywise) + 4.0 * r * n * _GRAPH_DEGREE
        flops = per_scale * _PNMF_INNER * n_scales * max_iter
        iterations = _PNMF_INNER * n_scales * max_iter
        graph = int((itemsize + 4) * n * _GRAPH_DEGREE * 2)
        work = _nmf_memory(m, n, r, cells, itemsize, 2.0, sparse) + itemsize * (m + n) * r * n_scales + graph
    else:
        per_iter = _nmf_iteration(m, n, r, cells, beta, entrywise)
        work = _nmf_memory(m, n, r, cells, itemsize, beta, sparse)
        iterations = max_iter
        if cost_model == "gnmf":
            per_iter += 4.0 * r * n * _GRAPH_DEGREE
            work += int((itemsize + 4) * n * _GRAPH_DEGREE * 2)
        flops = per_iter * max_iter

    return FitEstimate(
        memory_bytes=int(data_bytes + work),
        data_bytes=data_bytes,
        flops=float(flops),
        seconds=float(flops / rate + iterations * iteration_overhead),
        flops_per_second=float(rate),
    )


def estimate_params(
    family: str,
    shape: tuple[int, int],
    params: Mapping[str, Any],
    *,
    nnz: int | None = None,
    dtype: type | np.dtype = np.float64,
) -> FitEstimate:
    """:func:`estimate_fit` of a family run with the keyword arguments of a user interface.

    Parameters
    ----------
    family : str
        A name of :data:`nmfcore.models.FAMILIES`.
    shape : (m, n)
        Shape of X.
    params : mapping
        The fit's keyword arguments: the entry's ``rank`` or ``ranks``, ``max_iter``, and
        when the family has them ``beta``, ``init_iter`` and ``n_scales``.
    nnz : int, optional
        Stored entries of a sparse X that the fit keeps sparse; None for dense X.
    dtype : float32 or float64

    Returns
    -------
    FitEstimate
    """
    entry = get(family)
    return estimate_fit(
        shape, params[entry.rank_keyword], model=entry.name, beta=params.get("beta", 2.0),
        max_iter=params["max_iter"], nnz=nnz, dtype=dtype, init_iter=params.get("init_iter") or 1,
        n_scales=params.get("n_scales", 1),
    )
