"""nmfcore.NMF and MiniBatchNMF: scikit-learn's interface over the engine, and nmf(update_W=False)."""

import inspect
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import NMF as SklearnNMF
from sklearn.decomposition import MiniBatchNMF as SklearnMiniBatchNMF
from sklearn.exceptions import ConvergenceWarning

import nmfcore
from nmfcore.classic.estimator import NMF
from nmfcore.classic.minibatch import MiniBatchNMF


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    return rng.random((40, 4)) @ rng.random((4, 15)) + 0.01 * rng.random((40, 15))  # samples x features


@pytest.mark.parametrize("ours, theirs", [(NMF, SklearnNMF), (MiniBatchNMF, SklearnMiniBatchNMF)])
def test_signature_and_defaults_are_scikit_learns(ours, theirs):
    mine = inspect.signature(ours).parameters
    for name, parameter in inspect.signature(theirs).parameters.items():
        assert name in mine and mine[name].default == parameter.default and mine[name].kind == parameter.kind
    assert list(mine)[: len(inspect.signature(theirs).parameters)] == list(inspect.signature(theirs).parameters)


# -- the fixed-factor option of nmf ----------------------------------------------


@pytest.mark.parametrize("solver", ["hals", "mu", "relaxed-mu"])
def test_update_W_false_keeps_W_and_solves_H(solver):
    rng = np.random.default_rng(1)
    W = rng.random((15, 3))
    X = W @ rng.random((3, 30))
    result = nmfcore.nmf(X, 3, solver=solver, init=(W, None), update_W=False, max_iter=500, tol=1e-10)
    np.testing.assert_array_equal(result.W, W)
    assert np.all(np.diff(result.loss) <= 1e-12 * result.loss[0])  # an exact fit ends at rounding level
    assert result.relative_error < 1e-2 and result.params["update_W"] is False


def test_update_W_false_needs_the_basis():
    with pytest.raises(ValueError, match="init must be the pair"):
        nmfcore.nmf(np.ones((4, 5)), 2, update_W=False)


def test_random_and_custom_starts_take_a_rank_above_min_m_n():
    X = np.random.default_rng(2).random((10, 6))
    assert nmfcore.nmf(X, 8, init="random", random_state=0, max_iter=5).W.shape == (10, 8)
    with pytest.raises(ValueError, match=r"min\(m, n\)"):
        nmfcore.nmf(X, 8, init="nndsvda")


def test_transform_is_the_engine_with_the_components_fixed(X):
    model = NMF(4, solver="mu", random_state=0, tol=0, max_iter=50).fit(X)
    coefficients = model.transform(X)
    start = np.full((4, X.shape[0]), np.sqrt(X.mean() / 4))
    engine = nmfcore.nmf(X.T, 4, solver="mu", init=(model.components_.T, start), update_W=False, max_iter=50, tol=0)
    expected = engine.H.T.copy()
    expected[expected <= 2 * np.finfo(float).eps * np.sqrt(X.mean())] = 0  # MU's floor, reported as 0
    np.testing.assert_allclose(coefficients, expected, rtol=1e-12)


# -- NMF -----------------------------------------------------------------------


def test_solver_cd_runs_hals_and_mu_runs_mu(X):
    assert NMF(3, random_state=0).fit(X).result_.params["solver"] == "hals"
    assert NMF(3, solver="mu", random_state=0).fit(X).result_.params["solver"] == "mu"
    assert NMF(3, solver="online", random_state=0, max_iter=5).fit(X).result_.params["solver"] == "online"
    with pytest.raises(ValueError, match="solver 'cd' does not handle beta_loss"):
        NMF(3, beta_loss="kl").fit(X)


def test_penalties_are_scaled_as_scikit_learn_scales_them(X):
    alpha_W, alpha_H, rho = 0.02, 0.05, 0.4
    model = NMF(3, alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=rho, random_state=0, tol=0, max_iter=30)
    W = model.fit_transform(X)
    H = model.components_
    n_samples, n_features = X.shape

    def net(F):
        return rho * F.sum() + 0.5 * (1 - rho) * (F * F).sum()

    # scikit-learn's objective (its NMF docstring) is the engine's
    expected = 0.5 * np.sum((X - W @ H) ** 2) + n_features * alpha_W * net(W) + n_samples * alpha_H * net(H)
    assert model.result_.loss[-1] == pytest.approx(expected, rel=1e-9)
    same = NMF(3, alpha_W=alpha_W, l1_ratio=rho, random_state=0, tol=0, max_iter=30).fit(X)
    assert same.result_.params["alpha_W"] == pytest.approx(n_samples * alpha_W)


def test_fitted_attributes_and_inverse_transform(X):
    model = NMF(4, random_state=0, max_iter=400)
    W = model.fit_transform(X)
    assert W.shape == (40, 4) and model.components_.shape == (4, 15) and model.n_components_ == 4
    assert model.n_features_in_ == 15 and model.n_iter_ == model.result_.n_iter
    np.testing.assert_allclose(model.inverse_transform(W), W @ model.components_)
    assert model.reconstruction_err_ == pytest.approx(np.linalg.norm(X - W @ model.components_), rel=1e-9)
    assert list(model.get_feature_names_out()) == ["nmf0", "nmf1", "nmf2", "nmf3"]


def test_feature_names_and_pandas_output(X):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(X, columns=[f"gene{i}" for i in range(15)])
    model = NMF(2, random_state=0).set_output(transform="pandas")
    out = model.fit_transform(frame)
    assert list(out.columns) == ["nmf0", "nmf1"] and list(model.feature_names_in_) == list(frame.columns)


def test_custom_start_and_auto_rank(X):
    rng = np.random.default_rng(3)
    W0, H0 = rng.random((40, 2)), rng.random((2, 15))
    model = NMF("auto", init="custom", random_state=0, max_iter=1, tol=0)
    model.fit(X, W=W0, H=H0)
    assert model.n_components_ == 2 and model.result_.params["init"] == "custom"
    first = nmfcore.nmf(X.T, 2, init=(H0.T, W0.T), max_iter=1, tol=0)
    np.testing.assert_allclose(model.components_, first.W.T, rtol=1e-12)


def test_convergence_warning_and_tol(X):
    with pytest.warns(ConvergenceWarning, match="Maximum number of iterations 3 reached"):
        NMF(3, max_iter=3, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = NMF(3, tol=1e-2, random_state=0).fit(X)
    assert model.n_iter_ % 10 == 0 and model.result_.converged  # scikit-learn's rule, every 10 iterations


def test_verbose_prints_each_iteration(X, capsys):
    NMF(2, max_iter=3, tol=0, verbose=1, random_state=0).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("NMF iteration 1: objective")


def test_shuffle_warns_that_it_does_nothing(X):
    with pytest.warns(UserWarning, match="shuffle=True has no effect"):
        NMF(2, shuffle=True, random_state=0).fit(X)


def test_sparse_input_and_float32(X):
    dense = NMF(3, solver="mu", random_state=0, tol=0, max_iter=40).fit_transform(X)
    sparse = NMF(3, solver="mu", random_state=0, tol=0, max_iter=40).fit_transform(sp.csr_matrix(X))
    np.testing.assert_allclose(sparse, dense, rtol=1e-8, atol=1e-12)
    model = NMF(3, random_state=0).fit(X.astype(np.float32))
    assert model.components_.dtype == model.transform(X.astype(np.float32)).dtype == np.float32


# -- MiniBatchNMF --------------------------------------------------------------


def test_minibatch_runs_the_online_solver(X):
    model = MiniBatchNMF(3, batch_size=10, random_state=0, max_iter=20)
    W = model.fit_transform(X)
    assert model.result_.params["solver"] == "online" and model.result_.params["rule"] == "mu"
    assert model.n_steps_ == model.result_.extra["n_steps"] and model.n_steps_ <= 4 * model.n_iter_
    assert W.shape == (40, 3) and model.transform(X).shape == (40, 3)
    hals = MiniBatchNMF(3, solver="hals", forget_factor=None, batch_size=10, random_state=0, max_iter=20).fit(X)
    assert hals.result_.params["rule"] == "hals" and hals.result_.params["forget_factor"] is None
    assert hals.reconstruction_err_ < 0.1 * np.linalg.norm(X)


def test_minibatch_with_one_batch_and_no_forgetting_is_nmf_mu(X):
    nmf = NMF(3, solver="mu", random_state=0, tol=0, max_iter=60).fit_transform(X)
    minibatch = MiniBatchNMF(3, batch_size=X.shape[0], forget_factor=0.0, random_state=0, tol=0,
                             max_no_improvement=None, max_iter=60).fit_transform(X)
    np.testing.assert_allclose(minibatch, nmf, rtol=1e-9, atol=1e-14)


def test_minibatch_refuses_zeros_under_nonpositive_beta(X):
    Z = X.copy()
    Z[0, 0] = 0
    with pytest.raises(ValueError, match="beta_loss <= 0 and X contains zeros"):
        MiniBatchNMF(2, beta_loss="itakura-saito").fit(Z)
