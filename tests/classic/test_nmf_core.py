"""Correctness of classic NMF: monotone objective, constraints, reproducibility, exactness, masks."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nmfcore

BETAS = [0, 0.5, 1, 1.5, 2, 3]


def planted(m=40, n=30, r=4, seed=0, sparse_factors=False):
    rng = np.random.default_rng(seed)
    W = rng.random((m, r))
    H = rng.random((r, n))
    if sparse_factors:
        W[W < 0.5] = 0
    return W @ H, W, H


def assert_monotone(loss, rtol=1e-9):
    increases = np.diff(loss)
    assert np.all(increases <= rtol * np.abs(loss[:-1]) + 1e-12), increases.max()


@pytest.mark.parametrize("beta", BETAS)
def test_mu_objective_never_increases(beta):
    X, _, _ = planted()
    X = X + 0.05 * np.random.default_rng(1).random(X.shape)
    result = nmfcore.nmf(X, 3, beta=beta, solver="mu", max_iter=150, tol=0, random_state=0)
    assert result.n_iter == 150
    assert_monotone(result.loss)
    assert result.loss[-1] < result.loss[0]
    assert result.loss[-1] == pytest.approx(nmfcore.beta_divergence(X, result.W, result.H, beta), rel=1e-6)


@pytest.mark.parametrize("beta", [0.5, 1, 1.5, 2, 3])
def test_mu_objective_never_increases_on_sparse_data(beta):
    X = sp.random(80, 60, density=0.05, random_state=3, format="csr")
    result = nmfcore.nmf(X, 4, beta=beta, solver="mu", max_iter=100, tol=0, random_state=0)
    assert_monotone(result.loss)
    assert result.loss[-1] == pytest.approx(nmfcore.beta_divergence(X, result.W, result.H, beta), rel=1e-6)


def test_hals_objective_never_increases_and_beats_mu():
    X, _, _ = planted(seed=2)
    X = X + 0.1 * np.random.default_rng(2).random(X.shape)
    hals = nmfcore.nmf(X, 4, solver="hals", max_iter=100, tol=0, random_state=0)
    mu = nmfcore.nmf(X, 4, solver="mu", max_iter=100, tol=0, random_state=0)
    assert_monotone(hals.loss)
    assert hals.params["solver"] == "hals"
    assert hals.loss[-1] <= mu.loss[-1]


@pytest.mark.parametrize("solver", ["mu", "relaxed-mu", "hals"])
def test_penalised_objective_never_increases(solver):
    X, _, _ = planted(seed=4)
    result = nmfcore.nmf(
        X, 4, solver=solver, alpha_W=0.5, alpha_H=0.2, l1_ratio=0.5, max_iter=100, tol=0, random_state=0
    )
    assert_monotone(result.loss)
    W, H = result.W, result.H
    by_hand = (
        nmfcore.beta_divergence(X, W, H, 2)
        + 0.5 * (0.5 * W.sum() + 0.25 * (W**2).sum())
        + 0.2 * (0.5 * H.sum() + 0.25 * (H**2).sum())
    )
    assert result.loss[-1] == pytest.approx(by_hand, rel=1e-9)
    plain = nmfcore.nmf(X, 4, solver=solver, max_iter=100, tol=0, random_state=0)
    assert W.sum() + H.sum() < plain.W.sum() + plain.H.sum()  # the penalties shrink the factors


def test_auto_picks_hals_for_frobenius_relaxed_mu_up_to_two_and_mu_otherwise():
    X, _, _ = planted()
    assert nmfcore.nmf(X, 2, max_iter=2).params["solver"] == "hals"
    assert nmfcore.nmf(X, 2, beta="kl", max_iter=2).params["solver"] == "relaxed-mu"
    assert nmfcore.nmf(X, 2, beta=1.5, max_iter=2).params["solver"] == "relaxed-mu"
    assert nmfcore.nmf(X, 2, mask=np.ones(X.shape), max_iter=2).params["solver"] == "relaxed-mu"
    assert nmfcore.nmf(X, 2, beta=0.5, max_iter=2).params["solver"] == "mu"
    assert nmfcore.nmf(X, 2, beta=3, max_iter=2).params["solver"] == "mu"


@pytest.mark.parametrize("beta", [1, 1.25, 1.5, 2])
@pytest.mark.parametrize("kind", ["dense", "sparse", "masked"])
def test_relaxed_mu_objective_never_increases(beta, kind):
    rng = np.random.default_rng(12)
    if kind == "sparse":
        X = sp.random(80, 60, density=0.08, random_state=12, format="csr")
        mask = None
    else:
        X, _, _ = planted(seed=12)
        X = X + 0.05 * rng.random(X.shape)
        mask = (rng.random(X.shape) > 0.2).astype(float) if kind == "masked" else None
    result = nmfcore.nmf(X, 4, beta=beta, solver="relaxed-mu", mask=mask, max_iter=150, tol=0, random_state=0)
    assert_monotone(result.loss)
    assert result.loss[-1] == pytest.approx(
        nmfcore.beta_divergence(X, result.W, result.H, beta, mask=mask), rel=1e-6
    )


@pytest.mark.parametrize("beta", [1, 1.5, 2])
def test_relaxed_mu_needs_far_fewer_iterations_than_mu(beta):
    X, _, _ = planted(m=60, n=50, r=6, seed=13)
    X = X + 0.05 * np.random.default_rng(13).random(X.shape)
    W0, H0 = nmfcore.initialize(X, 6, "nndsvda", random_state=0)
    mu = nmfcore.nmf(X, 6, beta=beta, solver="mu", init=(W0, H0), max_iter=200, tol=0)
    relaxed = nmfcore.nmf(X, 6, beta=beta, solver="relaxed-mu", init=(W0, H0), max_iter=200, tol=0)
    reached = np.flatnonzero(relaxed.loss <= mu.loss[-1])
    assert reached.size and reached[0] <= 140  # MU needs all 200
    assert relaxed.loss[-1] < mu.loss[-1]


@pytest.mark.parametrize("beta", [1, 1.5])
def test_relaxed_mu_with_penalties_never_increases(beta):
    X, _, _ = planted(seed=14)
    for l1_ratio in (1.0, 0.3):  # pure L1 keeps the relaxed step; an L2 part makes it plain below β = 2
        result = nmfcore.nmf(
            X, 4, beta=beta, solver="relaxed-mu", alpha_W=0.3, alpha_H=0.1, l1_ratio=l1_ratio,
            max_iter=100, tol=0, random_state=0,
        )
        assert_monotone(result.loss)


def test_hals_result_splits_each_factors_scale_evenly():
    X, _, _ = planted(seed=17)
    result = nmfcore.nmf(X + 0.05, 4, solver="hals", max_iter=200, tol=0, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(result.W, axis=0), np.linalg.norm(result.H, axis=1), rtol=1e-12)
    assert result.loss[-1] == pytest.approx(nmfcore.beta_divergence(X + 0.05, result.W, result.H, 2), rel=1e-9)


def test_hals_discards_an_overshooting_extrapolation_for_a_plain_step(monkeypatch):
    import nmfcore.classic.hals as hals

    X, _, _ = planted(m=80, n=70, r=6, seed=15)
    X = X + 0.05 * np.random.default_rng(15).random(X.shape)
    W0, H0 = nmfcore.initialize(X, 6, "nndsvda", random_state=0)
    monkeypatch.setattr(hals, "HER_START", 50.0)  # far too long: steps overshoot
    solver = hals.HALSSolver(X / X.mean(), W0.copy(), H0.copy(), hals.Penalty(), hals.Penalty())
    cuts = []

    def plain_step():
        cuts.append((before[-1], solver.beta))
        type(solver)._plain_step(solver)

    monkeypatch.setattr(solver, "_plain_step", plain_step)
    losses, before = [solver.loss()], []
    for _ in range(10):
        before.append(solver.beta)
        solver.step()
        losses.append(solver.loss())
    assert_monotone(np.array(losses))
    assert cuts and all(after == pytest.approx(b / hals.HER_CUT) for b, after in cuts)
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("beta, solver", [(1, "relaxed-mu"), (1, "mu"), (2, "hals")])
def test_row_blocks_on_threads_give_the_serial_result(monkeypatch, beta, solver):
    import nmfcore.classic.hals as hals
    import nmfcore.classic.mu as mu

    X, _, _ = planted(m=70, n=50, r=5, seed=16)
    X = X + 0.05 * np.random.default_rng(16).random(X.shape)
    W0, H0 = nmfcore.initialize(X, 5, "nndsvda", random_state=0)
    runs = []
    for count in (1, 3):  # 3 uneven blocks of rows (and columns of H)
        monkeypatch.setattr(mu, "block_count", lambda rows, work: count)
        monkeypatch.setattr(hals, "block_count", lambda rows, work: count)
        runs.append(nmfcore.nmf(X, 5, beta=beta, solver=solver, init=(W0, H0), max_iter=15, tol=0))
    serial, blocked = runs
    np.testing.assert_allclose(blocked.loss, serial.loss, rtol=1e-10)
    np.testing.assert_allclose(blocked.W, serial.W, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(blocked.H, serial.H, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("init", ["nndsvd", "nndsvda", "nndsvdar", "random"])
def test_same_seed_same_factors(init):
    X, _, _ = planted(seed=5)
    a = nmfcore.nmf(X, 3, beta=1, init=init, max_iter=30, random_state=7)
    b = nmfcore.nmf(X, 3, beta=1, init=init, max_iter=30, random_state=7)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.H, b.H)


@pytest.mark.parametrize(
    "beta, solver",
    [(0.5, "mu"), (1, "mu"), (1, "relaxed-mu"), (1.5, "mu"), (1.5, "relaxed-mu"), (2, "mu"), (2, "hals"), (3, "mu")],
)
def test_sparse_and_dense_give_the_same_factors(beta, solver):
    Xs = sp.random(60, 45, density=0.1, random_state=11, format="csr")
    a = nmfcore.nmf(Xs, 3, beta=beta, solver=solver, max_iter=60, tol=0, random_state=0)
    b = nmfcore.nmf(Xs.toarray(), 3, beta=beta, solver=solver, max_iter=60, tol=0, random_state=0)
    np.testing.assert_allclose(a.W, b.W, atol=1e-10, rtol=0)
    np.testing.assert_allclose(a.H, b.H, atol=1e-10, rtol=0)


def test_sparse_input_is_not_densified(monkeypatch):
    Xs = sp.random(200, 150, density=0.02, random_state=0, format="csr")

    def refuse(*args, **kwargs):
        raise AssertionError("a sparse X was densified")

    monkeypatch.setattr(sp.csr_matrix, "toarray", refuse)
    monkeypatch.setattr(sp.csr_matrix, "todense", refuse)
    result = nmfcore.nmf(Xs, 5, beta=1, max_iter=20, random_state=0)
    assert np.isfinite(result.loss).all()


def test_float32_input_keeps_its_precision():
    X, _, _ = planted()
    result = nmfcore.nmf(X.astype(np.float32), 3, beta=1, max_iter=20, random_state=0)
    assert result.W.dtype == np.float32 and result.H.dtype == np.float32
    assert nmfcore.nmf(X, 3, max_iter=5, dtype=np.float32).W.dtype == np.float32


@pytest.mark.parametrize(
    "solver, beta, max_iter", [("hals", 2, 4000), ("mu", 1, 20000), ("relaxed-mu", 1, 10000)]
)
def test_exact_planted_factorisation_is_recovered(solver, beta, max_iter):
    # separable planted data: the first r columns of X are the columns of W
    rng = np.random.default_rng(8)
    W = rng.random((50, 4))
    H = np.hstack([np.eye(4), rng.dirichlet(np.ones(4), size=60).T])
    X = W @ H
    result = nmfcore.nmf(X, 4, beta=beta, solver=solver, init="nndsvdar", max_iter=max_iter, tol=0, random_state=0)
    assert result.relative_error < 1e-4


def test_callback_sees_every_iteration_and_can_stop():
    X, _, _ = planted()
    seen = []

    def callback(iteration, W, H, loss):
        seen.append((iteration, loss))
        assert W.shape == (40, 3) and H.shape == (3, 30)
        return iteration < 7

    result = nmfcore.nmf(X, 3, max_iter=100, tol=0, callback=callback)
    assert [i for i, _ in seen] == list(range(1, 8))
    assert result.stopped and result.n_iter == 7 and not result.converged
    assert result.loss.size == 8 and result.times.size == 8
    assert seen[-1][1] == result.loss[-1]


def test_tolerance_stops_the_fit():
    X, _, _ = planted()
    result = nmfcore.nmf(X, 4, tol=1e-3, max_iter=1000)
    assert result.converged and result.n_iter < 1000


def test_result_records_everything_needed_to_rerun():
    X, _, _ = planted()
    result = nmfcore.nmf(X, 3, beta="kl", init="nndsvdar", max_iter=15, random_state=3)
    params = {k: v for k, v in result.params.items() if k not in ("model", "masked")}
    again = nmfcore.nmf(X, **params)
    np.testing.assert_array_equal(again.W, result.W)
    assert result.params["model"] == "nmf"
    [layer] = result.layers()
    assert layer.W is result.W and layer.H is result.H


def test_custom_init_is_the_start_point():
    X, W, H = planted()
    result = nmfcore.nmf(X, 4, init=(W, H), max_iter=0)
    np.testing.assert_allclose(result.W @ result.H, X)
    assert result.loss[0] == pytest.approx(0, abs=1e-12)


def test_mask_fits_observed_and_predicts_hidden_entries():
    rng = np.random.default_rng(0)
    X, _, _ = planted(m=60, n=50, r=3, seed=9)
    mask = (rng.random(X.shape) > 0.3).astype(float)
    X_missing = np.where(mask > 0, X, np.nan)
    result = nmfcore.nmf(X_missing, 3, mask=mask, init="nndsvdar", max_iter=10000, tol=0, random_state=0)
    assert_monotone(result.loss)
    approx = result.W @ result.H
    observed = mask > 0
    hidden = ~observed
    observed_err = np.linalg.norm((approx - X)[observed]) / np.linalg.norm(X[observed])
    hidden_err = np.linalg.norm((approx - X)[hidden])
    zero_fill_err = np.linalg.norm(X[hidden])
    assert observed_err < 5e-3
    assert hidden_err < 0.01 * zero_fill_err
    assert result.loss[-1] == pytest.approx(nmfcore.beta_divergence(X_missing, result.W, result.H, 2, mask=mask), rel=1e-6)


def test_mask_changes_nothing_when_all_observed():
    X, _, _ = planted()
    a = nmfcore.nmf(X, 3, beta=1, mask=np.ones(X.shape), max_iter=30, random_state=0)
    b = nmfcore.nmf(X, 3, beta=1, max_iter=30, random_state=0)
    np.testing.assert_allclose(a.W, b.W, rtol=1e-10)


def _hard_matrix(data, kind):
    """Shape the hypothesis-drawn data into one of the difficult input families."""
    rng = np.random.default_rng(data["seed"])
    m, n = data["m"], data["n"]
    if kind == "very_sparse":
        X = sp.random(m * 10, n * 10, density=0.001, random_state=data["seed"], format="csr")
        return X + sp.csr_matrix(([1.0], ([0], [0])), shape=X.shape)  # at least one non-zero
    X = rng.random((m, n)) * (rng.random((m, n)) > 0.3)
    if kind == "zero_rows_cols":
        X[data["seed"] % m] = 0
        X[:, data["seed"] % n] = 0
    X[0, 1] = max(X[0, 1], 0.5)
    return X * data["scale"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.fixed_dictionaries(
        {
            "m": st.integers(4, 15),
            "n": st.integers(4, 15),
            "seed": st.integers(0, 10_000),
            "scale": st.sampled_from([1e-12, 1.0, 1e12]),
        }
    ),
    kind=st.sampled_from(["dense", "zero_rows_cols", "very_sparse"]),
    beta=st.sampled_from(BETAS),
)
def test_factors_stay_finite_and_nonnegative(data, kind, beta):
    X = _hard_matrix(data, kind)
    if beta == 0:
        X = (X.toarray() if sp.issparse(X) else X) + 0.1 * data["scale"]
    result = nmfcore.nmf(X, 2, beta=beta, max_iter=25, tol=0, random_state=data["seed"])
    for F in (result.W, result.H):
        assert np.isfinite(F).all()
        assert (F >= 0).all()
    assert np.isfinite(result.loss).all()
    assert_monotone(result.loss, rtol=1e-7)
