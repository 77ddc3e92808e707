"""Judging factorisations: choosing a rank, measuring stability, comparing runs.

- :func:`rank_scan` fits several seeds at each candidate rank and reports the
  error, explained variance, sparsity and two stability measures:
  the cophenetic correlation of the consensus matrix (Brunet et al., PNAS 2004)
  and the silhouette of the basis vectors of all runs clustered together (the
  consensus step of cNMF, Kotliar et al., eLife 2019).
- :func:`compare_results` aligns the factors of two results (Hungarian matching
  by angle) and reports the angle and scale between matched factors.
- :func:`score_result` measures a result against a ground-truth basis (spectral
  angle distance) and against known labels (ARI, NMI, purity, accuracy).
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.utils.validation import (
    check_matrix,
    check_positive_int,
    check_random_state,
    check_rank,
)
from nmfcore.judge.metrics import cluster_scores, hoyer_sparsity, match_factors, spectral_angle_distance
from nmfcore.results import Layer

STABILITY_MEASURES = ("cophenetic", "silhouette")


# ---------------------------------------------------------------------------
# stability measures
# ---------------------------------------------------------------------------


def consensus_matrix(H_runs: Sequence[np.ndarray]) -> np.ndarray:
    """Consensus matrix of several factorisations (Brunet et al. 2004).

    Each run assigns item j to the factor with the largest coefficient,
    ``argmax_k H[k, j]``; entry (i, j) of the consensus matrix is the fraction of
    runs that put items i and j in the same factor.

    Parameters
    ----------
    H_runs : sequence of ndarray, each of shape (r, n)
        Coefficients of the runs (the same n items; r may differ).

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric, entries in [0, 1], ones on the diagonal.
    """
    if len(H_runs) == 0:
        raise ValueError("H_runs is empty; pass the coefficient matrices of at least one run")
    n = np.asarray(H_runs[0]).shape[1]
    consensus = np.zeros((n, n))
    for H in H_runs:
        H = np.asarray(H)
        if H.ndim != 2 or H.shape[1] != n:
            raise ValueError(
                f"every H in H_runs must have shape (r, {n}); got {H.shape}: the runs must "
                "factorise the same items"
            )
        labels = H.argmax(axis=0)
        consensus += labels[:, None] == labels[None, :]
    return consensus / len(H_runs)


def cophenetic_correlation(consensus: np.ndarray) -> float:
    """Cophenetic correlation of a consensus matrix (Brunet et al. 2004).

    The Pearson correlation between the distances ``1 - C`` and the cophenetic
    distances of the average-linkage tree built on them. It is 1 when every run
    agrees (C holds only 0 and 1) and falls as the runs disagree.

    Parameters
    ----------
    consensus : ndarray, shape (n, n)

    Returns
    -------
    float
        In [-1, 1]; NaN when every pair has the same consensus (nothing to rank,
        e.g. one factor or one item).
    """
    from scipy.cluster.hierarchy import cophenet, linkage
    from scipy.spatial.distance import squareform

    C = np.asarray(consensus, dtype=float)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"consensus must be a square matrix, got shape {C.shape}")
    if C.shape[0] < 3:
        return float("nan")
    distances = squareform(1.0 - C, checks=False)
    if np.ptp(distances) == 0:
        return float("nan")
    return float(cophenet(linkage(distances, method="average"), distances)[0])


def factor_silhouette(
    W_runs: Sequence[np.ndarray], *, random_state: None | int | np.random.Generator = 0
) -> float:
    """Stability of the basis across runs, as in the consensus step of cNMF.

    The columns of every run's W are scaled to unit ℓ2 norm, pooled, and split
    into r clusters by k-means (r = rank of the runs); the score is the mean
    silhouette of that clustering. Stable factors come back at every seed and
    form tight, separate clusters (silhouette near 1).

    Parameters
    ----------
    W_runs : sequence of ndarray, each of shape (m, r)
        Basis of each run, same m and r.
    random_state : None, int or Generator
        Seed of k-means.

    Returns
    -------
    float
        Mean silhouette in [-1, 1]; NaN for r = 1.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    if len(W_runs) < 2:
        raise ValueError(f"W_runs needs at least 2 runs to measure stability, got {len(W_runs)}")
    shapes = {np.shape(W) for W in W_runs}
    if len(shapes) != 1:
        raise ValueError(f"every W in W_runs must have the same shape, got {sorted(shapes)}")
    rank = np.shape(W_runs[0])[1]
    if rank < 2:
        return float("nan")
    pooled = np.hstack([np.asarray(W, dtype=float) for W in W_runs]).T
    pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.finfo(float).tiny)
    seed = int(check_random_state(random_state).integers(0, 2**31 - 1))
    labels = KMeans(n_clusters=rank, n_init=10, random_state=seed).fit_predict(pooled)
    if np.unique(labels).size < 2:
        return float("nan")
    return float(silhouette_score(pooled, labels, metric="euclidean"))


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
    residual2 = _residual2(X, W, H)
    mean_item = np.asarray(X.mean(axis=1)).ravel()
    total = _norm2(X) - X.shape[1] * mean_item @ mean_item
    if total <= 0:
        return 1.0 if residual2 <= 0 else float("-inf")
    return float(1.0 - residual2 / total)


def _norm2(X: Any) -> float:
    return float(X.multiply(X).sum()) if sp.issparse(X) else float(np.einsum("ij,ij->", X, X))


def _residual2(X: Any, W: np.ndarray, H: np.ndarray) -> float:
    if sp.issparse(X):
        cross = float(np.sum(np.asarray(X.T @ W).T * H))
        return max(_norm2(X) - 2.0 * cross + float(np.sum((W.T @ W) * (H @ H.T))), 0.0)
    return float(np.sum((X - W @ H) ** 2))


# ---------------------------------------------------------------------------
# rank scan
# ---------------------------------------------------------------------------


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
    model : "nmf" or callable
        ``"nmf"`` fits :func:`nmfcore.nmf` from a random start (a deterministic
        start such as NNDSVD would make every run identical and the stability
        meaningless). A callable ``model(X, rank, random_state=seed)`` must
        return a result whose ``layers()[0]`` holds the factors to judge.
    beta : float or str
        β-divergence for ``"nmf"``.
    max_iter, tol : int, float
        Iteration limit and tolerance of each fit (``"nmf"``).
    random_state : None, int or Generator
        Seeds of the runs are drawn from it.
    max_items : int
        The consensus matrix is n x n; above this many items it is built on a
        random subset of ``max_items`` items.
    callback : callable, optional
        ``callback(done, total)`` after each fit; returning False stops the scan
        after the current rank's measures are recorded for the ranks completed.
    **model_options
        Passed on to :func:`nmfcore.nmf` (e.g. ``solver``, ``alpha_W``).

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
        errors = np.array([_relative_error(X, W, H) for _, W, H in runs])
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
    if model != "nmf":
        raise ValueError(
            f"model={model!r} is not supported; use 'nmf' or pass a function "
            "model(X, rank, random_state=seed) that returns a result with .layers()"
        )
    if "init" in options:
        raise ValueError(
            "init cannot be chosen in rank_scan: every run starts at random so that the "
            "runs differ and their agreement measures stability"
        )
    from nmfcore import nmf

    def fit(X: Any, rank: int, seed: int) -> Any:
        return nmf(X, rank, beta=beta, init="random", max_iter=max_iter, tol=tol,
                   random_state=seed, **options)

    return fit


def _relative_error(X: Any, W: np.ndarray, H: np.ndarray) -> float:
    norm2 = _norm2(X)
    return float(np.sqrt(_residual2(X, W, H) / norm2)) if norm2 > 0 else 0.0


# ---------------------------------------------------------------------------
# comparing results
# ---------------------------------------------------------------------------


@dataclass
class Alignment:
    """Matching between the factors of two results (see :func:`compare_results`).

    Attributes
    ----------
    pairs : ndarray of int, shape (p, 2)
        Row ``(k, j)``: factor k of A is matched with factor j of B;
        p = min(r_A, r_B).
    angles_deg : ndarray, shape (p,)
        Angle between the matched basis vectors, in degrees.
    scales : ndarray, shape (p,)
        Least-squares scale s with ``W_B[:, j] ≈ s W_A[:, k]``.
    H_correlation : ndarray, shape (p,)
        Pearson correlation of the matched rows of H (NaN when the results do
        not describe the same items, or a row is constant).
    names : tuple of str
        Names of the two layers compared.
    n_factors : tuple of int
        Ranks (r_A, r_B).
    """

    pairs: np.ndarray
    angles_deg: np.ndarray
    scales: np.ndarray
    H_correlation: np.ndarray
    names: tuple[str, str]
    n_factors: tuple[int, int]

    @property
    def mean_angle_deg(self) -> float:
        """Mean angle over the matched pairs."""
        return float(self.angles_deg.mean())

    @property
    def perm(self) -> np.ndarray:
        """For each factor of A, the index of its match in B (-1 when unmatched)."""
        perm = np.full(self.n_factors[0], -1)
        perm[self.pairs[:, 0]] = self.pairs[:, 1]
        return perm


def compare_results(a: Any, b: Any, *, layer_a: int = 0, layer_b: int = 0) -> Alignment:
    """Align the factors of two results by Hungarian matching of their basis vectors.

    Matching by angle ignores the scaling and order of the factors, which NMF
    leaves free (W H = (W D P)(Pᵀ D⁻¹ H) for any permutation P and positive
    diagonal D), so runs, seeds and models can be compared side by side.

    Parameters
    ----------
    a, b : result, Layer, (W, H) tuple or ndarray W of shape (m, r)
        Anything with ``.layers()`` (NMF, deep, persistent results), one
        :class:`~nmfcore.results.Layer`, a pair ``(W, H)``, or a basis alone.
        The bases must share their m rows.
    layer_a, layer_b : int
        Which entry of ``layers()`` to compare (deep layers, pNMF scales).

    Returns
    -------
    Alignment
    """
    name_a, Wa, Ha = _as_layer(a, layer_a, "a")
    name_b, Wb, Hb = _as_layer(b, layer_b, "b")
    if Wa.shape[0] != Wb.shape[0]:
        raise ValueError(
            f"a and b must have bases with the same number of rows (features); got "
            f"{Wa.shape[0]} and {Wb.shape[0]}"
        )
    if Wb.shape[1] >= Wa.shape[1]:
        perm, angles = match_factors(Wa, Wb)
        pairs = np.column_stack([np.arange(Wa.shape[1]), perm])
    else:
        perm, angles = match_factors(Wb, Wa)
        order = np.argsort(perm)
        pairs = np.column_stack([perm[order], order])
        angles = angles[order]
    cols_a, cols_b = Wa[:, pairs[:, 0]], Wb[:, pairs[:, 1]]
    norms2 = np.maximum(np.einsum("ij,ij->j", cols_a, cols_a), np.finfo(float).tiny)
    scales = np.einsum("ij,ij->j", cols_a, cols_b) / norms2
    correlation = np.full(len(pairs), np.nan)
    if Ha is not None and Hb is not None and Ha.shape[1] == Hb.shape[1]:
        rows_a, rows_b = Ha[pairs[:, 0]], Hb[pairs[:, 1]]
        ca = rows_a - rows_a.mean(axis=1, keepdims=True)
        cb = rows_b - rows_b.mean(axis=1, keepdims=True)
        denominator = np.linalg.norm(ca, axis=1) * np.linalg.norm(cb, axis=1)
        np.divide(np.einsum("ij,ij->i", ca, cb), denominator, out=correlation, where=denominator > 0)
    return Alignment(
        pairs, np.asarray(angles, dtype=float), scales, correlation, (name_a, name_b),
        (Wa.shape[1], Wb.shape[1]),
    )


def _as_layer(obj: Any, index: int, name: str) -> tuple[str, np.ndarray, np.ndarray | None]:
    if hasattr(obj, "layers"):
        layers = obj.layers()
        if not -len(layers) <= index < len(layers):
            raise ValueError(
                f"layer_{name}={index} is out of range; {name} has {len(layers)} layer(s)"
            )
        obj = layers[index]
    if isinstance(obj, Layer):
        return obj.name, np.asarray(obj.W, dtype=float), np.asarray(obj.H, dtype=float)
    if isinstance(obj, tuple) and len(obj) == 2:
        W, H = (np.asarray(part, dtype=float) for part in obj)
        return name, W, H
    W = np.asarray(obj, dtype=float)
    if W.ndim != 2:
        raise ValueError(
            f"{name} must be a result with .layers(), a Layer, a (W, H) pair or a 2-D basis W; "
            f"got an array of shape {W.shape}"
        )
    return name, W, None


def score_result(
    result: Any,
    *,
    W_true: np.ndarray | None = None,
    labels: Sequence[Any] | None = None,
    random_state: int | None = 0,
) -> dict[str, dict[str, Any]]:
    """Score every layer of a result against a ground truth and/or known labels.

    Parameters
    ----------
    result : object with ``layers()``
    W_true : ndarray, shape (m, r_true), optional
        Ground-truth basis (e.g. endmember spectra); layers with at least r_true
        factors get the spectral angle distance (degrees, after matching).
    labels : array-like, shape (n,), optional
        Known class of each item; each layer's H is clustered by k-means and
        scored with ARI, NMI, purity and accuracy.
    random_state : int or None
        Seed of k-means.

    Returns
    -------
    dict
        Layer name -> ``{"sad_mean_deg", "sad_per_factor_deg"}`` and/or
        ``{"ari", "nmi", "purity", "accuracy"}``.
    """
    if not hasattr(result, "layers"):
        raise ValueError(f"result must offer .layers(), got {type(result).__name__}")
    if W_true is None and labels is None:
        raise ValueError("give W_true (a ground-truth basis) or labels (one per item) to score against")
    scores: dict[str, dict[str, Any]] = {}
    for layer in result.layers():
        entry: dict[str, Any] = {}
        if W_true is not None:
            W_true = np.asarray(W_true, dtype=float)
            if W_true.shape[0] != layer.W.shape[0]:
                raise ValueError(
                    f"W_true has {W_true.shape[0]} rows but the layer's basis has "
                    f"{layer.W.shape[0]}; they must describe the same features"
                )
            if layer.W.shape[1] >= W_true.shape[1]:
                mean, per_column, _ = spectral_angle_distance(layer.W, W_true)
                entry.update(sad_mean_deg=mean, sad_per_factor_deg=per_column)
        if labels is not None:
            entry.update(cluster_scores(layer.H, np.asarray(labels), random_state=random_state))
        scores[layer.name] = entry
    return scores
