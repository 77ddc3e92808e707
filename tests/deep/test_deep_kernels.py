"""Each compiled pass of nmfcore.deep._kernels against the NumPy formula it fuses, in float64 and float32."""

from __future__ import annotations

import numpy as np
import pytest

from nmfcore.deep import _kernels as kernels

DTYPES = [np.float64, np.float32]


def _rtol(dtype) -> float:
    # The kernels are compiled with fastmath (contraction, reciprocal division), so
    # they may differ from NumPy by a few ulps.
    return 8 * float(np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_product_ratio_counts_quotients_outside_the_range(dtype):
    rng = np.random.default_rng(0)
    m, r = 23, 5
    W = rng.random((m, r)).astype(dtype) + dtype(0.1)
    Q = rng.random((m, r)).astype(dtype)
    Wbar = rng.random((m, r)).astype(dtype) + dtype(0.05)
    Q[0, 0] = 0.0  # B = 0: its quotient is 0 < low, but it is not counted
    Q[1, :2] = 1e3
    Wbar[1, :2] = 1e-3  # T ≈ 1e6 > high
    Wbar[2, 3] = 1e3  # T < low
    Q[2, 3] = 0.01
    low, high = 1e-4, 5e4
    B, T = np.empty_like(W), np.empty_like(W)
    with np.errstate(divide="ignore"):
        bad = kernels.product_ratio(W, Q, Wbar, low, high, B, T)
    expected_B = W * Q
    expected_T = expected_B / Wbar
    np.testing.assert_allclose(B, expected_B, rtol=_rtol(dtype))
    np.testing.assert_allclose(T, expected_T, rtol=_rtol(dtype))
    assert bad == int(np.sum((expected_B > 0) & ((expected_T < low) | (expected_T > high))))
    assert bad == 3


@pytest.mark.parametrize("dtype", DTYPES)
def test_product_ratio_flags_overflow_and_underflow(dtype):
    info = np.finfo(dtype)
    W = np.array([[1.0, 1.0, 1.0]], dtype=dtype)
    Q = np.array([[info.max / 4, info.tiny * 4, 0.5]], dtype=dtype)
    Wbar = np.array([[info.tiny, info.max / 2, 0.25]], dtype=dtype)
    B, T = np.empty_like(W), np.empty_like(W)
    with np.errstate(over="ignore", under="ignore"):
        bad = kernels.product_ratio(W, Q, Wbar, float(info.tiny), float(info.max), B, T)
    assert np.isinf(T[0, 0])  # overflow: outside [tiny, max]
    assert T[0, 1] < info.tiny  # underflow
    assert T[0, 2] == pytest.approx(2.0)
    assert bad == 2


@pytest.mark.parametrize("dtype", DTYPES)
def test_shift_clip_start_adds_the_column_shift_and_clips(dtype):
    rng = np.random.default_rng(1)
    m, r = 17, 4
    log_t = (rng.standard_normal((m, r)) * 50).astype(dtype)
    log_t[0, 0], log_t[1, 1] = -np.inf, np.inf  # log 0 and an overflowed quotient
    shift = rng.standard_normal(r).astype(dtype)
    low, high = -30.0, 40.0
    Z, S = np.empty_like(log_t), np.empty_like(log_t)
    kernels.shift_clip_start(log_t, shift, low, high, Z, S)
    expected = np.clip(log_t + shift[None, :], low, high)
    np.testing.assert_allclose(Z, expected, rtol=_rtol(dtype))
    np.testing.assert_array_equal(S, -np.abs(Z))
    assert Z[0, 0] == low and Z[1, 1] == high


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_start_clips_a_flat_array(dtype):
    z = np.array([-np.inf, -1e4, -3.5, -0.0, 0.0, 2.25, 1e4, np.inf], dtype=dtype)
    low, high = -740.0, 1e3
    Z, S = np.empty_like(z), np.empty_like(z)
    kernels.clip_start(z, low, high, Z, S)
    expected = np.clip(z, low, high)
    np.testing.assert_array_equal(Z, expected)
    np.testing.assert_array_equal(S, -np.abs(expected))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_start_is_log_one_plus_exp(dtype):
    z = np.concatenate([np.linspace(-80, 80, 321), [-1e-12, 1e-12, 0.0, -700.0 if dtype == np.float64 else -85.0]])
    z = z.astype(dtype)
    e = np.exp(-np.abs(z))
    log_u = np.log(1.0 + e)
    kernels.softplus_start(e, log_u, z)
    expected = np.logaddexp(0.0, z.astype(np.float64))  # log(1 + e^z), exact in both tails
    np.testing.assert_allclose(e, expected, rtol=4 * _rtol(dtype), atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fritsch_step_is_the_fourth_order_formula(dtype):
    rng = np.random.default_rng(2)
    z = rng.uniform(-10, 40, 200).astype(dtype)
    w = np.logaddexp(0.0, z).astype(dtype)  # the start the omega solver uses
    logw = np.log(w)
    w0 = w.copy()
    kernels.fritsch_step(w, z, logw)
    r = z - (logw + w0)  # the kernel's order: r is a small difference of large terms
    t = 1.0 + w0
    p = 2.0 * (t + 2.0 * r / 3.0)
    q = r / t
    expected = w0 * (1.0 + (p - q) * q / (p - 2.0 * q))
    np.testing.assert_allclose(w, expected, rtol=4 * _rtol(dtype))
    # Fourth order: one step from the softplus start is already close to the root.
    np.testing.assert_allclose(w + np.log(w), z, rtol=0, atol=1e-3 * max(1.0, float(np.abs(z).max())))


@pytest.mark.parametrize("dtype", DTYPES)
def test_fritsch_step_keeps_a_root_and_survives_huge_w(dtype):
    big = 1e300 if dtype == np.float64 else 1e30
    w = np.array([1.0, 3.0, big], dtype=dtype)
    z = (w.astype(np.float64) + np.log(w.astype(np.float64))).astype(dtype)  # w is already the root
    kernels.fritsch_step(w, z, np.log(w))
    assert np.all(np.isfinite(w))
    np.testing.assert_allclose(w, [1.0, 3.0, big], rtol=4 * _rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_w_finish_divides_and_takes_the_limit_where_omega_is_small(dtype):
    rng = np.random.default_rng(3)
    m, r = 19, 4
    B = rng.random((m, r)).astype(dtype)
    omega = (rng.random((m, r)) + 0.5).astype(dtype)
    Wbar = (rng.random((m, r)) + 0.1).astype(dtype)
    a_over = (rng.random(r) * 3).astype(dtype)
    lam = 0.4
    small = 1e-20
    floor = float(np.finfo(dtype).eps)
    B[0, 1] = 0.0  # zero row of Y: 0 / λω is below the floor
    B[2, 0], omega[2, 0] = 1e-30, 1e-25  # ω below ``small``: W̄ e^{ω − a/λ} instead
    omega[4, 3] = 1e-30
    B[5, 2] = 1e-17  # ordinary entry whose quotient falls below the floor
    out = np.empty_like(B)
    kernels.kl_w_finish(B, omega, Wbar, a_over, 1.0 / lam, small, floor, out)
    expected = np.maximum(B / (lam * omega), floor)
    tail = omega < small
    expected[tail] = np.maximum(Wbar * np.exp(omega - a_over[None, :]), floor)[tail]
    assert tail.sum() == 2
    np.testing.assert_allclose(out, expected, rtol=4 * _rtol(dtype))
    assert out[0, 1] == floor and out[5, 2] == floor
    assert np.all(out >= floor)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_w_finish_without_tails_is_the_plain_quotient(dtype):
    rng = np.random.default_rng(4)
    B = rng.random((7, 3)).astype(dtype) + dtype(0.1)
    omega = rng.random((7, 3)).astype(dtype) + dtype(1.0)
    out = np.empty_like(B)
    kernels.kl_w_finish(B, omega, np.full_like(B, np.nan), np.zeros(3, dtype=dtype), 2.0, 1e-30, 0.0, out)
    # W̄ (NaN here) is never read when no ω is below ``small``.
    np.testing.assert_allclose(out, B * 2.0 / omega, rtol=4 * _rtol(dtype))
