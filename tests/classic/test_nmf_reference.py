"""Classic NMF against scikit-learn on the papers' data, and the estimator interface."""

import warnings

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from sklearn.decomposition import NMF as SklearnNMF
from sklearn.exceptions import ConvergenceWarning

import nmfcore
from _shared import shared_path


def sklearn_loss(X, rank, beta, solver, W0, H0, max_iter):
    """Final β-divergence of scikit-learn's NMF from our start point (its orientation is Xᵀ)."""
    model = SklearnNMF(rank, beta_loss=beta, solver=solver, init="custom", max_iter=max_iter, tol=0)
    Xt = X.T.tocsr() if sp.issparse(X) else X.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        coef = model.fit_transform(Xt, W=H0.T.copy(), H=W0.T.copy())
    return nmfcore.beta_divergence(X, model.components_.T, coef.T, beta)


@pytest.mark.parametrize("beta, sk_solver", [(2, "cd"), (1, "mu")])
def test_no_worse_than_sklearn_on_cbcl(beta, sk_solver):
    X = scipy.io.loadmat(shared_path("CBCL.mat"))["X"]
    W0, H0 = nmfcore.initialize(X, 49, "nndsvda", random_state=0)
    budget = 60
    ours = nmfcore.nmf(X, 49, beta=beta, init=(W0, H0), max_iter=budget, tol=0)
    theirs = sklearn_loss(X, 49, beta, sk_solver, W0, H0, budget)
    assert ours.loss[-1] <= theirs * (1 + 1e-9)


@pytest.mark.parametrize("beta, sk_solver, ours_budget", [(2, "cd", 110), (1, "mu", 125)])
def test_default_solver_reaches_sklearns_200_iteration_loss_far_sooner_on_cbcl(beta, sk_solver, ours_budget):
    # extrapolated HALS (β = 2) and relaxed MU (β = 1) against scikit-learn's CD and MU;
    # measured: 86 and 104 iterations
    X = scipy.io.loadmat(shared_path("CBCL.mat"))["X"]
    W0, H0 = nmfcore.initialize(X, 49, "nndsvda", random_state=0)
    theirs = sklearn_loss(X, 49, beta, sk_solver, W0, H0, 200)
    ours = nmfcore.nmf(X, 49, beta=beta, init=(W0, H0), max_iter=ours_budget, tol=0)
    assert ours.params["solver"] == ("hals" if beta == 2 else "relaxed-mu")
    assert ours.loss[-1] <= theirs


def test_no_worse_than_sklearn_on_classic4():
    X = scipy.io.loadmat(shared_path("classic.mat"))["X"].tocsr().astype(float)
    W0, H0 = nmfcore.initialize(X, 20, "nndsvda", random_state=0)
    budget = 25
    ours = nmfcore.nmf(X, 20, beta=1, init=(W0, H0), max_iter=budget, tol=0)
    theirs = sklearn_loss(X, 20, 1, "mu", W0, H0, budget)
    assert ours.loss[-1] <= theirs * (1 + 1e-9)


def test_estimator_matches_engine_and_sklearn_orientation():
    rng = np.random.default_rng(0)
    X = rng.random((30, 12))  # samples x features
    # scikit-learn's default solver "cd" is Frobenius-only, and its stopping rule is not the engine's
    model = nmfcore.NMF(3, beta_loss="kl", solver="auto", max_iter=50, tol=0, random_state=0)
    W = model.fit_transform(X)
    assert W.shape == (30, 3) and model.components_.shape == (3, 12)
    engine = nmfcore.nmf(X.T, 3, beta=1, max_iter=50, tol=0, random_state=0)
    np.testing.assert_allclose(model.components_, engine.W.T)
    np.testing.assert_allclose(W, engine.H.T)
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * engine.loss[-1]))
    assert model.get_params()["n_components"] == 3
    assert model.set_params(n_components=4).n_components == 4
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(colour="red")


def test_estimator_transform_solves_nonnegative_least_squares_on_the_components():
    from scipy.optimize import nnls

    rng = np.random.default_rng(1)
    components = rng.random((3, 15))
    X_train = rng.random((40, 3)) @ components
    X_new = rng.random((5, 3)) @ components + 0.05 * rng.random((5, 15))
    model = nmfcore.NMF(3, max_iter=500, random_state=0).fit(X_train)
    coef = model.transform(X_new)
    assert coef.shape == (5, 3) and (coef >= 0).all()
    # transform keeps components_ fixed: its residual is the NNLS optimum's (to the stopping tol)
    C = model.components_
    for x, c in zip(X_new, coef):
        best = nnls(C.T, x)[1]
        assert np.linalg.norm(c @ C - x) <= best + 1e-3 * np.linalg.norm(x)


def test_estimator_refuses_transform_before_fit():
    with pytest.raises(ValueError, match="not fitted"):
        nmfcore.NMF(2).transform(np.ones((3, 3)))
