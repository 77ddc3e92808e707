"""Result containers shared by the model families, and the protocol they follow.

Every result of every family is a :class:`FitResult`: it has :meth:`~FitResult.layers`,
a list of :class:`Layer` views (a name, a basis ``W`` of shape (m, r) and coefficients
``H`` of shape (r, n) on the data's items), so that views and exports treat one NMF, the
layers of a deep model and the scales of a persistent model alike; ``params``, everything
needed to rerun the fit; ``loss`` and ``times``, one entry per iteration; and ``stopped``.
Code that consumes results relies on this protocol, never on ``hasattr`` checks.

:func:`relative_error` is the one definition of ``||X - WH||_F / ||X||_F`` that every
family reports; :func:`residual_sums` gives its two squared norms to code that needs them
(e.g. explained variance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp


class Layer(NamedTuple):
    """One factor pair of a result, in the data's orientation.

    Attributes
    ----------
    name : str
        Human-readable label, e.g. ``"NMF"``, ``"layer 2"`` or ``"scale 3"``.
    W : ndarray, shape (m, r)
        Basis: one column per factor, in the feature space of X.
    H : ndarray, shape (r, n)
        Coefficients of the data's n items on that basis.
    """

    name: str
    W: np.ndarray
    H: np.ndarray


@runtime_checkable
class FitResult(Protocol):
    """What every fit returns, whatever its family.

    Attributes
    ----------
    params : dict
        Every argument needed to rerun the fit, with ``params["model"]`` naming the
        family's entry in :mod:`nmfcore.models`.
    loss : ndarray, shape (n_iter + 1,)
        Objective after initialisation (entry 0) and after each iteration.
    times : ndarray, shape (n_iter + 1,)
        Seconds since the start of the fit at which each ``loss`` entry was taken.
    stopped : bool
        True when the callback asked the fit to stop early.
    """

    params: dict[str, Any]
    loss: np.ndarray
    times: np.ndarray
    stopped: bool

    def layers(self) -> list[Layer]:
        """Factor pairs of the result, first (finest) to last."""
        ...


def relative_error_from_sums(residual2: float, norm2: float) -> float:
    """``sqrt(residual2 / norm2)``, the relative error from its two squared norms.

    Parameters
    ----------
    residual2 : float
        ``||X - WH||_F²`` (on the observed entries); negative rounding is clipped to 0.
    norm2 : float
        ``||X||_F²`` on the same entries.

    Returns
    -------
    float
        NaN when ``norm2`` is 0: an all-zero X has no relative error.
    """
    if norm2 <= 0:
        return float("nan")
    return float(np.sqrt(max(residual2, 0.0) / norm2))


def residual_sums(
    X: Any, W: np.ndarray, H: np.ndarray, mask: np.ndarray | None = None
) -> tuple[float, float]:
    """``(||X - WH||_F², ||X||_F²)`` over the observed entries, never densifying a sparse X.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
    mask : ndarray, shape (m, n), optional
        1 where X is observed, 0 where missing (dense X only); entries of X where
        the mask is 0 count in neither sum, even when they hold NaN.

    Returns
    -------
    residual2, norm2 : float
        The squared residual (sparse: from ``||X||² - 2<X, WH> + ||WH||²``, with
        negative rounding clipped to 0) and the squared norm of X.
    """
    if sp.issparse(X):
        if mask is not None:
            raise ValueError("mask is for a dense X; densify X (X.toarray()) to pass a mask")
        x_sq = float(X.multiply(X).sum())
        cross = float(np.vdot(np.asarray(X.T @ W).T, H))
        quad = float(np.vdot(W.T @ W, H @ H.T))
        return max(x_sq - 2 * cross + quad, 0.0), x_sq
    X = np.asarray(X)
    R = X - W @ H
    if mask is not None:
        observed = np.asarray(mask) > 0
        X = np.where(observed, X, 0.0)
        R = np.where(observed, R, 0.0)
    return float(np.vdot(R, R)), float(np.vdot(X, X))


def relative_error(X: Any, W: np.ndarray, H: np.ndarray, mask: np.ndarray | None = None) -> float:
    """``||X - WH||_F / ||X||_F`` over the observed entries, never densifying a sparse X.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
    mask : ndarray, shape (m, n), optional
        1 where X is observed, 0 where missing (dense X only).

    Returns
    -------
    float
        NaN for an all-zero X (see :func:`relative_error_from_sums`).
    """
    return relative_error_from_sums(*residual_sums(X, W, H, mask))


@dataclass
class NMFResult:
    """Outcome of :func:`nmfcore.nmf` (and of :func:`nmfcore.gnmf`).

    Attributes
    ----------
    W : ndarray, shape (m, r)
        Nonnegative basis.
    H : ndarray, shape (r, n)
        Nonnegative coefficients.
    loss : ndarray, shape (n_iter + 1,)
        Objective after initialisation (entry 0) and after each iteration.
    times : ndarray, shape (n_iter + 1,)
        Seconds since the start of the fit at which each ``loss`` entry was taken.
    n_iter : int
        Iterations performed.
    converged : bool
        True when the relative decrease of the loss fell below ``tol``.
    params : dict
        Every argument needed to rerun the fit (model name included).
    relative_error : float
        ``||X - WH||_F / ||X||_F`` on the observed entries.
    stopped : bool
        True when the callback asked the fit to stop early.
    """

    W: np.ndarray
    H: np.ndarray
    loss: np.ndarray
    times: np.ndarray
    n_iter: int
    converged: bool
    params: dict[str, Any]
    relative_error: float
    stopped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        """Number of factors r."""
        return int(self.W.shape[1])

    def layers(self) -> list[Layer]:
        """The single factor pair, as a one-element list of :class:`Layer`."""
        return [Layer(self.params.get("model", "nmf").upper(), self.W, self.H)]
