"""Result containers shared by the model families.

Every result exposes :meth:`layers`, a list of :class:`Layer` views (a name, a
basis ``W`` of shape (m, r) and coefficients ``H`` of shape (r, n) on the data's
items), so that views and exports treat one NMF, the layers of a deep model and
the scales of a persistent model alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np


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
