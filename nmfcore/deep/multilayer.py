"""Multilayer β-NMF: X ≈ W_1 H_1, then W_1 ≈ W_2 H_2, … one layer at a time.

The sequential baseline of deep NMF and its initialisation. Every layer is a
plain β-NMF (:func:`nmfcore.nmf`) of the basis of the layer before, normalised
so that the sums the deep model constrains equal one.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from nmfcore.classic.fit import nmf
from nmfcore.deep.checks import (
    MULTILAYER_CONSTRAINTS,
    DeepCallback,
    _check_callback,
    _check_deep_beta,
    _check_ranks,
    _prepare,
)
from nmfcore.deep.losses import _divergence
from nmfcore.deep.result import DeepNMFResult
from nmfcore.deep.updates import constrained_h_step, h_terms, mu_w_step, tiny
from nmfcore.utils.validation import check_choice, check_positive_int, reject_renamed, resolve_seed


def _normalize(W: np.ndarray, H: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Rescale W (m, r) and H (r, p) so that H's rows ("rows") or W's columns ("w_cols") sum to one.

    "cols" divides every column of H by its sum, which changes W H: the caller
    refines under the constraint afterwards.
    """
    eps = tiny(W.dtype)
    if how == "rows":
        d = np.maximum(H.sum(axis=1), eps)
        return W * d, H / d[:, None]
    if how == "w_cols":
        c = np.maximum(W.sum(axis=0), eps)
        return W / c, H * c[:, None]
    return W, H / np.maximum(H.sum(axis=0, keepdims=True), eps)


def _layer_progress(
    callback: DeepCallback, Ws: list[np.ndarray], Hs: list[np.ndarray], constraint: str, scale: float
) -> Callable[[int, np.ndarray, np.ndarray, float], Any]:
    """The NMF callback of the next layer: reports the layers done so far plus the current one, unscaled."""
    done_W = [W * scale for W in Ws] if constraint != "w_cols" else list(Ws)
    done_H = list(Hs)

    def progress(iteration: int, W: np.ndarray, H: np.ndarray, loss: float) -> Any:
        W_out = W * scale if constraint != "w_cols" else W
        return callback(0, done_W + [W_out], done_H + [H], float(loss))

    return progress


def _multilayer(
    Xs: np.ndarray,
    ranks: list[int],
    beta: float,
    constraint: str,
    n_iter: int,
    seed: int | None,
    callback: DeepCallback | None,
    scale: float,
) -> tuple[list[np.ndarray], list[np.ndarray], list[float], list[np.ndarray], bool]:
    """Factor Xs (X divided by ``scale``), then W_1, then W_2, … by β-NMF; normalise each layer as asked.

    Every layer's NMF runs ``n_iter`` iterations from ``seed``. Returns the bases
    W_l (m, r_l), the coefficients H_l (r_l, r_{l−1}), each layer's error, each
    layer's NMF loss curve, and whether the callback stopped the fit.
    """
    Ws: list[np.ndarray] = []
    Hs: list[np.ndarray] = []
    errors: list[float] = []
    curves: list[np.ndarray] = []
    eps = tiny(Xs.dtype)
    for rank in ranks:
        Y = Xs if not Ws else Ws[-1]
        layer_callback = None if callback is None else _layer_progress(callback, Ws, Hs, constraint, scale)
        fit = nmf(Y, rank, beta=beta, max_iter=n_iter, tol=0.0, random_state=seed, callback=layer_callback)
        W = np.maximum(fit.W, eps)
        H = np.maximum(fit.H, eps)
        W, H = _normalize(W, H, constraint)
        if constraint == "cols":
            # Column sums of H cannot be fixed by rescaling: refine under the constraint.
            for _ in range(n_iter):
                C, D = h_terms(Y, W, H, W @ H, beta)
                H = constrained_h_step(H, C, D, beta, "cols")
                W = mu_w_step(Y, W, H, W @ H, beta)
        Ws.append(W)
        Hs.append(H)
        errors.append(_divergence(Y, W, H, W @ H, beta)[0])
        curves.append(fit.loss)
        if fit.stopped:
            return Ws, Hs, errors, curves, True
    return Ws, Hs, errors, curves, False


def _unscale(
    Ws: list[np.ndarray], Hs: list[np.ndarray], scale: float, min_vol: bool
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Undo the division of X by ``scale``: into every W_l, or into H_1 when W_l columns sum to one."""
    if min_vol:
        return [W.copy() for W in Ws], [Hs[0] * scale] + [H.copy() for H in Hs[1:]]
    return [W * scale for W in Ws], [H.copy() for H in Hs]


def _error_scales(n_layers: int, scale: float, beta: float, min_vol: bool) -> np.ndarray:
    """Factor, shape (L,), from each layer's error on X / ``scale`` to its error in the data's units."""
    if min_vol:
        return np.array([scale] + [1.0] * (n_layers - 1))
    return np.full(n_layers, scale**beta)


def _multilayer_result(
    Ws: list[np.ndarray],
    Hs: list[np.ndarray],
    errors: list[float],
    curves: list[np.ndarray],
    stopped: bool,
    params: dict[str, Any],
    scale: float,
    beta: float,
    min_vol: bool,
    elapsed: float,
) -> DeepNMFResult:
    """The :class:`DeepNMFResult` of :func:`_multilayer`'s output, in the data's units."""
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


def multilayer_nmf(
    X: Any,
    ranks: list[int],
    *,
    beta: float | str = 1,
    constraint: str = "rows",
    max_iter: int = 500,
    dtype: Any = None,
    random_state: None | int | np.random.Generator = None,
    callback: DeepCallback | None = None,
    **renamed: Any,
) -> DeepNMFResult:
    """Multilayer β-NMF: factor X, then W_1, then W_2, … one layer at a time.

    The sequential baseline of deep NMF (and its initialisation): layer l is a
    plain β-NMF (:func:`nmfcore.nmf`, ``max_iter`` iterations) of W_{l−1},
    rescaled so that the rows of H_l sum to one.

    Parameters
    ----------
    X : array-like, shape (m, n)
        Dense nonnegative data; columns are the items.
    ranks : list of int
        Strictly decreasing ranks [r_1, r_2, …, r_L], r_1 <= min(m, n).
    beta : {1, 1.5, 2} or divergence name
    constraint : {"rows", "cols", "w_cols"}
        "rows": H_l e = e (rescaling); "cols": Hᵀ_l e = e (refined by ``max_iter``
        constrained iterations, since rescaling cannot fix column sums);
        "w_cols": the columns of W_l sum to one (minimum-volume model).
    max_iter : int
        NMF iterations per layer (this was ``init_iter`` before; that spelling
        now raises a TypeError).
    dtype : {None, numpy.float32, numpy.float64}
        Working precision; None keeps float32 input in float32, float64 otherwise.
    random_state : int, Generator or None
        Seed for each layer's NMF initialisation; ``params["random_state"]``
        records the integer that replays the fit (see
        :func:`nmfcore.utils.validation.resolve_seed`).
    callback : callable, optional
        ``callback(0, W_list, H_list, loss)`` after each NMF iteration, with the
        layers done so far plus the current one; returning False stops, and the
        result then holds only those layers (``stopped=True``).

    Returns
    -------
    DeepNMFResult
        ``n_iter = 0``; ``layer_errors`` has one row, the error of each layer.

    Examples
    --------
    >>> import numpy as np, nmfcore
    >>> X = np.random.default_rng(0).random((40, 30))
    >>> result = nmfcore.multilayer_nmf(X, [6, 3], max_iter=50, random_state=0)
    >>> [layer.W.shape for layer in result.layers()]
    [(40, 6), (40, 3)]
    """
    reject_renamed("multilayer_nmf", renamed, {"init_iter": "max_iter"})
    start = time.perf_counter()
    X = _prepare(X, dtype)
    ranks = _check_ranks(ranks, X.shape)
    beta = _check_deep_beta(beta)
    check_choice(constraint, "constraint", MULTILAYER_CONSTRAINTS)
    max_iter = check_positive_int(max_iter, "max_iter")
    _check_callback(callback)
    _, seed = resolve_seed(random_state)
    scale = float(X.mean())
    Ws, Hs, errors, curves, stopped = _multilayer(
        X / scale, ranks, beta, constraint, max_iter, seed, callback, scale
    )
    params = {
        "model": "multilayer_nmf",
        "ranks": ranks,
        "beta": beta,
        "constraint": constraint,
        "max_iter": max_iter,
        "dtype": np.dtype(X.dtype).name,
        "random_state": seed,
    }
    return _multilayer_result(
        Ws, Hs, errors, curves, stopped, params, scale, beta, constraint == "w_cols",
        time.perf_counter() - start,
    )
