"""A scikit-learn-compatible NMF estimator over :func:`nmfcore.nmf`.

scikit-learn puts samples in rows (X is n_samples x n_features) and returns
``W`` (n_samples x r) from ``fit_transform`` and ``components_`` (r x
n_features). nmfcore puts items in columns, so the estimator factorises Xᵀ:
the engine's H becomes the estimator's W and the engine's W becomes
``components_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.classic.data import prepare_data
from nmfcore.classic.fit import Callback, nmf
from nmfcore.classic.hals import HALSSolver
from nmfcore.classic.init import initialize
from nmfcore.classic.mu import MUSolver
from nmfcore.classic.penalty import Penalty
from nmfcore.results import NMFResult
from nmfcore.utils.parallel import single_threaded_blas
from nmfcore.utils.validation import check_beta


class NMF:
    """Nonnegative matrix factorisation with scikit-learn's interface.

    Parameters
    ----------
    n_components : int
        Rank r.
    beta_loss : float or str
        As ``beta`` of :func:`nmfcore.nmf`.
    solver, init, max_iter, tol, alpha_W, alpha_H, l1_ratio, dtype, random_state
        As in :func:`nmfcore.nmf`. ``init`` may be "custom", in which case
        ``fit(X, W=..., H=...)`` gives the start point in scikit-learn's orientation.
    callback : callable, optional
        As in :func:`nmfcore.nmf`, called during ``fit`` in the engine's orientation:
        ``callback(iteration, B, C, loss)`` with B (n_features x r) the transpose of
        the components and C (r x n_samples) that of the returned W.

    Attributes
    ----------
    components_ : ndarray, shape (r, n_features)
    reconstruction_err_ : float
        ``sqrt(2 D_β(X | W H))``, as scikit-learn reports it.
    n_iter_ : int
    result_ : NMFResult
        The engine's result (in the engine's orientation).
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        beta_loss: float | str = "frobenius",
        solver: str = "auto",
        init: str = "nndsvda",
        max_iter: int = 500,
        tol: float = 1e-4,
        alpha_W: float = 0.0,
        alpha_H: float = 0.0,
        l1_ratio: float = 0.0,
        dtype: Any = None,
        random_state: None | int | np.random.Generator = None,
        callback: Callback | None = None,
    ) -> None:
        self.n_components = n_components
        self.beta_loss = beta_loss
        self.solver = solver
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.dtype = dtype
        self.random_state = random_state
        self.callback = callback

    _PARAMS = (
        "n_components", "beta_loss", "solver", "init", "max_iter", "tol",
        "alpha_W", "alpha_H", "l1_ratio", "dtype", "random_state", "callback",
    )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> "NMF":
        """Set constructor parameters; unknown names raise ``ValueError``."""
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"invalid parameter {name!r} for NMF; valid ones are {self._PARAMS}")
            setattr(self, name, value)
        return self

    def _run(self, X: Any, W: np.ndarray | None, H: np.ndarray | None) -> NMFResult:
        Xt = X.T.tocsr() if sp.issparse(X) else np.asarray(X).T
        if self.init == "custom":
            if W is None or H is None:
                raise ValueError("init='custom' needs fit(X, W=..., H=...) with both factors")
            init: Any = (np.asarray(H).T, np.asarray(W).T)
        else:
            init = self.init
        # scikit-learn's W and H play the engine's H and W (the engine's alpha_W
        # penalises the engine's W = scikit-learn's H).
        return nmf(
            Xt, self.n_components, beta=self.beta_loss, solver=self.solver, init=init,
            max_iter=self.max_iter, tol=self.tol, alpha_W=self.alpha_H, alpha_H=self.alpha_W,
            l1_ratio=self.l1_ratio, dtype=self.dtype, random_state=self.random_state, callback=self.callback,
        )

    def fit_transform(self, X: Any, y: Any = None, W: np.ndarray | None = None, H: np.ndarray | None = None) -> np.ndarray:
        """Fit to X (n_samples x n_features) and return W (n_samples x r)."""
        result = self._run(X, W, H)
        self.result_ = result
        self.components_ = result.W.T.copy()
        self.n_components_ = result.rank
        self.n_iter_ = result.n_iter
        self.reconstruction_err_ = float(np.sqrt(2.0 * max(result.loss[-1], 0.0)))
        return result.H.T.copy()

    def fit(self, X: Any, y: Any = None, **params: Any) -> "NMF":
        """Fit to X (n_samples x n_features)."""
        self.fit_transform(X, **params)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Coefficients of new samples on the fitted ``components_`` (kept fixed).

        Runs the fitted solver's H updates only, from a random start, until the
        relative decrease of the loss falls below ``tol``.
        """
        if not hasattr(self, "components_"):
            raise ValueError("this NMF instance is not fitted yet; call fit or fit_transform first")
        beta = check_beta(self.beta_loss)
        Xt, _ = prepare_data(
            X.T.tocsr() if sp.issparse(X) else np.ascontiguousarray(np.asarray(X).T), beta, dtype=self.dtype
        )
        W = self.components_.T.astype(Xt.dtype, copy=True)
        if W.shape[0] != Xt.shape[0]:
            raise ValueError(f"X has {Xt.shape[0]} features, but the model was fitted on {W.shape[0]}")
        _, H = initialize(Xt, self.n_components_, "random", self.random_state)
        H = np.maximum(H, np.finfo(Xt.dtype).eps)
        penalty = Penalty.elastic_net(self.alpha_W, self.l1_ratio, 1.0, beta)
        solver = self.result_.params["solver"]
        if solver == "hals":
            state: MUSolver | HALSSolver = HALSSolver(Xt, W, H, Penalty(), penalty)
        else:
            state = MUSolver(Xt, W, H, beta, None, Penalty(), penalty, relaxed=solver == "relaxed-mu")
        with single_threaded_blas(state.parallel):
            previous = state.loss()
            for _ in range(self.max_iter):
                state.update_H()
                current = state.loss()
                if previous > 0 and (previous - current) / previous < self.tol:
                    break
                previous = current
        return state.H.T.copy()
