"""The result of a deep or multilayer NMF fit: its layers, coefficients and merge tree."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nmfcore.results import Layer


@dataclass
class DeepNMFResult:
    """Outcome of :func:`~nmfcore.deep.deep_nmf` or :func:`~nmfcore.deep.multilayer_nmf`.

    Follows the :class:`nmfcore.results.FitResult` protocol.

    Attributes
    ----------
    W : list of ndarray
        ``W[l-1]`` is the basis W_l of layer l, shape (m, r_l).
    H : list of ndarray
        ``H[l-1]`` is H_l, shape (r_l, r_{l−1}) with r_0 = n.
    loss : ndarray, shape (n_iter + 1,)
        Total objective ``Σ_l λ_l D_l`` (plus ``Σ_l α_l logdet(W_lᵀW_l + δI)`` for
        minimum volume) after the initialisation (entry 0) and each iteration.
        For :func:`~nmfcore.deep.multilayer_nmf`, the unweighted sum of the layer errors.
    layer_errors : ndarray, shape (n_iter + 1, L)
        D_β(W_{l−1} | W_l H_l) of each layer, unweighted, in the data's units (the
        quantity plotted in the paper's figures).
    times : ndarray, shape (n_iter + 1,)
        Seconds since the start of the fit at which each ``loss`` entry was taken.
    lambdas : ndarray, shape (L,)
        Weights λ_l of the layers.
    n_iter : int
        Deep iterations performed (0 for multilayer NMF).
    converged : bool
        True when the relative decrease of ``loss`` fell below ``tol``.
    params : dict
        ``params["model"]`` is "deep_nmf" or "multilayer_nmf"; the other entries
        are the arguments that replay the run.
    stopped : bool
        True when the callback asked the fit to stop.
    alphas : ndarray of shape (L,) or None
        Weights α_l of the logdet terms (minimum volume only).
    init : DeepNMFResult or None
        The multilayer NMF the deep iterations started from.
    extra : dict
        Diagnostics, e.g. ``"admm_rejected"`` (min-vol W steps kept at their
        previous value because the ADMM had not decreased the objective).
    """

    W: list[np.ndarray]
    H: list[np.ndarray]
    loss: np.ndarray
    layer_errors: np.ndarray
    times: np.ndarray
    lambdas: np.ndarray
    n_iter: int
    converged: bool
    params: dict[str, Any]
    stopped: bool = False
    alphas: np.ndarray | None = None
    init: DeepNMFResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_layers(self) -> int:
        """Number of layers L."""
        return len(self.W)

    def _check_layer(self, layer: int, first: int = 1) -> int:
        if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) or not (
            first <= layer <= self.n_layers
        ):
            raise ValueError(
                f"layer must be an integer from {first} to {self.n_layers} (layers are "
                f"numbered from 1 as in the paper), got {layer!r}"
            )
        return int(layer)

    def basis(self, layer: int) -> np.ndarray:
        """W_l, shape (m, r_l), for the 1-based ``layer`` l."""
        return self.W[self._check_layer(layer) - 1]

    def coefficients(self, layer: int) -> np.ndarray:
        """H_l H_{l−1} … H_1, shape (r_l, n): layer l's coefficients on the data's items."""
        layer = self._check_layer(layer)
        product = self.H[0]
        for H in self.H[1:layer]:
            product = H @ product
        return product

    def layers(self) -> list[Layer]:
        """``[Layer("layer l", W_l, H_l … H_1) for l = 1..L]``."""
        return [
            Layer(f"layer {l}", self.basis(l), self.coefficients(l)) for l in range(1, self.n_layers + 1)
        ]

    def merge_shares(self, layer: int) -> np.ndarray:
        """Share of each layer-(l−1) factor carried by each layer-l factor, shape (r_l, r_{l−1}).

        Entry (k, j) is the part of ``W_l H_l[:, j]`` (the model of factor j of layer
        l − 1) that comes from factor k of layer l: H_l with each factor put on the
        same scale (rows times the column sums of W_l), then each column divided by
        its sum. Columns sum to one.
        """
        layer = self._check_layer(layer, first=2)
        weighted = self.W[layer - 1].sum(axis=0)[:, None] * self.H[layer - 1]
        return weighted / np.maximum(weighted.sum(axis=0, keepdims=True), np.finfo(weighted.dtype).tiny)

    def tree(self) -> dict[int, list[list[int]]]:
        """The merge hierarchy: ``tree()[l][k]`` lists the layer-(l−1) factors merged into factor k of layer l.

        Layers are numbered from 2 to L (1-based, as in the paper); factors are
        0-based column indices. Each layer-(l−1) factor goes to the layer-l factor
        with its largest :meth:`merge_shares` entry, and each list is sorted by
        decreasing share.
        """
        tree: dict[int, list[list[int]]] = {}
        for layer in range(2, self.n_layers + 1):
            shares = self.merge_shares(layer)
            parent = shares.argmax(axis=0)
            children = []
            for k in range(shares.shape[0]):
                members = np.flatnonzero(parent == k)
                children.append([int(j) for j in members[np.argsort(-shares[k, members], kind="stable")]])
            tree[layer] = children
        return tree
