"""The online (minibatch) solver: nmfcore.classic.online and nmf(solver="online")."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

import nmfcore
from nmfcore.classic.minibatch import MiniBatchNMF
from nmfcore.classic.online import online_nmf
from nmfcore.classic.online_solver import OnlineSolver, item_batches


def planted(beta, m=20, n=4000, r=3, seed=0):
    """W0 H0 with sparse-ish W0: Poisson counts for KL, 30 % Gaussian noise (clipped) for β = 2."""
    rng = np.random.default_rng(seed)
    W0 = rng.random((m, r)) * (rng.random((m, r)) < 0.6) + 0.01
    V = W0 @ rng.gamma(1.0, size=(r, n))
    if beta == 1:
        return rng.poisson(10 * V).astype(float)
    return np.maximum(V + 0.3 * V.mean() * rng.standard_normal((m, n)), 0)


def objective(X, W, H, beta, alpha_W=0.0, alpha_H=0.0, l1_ratio=0.0):
    def penalty(F, alpha):
        return alpha * (l1_ratio * F.sum() + 0.5 * (1 - l1_ratio) * (F * F).sum())

    return nmfcore.beta_divergence(X, W, H, beta) + penalty(W, alpha_W) + penalty(H, alpha_H)


@pytest.mark.parametrize("beta, passes", [(2, 5), (1, 15)])
def test_loss_falls_over_passes_to_within_one_percent_of_the_full_batch_loss(beta, passes):
    X = planted(beta)
    full = nmfcore.nmf(X, 3, beta=beta, max_iter=2000, tol=1e-8, random_state=0)
    online = online_nmf(X, 3, beta=beta, batch_size=500, max_iter=passes, tol=0, random_state=0)
    assert online.params["solver"] == "online" and online.params["rule"] == ("hals" if beta == 2 else "mu")
    assert online.n_iter == passes and online.loss.shape == online.times.shape == (passes + 1,)
    assert np.all(np.diff(online.loss) <= 1e-12 * online.loss[:-1])
    assert online.loss[-1] <= 1.01 * full.loss[-1]
    # each entry is the whole objective; the last at the returned factors
    assert online.loss[-1] == pytest.approx(objective(X, online.W, online.H, beta), rel=1e-9)
    assert online.extra["n_steps"] == passes * len(item_batches(X.shape[1], 500))


def test_nmf_dispatches_solver_online_with_its_batch_options():
    X = planted(2, n=600)
    result = nmfcore.nmf(X, 3, solver="online", batch_size=100, forget_factor=0.5, max_iter=3, tol=0, random_state=0)
    direct = online_nmf(X, 3, batch_size=100, forget_factor=0.5, max_iter=3, tol=0, random_state=0)
    np.testing.assert_array_equal(result.W, direct.W)
    np.testing.assert_array_equal(result.H, direct.H)
    assert result.params["batch_size"] == 100 and result.params["forget_factor"] == 0.5
    with pytest.raises(ValueError, match="options of solver='online'"):
        nmfcore.nmf(X, 3, batch_size=100)
    with pytest.raises(ValueError, match="mask"):
        nmfcore.nmf(X, 3, solver="online", mask=np.ones_like(X))


@pytest.mark.parametrize("beta", [2, 1])
def test_forgetting_also_approaches_the_full_batch_loss(beta):
    X = planted(beta, n=2000)
    full = nmfcore.nmf(X, 3, beta=beta, max_iter=2000, tol=1e-8, random_state=0)
    online = online_nmf(X, 3, beta=beta, batch_size=250, forget_factor=0.7, max_iter=20, tol=0, random_state=0)
    assert online.loss[-1] < online.loss[1] and online.loss[-1] <= 1.05 * full.loss[-1]


def test_one_batch_without_forgetting_is_full_batch_mu():
    X = planted(1, n=300)
    online = online_nmf(X, 3, beta=1, rule="mu", batch_size=300, forget_factor=0.0, max_iter=30, tol=0,
                        batch_iter=1, final_iter=0, relaxed=False, random_state=0)
    full = nmfcore.nmf(X, 3, beta=1, solver="mu", max_iter=30, tol=0, random_state=0)
    np.testing.assert_allclose(online.W, full.W, rtol=1e-9)
    np.testing.assert_allclose(online.H, full.H, rtol=1e-9)


def test_penalties_enter_the_reported_objective():
    X = planted(2, n=800)
    result = online_nmf(X, 3, batch_size=200, max_iter=4, tol=0, alpha_W=2.0, alpha_H=0.5, l1_ratio=0.3,
                        random_state=0)
    expected = objective(X, result.W, result.H, 2, alpha_W=2.0, alpha_H=0.5, l1_ratio=0.3)
    assert result.loss[-1] == pytest.approx(expected, rel=1e-9)
    plain = online_nmf(X, 3, batch_size=200, max_iter=4, tol=0, random_state=0)
    assert expected < objective(X, plain.W, plain.H, 2, alpha_W=2.0, alpha_H=0.5, l1_ratio=0.3)


def test_sparse_input_gives_the_dense_result():
    X = planted(1, n=400)
    X[X < 2] = 0
    dense = online_nmf(X, 3, beta=1, batch_size=100, max_iter=3, tol=0, random_state=0)
    sparse = online_nmf(sp.csr_matrix(X), 3, beta=1, batch_size=100, max_iter=3, tol=0, random_state=0)
    np.testing.assert_allclose(sparse.W, dense.W, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(sparse.loss, dense.loss, rtol=1e-9)


def test_float32_stays_float32():
    X = planted(2, n=300).astype(np.float32)
    result = online_nmf(X, 3, batch_size=100, max_iter=2, random_state=0)
    assert result.W.dtype == result.H.dtype == np.float32


def test_tol_stops_when_a_pass_gains_little():
    X = planted(2, n=1000)
    result = online_nmf(X, 3, batch_size=250, max_iter=200, tol=1e-3, random_state=0)
    assert result.converged and result.n_iter < 200
    gains = -np.diff(result.loss) / result.loss[:-1]
    assert gains[:-1].min() >= 1e-3  # the last pass (then the final coefficient solve) gained less


def test_callback_sees_each_pass_and_can_stop():
    X = planted(2, n=500)
    seen = []
    result = online_nmf(X, 3, batch_size=100, max_iter=10, tol=0, random_state=0,
                        callback=lambda p, W, H, loss: seen.append((p, W.shape, H.shape)) or p < 3)
    assert [p for p, _, _ in seen] == [1, 2, 3] and seen[0][1:] == ((20, 3), (3, 500))
    assert result.stopped and result.n_iter == 3


def test_bad_options_are_refused():
    X = planted(2, n=200)
    with pytest.raises(ValueError, match="forget_factor"):
        online_nmf(X, 3, forget_factor=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        online_nmf(X, 3, batch_size=0)
    with pytest.raises(ValueError, match="rule='hals'"):
        online_nmf(X, 3, beta=1, rule="hals")


def test_solver_state_pickles_without_its_scratch_arrays():
    X = planted(2, n=300)
    result = online_nmf(X, 3, batch_size=100, max_iter=1, random_state=0)
    solver = OnlineSolver.for_data(result.W, beta=2.0, rule="hals", scale=1.0, rho=None, alpha_W=0.0,
                                   alpha_H=0.0, l1_ratio=0.0, relaxed=False, statistics=result.extra["statistics"])
    solver._work[(20, 100)] = {"V": np.zeros((20, 100))}
    clone = pickle.loads(pickle.dumps(solver))
    assert clone._work == {} and np.array_equal(clone.W, solver.W)


# -- MiniBatchNMF.partial_fit ---------------------------------------------------


def test_partial_fit_on_the_whole_data_is_one_pass_of_fit():
    X = planted(2, n=200).T  # scikit-learn orientation
    fitted = MiniBatchNMF(3, batch_size=200, max_iter=1, fresh_restarts=True, random_state=0, tol=0).fit(X)
    streamed = MiniBatchNMF(3, batch_size=200, fresh_restarts=True, random_state=0, tol=0).partial_fit(X)
    np.testing.assert_allclose(streamed.components_, fitted.components_, rtol=1e-12)
    assert streamed.n_steps_ == fitted.n_steps_ == 1


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_partial_fit_over_a_stream_approaches_fit(solver):
    X = planted(2, n=2000).T
    fitted = MiniBatchNMF(3, solver=solver, batch_size=200, max_iter=10, random_state=0, tol=0,
                          max_no_improvement=None).fit(X)
    streamed = MiniBatchNMF(3, solver=solver, batch_size=200, random_state=0)
    first = None
    for _ in range(10):
        for rows in item_batches(X.shape[0], 200):
            streamed.partial_fit(X[rows])
        if first is None:
            first = streamed.inverse_transform(streamed.transform(X))
    error = np.linalg.norm(X - streamed.inverse_transform(streamed.transform(X)))
    assert error < np.linalg.norm(X - first)
    assert error <= 1.02 * np.linalg.norm(X - fitted.inverse_transform(fitted.transform(X)))
    assert streamed.n_steps_ == 100
