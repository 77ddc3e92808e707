"""The compiled MU passes and the vectorisable logarithm against NumPy, and the relaxed step's guarantee."""

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from nmfcore.classic._fastlog import HUGE, TINY, log_normal
from nmfcore.classic.mu_rules import mu_exponent, relaxed_factor
from nmfcore.classic._mu_kernels import csr_quotient_product, dense_quotient, mu_step, xlogq_sum


@numba.njit(fastmath={"nsz", "arcp", "contract", "afn", "reassoc"}, error_model="numpy")
def _logs(x, out):
    for i in range(x.size):
        out[i] = log_normal(x[i])


def test_log_matches_numpy_to_two_units_in_the_last_place():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        np.exp(rng.uniform(-708, 709, 200_000)),
        1.0 + rng.uniform(-1e-6, 1e-6, 20_000),  # near 1, where the result is small
        [TINY, HUGE, 0.5, 1.0, 2.0, np.sqrt(0.5), np.sqrt(2.0)],
    ])
    ours = np.empty_like(x)
    _logs(x, ours)  # compiled with the kernels' fast-math flags, as they inline it
    expected = np.log(x)
    ulps = np.abs(ours - expected) / np.spacing(np.maximum(np.abs(expected), TINY))
    assert ulps.max() <= 2
    assert ours[x == 1.0][0] == 0.0
    np.testing.assert_allclose(xlogq_sum(np.ones_like(x), x), np.sum(expected), rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_quotient_and_its_loss_term(dtype):
    rng = np.random.default_rng(1)
    X = (rng.random((37, 53)) * (rng.random((37, 53)) > 0.3)).astype(dtype)
    V = (rng.random((37, 53)) + 0.1).astype(dtype)
    expected_q = X / V
    positive = X > 0
    expected_sum = float(np.sum(X[positive].astype(float) * np.log((X[positive] / V[positive]).astype(float))))
    Q = V.copy()
    total = dense_quotient(X, Q, True)
    np.testing.assert_allclose(Q, expected_q, rtol=1e-6 if dtype == np.float32 else 1e-15)
    assert total == pytest.approx(expected_sum, rel=1e-6 if dtype == np.float32 else 1e-12)
    Q = V.copy()
    assert dense_quotient(X, Q, False) == 0.0
    np.testing.assert_array_equal(Q, expected_q)


def _x_log_q(X, V):
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return float(np.sum(np.where(X > 0, X * np.log(X / V), 0.0)))


def test_quotients_outside_the_fast_logs_domain_take_the_exact_path():
    # x / v underflows to a subnormal in row 0, and overflows to inf in row 1
    X = np.array([[1e-300, 1.0, 0.0], [2.0, 1e300, 3.0]])
    V = np.array([[1e10, 1.0, 5.0], [4.0, 1e-10, 1.0]])
    assert dense_quotient(X, V.copy(), True) == _x_log_q(X, V) == np.inf  # honestly infinite
    X[1, 1] = 1.0
    assert dense_quotient(X, V.copy(), True) == pytest.approx(_x_log_q(X, V), rel=1e-14)
    x, q = np.array([1.0, 2.0]), np.array([5e-324, 3.0])
    assert xlogq_sum(x, q) == pytest.approx(np.log(5e-324) + 2 * np.log(3.0), rel=1e-14)


def test_sparse_quotient_products_match_scipy():
    rng = np.random.default_rng(2)
    X = sp.random(70, 40, density=0.2, random_state=2, format="csr")
    W = rng.random((70, 5)) + 0.1
    H = rng.random((5, 40)) + 0.1
    rows, cols = X.nonzero()
    Q = sp.csr_matrix((X.data / np.einsum("ij,ji->i", W[rows], H[:, cols]), X.indices, X.indptr), shape=X.shape)
    q, num = np.empty(X.nnz), np.empty((70, 5))
    csr_quotient_product(X.indptr, X.indices, X.data, W, np.ascontiguousarray(H.T), q, num)
    np.testing.assert_allclose(num, Q @ H.T, rtol=1e-13)
    np.testing.assert_allclose(q, Q.data, rtol=1e-14)
    XT = X.T.tocsr()
    qt, num_t = np.empty(X.nnz), np.empty((40, 5))
    csr_quotient_product(XT.indptr, XT.indices, XT.data, np.ascontiguousarray(H.T), W, qt, num_t)
    np.testing.assert_allclose(num_t.T, W.T @ Q, rtol=1e-13)
    assert xlogq_sum(XT.data, qt) == pytest.approx(np.sum(X.data * np.log(Q.data)), rel=1e-13)


@pytest.mark.parametrize("relaxed, gamma", [(False, 1.0), (False, mu_exponent(0.5)), (True, 1.0)])
@pytest.mark.parametrize("den_shape", ["full", "row", "col"])
def test_mu_step_matches_the_numpy_formula(relaxed, gamma, den_shape):
    rng = np.random.default_rng(3)
    F = rng.random((6, 9)) + 0.01
    num = rng.random((6, 9)) * 2
    den = {"full": rng.random((6, 9)), "row": rng.random((6, 1)), "col": rng.random((1, 9))}[den_shape] + 0.1
    l1, l2, eps = 0.2, 0.3, 1e-16
    ratio = num / np.maximum(den + l1 + l2 * F, eps)
    multiplier = relaxed_factor(ratio) if relaxed else ratio**gamma
    expected = np.maximum(F * multiplier, eps)
    mu_step(F, num, np.ascontiguousarray(den), l1, l2, gamma, relaxed, eps)
    np.testing.assert_allclose(F, expected, rtol=1e-13)


def _majoriser_change(t, ratio, beta):
    """g(t) − g(1) for the MU majoriser g of one entry (up to scale; minimum at t = ratio),
    and the size of its two terms, in a form without cancellation."""
    log_t = np.log(t)
    if beta == 1:
        terms = (t - 1.0, ratio * log_t)
    else:
        terms = (np.expm1(beta * log_t) / beta, ratio * np.expm1((beta - 1) * log_t) / (beta - 1))
    return terms[0] - terms[1], np.abs(terms[0]) + np.abs(terms[1])


@pytest.mark.parametrize("beta", np.linspace(1, 2, 11))
def test_relaxed_step_never_raises_the_majoriser(beta):
    ratio = np.concatenate([np.logspace(-8, 0, 2000), np.logspace(0, 8, 2000)])
    relaxed, size = _majoriser_change(relaxed_factor(ratio), ratio, beta)
    mm, _ = _majoriser_change(ratio, ratio, beta)
    assert np.all(relaxed <= 1e-12 * size)  # so the objective cannot increase
    assert np.all(mm <= relaxed + 1e-12 * size)  # the MM step is the majoriser's minimum
    # and the relaxed step goes twice as far: in log t below 1, in t above
    down, up = ratio < 1, ratio > 1
    np.testing.assert_allclose(np.log(relaxed_factor(ratio[down])), 2 * np.log(ratio[down]))
    np.testing.assert_allclose(relaxed_factor(ratio[up]) - 1, 2 * (ratio[up] - 1))
