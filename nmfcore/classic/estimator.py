"""scikit-learn's ``NMF``, over :func:`nmfcore.nmf`.

scikit-learn puts samples in rows: X_sk (n_samples x n_features) ≈ W_sk H_sk, with
``fit_transform`` returning W_sk and ``components_`` = H_sk. nmfcore puts items in
columns, so the estimators factorise X = X_skᵀ ≈ W H with W = H_skᵀ (the basis,
n_features x r) and H = W_skᵀ (the coefficients). ``transform`` is the engine's fit
with W fixed (``nmf(..., update_W=False)``) through the same solvers.

The parameters, their defaults, checks, messages and attributes are scikit-learn's
(1.9), on its machinery (:class:`~sklearn.base.BaseEstimator`,
:class:`~sklearn.base.TransformerMixin`, ``_parameter_constraints``,
:func:`~sklearn.utils.validation.validate_data`), so that scikit-learn's own tests
of ``NMF`` run against :class:`NMF` (tests/classic/test_sklearn_compat.py).
:class:`~nmfcore.classic.minibatch.MiniBatchNMF` shares :class:`_BaseNMF`.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_non_negative, validate_data

from nmfcore.classic.divergence import beta_divergence
from nmfcore.classic.fit import Callback, nmf
from nmfcore.classic.init import initialize
from nmfcore.classic.penalty import Penalty
from nmfcore.results import NMFResult
from nmfcore.utils.validation import BETA_NAMES, check_beta, resolve_seed

_SVD_INITS = ("nndsvd", "nndsvda", "nndsvdar")
# scikit-learn's solver names and the engine's
_ENGINE_SOLVER = {"cd": "hals", "mu": "mu"}
_FROBENIUS_ONLY = ("cd", "hals")


def _check_init(A: Any, shape: tuple[Any, Any], whom: str) -> np.ndarray:
    """scikit-learn's checks of a custom factor (its messages)."""
    A = check_array(A)
    for axis, word in ((0, "first"), (1, "second")):
        if shape[axis] != "auto" and A.shape[axis] != shape[axis]:
            raise ValueError(
                f"Array with wrong {word} dimension passed to {whom}. Expected {shape[axis]}, "
                f"but got {A.shape[axis]}."
            )
    check_non_negative(A, whom)
    if np.max(A) == 0:
        raise ValueError(f"Array passed to {whom} is full of zeros.")
    return A


def _floored_to_zero(F: np.ndarray, X: Any, result: NMFResult) -> np.ndarray:
    """F with the entries that multiplicative updates left at their floor set to 0 (in place).

    MU keeps every entry at least eps (times the root of the data's mean, in X's
    units) so that it can still move; scikit-learn reports such entries as exact
    zeros, and so do the estimators.
    """
    params = result.params
    if params["solver"] in ("mu", "relaxed-mu") or params.get("rule") == "mu":
        floor = 2.0 * np.finfo(F.dtype).eps * math.sqrt(float(X.sum()) / (X.shape[0] * X.shape[1]))
        F[F <= floor] = 0.0
    return F


class _ScikitLearnStop:
    """scikit-learn's stopping rule as an :func:`nmfcore.nmf` callback, on nmfcore's objective.

    Every 10 iterations, the fit stops once e = sqrt(2 objective) fell by less than
    ``tol`` times its value at the start point over those 10 (scikit-learn's rule for
    "mu", used here for every solver). ``inner`` (the user's callback) runs first.
    """

    def __init__(self, tol: float, start_loss: float, inner: Callback | None) -> None:
        self.tol, self.inner = tol, inner
        self.start = self.previous = math.sqrt(2.0 * max(start_loss, 0.0))
        self.converged = self.user_stopped = False

    def __call__(self, iteration: int, W: np.ndarray, H: np.ndarray, loss: float) -> bool | None:
        if self.inner is not None and self.inner(iteration, W, H, loss) is False:
            self.user_stopped = True
            return False
        if self.tol > 0 and iteration % 10 == 0:
            error = math.sqrt(2.0 * max(loss, 0.0))
            if self.start == 0 or (self.previous - error) / self.start < self.tol:
                self.converged = True
                return False
            self.previous = error
        return None


class _BaseNMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """What :class:`NMF` and :class:`~nmfcore.classic.minibatch.MiniBatchNMF` share.

    Subclasses set ``_name`` (for messages) and define ``__init__`` with their parameters.
    """

    _name = "NMF"
    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), None, StrOptions({"auto"})],
        "init": [StrOptions({"random", "nndsvd", "nndsvda", "nndsvdar", "custom"}), None],
        "beta_loss": [StrOptions(set(BETA_NAMES)), Real],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state", np.random.Generator],
        "alpha_W": [Interval(Real, 0, None, closed="left")],
        "alpha_H": [Interval(Real, 0, None, closed="left"), StrOptions({"same"})],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "verbose": ["verbose"],
        "dtype": "no_validation",
        "callback": [callable, None],
    }

    # -- checks ----------------------------------------------------------------

    def _validated(self, X: Any, reset: bool = True) -> np.ndarray | sp.spmatrix:
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32], reset=reset)
        check_non_negative(X, f"{self._name} (input X)")
        return X

    def _check_params(self, X: Any) -> None:
        self._n_components = X.shape[1] if self.n_components is None else self.n_components
        self._beta_loss = check_beta(self.beta_loss)
        if X.min() == 0 and self._beta_loss <= 0:
            raise ValueError(
                "When beta_loss <= 0 and X contains zeros, the solver may diverge. Please add small "
                "values to X, or use a positive beta_loss."
            )

    def _prepared(self, X: Any, W: Any, H: Any) -> tuple[np.ndarray | sp.spmatrix, Any]:
        """X validated (parameters checked against it) and the start point: ``init`` or (W, H)."""
        self._validate_params()
        X = self._validated(X)
        self._check_params(X)
        return X, self._start(X, W, H)

    def _start(self, X: Any, W: Any, H: Any) -> Any:
        """The engine's ``init`` (in its orientation) from ``init`` and the custom W, H; sets ``_n_components``."""
        n_samples, n_features = X.shape
        if self.init == "custom":
            if W is None or H is None:
                raise ValueError("init='custom' needs the initial factors: fit(X, W=..., H=...)")
            H = _check_init(H, (self._n_components, n_features), f"{self._name} (input H)")
            W = _check_init(W, (n_samples, self._n_components), f"{self._name} (input W)")
            if self._n_components == "auto":
                self._n_components = H.shape[0]
            if H.dtype != X.dtype or W.dtype != X.dtype:
                raise TypeError(
                    f"H and W should have the same dtype as X. Got H.dtype = {H.dtype} and W.dtype = {W.dtype}."
                )
            return (H.T, W.T)
        if W is not None or H is not None:
            warnings.warn(
                "When init!='custom', provided W or H are ignored. Set  init='custom' to use them as "
                "initialization.",
                RuntimeWarning,
            )
        if self._n_components == "auto":
            self._n_components = n_features
        fits_svd = self._n_components <= min(n_samples, n_features)
        if self.init is None:
            return "nndsvda" if fits_svd else "random"
        if self.init in _SVD_INITS and not fits_svd:
            raise ValueError(
                f"init = '{self.init}' can only be used when n_components <= min(n_samples, n_features)"
            )
        return self.init

    def _penalties(self, n_samples: int, n_features: int) -> tuple[float, float]:
        """scikit-learn's scaled weights as the engine's (alpha on its W, alpha on its H).

        scikit-learn penalises W_sk (the engine's H) with n_features α_W and H_sk
        (the engine's W) with n_samples α_H, in the same elastic-net form.
        """
        alpha_H = self.alpha_W if self.alpha_H == "same" else self.alpha_H
        return n_samples * alpha_H, n_features * self.alpha_W

    def _callback(self) -> Callback | None:
        """The user's callback, with a progress line per iteration when ``verbose``."""
        if not self.verbose:
            return self.callback
        user = self.callback

        def report(iteration: int, W: np.ndarray, H: np.ndarray, loss: float) -> Any:
            print(f"{type(self).__name__} iteration {iteration}: objective {loss:.6g}")
            return None if user is None else user(iteration, W, H, loss)

        return report

    def _warn_if_unconverged(self, result: NMFResult, max_iter: int) -> None:
        if result.n_iter == max_iter and self.tol > 0 and not (result.converged or result.stopped):
            warnings.warn(
                f"Maximum number of iterations {max_iter} reached. Increase it to improve convergence.",
                ConvergenceWarning,
            )

    # -- fitted model ----------------------------------------------------------

    def _solve(
        self, X: Any, start: tuple[np.ndarray, np.ndarray], solver: str, max_iter: int, *,
        update_W: bool = True, random_state: int | None = None,
    ) -> NMFResult:
        """:func:`nmfcore.nmf` of Xᵀ from ``start`` (engine orientation) under scikit-learn's stopping rule."""
        Xt = X.T
        alpha_W, alpha_H = self._penalties(*X.shape)
        W0, H0 = start
        start_loss = beta_divergence(Xt, W0, H0, self._beta_loss)
        start_loss += Penalty.elastic_net(alpha_W, self.l1_ratio).value(np.asarray(W0, dtype=float))
        start_loss += Penalty.elastic_net(alpha_H, self.l1_ratio).value(np.asarray(H0, dtype=float))
        rule = _ScikitLearnStop(self.tol, start_loss, self._callback())
        result = nmf(
            Xt, W0.shape[1], beta=self._beta_loss, solver=solver, init=start, update_W=update_W,
            max_iter=max_iter, tol=0, alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=self.l1_ratio,
            dtype=self.dtype, random_state=random_state, callback=rule,
        )
        result.converged, result.stopped = rule.converged, rule.user_stopped
        self._warn_if_unconverged(result, max_iter)
        return result

    def _coefficients(self, X: Any, solver: str, max_iter: int) -> np.ndarray:
        """W_sk of X on the fitted ``components_`` (kept fixed), by the engine with W fixed, from a constant start."""
        rank = self.components_.shape[0]
        mean = float(X.sum()) / (X.shape[0] * X.shape[1])
        H0 = np.full((rank, X.shape[0]), math.sqrt(mean / rank), dtype=X.dtype)
        result = self._solve(X, (self.components_.T, H0), solver, max_iter, update_W=False)
        return _floored_to_zero(np.ascontiguousarray(result.H.T), X, result)

    def _keep(self, X: Any, result: NMFResult, coefficients: np.ndarray) -> None:
        """Set the fitted attributes from the engine's result (its W is components_ᵀ)."""
        self.result_ = result
        self.components_ = _floored_to_zero(np.ascontiguousarray(result.W.T), X, result)
        self.n_components_ = self.components_.shape[0]
        self.n_iter_ = result.n_iter
        divergence = beta_divergence(X.T, self.components_.T, coefficients.T, self._beta_loss)
        self.reconstruction_err_ = float(np.sqrt(2.0 * max(divergence, 0.0)))

    def fit(self, X: Any, y: Any = None, **params: Any) -> "_BaseNMF":
        """Learn the model from X (n_samples x n_features); ``params`` go to ``fit_transform``."""
        self.fit_transform(X, **params)
        return self

    def inverse_transform(self, X: Any) -> np.ndarray:
        """X (n_samples x n_components) back in the space of the data: X @ ``components_``."""
        check_is_fitted(self)
        return X @ self.components_

    @property
    def _n_features_out(self) -> int:
        """Number of transformed output features."""
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class NMF(_BaseNMF):
    """Nonnegative matrix factorisation with scikit-learn's ``NMF`` interface, over :func:`nmfcore.nmf`.

    X (n_samples x n_features) ≈ W H with W = ``fit_transform(X)`` and H =
    ``components_``, minimising the β-divergence plus n_features α_W (ρ‖W‖₁ +
    ½(1−ρ)‖W‖²) + n_samples α_H (ρ‖H‖₁ + ½(1−ρ)‖H‖²), ρ = ``l1_ratio``, as
    scikit-learn does.

    Parameters
    ----------
    n_components : int, "auto" or None
        Rank; None is n_features, "auto" the rank of custom factors (else n_features).
    init : {None, "random", "nndsvd", "nndsvda", "nndsvdar", "custom"}
        None is "nndsvda" when n_components <= min(n_samples, n_features), else
        "random". "custom" takes ``fit(X, W=..., H=...)``.
    solver : {"cd", "mu", "hals", "relaxed-mu", "auto", "online"}
        "cd" (scikit-learn's coordinate descent) runs nmfcore's accelerated HALS,
        "mu" the multiplicative updates; the others are :func:`nmfcore.nmf`'s.
        "cd" and "hals" need the Frobenius loss.
    beta_loss : float or {"frobenius", "kullback-leibler", "itakura-saito", "kl", "is"}
    tol : float
        scikit-learn's rule for "mu", for every solver: every 10 iterations, stop
        once sqrt(2 objective) fell by less than ``tol`` times its start value over
        them (nmfcore's objective includes the penalties). 0 runs ``max_iter``.
    max_iter : int
    random_state : int, RandomState, Generator or None
    alpha_W, alpha_H, l1_ratio
        scikit-learn's penalty weights; ``alpha_H="same"`` takes ``alpha_W``.
    verbose : int
        Print the objective after each iteration.
    shuffle : bool
        scikit-learn's random order of coordinates in "cd"; nmfcore's HALS sweeps
        in order, so True only warns.
    dtype : {None, numpy.float32, numpy.float64}
        Working precision (None keeps float32 input in float32).
    callback : callable, optional
        As in :func:`nmfcore.nmf`, in the engine's orientation:
        ``callback(iteration, B, C, loss)`` with B = ``components_``ᵀ and C = Wᵀ.

    Attributes
    ----------
    components_ : ndarray, shape (n_components, n_features)
    n_components_ : int
    reconstruction_err_ : float
        sqrt(2 D_β(X | W H)), penalties left out, as scikit-learn reports it.
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When X has string column names.
    result_ : NMFResult
        The engine's result, in its orientation (W = ``components_``ᵀ).
    """

    _name = "NMF"
    _parameter_constraints: dict = {
        **_BaseNMF._parameter_constraints,
        "solver": [StrOptions({"cd", "mu", "hals", "relaxed-mu", "auto", "online"})],
        "shuffle": ["boolean"],
    }

    def __init__(
        self,
        n_components: int | str | None = "auto",
        *,
        init: str | None = None,
        solver: str = "cd",
        beta_loss: float | str = "frobenius",
        tol: float = 1e-4,
        max_iter: int = 200,
        random_state: Any = None,
        alpha_W: float = 0.0,
        alpha_H: float | str = "same",
        l1_ratio: float = 0.0,
        verbose: int = 0,
        shuffle: bool = False,
        dtype: Any = None,
        callback: Callback | None = None,
    ) -> None:
        self.n_components = n_components
        self.init = init
        self.solver = solver
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.verbose = verbose
        self.shuffle = shuffle
        self.dtype = dtype
        self.callback = callback

    def _check_params(self, X: Any) -> None:
        super()._check_params(X)
        if self.solver in _FROBENIUS_ONLY and self._beta_loss != 2:
            raise ValueError(
                f"Invalid beta_loss parameter: solver {self.solver!r} does not handle beta_loss = {self.beta_loss!r}"
            )
        if self.shuffle:
            warnings.warn("shuffle=True has no effect: nmfcore's HALS sweeps the components in order", UserWarning)

    def fit_transform(self, X: Any, y: Any = None, W: Any = None, H: Any = None) -> np.ndarray:
        """Learn the model from X (n_samples x n_features) and return W (n_samples x n_components).

        ``W`` and ``H`` are the start point when ``init="custom"``.
        """
        X, init = self._prepared(X, W, H)
        rng, seed = resolve_seed(self.random_state)
        if isinstance(init, str):  # the engine's start, drawn as nmf(init=init, random_state=seed) would
            start = initialize(X.T, self._n_components, init, rng)
        else:
            start = init
        solver = _ENGINE_SOLVER.get(self.solver, self.solver)
        result = self._solve(X, start, solver, self.max_iter, random_state=seed)
        result.params["init"] = init if isinstance(init, str) else "custom"
        coefficients = _floored_to_zero(np.ascontiguousarray(result.H.T), X, result)
        self._keep(X, result, coefficients)
        return coefficients

    def transform(self, X: Any) -> np.ndarray:
        """W (n_samples x n_components) of X on the fitted ``components_``, kept fixed.

        The fitted solver's H updates only (the engine's fit with W fixed), from a
        constant start, until an iteration lowers the objective by less than ``tol``.
        """
        check_is_fitted(self)
        X = self._validated(X, reset=False)
        solver = self.result_.params["solver"]
        return self._coefficients(X, "auto" if solver == "online" else solver, self.max_iter)
