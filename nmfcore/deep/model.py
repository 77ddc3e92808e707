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

import time
from typing import Any

import numpy as np

from nmfcore.deep.checks import (
    CONSTRAINTS,
    DeepCallback,
    _check_callback,
    _check_deep_beta,
    _check_ranks,
    _check_weights,
    _prepare,
)
from nmfcore.deep.losses import _logdet
from nmfcore.deep.multilayer import _error_scales, _multilayer, _multilayer_result, _unscale
from nmfcore.deep.result import DeepNMFResult
from nmfcore.deep.state import DeepState, MinVolState
from nmfcore.utils.validation import check_choice, check_nonnegative_float, check_positive_int, resolve_seed


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
        Start from :func:`~nmfcore.deep.multilayer_nmf` with ``init_iter`` iterations
        per layer (its ``max_iter``).
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
        Seed for the NMF initialisations; ``params["random_state"]`` records the
        integer that replays the fit (see :func:`nmfcore.utils.validation.resolve_seed`).
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
    _, seed = resolve_seed(random_state)

    scale = float(X.mean())
    Xs = X / scale
    ml_constraint = "w_cols" if min_vol else constraint
    Ws, Hs, errors, curves, stopped = _multilayer(
        Xs, ranks, beta, ml_constraint, init_iter, seed, callback, scale
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
        "random_state": seed,
    }
    ml_params = {
        "model": "multilayer_nmf", "ranks": ranks, "beta": beta, "constraint": ml_constraint,
        "max_iter": init_iter, "dtype": params["dtype"], "random_state": seed,
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
        state: DeepState = MinVolState(Xs, Ws, Hs, lam, alphas, delta, rho)
    else:
        state = DeepState(Xs, Ws, Hs, beta, constraint, lam)

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
