"""Deep β-NMF: X ≈ W_1 H_1, W_1 ≈ W_2 H_2, …, W_{L−1} ≈ W_L H_L.

Leplat, Hien, Onwunta & Gillis, *Deep nonnegative matrix factorization with
β-divergences*, Neural Computation 2024. The model minimises the layer-centric
loss ``Σ_l λ_l D_β(W_{l−1} | W_l H_l)`` (W_0 = X) with every row (or column)
of every H_l summing to one, by block majorisation–minimisation started from
multilayer NMF. The minimum-volume variant (β = 1) adds
``Σ_l α_l logdet(W_lᵀ W_l + δ I)`` and makes the columns of every W_l sum to one
instead.

Layer l has basis W_l (m x r_l) and coefficients H_l H_{l−1} … H_1 (r_l x n) on
the data's items: each layer is a coarser factorisation of X whose factors merge
those of the layer before.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from scipy.special import xlogy

from nmfcore.deep import updates as upd
from nmfcore.utils.validation import (
    check_beta,
    check_choice,
    check_matrix,
    check_nonnegative_float,
    check_positive_int,
)
from nmfcore.classic.fit import nmf
from nmfcore.classic.divergence import elementwise_divergence
from nmfcore.results import Layer

BETAS = (1.0, 1.5, 2.0)
CONSTRAINTS = ("rows", "cols")
MULTILAYER_CONSTRAINTS = ("rows", "cols", "w_cols")

DeepCallback = Callable[[int, list, list, float], Any]


@dataclass
class DeepNMFResult:
    """Outcome of :func:`deep_nmf` or :func:`multilayer_nmf`.

    Attributes
    ----------
    W : list of ndarray
        ``W[l-1]`` is the basis W_l of layer l, shape (m, r_l).
    H : list of ndarray
        ``H[l-1]`` is H_l, shape (r_l, r_{l−1}) with r_0 = n.
    loss : ndarray, shape (n_iter + 1,)
        Total objective ``Σ_l λ_l D_l`` (plus ``Σ_l α_l logdet(W_lᵀW_l + δI)`` for
        minimum volume) after the initialisation (entry 0) and each iteration.
        For :func:`multilayer_nmf`, the unweighted sum of the layer errors.
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


# --------------------------------------------------------------------------- checks


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


def _prepare(X: Any, dtype: Any) -> np.ndarray:
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


# --------------------------------------------------------------------------- losses


def _kl(
    Y: np.ndarray, V: np.ndarray, sum_y: float, sum_v: float, has_zeros: bool = True
) -> tuple[float, np.ndarray]:
    """KL(Y | V) and the ratio R = Y ⊘ V (reused by the next H step)."""
    R = Y / V
    if has_zeros:
        return float(xlogy(Y, R).sum()) - sum_y + sum_v, R
    return float(np.vdot(Y, np.log(R))) - sum_y + sum_v, R


def _divergence(Y: np.ndarray, W: np.ndarray, H: np.ndarray, V: np.ndarray, beta: float):
    """D_β(Y | V) with V = W H, and Y ⊘ V for β = 1 (None otherwise)."""
    if beta == 1:
        return _kl(Y, V, float(Y.sum()), float(W.sum(axis=0) @ H.sum(axis=1)))
    if beta == 2:
        diff = Y - V
        return 0.5 * float(np.vdot(diff, diff)), None
    return float(elementwise_divergence(Y, V, beta).sum()), None


_CHUNK = 1 << 15  # entries per block of the KL sum: its log buffer stays in cache


def _kl_ratio_sum(Y: np.ndarray, V: np.ndarray, R: np.ndarray, buffer: np.ndarray) -> float:
    """Σ Y ⊙ log(Y ⊘ V) for Y, V > 0 of shape (m, p), leaving R = Y ⊘ V.

    Works through blocks of rows so that each block's logarithm is summed while
    it is still in cache (``buffer`` holds at least one row and ``_CHUNK`` entries).
    """
    rows = max(1, _CHUNK // max(Y.shape[1], 1))
    total = 0.0
    for start in range(0, Y.shape[0], rows):
        y, r = Y[start:start + rows], R[start:start + rows]
        np.divide(y, V[start:start + rows], out=r)
        log_r = buffer[: r.size].reshape(r.shape)
        np.log(r, out=log_r)
        total += float(np.vdot(y, log_r))
    return total


def _kl_plain(Y: np.ndarray, V: np.ndarray) -> float:
    return float(xlogy(Y, Y / V).sum() - Y.sum() + V.sum())


def _logdet(W: np.ndarray, delta: float) -> float:
    sign, value = np.linalg.slogdet(W.T @ W + delta * np.eye(W.shape[1], dtype=W.dtype))
    return float(value) if sign > 0 else float("-inf")


# --------------------------------------------------------------------------- multilayer


def _normalize(W: np.ndarray, H: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    eps = upd.tiny(W.dtype)
    if how == "rows":
        d = np.maximum(H.sum(axis=1), eps)
        return W * d, H / d[:, None]
    if how == "w_cols":
        c = np.maximum(W.sum(axis=0), eps)
        return W / c, H * c[:, None]
    return W, H / np.maximum(H.sum(axis=0, keepdims=True), eps)


def _multilayer(
    Xs: np.ndarray,
    ranks: list[int],
    beta: float,
    constraint: str,
    init_iter: int,
    random_state: Any,
    callback: DeepCallback | None,
    scale: float,
) -> tuple[list[np.ndarray], list[np.ndarray], list[float], list[np.ndarray], bool]:
    """Factor Xs, then W_1, then W_2, … by β-NMF; normalise each layer as asked."""
    Ws: list[np.ndarray] = []
    Hs: list[np.ndarray] = []
    errors: list[float] = []
    curves: list[np.ndarray] = []
    eps = upd.tiny(Xs.dtype)
    for rank in ranks:
        Y = Xs if not Ws else Ws[-1]
        layer_callback = None
        if callback is not None:
            done_W = [W * scale for W in Ws] if constraint != "w_cols" else list(Ws)
            done_H = list(Hs)

            def layer_callback(it, W, H, loss, done_W=done_W, done_H=done_H):
                W_out = W * scale if constraint != "w_cols" else W
                return callback(0, done_W + [W_out], done_H + [H], float(loss))

        fit = nmf(Y, rank, beta=beta, max_iter=init_iter, tol=0.0, random_state=random_state,
                  callback=layer_callback)
        W = np.maximum(fit.W, eps)
        H = np.maximum(fit.H, eps)
        W, H = _normalize(W, H, constraint)
        if constraint == "cols":
            # Column sums of H cannot be fixed by rescaling: refine under the constraint.
            for _ in range(init_iter):
                C, D = upd.h_terms(Y, W, H, W @ H, beta)
                H = upd.constrained_h_step(H, C, D, beta, "cols")
                W = upd.mu_w_step(Y, W, H, W @ H, beta)
        Ws.append(W)
        Hs.append(H)
        errors.append(_divergence(Y, W, H, W @ H, beta)[0])
        curves.append(fit.loss)
        if fit.stopped:
            return Ws, Hs, errors, curves, True
    return Ws, Hs, errors, curves, False


def _unscale(Ws: list[np.ndarray], Hs: list[np.ndarray], scale: float, min_vol: bool):
    """Undo the division of X by ``scale``: into every W_l, or into H_1 when W_l columns sum to one."""
    if min_vol:
        return [W.copy() for W in Ws], [Hs[0] * scale] + [H.copy() for H in Hs[1:]]
    return [W * scale for W in Ws], [H.copy() for H in Hs]


def _error_scales(n_layers: int, scale: float, beta: float, min_vol: bool) -> np.ndarray:
    if min_vol:
        return np.array([scale] + [1.0] * (n_layers - 1))
    return np.full(n_layers, scale**beta)


def _multilayer_result(
    Ws, Hs, errors, curves, stopped, params, scale, beta, min_vol, elapsed
) -> DeepNMFResult:
    factor = _error_scales(len(Ws), scale, beta, min_vol)
    errs = np.asarray(errors) * factor
    Wu, Hu = _unscale(Ws, Hs, scale, min_vol)
    return DeepNMFResult(
        W=Wu,
        H=Hu,
        loss=np.array([errs.sum()]),
        layer_errors=errs[None, :],
        times=np.array([elapsed]),
        lambdas=1.0 / np.maximum(errs, np.finfo(float).tiny),
        n_iter=0,
        converged=False,
        params=params,
        stopped=stopped,
        extra={"layer_losses": [c * f for c, f in zip(curves, factor)]},
    )


def _check_callback(callback: Any) -> None:
    if callback is not None and not callable(callback):
        raise ValueError("callback must be callable as callback(iteration, W_list, H_list, loss)")


def _seed_param(random_state: Any) -> Any:
    return random_state if isinstance(random_state, (numbers.Integral, type(None))) else None


def multilayer_nmf(
    X: Any,
    ranks: list[int],
    *,
    beta: float | str = 1,
    constraint: str = "rows",
    init_iter: int = 500,
    dtype: Any = None,
    random_state: None | int | np.random.Generator = None,
    callback: DeepCallback | None = None,
) -> DeepNMFResult:
    """Multilayer β-NMF: factor X, then W_1, then W_2, … one layer at a time.

    The sequential baseline of deep NMF (and its initialisation): layer l is a
    plain β-NMF (:func:`nmfcore.nmf`, ``init_iter`` iterations) of W_{l−1},
    rescaled so that the rows of H_l sum to one.

    Parameters
    ----------
    X : array-like, shape (m, n)
        Dense nonnegative data; columns are the items.
    ranks : list of int
        Strictly decreasing ranks [r_1, r_2, …, r_L], r_1 <= min(m, n).
    beta : {1, 1.5, 2} or divergence name
    constraint : {"rows", "cols", "w_cols"}
        "rows": H_l e = e (rescaling); "cols": Hᵀ_l e = e (refined by ``init_iter``
        constrained iterations, since rescaling cannot fix column sums);
        "w_cols": the columns of W_l sum to one (minimum-volume model).
    init_iter : int
        NMF iterations per layer.
    dtype : {None, numpy.float32, numpy.float64}
    random_state : int, Generator or None
        Seed for each layer's NMF initialisation.
    callback : callable, optional
        ``callback(0, W_list, H_list, loss)`` after each NMF iteration, with the
        layers done so far plus the current one; returning False stops, and the
        result then holds only those layers (``stopped=True``).

    Returns
    -------
    DeepNMFResult
        ``n_iter = 0``; ``layer_errors`` has one row, the error of each layer.
    """
    start = time.perf_counter()
    X = _prepare(X, dtype)
    ranks = _check_ranks(ranks, X.shape)
    beta = _check_deep_beta(beta)
    check_choice(constraint, "constraint", MULTILAYER_CONSTRAINTS)
    init_iter = check_positive_int(init_iter, "init_iter")
    _check_callback(callback)
    scale = float(X.mean())
    Ws, Hs, errors, curves, stopped = _multilayer(
        X / scale, ranks, beta, constraint, init_iter, random_state, callback, scale
    )
    params = {
        "model": "multilayer_nmf",
        "ranks": ranks,
        "beta": beta,
        "constraint": constraint,
        "init_iter": init_iter,
        "dtype": np.dtype(X.dtype).name,
        "random_state": _seed_param(random_state),
    }
    return _multilayer_result(
        Ws, Hs, errors, curves, stopped, params, scale, beta, constraint == "w_cols",
        time.perf_counter() - start,
    )


# --------------------------------------------------------------------------- deep


class _DeepState:
    """Factors in scaled units, their products V_l = W_l H_l, and the cached X ⊘ V_1."""

    def __init__(self, Xs, Ws, Hs, beta, constraint, lambdas):
        self.X, self.W, self.H = Xs, Ws, Hs
        self.beta, self.constraint = beta, constraint
        self.lam = np.asarray(lambdas, dtype=float)
        self.V = [W @ H for W, H in zip(Ws, Hs)]
        self.sum_x = float(Xs.sum())
        self.x_has_zeros = bool((Xs == 0).any())
        # Work arrays shaped like each layer's data, reused to spare allocations.
        self.ratio = [np.empty_like(V) for V in self.V]
        self.work = [np.empty_like(V) for V in self.V]
        self.buffer = np.empty(max(_CHUNK, max(V.shape[1] for V in self.V)), dtype=Xs.dtype)
        self.L = len(Ws)

    def data(self, l: int) -> np.ndarray:
        return self.X if l == 0 else self.W[l - 1]

    def error(self, l: int) -> float:
        """D_β of layer l; for β = 1 it leaves Y ⊘ V in ``ratio[l]`` for the next H step."""
        Y, W, H, V = self.data(l), self.W[l], self.H[l], self.V[l]
        if self.beta != 1:
            return _divergence(Y, W, H, V, self.beta)[0]
        sum_y = self.sum_x if l == 0 else float(Y.sum())
        sum_v = float(W.sum(axis=0) @ H.sum(axis=1))
        R = self.ratio[l]
        # Factors are floored above zero, so only X can hold zeros.
        if l == 0 and self.x_has_zeros:
            np.divide(Y, V, out=R)
            return float(xlogy(Y, R, out=self.work[l]).sum()) - sum_y + sum_v
        return _kl_ratio_sum(Y, V, R, self.buffer) - sum_y + sum_v

    def step(self, l: int) -> float:
        """One MM step on H_l then W_l; returns the layer's new error."""
        beta, Y = self.beta, self.data(l)
        W, H = self.W[l], self.H[l]
        last = l == self.L - 1
        if last and self.constraint == "rows":
            H = upd.mu_h_step(Y, W, H, self.V[l], beta)
        else:
            R = None
            if beta == 1:
                # X ⊘ V_1 is still current from the last loss; deeper data W_{l−1} moved.
                R = self.ratio[l]
                if l > 0:
                    np.divide(Y, self.V[l], out=R)
            C, D = upd.h_terms(Y, W, H, self.V[l], beta, R)
            H = upd.constrained_h_step(H, C, D, beta, self.constraint)
        V = np.matmul(W, H, out=self.V[l])
        if last:
            W = upd.mu_w_step(Y, W, H, V, beta)
            if self.constraint == "rows":
                d = H.sum(axis=1)
                W, H = W * d, H / d[:, None]
        else:
            Wbar = self.V[l + 1]
            lam = float(self.lam[l + 1] / self.lam[l])
            if beta == 1:
                W = upd.w_step_kl(W, H, np.divide(Y, V, out=self.work[l]) @ H.T, Wbar, lam)
            elif beta == 2:
                W = upd.w_step_frobenius(W, H, Y, Wbar, lam)
            else:
                W = upd.w_step_beta32(W, H, Y, V, Wbar, lam)
        self.W[l], self.H[l] = W, H
        np.matmul(W, H, out=self.V[l])
        return self.error(l)


class _MinVolState(_DeepState):
    """Minimum-volume deep KL-NMF: columns of W_l sum to one, logdet penalties."""

    def __init__(self, Xs, Ws, Hs, lambdas, alphas, delta, rho):
        super().__init__(Xs, Ws, Hs, 1.0, "w_cols", lambdas)
        self.alpha = np.asarray(alphas, dtype=float)
        self.delta, self.rho = delta, rho
        self.mu = [np.zeros(W.shape[1], dtype=W.dtype) for W in Ws]
        self.rejected = 0

    def penalty(self) -> float:
        return float(sum(a * _logdet(W, self.delta) for a, W in zip(self.alpha, self.W)))

    def _block(self, l: int, W: np.ndarray) -> float:
        """The part of the objective that depends on W_l (for the ADMM safeguard)."""
        Y, H = self.data(l), self.H[l]
        value = self.lam[l] * _kl_plain(Y, W @ H) + self.alpha[l] * _logdet(W, self.delta)
        return value + self.lam[l + 1] * _kl_plain(W, self.V[l + 1])

    def step(self, l: int) -> float:
        Y, W, H = self.data(l), self.W[l], self.H[l]
        R = self.ratio[l]
        if l > 0:
            np.divide(Y, self.V[l], out=R)
        Q = R @ H.T
        a = float(self.alpha[l] / self.lam[l])
        if l == self.L - 1:
            W, self.mu[l] = upd.minvol_w_last(W, H, Q, a, self.delta, self.mu[l])
        else:
            W_new, mu, _ = upd.minvol_w_admm(
                W, H, Q, self.V[l + 1], a, float(self.lam[l]), float(self.lam[l + 1]),
                self.delta, self.rho, self.mu[l],
            )
            # ADMM solves the majoriser only approximately: keep its answer only if
            # the objective did not increase, so that every step stays a descent step.
            if self._block(l, W_new) <= self._block(l, W):
                W, self.mu[l] = W_new, mu
            else:
                self.rejected += 1
        eps = upd.tiny(W.dtype)
        V = W @ H
        H = np.maximum(H * (W.T @ (Y / V)) / np.maximum(W.sum(axis=0), eps)[:, None], eps)
        self.W[l], self.H[l] = W, H
        self.V[l] = W @ H
        return self.error(l)


def deep_nmf(
    X: Any,
    ranks: list[int],
    *,
    beta: float | str = 1,
    constraint: str = "rows",
    lambdas: str | list[float] = "auto",
    init: str = "multilayer",
    init_iter: int = 500,
    max_iter: int = 500,
    tol: float = 1e-6,
    min_volume: list[float] | None = None,
    delta: float = 1.0,
    rho: float = 100.0,
    dtype: Any = None,
    random_state: None | int | np.random.Generator = None,
    callback: DeepCallback | None = None,
) -> DeepNMFResult:
    """Deep β-NMF with sum-to-one constraints, or minimum-volume deep KL-NMF.

    Minimises ``Σ_l λ_l D_β(W_{l−1} | W_l H_l)`` over W_l, H_l >= 0 with
    W_0 = X and H_l e = e (``constraint="rows"``) or H_lᵀ e = e ("cols"). Each
    outer iteration updates, for l = 1..L, H_l (constrained MM step, multipliers
    by Newton) and then W_l (MM step coupled to the next layer: Wright omega for
    β = 1, a quadratic root for β = 3/2, a multiplicative step for β = 2); the
    last layer takes plain β-MU steps. The objective never increases.

    With ``min_volume=[α̃_1, …, α̃_L]`` (β = 1 only) the objective gains
    ``Σ_l α_l logdet(W_lᵀ W_l + δ I)`` and the constraint becomes W_lᵀ e = e, H free;
    α_l = α̃_l · λ_l KL_l / |logdet_l| at the initialisation, so α̃_l is the
    penalty's size relative to the layer's (weighted) data term. W_l for l < L
    is updated by an ADMM (penalty ``rho``) on its majoriser.

    Parameters
    ----------
    X : array-like, shape (m, n)
        Dense nonnegative data; columns are the items (the paper factorises the
        transpose of CBCL, images x pixels, so that its H rows are basis images).
    ranks : list of int
        Strictly decreasing [r_1, …, r_L], r_1 <= min(m, n).
    beta : {1, 1.5, 2} or divergence name
    constraint : {"rows", "cols"}
        Which sums of every H_l equal one (ignored with ``min_volume``).
    lambdas : "auto" or list of float
        Layer weights; "auto" is 1 / D_l at the initialisation, so each term starts at 1.
    init : {"multilayer"}
        Start from :func:`multilayer_nmf` with ``init_iter`` iterations per layer.
    init_iter : int
        NMF iterations per layer of the initialisation.
    max_iter : int
        Most deep iterations (0 returns the initialisation).
    tol : float
        Stop when the relative decrease of the loss in one iteration is below ``tol``;
        0 runs all ``max_iter`` iterations.
    min_volume : list of float, optional
        α̃_l > 0 per layer: switches to the minimum-volume KL model.
    delta : float
        δ > 0 in logdet(WᵀW + δI).
    rho : float
        ADMM penalty of the min-vol W steps.
    dtype : {None, numpy.float32, numpy.float64}
        Working precision; None keeps float32 input in float32, float64 otherwise.
    random_state : int, Generator or None
        Seed for the NMF initialisations.
    callback : callable, optional
        ``callback(iteration, W_list, H_list, loss)`` after each deep iteration
        (and with iteration 0 after each NMF iteration of the initialisation);
        returning False stops cleanly with ``stopped=True``.

    Returns
    -------
    DeepNMFResult
        Factors per layer, ``loss``, ``layer_errors`` (n_iter + 1, L), ``times``,
        ``lambdas`` and ``params``; ``init`` holds the multilayer start.

    Examples
    --------
    >>> import numpy as np, nmfcore
    >>> X = np.random.default_rng(0).random((40, 30))
    >>> result = nmfcore.deep_nmf(X, [6, 3], init_iter=50, max_iter=20, random_state=0)
    >>> [layer.H.shape for layer in result.layers()]
    [(6, 30), (3, 30)]
    """
    start = time.perf_counter()
    X = _prepare(X, dtype)
    ranks = _check_ranks(ranks, X.shape)
    beta = _check_deep_beta(beta)
    check_choice(constraint, "constraint", CONSTRAINTS)
    check_choice(init, "init", ("multilayer",))
    init_iter = check_positive_int(init_iter, "init_iter")
    max_iter = check_positive_int(max_iter, "max_iter", minimum=0)
    tol = check_nonnegative_float(tol, "tol")
    delta = check_nonnegative_float(delta, "delta")
    rho = check_nonnegative_float(rho, "rho")
    if delta == 0 or rho == 0:
        raise ValueError(f"delta and rho must be > 0, got delta={delta}, rho={rho}")
    L = len(ranks)
    min_vol = min_volume is not None
    if min_vol:
        alpha_tilde = _check_weights(min_volume, "min_volume", L)
        if beta != 1:
            raise ValueError(
                f"min_volume is available for beta=1 (Kullback-Leibler) only, got beta={beta:g}; "
                "set beta=1 or min_volume=None"
            )
    if not (isinstance(lambdas, str) and lambdas == "auto"):
        lambdas = _check_weights(lambdas, "lambdas", L)
    _check_callback(callback)

    scale = float(X.mean())
    Xs = X / scale
    ml_constraint = "w_cols" if min_vol else constraint
    Ws, Hs, errors, curves, stopped = _multilayer(
        Xs, ranks, beta, ml_constraint, init_iter, random_state, callback, scale
    )
    params = {
        "model": "deep_nmf",
        "ranks": ranks,
        "beta": beta,
        "constraint": constraint,
        "lambdas": lambdas if isinstance(lambdas, str) else list(lambdas),
        "init": init,
        "init_iter": init_iter,
        "max_iter": max_iter,
        "tol": tol,
        "min_volume": None if not min_vol else list(alpha_tilde),
        "delta": delta,
        "rho": rho,
        "dtype": np.dtype(X.dtype).name,
        "random_state": _seed_param(random_state),
    }
    ml_params = {
        "model": "multilayer_nmf", "ranks": ranks, "beta": beta, "constraint": ml_constraint,
        "init_iter": init_iter, "dtype": params["dtype"], "random_state": params["random_state"],
    }
    initial = _multilayer_result(
        Ws, Hs, errors, curves, stopped, ml_params, scale, beta, min_vol, time.perf_counter() - start
    )
    if stopped:
        initial.params = params
        return initial

    error_scale = _error_scales(L, scale, beta, min_vol)
    if isinstance(lambdas, str):
        lam = 1.0 / np.maximum(np.asarray(errors), np.finfo(float).tiny)
    else:
        lam = np.asarray(lambdas, dtype=float) * error_scale  # weights of the scaled problem
    Ws = [W.copy() for W in Ws]
    Hs = [H.copy() for H in Hs]
    alphas = None
    if min_vol:
        logdets = np.array([_logdet(W, delta) for W in Ws])
        alphas = np.asarray(alpha_tilde) * lam * np.asarray(errors) / np.maximum(np.abs(logdets), 1e-12)
        state: _DeepState = _MinVolState(Xs, Ws, Hs, lam, alphas, delta, rho)
    else:
        state = _DeepState(Xs, Ws, Hs, beta, constraint, lam)

    def total(errs: np.ndarray) -> float:
        value = float(lam @ errs)
        return value + state.penalty() if min_vol else value

    errs = np.array([state.error(l) for l in range(L)])
    layer_errors = [errs]
    losses = [total(errs)]
    times = [time.perf_counter() - start]
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        errs = np.array([state.step(l) for l in range(L)])
        layer_errors.append(errs)
        losses.append(total(errs))
        times.append(time.perf_counter() - start)
        if callback is not None:
            Wu, Hu = _unscale(state.W, state.H, scale, min_vol)
            if callback(n_iter, Wu, Hu, losses[-1]) is False:
                stopped = True
                break
        previous = losses[-2]
        if tol > 0 and previous != 0 and (previous - losses[-1]) / abs(previous) < tol:
            converged = True
            break
    Wu, Hu = _unscale(state.W, state.H, scale, min_vol)
    extra: dict[str, Any] = {}
    if min_vol:
        extra["admm_rejected"] = state.rejected
    return DeepNMFResult(
        W=Wu,
        H=Hu,
        loss=np.asarray(losses),
        layer_errors=np.asarray(layer_errors) * error_scale,
        times=np.asarray(times),
        lambdas=lam / error_scale,
        n_iter=n_iter,
        converged=converged,
        params=params,
        stopped=stopped,
        alphas=alphas,
        init=initial,
        extra=extra,
    )
