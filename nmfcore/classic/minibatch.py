"""scikit-learn's ``MiniBatchNMF``, over the online solver (:mod:`nmfcore.classic.online`).

Orientation as in :mod:`nmfcore.classic.estimator`: the engine's items (columns)
are scikit-learn's samples (rows), so a minibatch of samples is a column block of
the engine's X, ``components_`` is the engine's Wᵀ and the transform its Hᵀ.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from nmfcore.classic.blocks import DataBlock
from nmfcore.classic.estimator import _BaseNMF, _floored_to_zero
from nmfcore.classic.fit import Callback
from nmfcore.classic.init import initialize
from nmfcore.classic.online import online_nmf
from nmfcore.classic.online_solver import OnlineSolver, choose_rule, flat_start
from nmfcore.utils.validation import resolve_seed


class MiniBatchNMF(_BaseNMF):
    """Minibatch NMF with scikit-learn's ``MiniBatchNMF`` interface, over :func:`~nmfcore.classic.online.online_nmf`.

    The objective is :class:`~nmfcore.classic.estimator.NMF`'s. Each minibatch of
    samples gets its coefficients with the components fixed, then the components
    are updated from running sums of the batches' statistics, the past weighted by
    ``forget_factor`` per pass over the data.

    Parameters
    ----------
    n_components, init, beta_loss, alpha_W, alpha_H, l1_ratio, random_state, verbose
        As in :class:`~nmfcore.classic.estimator.NMF`.
    batch_size : int
        Samples per minibatch.
    tol : float
        scikit-learn's rules: stop once a batch changes the components by at most
        ``tol`` relative to their norm, and end a fresh restart's coefficient steps
        once they change by at most ``tol``.
    max_no_improvement : int or None
        Stop once a moving average of the batches' costs has not improved for this
        many batches (scikit-learn's heuristic); None turns it off.
    max_iter : int
        Most passes over the data.
    forget_factor : float in [0, 1] or None
        Weight of the past statistics after one pass (scikit-learn's); None
        replaces each batch's statistics on its next visit instead (incremental;
        :func:`~nmfcore.classic.online.online_nmf`), not for ``partial_fit``
        streams, which then keep every batch's.
    fresh_restarts : bool
        Solve each batch's coefficients from a constant start at every visit, for
        ``fresh_restarts_max_iter`` steps, and those of ``fit_transform`` by
        ``transform``; otherwise one step per visit from the last value.
    fresh_restarts_max_iter : int
        Coefficient steps per fresh restart (and per ``partial_fit`` batch).
    transform_max_iter : int or None
        Most iterations of ``transform`` (None: ``max_iter``).
    solver : {"mu", "hals", "auto"}
        "mu": scikit-learn's multiplicative scheme, any β. "hals": Mairal et al.'s
        updates, β = 2 (faster). "auto": HALS for β = 2, MU otherwise.
    dtype, callback
        As in :class:`~nmfcore.classic.estimator.NMF`; the callback runs after each pass.

    Attributes
    ----------
    components_, n_components_, reconstruction_err_, n_features_in_, feature_names_in_, result_
        As in :class:`~nmfcore.classic.estimator.NMF` (``partial_fit`` sets
        ``components_`` and ``n_components_`` only).
    n_iter_ : int
        Passes over the data started.
    n_steps_ : int
        Minibatches processed.
    """

    _name = "MiniBatchNMF"
    _parameter_constraints: dict = {
        **_BaseNMF._parameter_constraints,
        "max_no_improvement": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "forget_factor": [Interval(Real, 0, 1, closed="both"), None],
        "fresh_restarts": ["boolean"],
        "fresh_restarts_max_iter": [Interval(Integral, 1, None, closed="left")],
        "transform_max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "solver": [StrOptions({"mu", "hals", "auto"})],
    }

    def __init__(
        self,
        n_components: int | str | None = "auto",
        *,
        init: str | None = None,
        batch_size: int = 1024,
        beta_loss: float | str = "frobenius",
        tol: float = 1e-4,
        max_no_improvement: int | None = 10,
        max_iter: int = 200,
        alpha_W: float = 0.0,
        alpha_H: float | str = "same",
        l1_ratio: float = 0.0,
        forget_factor: float | None = 0.7,
        fresh_restarts: bool = False,
        fresh_restarts_max_iter: int = 30,
        transform_max_iter: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
        solver: str = "mu",
        dtype: Any = None,
        callback: Callback | None = None,
    ) -> None:
        self.n_components = n_components
        self.init = init
        self.batch_size = batch_size
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.max_iter = max_iter
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.forget_factor = forget_factor
        self.fresh_restarts = fresh_restarts
        self.fresh_restarts_max_iter = fresh_restarts_max_iter
        self.transform_max_iter = transform_max_iter
        self.random_state = random_state
        self.verbose = verbose
        self.solver = solver
        self.dtype = dtype
        self.callback = callback

    def _check_params(self, X: Any) -> None:
        super()._check_params(X)
        self._rule = choose_rule(self.solver, self._beta_loss)
        self._transform_max_iter = self.max_iter if self.transform_max_iter is None else self.transform_max_iter

    def _rho(self, n_samples: int) -> float | None:
        """ρ per batch: ``forget_factor`` per pass over ``n_samples`` (scikit-learn's)."""
        if self.forget_factor is None:
            return None
        return self.forget_factor ** (min(self.batch_size, n_samples) / n_samples)

    def fit_transform(self, X: Any, y: Any = None, W: Any = None, H: Any = None) -> np.ndarray:
        """Learn the model from X (n_samples x n_features) and return W (n_samples x n_components).

        ``W`` and ``H`` are the start point when ``init="custom"``.
        """
        X, init = self._prepared(X, W, H)
        alpha_W, alpha_H = self._penalties(*X.shape)
        fresh = self.fresh_restarts
        result = online_nmf(
            X.T, self._n_components, beta=self._beta_loss, rule=self._rule, init=init,
            batch_size=min(self.batch_size, X.shape[0]), max_iter=self.max_iter, tol=0.0,
            basis_tol=self.tol, batch_tol=self.tol,
            forget_factor=self.forget_factor, batch_iter=self.fresh_restarts_max_iter if fresh else 1,
            final_iter=0, fresh_restarts=fresh, max_no_improvement=self.max_no_improvement, relaxed=False,
            alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=self.l1_ratio, dtype=self.dtype,
            random_state=self.random_state, callback=self._callback(),
        )
        self._warn_if_unconverged(result, self.max_iter)
        scale = result.extra["scale"]
        self._online = OnlineSolver.for_data(
            result.W, beta=self._beta_loss, rule=self._rule, scale=scale, rho=self._rho(X.shape[0]),
            alpha_W=alpha_W / X.shape[0], alpha_H=alpha_H, l1_ratio=self.l1_ratio, relaxed=False,
            statistics=result.extra["statistics"],
        )
        self._scale = scale
        self.components_ = _floored_to_zero(np.ascontiguousarray(result.W.T), X, result)
        coefficients = self._transform(X) if fresh else _floored_to_zero(np.ascontiguousarray(result.H.T), X, result)
        self._keep(X, result, coefficients)
        self.n_steps_ = result.extra["n_steps"]
        return coefficients

    def _transform(self, X: Any) -> np.ndarray:
        return self._coefficients(X, "hals" if self._rule == "hals" else "mu", self._transform_max_iter)

    def transform(self, X: Any) -> np.ndarray:
        """W (n_samples x n_components) of X on the fitted ``components_``, kept fixed.

        The solver's coefficient updates from a constant start, at most
        ``transform_max_iter`` iterations.
        """
        check_is_fitted(self)
        return self._transform(self._validated(X, reset=False))

    def partial_fit(self, X: Any, y: Any = None, W: Any = None, H: Any = None) -> "MiniBatchNMF":
        """Update the model with the minibatch X (n_samples x n_features).

        The first call (on an unfitted model) sets the start point from X (or the
        custom ``H``); each call solves X's coefficients from a constant start for
        ``fresh_restarts_max_iter`` steps, then updates ``components_``.
        """
        self._validate_params()
        fitted = hasattr(self, "components_")
        X = self._validated(X, reset=not fitted)
        if not fitted:
            self._check_params(X)
            init = self._start(X, W, H)
            alpha_W, alpha_H = self._penalties(*X.shape)
            Xt = X.T.tocsr() if sp.issparse(X) else X.T
            if isinstance(init, str):
                basis, _ = initialize(Xt, self._n_components, init, resolve_seed(self.random_state)[0])
            else:
                basis = np.array(init[0], dtype=X.dtype)
            self._scale = float(X.sum()) / (X.shape[0] * X.shape[1])
            if self._rule == "mu":  # MU cannot move an exact zero
                np.maximum(basis, np.finfo(X.dtype).eps * math.sqrt(self._scale), out=basis)
            self._online = OnlineSolver.for_data(
                basis, beta=self._beta_loss, rule=self._rule, scale=self._scale, rho=self._rho(X.shape[0]),
                alpha_W=alpha_W / X.shape[0], alpha_H=alpha_H, l1_ratio=self.l1_ratio, relaxed=False,
            )
            self.n_steps_ = 0
        solver = self._online
        Xt = X.T.tocsr() if sp.issparse(X) else np.ascontiguousarray(X.T)
        block = DataBlock((Xt * (1.0 / self._scale)).astype(solver.W.dtype, copy=False))
        coefficients = flat_start(block, solver.W.shape[1])
        solver.step(block, coefficients, self.fresh_restarts_max_iter, self.tol, key=self.n_steps_)
        self.components_ = np.ascontiguousarray(solver.W.T * math.sqrt(self._scale))
        self.n_components_ = self.components_.shape[0]
        self.n_steps_ += 1
        return self
