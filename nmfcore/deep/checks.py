"""Argument checks shared by :func:`~nmfcore.deep.deep_nmf` and :func:`~nmfcore.deep.multilayer_nmf`."""

from __future__ import annotations

import numbers
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from nmfcore.utils.validation import check_beta, check_matrix

BETAS = (1.0, 1.5, 2.0)
CONSTRAINTS = ("rows", "cols")
MULTILAYER_CONSTRAINTS = ("rows", "cols", "w_cols")

DeepCallback = Callable[[int, list, list, float], Any]
"""``callback(iteration, W_list, H_list, loss)``; returning False stops the fit."""


def _check_ranks(ranks: Any, shape: tuple[int, int]) -> list[int]:
    try:
        values = list(ranks)
    except TypeError:
        raise ValueError(f"ranks must be a list of integers such as [80, 40, 20], got {ranks!r}") from None
    if not values or not all(isinstance(r, numbers.Integral) and not isinstance(r, bool) for r in values):
        raise ValueError(f"ranks must be a non-empty list of integers such as [80, 40, 20], got {ranks!r}")
    values = [int(r) for r in values]
    if values[0] < 1 or values[0] > min(shape):
        raise ValueError(
            f"ranks[0]={values[0]} is out of range: it must be between 1 and min(m, n) = "
            f"{min(shape)} for X of shape {shape}"
        )
    if any(b >= a for a, b in zip(values, values[1:])) or values[-1] < 1:
        raise ValueError(
            f"ranks must be strictly decreasing positive integers (each layer merges the "
            f"factors of the one before), got {values}"
        )
    return values


def _check_deep_beta(beta: Any) -> float:
    value = check_beta(beta)
    if value not in BETAS:
        raise ValueError(
            f"beta={beta!r} is not supported by deep NMF; use 1 (Kullback-Leibler), 1.5 or 2 "
            "(Frobenius), the values for which the paper derives MM updates"
        )
    return value


def _check_weights(values: Any, name: str, n_layers: int, *, positive: bool = True) -> list[float]:
    try:
        weights = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of {n_layers} numbers, one per layer, got {values!r}") from None
    if len(weights) != n_layers:
        raise ValueError(f"{name} needs one value per layer ({n_layers}), got {len(weights)}")
    if not all(np.isfinite(w) and (w > 0 if positive else w >= 0) for w in weights):
        raise ValueError(f"{name} must hold finite numbers > 0, got {weights}")
    return weights


def _check_callback(callback: Any) -> None:
    if callback is not None and not callable(callback):
        raise ValueError("callback must be callable as callback(iteration, W_list, H_list, loss)")


def _prepare(X: Any, dtype: Any) -> np.ndarray:
    """X as a dense float array of the working precision; sparse and all-zero X are refused."""
    if sp.issparse(X):
        raise ValueError(
            "deep_nmf needs a dense X: its layers after the first are dense anyway and the "
            "first layer's updates use every entry of W_1 H_1; pass X.toarray() if it fits "
            "in memory, or use nmfcore.nmf for sparse data"
        )
    X = check_matrix(X, dtype=dtype)
    if not X.any():
        raise ValueError("X is all zeros; there is nothing to factorise")
    return X
