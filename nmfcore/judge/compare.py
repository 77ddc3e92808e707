"""Comparing factorisations with each other and with a ground truth.

- :func:`compare_results` aligns the factors of two results (Hungarian matching
  by angle) and reports the angle and scale between matched factors.
- :func:`score_result` measures a result against a ground-truth basis (spectral
  angle distance) and against known labels (ARI, NMI, purity, accuracy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nmfcore.judge.metrics import cluster_scores, match_factors, spectral_angle_distance
from nmfcore.results import FitResult, Layer


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
    a, b : FitResult, Layer, (W, H) tuple or ndarray W of shape (m, r)
        A result of any family (NMF, deep, persistent), one
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
    if isinstance(obj, FitResult):
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
    try:
        W = np.asarray(obj, dtype=float)
    except (TypeError, ValueError):
        W = None
    if W is None or W.ndim != 2:
        found = f"an array of shape {W.shape}" if W is not None else f"a {type(obj).__name__}"
        raise ValueError(
            f"{name} must be an nmfcore result, a Layer, a (W, H) pair or a 2-D basis W; got {found}"
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
    result : FitResult
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
    if not isinstance(result, FitResult):
        raise ValueError(f"result must be an nmfcore result (a FitResult), got {type(result).__name__}")
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
