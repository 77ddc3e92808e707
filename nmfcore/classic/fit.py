"""Classic NMF: min D_β(X | W H) + penalties over W ≥ 0, H ≥ 0.

The public entry point is :func:`nmf`; :class:`nmfcore.NMF` wraps it as a
scikit-learn estimator.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from nmfcore.classic.data import prepare_data
from nmfcore.classic.hals import HALSSolver, balance_scales
from nmfcore.classic.init import INIT_METHODS, check_custom_init, initialize
from nmfcore.classic.mu import MUSolver
from nmfcore.classic.online import online_nmf
from nmfcore.classic.penalty import Penalty
from nmfcore.results import NMFResult, relative_error
from nmfcore.utils.parallel import single_threaded_blas
from nmfcore.utils.validation import (
    check_choice,
    check_fit_options,
    check_positive_int,
    check_rank,
    resolve_seed,
)

SOLVERS = ("auto", "mu", "relaxed-mu", "hals", "online")

Callback = Callable[[int, np.ndarray, np.ndarray, float], Any]


def choose_solver(solver: str, beta: float, mask: np.ndarray | None = None) -> str:
    """The solver a fit runs: ``solver`` checked against ``beta`` and the mask, "auto" resolved."""
    check_choice(solver, "solver", SOLVERS)
    if solver == "hals":
        if beta != 2:
            raise ValueError(
                f"solver='hals' solves the Frobenius loss only (beta=2), but beta={beta:g}; "
                "use solver='relaxed-mu', 'mu' or 'auto' for other divergences"
            )
        if mask is not None:
            raise ValueError("solver='hals' does not support mask; use solver='relaxed-mu', 'mu' or 'auto'")
        return "hals"
    if solver == "online":
        if mask is not None:
            raise ValueError("solver='online' does not support mask; use solver='relaxed-mu', 'mu' or 'auto'")
        return "online"
    if solver == "relaxed-mu" and not 1 <= beta <= 2:
        raise ValueError(
            f"solver='relaxed-mu' needs 1 <= beta <= 2 (its step is proven to decrease the "
            f"objective there), but beta={beta:g}; use solver='mu' or 'auto'"
        )
    if solver == "auto":
        if beta == 2 and mask is None:
            return "hals"
        return "relaxed-mu" if 1 <= beta <= 2 else "mu"
    return solver


def nmf(
    X: Any,
    rank: int,
    *,
    beta: float | str = 2,
    solver: str = "auto",
    init: str | tuple[np.ndarray, np.ndarray] = "nndsvda",
    max_iter: int = 500,
    tol: float = 1e-4,
    mask: Any = None,
    alpha_W: float = 0.0,
    alpha_H: float = 0.0,
    l1_ratio: float = 0.0,
    dtype: Any = None,
    random_state: None | int | np.random.Generator = None,
    callback: Callback | None = None,
    update_W: bool = True,
    batch_size: int | None = None,
    forget_factor: float | None = None,
) -> NMFResult:
    """Nonnegative matrix factorisation X ≈ W H under a β-divergence.

    Minimises ``D_β(X | W H) + α_W (ρ‖W‖₁ + ½(1−ρ)‖W‖²_F) + α_H (ρ‖H‖₁ + ½(1−ρ)‖H‖²_F)``
    over W ≥ 0, H ≥ 0, with ρ = ``l1_ratio``.

    Parameters
    ----------
    X : array-like, sparse matrix or dask.array.Array, shape (m, n)
        Nonnegative data; columns are the items. float32 input gives float32
        factors. A sparse X is never densified (unless a dense ``mask`` is given).
        A Dask array (e.g. from :func:`nmfcore.data.lazy.open_lazy`) is fitted chunk
        by chunk by :func:`nmfcore.distributed.fit_chunked`, on the active
        ``dask.distributed`` client if there is one, else on local threads; its result's
        H is a Dask array.
    rank : int
        Number of factors r, 1 <= r <= min(m, n).
    beta : float or str
        β of the divergence, or "frobenius" (2), "kullback-leibler"/"kl" (1),
        "itakura-saito"/"is" (0).
    solver : {"auto", "mu", "relaxed-mu", "hals", "online"}
        "mu": the classic majorisation–minimisation multiplicative updates, any β.
        "relaxed-mu": multiplicative updates that step twice as far on the same
        majoriser, 1 ≤ β ≤ 2 (the objective still never increases; about half
        the iterations; below β = 2 a factor with an L2 penalty takes the plain
        step). "hals": accelerated HALS with extrapolation, β = 2 only.
        "auto": HALS for β = 2 without a mask, relaxed MU for other 1 ≤ β ≤ 2,
        MU otherwise. "online": minibatches of ``batch_size`` items, ``max_iter``
        passes over the data (:func:`nmfcore.classic.online.online_nmf`, whose
        other options are available there), no mask.
    init : {"nndsvd", "nndsvda", "nndsvdar", "random"} or (W, H)
        Initialisation; a pair gives custom factors of shapes (m, r) and (r, n).
        The SVD-based ones need r <= min(m, n); "random" and a pair take any r >= 1.
        With ``update_W=False``, ``(W, None)`` starts H at the constant
        sqrt(mean(X) / r).
    max_iter : int
        Most iterations (one iteration updates H, then W).
    tol : float
        Stop when the relative decrease of the objective in one iteration is below
        ``tol``; 0 runs all ``max_iter`` iterations.
    mask : array-like, shape (m, n), optional
        1 where X is observed, 0 where it is missing; missing entries (which may be
        NaN in X) do not count in the loss.
    alpha_W, alpha_H : float
        Weights of the elastic-net penalties on W and H.
    l1_ratio : float
        Share ρ of the L1 term in the penalties, in [0, 1].
    dtype : {None, numpy.float32, numpy.float64}
        Working precision; None keeps float32 input in float32 and uses float64 otherwise.
    random_state : int, Generator, RandomState or None
        Seed for the initialisation. ``params["random_state"]`` records the integer
        seed, one drawn from a Generator or RandomState, or None
        (:func:`nmfcore.utils.validation.resolve_seed`), so passing it back reruns
        the fit.
    callback : callable, optional
        ``callback(iteration, W, H, loss)`` after each iteration; returning
        ``False`` stops the fit and keeps the factors reached so far.
    update_W : bool
        False keeps W fixed at the W of ``init`` (which must then be a pair) and
        updates H only, by the same solver: scikit-learn's ``update_H=False`` in
        nmfcore's orientation, the coefficients of new items on a fitted basis.
    batch_size : int, optional
        Items per minibatch of ``solver="online"`` (default 1024).
    forget_factor : float, optional
        Weight ρ in [0, 1] of the past batches' statistics in ``solver="online"``
        (default 0.7), per pass over the data.

    Returns
    -------
    NMFResult
        ``W`` (m, r), ``H`` (r, n), ``loss`` and ``times`` with entry 0 at the
        initialisation, ``n_iter``, ``converged``, ``stopped``, ``params`` and
        ``relative_error``. A HALS result without penalties is rescaled so that each
        column of W and the matching row of H have the same norm (W H unchanged).

    Examples
    --------
    >>> import numpy as np, nmfcore
    >>> X = np.random.default_rng(0).random((30, 20))
    >>> result = nmfcore.nmf(X, 3, beta="kl", random_state=0)
    >>> result.W.shape, result.H.shape
    ((30, 3), (3, 20))
    """
    # a Dask array exists only once dask.array is loaded; nmfcore.data (h5py and more) loads only then
    lazy = False
    if "dask.array" in sys.modules:
        from nmfcore.data.lazy_checks import is_lazy_array

        lazy = is_lazy_array(X)
    if lazy:
        if mask is not None:
            raise ValueError("mask is not supported for a Dask array X; compute X (X.compute()) to fit it with a mask")
        from nmfcore.distributed import fit_chunked  # Dask and the driver load only for Dask input

        return fit_chunked(X, rank, beta=beta, solver=solver, init=init, max_iter=max_iter, tol=tol,
                           alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio, dtype=dtype,
                           random_state=random_state, callback=callback, batch_size=batch_size,
                           forget_factor=forget_factor)
    start = time.perf_counter()
    beta, max_iter, tol, alpha_W, alpha_H, l1_ratio = check_fit_options(beta, max_iter, tol, alpha_W, alpha_H,
                                                                       l1_ratio, callback)
    if solver == "online":
        if mask is not None:
            raise ValueError("solver='online' does not support mask; use solver='relaxed-mu', 'mu' or 'auto'")
        if not update_W:
            raise ValueError("update_W=False solves for H alone, which needs no minibatches; use solver='auto'")
        return online_nmf(
            X, rank, beta=beta, init=init, batch_size=1024 if batch_size is None else batch_size,
            max_iter=max_iter, tol=tol, forget_factor=0.7 if forget_factor is None else forget_factor,
            alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio, dtype=dtype, random_state=random_state,
            callback=callback,
        )
    if batch_size is not None or forget_factor is not None:
        raise ValueError(f"batch_size and forget_factor are options of solver='online', not of solver={solver!r}")
    X, M = prepare_data(X, beta, mask, dtype)
    # the SVD-based starts need r <= min(m, n); a random or given start takes any rank
    svd_init = isinstance(init, str) and init != "random"
    rank = check_rank(rank, X.shape) if svd_init else check_positive_int(rank, "rank")
    chosen = choose_solver(solver, beta, M)
    rng, seed = resolve_seed(random_state)

    if not update_W:
        if isinstance(init, str):
            raise ValueError("update_W=False keeps W fixed, so init must be the pair (W, H) or (W, None)")
        if isinstance(init, (tuple, list)) and len(init) == 2 and init[1] is None:
            observed = M.sum() if M is not None else X.shape[0] * X.shape[1]
            start = np.sqrt(float(X.sum()) / observed / rank)
            init = (init[0], np.full((rank, X.shape[1]), start, dtype=X.dtype))
    if isinstance(init, str):
        check_choice(init, "init", INIT_METHODS)
        W, H = initialize(X, rank, init, rng)
        W, H = W.copy(), H.copy()
        init_param: Any = init
    else:
        W, H = check_custom_init(init, X.shape, rank, X.dtype)
        init_param = "custom"
    W_fixed = None if update_W else W.copy()
    if chosen != "hals":
        # MU cannot move an exact zero: lift zeros of the start point to the floor.
        tiny = np.finfo(X.dtype).eps
        if update_W:
            np.maximum(W, tiny, out=W)
        np.maximum(H, tiny, out=H)

    # Work on X / s with s the mean observed value, so that the eps floors are
    # relative to the data's scale (1e-12 and 1e12 data behave alike); D_β is
    # homogeneous of degree β, so losses are reported as s^β times the scaled ones.
    s = float(X.sum()) / (M.sum() if M is not None else X.shape[0] * X.shape[1])
    if sp.issparse(X):
        Xs = X.multiply(1.0 / s).tocsr().astype(X.dtype)
    else:  # C order, so that entrywise steps and flattened dot products run without copies
        Xs = np.multiply(X, 1.0 / s, out=np.empty(X.shape, dtype=X.dtype, order="C"))
    W /= np.sqrt(s)
    H /= np.sqrt(s)
    penalty_W = Penalty.elastic_net(alpha_W, l1_ratio, s, beta)
    penalty_H = Penalty.elastic_net(alpha_H, l1_ratio, s, beta)
    if chosen == "hals":
        state = HALSSolver(Xs, W, H, penalty_W, penalty_H)
    else:
        state = MUSolver(Xs, W, H, beta, M, penalty_W, penalty_H, relaxed=chosen == "relaxed-mu")

    loss_scale = s**beta
    converged = stopped = False
    n_iter = 0
    with single_threaded_blas(state.parallel):
        losses = [state.loss() * loss_scale]
        times = [time.perf_counter() - start]
        for n_iter in range(1, max_iter + 1):
            if update_W:
                state.step()
            else:
                state.update_H()
            losses.append(state.loss() * loss_scale)
            times.append(time.perf_counter() - start)
            if callback is not None and callback(n_iter, state.W * np.sqrt(s), state.H * np.sqrt(s), losses[-1]) is False:
                stopped = True
                break
            previous = losses[-2]
            if tol > 0 and previous > 0 and (previous - losses[-1]) / previous < tol:
                converged = True
                break
    W, H = state.W, state.H  # the solver's kept iterate (HALS rebinds H rather than copy it)
    W *= np.sqrt(s)
    H *= np.sqrt(s)
    if W_fixed is not None:
        W = W_fixed  # exactly the given basis, not its round trip through the scaling
    elif chosen == "hals" and not (alpha_W or alpha_H):  # penalties fix the split of scale themselves
        balance_scales(W, H)
    params = {
        "model": "nmf",
        "rank": rank,
        "beta": beta,
        "solver": chosen,
        "init": init_param,
        "max_iter": max_iter,
        "tol": tol,
        "masked": M is not None,
        "alpha_W": alpha_W,
        "alpha_H": alpha_H,
        "l1_ratio": l1_ratio,
        "dtype": np.dtype(X.dtype).name,
        "random_state": seed,
    }
    if not update_W:
        params["update_W"] = False
    return NMFResult(
        W=W,
        H=H,
        loss=np.asarray(losses),
        times=np.asarray(times),
        n_iter=n_iter,
        converged=converged,
        params=params,
        relative_error=relative_error(X, W, H, M),
        stopped=stopped,
    )
