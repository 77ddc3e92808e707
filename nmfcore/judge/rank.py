"""Choosing a rank: fit several seeds at each candidate rank and measure each.

:func:`rank_scan` reports the error, explained variance, sparsity and two stability
measures (:mod:`nmfcore.judge.stability`) per rank; :func:`suggest_rank` picks the
most stable rank past the elbow of the error curve.
"""

from __future__ import annotations

import inspect
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nmfcore.judge.metrics import hoyer_sparsity
from nmfcore.judge.stability import consensus_matrix, cophenetic_correlation, factor_silhouette
from nmfcore.models import FAMILIES, get
from nmfcore.results import relative_error, residual_sums
from nmfcore.utils.validation import (
    check_matrix,
    check_positive_int,
    check_random_state,
    check_rank,
)


def explained_variance(X: Any, W: np.ndarray, H: np.ndarray) -> float:
    """Fraction of the variance of X around its mean item that W H reproduces.

    ``1 - ‖X − WH‖²_F / ‖X − x̄ 1ᵀ‖²_F`` with x̄ the mean column, the definition
    used for PCA, so the two are comparable. Sparse X is not densified.

    Parameters
    ----------
    X : array-like or sparse matrix, shape (m, n)
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)

    Returns
    -------
    float
        At most 1; it can be negative for a fit worse than the mean item.
    """
    X = check_matrix(X, "X", dtype=np.float64)
    W = np.asarray(W, dtype=float)
    H = np.asarray(H, dtype=float)
    if W.shape[0] != X.shape[0] or H.shape[1] != X.shape[1] or W.shape[1] != H.shape[0]:
        raise ValueError(
            f"W {W.shape} and H {H.shape} do not factorise X {X.shape}: W needs "
            f"{X.shape[0]} rows, H {X.shape[1]} columns, and W's columns must match H's rows"
        )
    residual2, norm2 = residual_sums(X, W, H)
    mean_item = np.asarray(X.mean(axis=1)).ravel()
    total = norm2 - X.shape[1] * mean_item @ mean_item
    if total <= 0:
        return 1.0 if residual2 <= 0 else float("-inf")
    return float(1.0 - residual2 / total)


@dataclass
class RankScan:
    """Outcome of :func:`rank_scan`, one entry per rank scanned.

    Attributes
    ----------
    ranks : ndarray of int, shape (k,)
    error : ndarray, shape (k,)
        Mean relative error ``‖X − WH‖_F / ‖X‖_F`` over the runs.
    error_std : ndarray, shape (k,)
        Its standard deviation over the runs.
    explained_variance : ndarray, shape (k,)
        Of the best run (see :func:`explained_variance`).
    sparsity_W, sparsity_H : ndarray, shape (k,)
        Mean Hoyer sparsity of the columns of W and of the rows of H (best run).
    cophenetic : ndarray, shape (k,)
        Cophenetic correlation of the consensus matrix (NaN for rank 1).
    silhouette : ndarray, shape (k,)
        Silhouette of the pooled basis vectors (NaN for rank 1).
    suggested : dict
        Suggested rank by ``"cophenetic"``, by ``"silhouette"``, and by their
        mean (``"combined"``), see :func:`suggest_rank`.
    best : dict
        Rank -> the run with the smallest relative error (a result object).
    seconds : ndarray, shape (k,)
        Time spent on each rank.
    params : dict
        The arguments of the scan.
    stopped : bool
        True when the callback stopped the scan; the arrays then hold the ranks done.
    """

    ranks: np.ndarray
    error: np.ndarray
    error_std: np.ndarray
    explained_variance: np.ndarray
    sparsity_W: np.ndarray
    sparsity_H: np.ndarray
    cophenetic: np.ndarray
    silhouette: np.ndarray
    suggested: dict[str, int | None]
    best: dict[int, Any]
    seconds: np.ndarray
    params: dict[str, Any]
    stopped: bool = False
    consensus: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def suggested_rank(self) -> int | None:
        """The rank suggested by both stability measures together."""
        return self.suggested["combined"]

    def table(self) -> list[dict[str, float]]:
        """One row per rank, for display: rank, error, explained variance, sparsity, stability."""
        return [
            {
                "rank": int(r),
                "relative error": float(self.error[i]),
                "explained variance": float(self.explained_variance[i]),
                "Hoyer sparsity W": float(self.sparsity_W[i]),
                "Hoyer sparsity H": float(self.sparsity_H[i]),
                "cophenetic": float(self.cophenetic[i]),
                "silhouette": float(self.silhouette[i]),
            }
            for i, r in enumerate(self.ranks)
        ]


def suggest_rank(
    ranks: Sequence[int],
    stability: Sequence[float],
    error: Sequence[float],
    *,
    error_fraction: float = 0.8,
    tolerance: float = 0.01,
) -> int | None:
    """Most stable rank among those past the elbow of the error curve.

    Stability alone is ambiguous: too small a rank is often perfectly stable
    (the same clusters merge every time), and the cophenetic correlation of a
    block-structured consensus stays near 1 above the true rank. So, as cNMF
    advises (high stability *and* low error), the candidates are the ranks that
    achieve at least ``error_fraction`` of the error decrease seen over the
    scan; among them the most stable wins, and among near-ties (within
    ``tolerance``) the smallest, the most parsimonious.

    Parameters
    ----------
    ranks : sequence of int, shape (k,), increasing
    stability : sequence of float, shape (k,)
        NaN entries (e.g. rank 1) are ignored.
    error : sequence of float, shape (k,)
        Relative error of each rank.
    error_fraction : float in [0, 1]
    tolerance : float

    Returns
    -------
    int or None
        None when no candidate has a finite stability.
    """
    ranks = np.asarray(ranks)
    values = np.asarray(stability, dtype=float)
    error = np.asarray(error, dtype=float)
    if not ranks.shape == values.shape == error.shape:
        raise ValueError(
            f"ranks, stability and error must have the same length, got {ranks.size}, "
            f"{values.size} and {error.size}"
        )
    if not 0.0 <= error_fraction <= 1.0:
        raise ValueError(f"error_fraction must be between 0 and 1, got {error_fraction!r}")
    if ranks.size == 0:
        return None
    reached = error <= error.max() - error_fraction * (error.max() - error.min())
    keep = reached & np.isfinite(values)
    if not keep.any():
        return None
    ranks, values = ranks[keep], values[keep]
    return int(ranks[np.flatnonzero(values >= values.max() - tolerance)[0]])


def rank_scan(
    X: Any,
    ranks: Sequence[int],
    *,
    n_runs: int = 10,
    model: str | Callable[..., Any] = "nmf",
    beta: float | str = 2,
    max_iter: int = 200,
    tol: float = 1e-4,
    random_state: None | int | np.random.Generator = 0,
    max_items: int = 1000,
    callback: Callable[[int, int], bool | None] | None = None,
    **model_options: Any,
) -> RankScan:
    """Fit ``n_runs`` seeds at each rank and measure error, sparsity and stability.

    Parameters
    ----------
    X : array-like or sparse matrix, shape (m, n)
        Nonnegative data, one item per column.
    ranks : sequence of int
        Candidate ranks, each between 1 and min(m, n); sorted and deduplicated.
    n_runs : int
        Seeds per rank (at least 2; 10 or more for a reliable consensus).
    model : str or callable
        A family of :data:`nmfcore.models.FAMILIES` fitted at one rank (``"nmf"``,
        ``"gnmf"``, ``"pnmf"``), run from a random start (a deterministic start
        such as NNDSVD would make every run identical and the stability
        meaningless). A callable ``model(X, rank, random_state=seed)`` must
        return a :class:`~nmfcore.results.FitResult` whose ``layers()[0]`` holds
        the factors to judge.
    beta : float or str
        β-divergence, for families that take one (``"nmf"``).
    max_iter, tol : int, float
        Iteration limit and tolerance of each fit (``tol`` for families that take one).
    random_state : None, int or Generator
        Seeds of the runs are drawn from it.
    max_items : int
        The consensus matrix is n x n; above this many items it is built on a
        random subset of ``max_items`` items.
    callback : callable, optional
        ``callback(done, total)`` after each fit; returning False stops the scan
        after the current rank's measures are recorded for the ranks completed.
    **model_options
        Passed on to the family's fit (e.g. ``solver``, ``alpha_W`` for ``"nmf"``).

    Returns
    -------
    RankScan
    """
    X = check_matrix(X, "X")
    ranks = _check_ranks(ranks, X.shape)
    n_runs = check_positive_int(n_runs, "n_runs", minimum=2)
    max_items = check_positive_int(max_items, "max_items", minimum=3)
    fit = _fitter(model, beta, max_iter, tol, model_options)
    rng = check_random_state(random_state)
    seeds = rng.integers(0, 2**31 - 1, size=(len(ranks), n_runs))
    items = np.arange(X.shape[1])
    if items.size > max_items:
        items = np.sort(rng.choice(items.size, size=max_items, replace=False))

    rows: dict[str, list[float]] = {key: [] for key in (
        "error", "error_std", "ev", "sW", "sH", "coph", "sil", "seconds")}
    best: dict[int, Any] = {}
    consensus: dict[int, np.ndarray] = {}
    done_ranks: list[int] = []
    stopped = False
    total = len(ranks) * n_runs
    for i, rank in enumerate(ranks):
        start = time.perf_counter()
        runs = []
        for seed in seeds[i]:
            result = fit(X, rank, int(seed))
            layer = result.layers()[0]
            runs.append((result, np.asarray(layer.W), np.asarray(layer.H)))
            if callback is not None and callback(i * n_runs + len(runs), total) is False:
                stopped = True
                break
        if len(runs) < 2:
            break
        errors = np.array([relative_error(X, W, H) for _, W, H in runs])
        winner, W, H = runs[int(np.argmin(errors))]
        best[rank] = winner
        consensus[rank] = consensus_matrix([H[:, items] for _, _, H in runs])
        rows["error"].append(errors.mean())
        rows["error_std"].append(errors.std())
        rows["ev"].append(explained_variance(X, W, H))
        rows["sW"].append(float(hoyer_sparsity(W, axis=0).mean()) if W.shape[0] > 1 else 0.0)
        rows["sH"].append(float(hoyer_sparsity(H, axis=1).mean()) if H.shape[1] > 1 else 0.0)
        rows["coph"].append(cophenetic_correlation(consensus[rank]))
        rows["sil"].append(factor_silhouette([W for _, W, _ in runs], random_state=int(seeds[i, 0])))
        rows["seconds"].append(time.perf_counter() - start)
        done_ranks.append(rank)
        if stopped:
            break

    cophenetic = np.asarray(rows["coph"])
    silhouette = np.asarray(rows["sil"])
    both = np.vstack([cophenetic, silhouette])
    finite = np.isfinite(both)
    combined = np.where(finite, both, 0.0).sum(axis=0) / np.maximum(finite.sum(axis=0), 1)
    combined[~finite.any(axis=0)] = np.nan
    return RankScan(
        ranks=np.asarray(done_ranks, dtype=int),
        error=np.asarray(rows["error"]),
        error_std=np.asarray(rows["error_std"]),
        explained_variance=np.asarray(rows["ev"]),
        sparsity_W=np.asarray(rows["sW"]),
        sparsity_H=np.asarray(rows["sH"]),
        cophenetic=cophenetic,
        silhouette=silhouette,
        suggested={
            "cophenetic": suggest_rank(done_ranks, cophenetic, rows["error"]),
            "silhouette": suggest_rank(done_ranks, silhouette, rows["error"]),
            "combined": suggest_rank(done_ranks, combined, rows["error"]),
        },
        best=best,
        seconds=np.asarray(rows["seconds"]),
        params={
            "model": model if isinstance(model, str) else getattr(model, "__name__", "custom"),
            "ranks": [int(r) for r in ranks],
            "n_runs": n_runs,
            "beta": beta,
            "max_iter": max_iter,
            "tol": tol,
            "random_state": random_state if isinstance(random_state, numbers.Integral) else None,
            "max_items": max_items,
            **model_options,
        },
        stopped=stopped,
        consensus=consensus,
    )


def _check_ranks(ranks: Sequence[int], shape: tuple[int, int]) -> list[int]:
    if isinstance(ranks, (numbers.Integral, str)) or not hasattr(ranks, "__iter__"):
        raise ValueError(f"ranks must be a sequence of integers such as range(2, 8), got {ranks!r}")
    checked = sorted({check_rank(r, shape, name="each rank in ranks") for r in ranks})
    if not checked:
        raise ValueError("ranks is empty; give at least one rank, e.g. ranks=range(2, 8)")
    return checked


def _fitter(
    model: str | Callable[..., Any],
    beta: float | str,
    max_iter: int,
    tol: float,
    options: dict[str, Any],
) -> Callable[[Any, int, int], Any]:
    if callable(model):
        return lambda X, rank, seed: model(X, rank, random_state=seed)
    scannable = sorted(name for name, family in FAMILIES.items() if family.rank_keyword == "rank")
    if model not in scannable:
        raise ValueError(
            f"model={model!r} is not supported; use one of {scannable} (families fitted at one "
            "rank) or pass a function model(X, rank, random_state=seed) that returns an nmfcore "
            "result"
        )
    if "init" in options:
        raise ValueError(
            "init cannot be chosen in rank_scan: every run starts at random so that the "
            "runs differ and their agreement measures stability"
        )
    family = get(model)
    accepted = inspect.signature(family.fit).parameters
    shared = {"beta": beta, "tol": tol, "init": "random"}
    keywords = {key: value for key, value in shared.items() if key in accepted}
    keywords.update(family.fixed, max_iter=max_iter, **options)

    def fit(X: Any, rank: int, seed: int) -> Any:
        return family.fit(X, rank, random_state=seed, **keywords)

    return fit
