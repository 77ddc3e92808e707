"""Deep β-NMF update rules: Wright omega, the coupled W steps, the Newton multipliers, the H and min-vol steps."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import wrightomega

from nmfcore.classic.divergence import elementwise_divergence
from nmfcore.deep import minvol_updates, omega
from nmfcore.deep import updates as upd
from nmfcore.deep.newton import newton_gaps, newton_multipliers, newton_start


# --------------------------------------------------------------------------- Wright omega


def test_wright_omega_matches_scipy_over_a_wide_range():
    z = np.concatenate([np.linspace(-50, 50, 2001), np.logspace(0, 250, 60)])
    np.testing.assert_allclose(omega.wright_omega(z), wrightomega(z).real, rtol=1e-13)


def test_wright_omega_extremes_stay_finite():
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        w = omega.wright_omega(np.array([-1e6, -800.0, 800.0, 1e200]))
    assert np.all(np.isfinite(w))
    assert w[0] < 1e-300 and w[1] < 1e-300
    np.testing.assert_allclose(w[2:], wrightomega(np.array([800.0, 1e200])).real, rtol=1e-13)


def test_wright_omega_in_float32_matches_scipy_where_it_is_normal():
    # Float32 ω was NaN for z in about [−37, −17], where e^z is below float32's
    # epsilon, until the softplus start rounded 1 + e^z in float32.
    z = np.linspace(-87, 80, 20001).astype(np.float32)
    w = omega.wright_omega(z)
    assert w.dtype == np.float32 and np.all(np.isfinite(w))
    np.testing.assert_allclose(w, wrightomega(z.astype(np.float64)).real, rtol=16 * np.finfo(np.float32).eps)


def test_kl_w_step_survives_tiny_wbar_where_exp_overflows():
    rng = np.random.default_rng(1)
    m, r, p = 30, 4, 20
    W = rng.random((m, r)) + 0.1
    H = rng.random((r, p))
    Y = rng.random((m, p))
    Wbar = rng.random((m, r))
    Wbar[:10] = 1e-300  # log W̄ = −690: A/λ > 710 in those rows
    lam = 0.1
    Q = (Y / (W @ H)) @ H.T
    A_over = H.sum(axis=1) / lam - np.log(Wbar)
    assert A_over[:10].min() > 710
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(A_over[:10])).all()  # the Lambert-W form would overflow here
    with np.errstate(over="raise", invalid="raise"):
        W_new = upd.w_step_kl(W, H, Q, Wbar, lam)
    assert np.all(np.isfinite(W_new)) and np.all(W_new > 0)
    # Stationarity of the majoriser: a − B/W + λ log(W / W̄) = 0 entrywise.
    B = W * Q
    residual = H.sum(axis=1) - B / W_new + lam * (np.log(W_new) - np.log(Wbar))
    scale = H.sum(axis=1) + B / W_new
    assert np.max(np.abs(residual) / scale) < 1e-10



def test_kl_w_step_where_b_over_wbar_overflows():
    rng = np.random.default_rng(12)
    W = rng.random((10, 3)) + 0.1
    H = rng.random((3, 8))
    Q = rng.random((10, 3)) * 1e20
    Wbar = rng.random((10, 3))
    Wbar[:4] = 1e-300  # B / W̄ overflows there: log B − log W̄ is used instead
    lam = 50.0
    with np.errstate(over="raise", invalid="raise"):
        W_new = upd.w_step_kl(W, H, Q, Wbar, lam)
    B = W * Q
    residual = H.sum(axis=1) - B / W_new + lam * (np.log(W_new) - np.log(Wbar))
    assert np.max(np.abs(residual) / (H.sum(axis=1) + B / W_new)) < 1e-12

def test_kl_w_step_with_wbar_near_zero_everywhere():
    rng = np.random.default_rng(2)
    W = rng.random((12, 3)) + 0.1
    H = rng.random((3, 9))
    Y = rng.random((12, 9))
    Q = (Y / (W @ H)) @ H.T
    W_new = upd.w_step_kl(W, H, Q, np.full((12, 3), 1e-18), 0.5)
    assert np.all(np.isfinite(W_new)) and np.all(W_new > 0)
    # A vanishing W̄ pulls W towards zero through the λ KL(W | W̄) term.
    assert np.all(W_new < upd.w_step_kl(W, H, Q, np.ones((12, 3)), 0.5))


# --------------------------------------------------------------------------- multipliers


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_newton_multipliers_match_a_bracketing_solver(seed):
    rng = np.random.default_rng(seed)
    r, p = 7, 40
    C = rng.random((r, p)) * 3
    D = rng.random((r, p)) + 0.2
    H = rng.random((r, p))
    H[0, :5] = 1e-16  # tiny entries, as after the eps floor
    mu, steps = newton_multipliers(C, D, H, newton_start(C, D, H))
    assert steps <= 30
    for k in range(r):
        f = lambda m: np.sum(H[k] * C[k] / (D[k] - m)) - 1.0  # noqa: E731
        pole = D[k].min()
        lo = pole - 10.0
        while f(lo) > 0:
            lo -= 10.0 * (pole - lo)
        root = brentq(f, lo, pole - 1e-14 * max(1.0, abs(pole)), xtol=1e-15, rtol=1e-15)
        assert mu[k] == pytest.approx(root, rel=1e-10, abs=1e-12)


def test_newton_is_exact_in_one_step_for_kl_rows():
    rng = np.random.default_rng(3)
    C = rng.random((5, 30))
    D = np.broadcast_to(rng.random((5, 1)) + 1.0, (5, 30))
    H = rng.random((5, 30)) * 1e-12
    _, steps = newton_gaps(C, D, H, newton_start(C, D, H))
    assert steps <= 2



def test_kl_row_step_closed_form_equals_newton():
    rng = np.random.default_rng(8)
    W = rng.random((30, 6))
    H = rng.random((6, 25))
    H /= H.sum(axis=1, keepdims=True)
    C, D = upd.h_terms(rng.random((30, 25)), W, H, W @ H, 1.0)
    fast = upd.constrained_h_step(H, C, D, 1.0, "rows")
    gap, _ = newton_gaps(C, np.asarray(D), H, newton_start(C, np.asarray(D), H))
    newton = np.maximum(H * C / gap[:, None], upd.tiny(H.dtype))
    np.testing.assert_allclose(fast, newton, rtol=1e-14)
    np.testing.assert_allclose(fast.sum(axis=1), 1.0, atol=1e-14)


def test_kl_w_step_zero_rows_take_the_limit():
    rng = np.random.default_rng(9)
    W = rng.random((20, 4)) + 0.1
    H = rng.random((4, 15))
    Q = rng.random((20, 4))
    Q[[3, 11]] = 0.0  # B = W ⊙ Q vanishes on those rows (zero rows of Y)
    Wbar = rng.random((20, 4)) + 0.05
    lam = 0.3
    W_new = upd.w_step_kl(W, H, Q, Wbar, lam)
    limit = np.maximum(Wbar * np.exp(-H.sum(axis=1) / lam), upd.tiny(W.dtype))
    np.testing.assert_allclose(W_new[[3, 11]], limit[[3, 11]], rtol=1e-14)
    B = W * Q
    omega = wrightomega(np.log(B[0] / lam) + H.sum(axis=1) / lam - np.log(Wbar[0])).real
    np.testing.assert_allclose(W_new[0], B[0] / (lam * omega), rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kl_w_step_past_omega_underflow_is_exact_and_quiet(dtype):
    rng = np.random.default_rng(10)
    W = rng.random((8, 3)) + 0.1
    H = rng.random((3, 6))
    Q = rng.random((8, 3))
    Q[:2] = 1e-44 if dtype == np.float32 else 1e-320  # z far below log(smallest normal)
    Wbar = rng.random((8, 3)) + 0.1
    with np.errstate(all="raise", under="ignore"):
        W_new = upd.w_step_kl(*(a.astype(dtype) for a in (W, H, Q, Wbar)), 1.0)
    limit = Wbar[:2] * np.exp(-H.sum(axis=1))  # ω(z) → 0: B / (λ ω) → W̄ e^{−a/λ}
    np.testing.assert_allclose(W_new[:2], limit, rtol=10 * np.finfo(dtype).eps)

@pytest.mark.parametrize("beta", [1.0, 1.5, 2.0])
@pytest.mark.parametrize("constraint", ["rows", "cols"])
def test_constrained_h_step_is_an_mm_step(beta, constraint):
    rng = np.random.default_rng(4)
    Y = rng.random((25, 18))
    W = rng.random((25, 4))
    H = rng.random((4, 18))
    H = H / (H.sum(axis=1, keepdims=True) if constraint == "rows" else H.sum(axis=0, keepdims=True))
    before = elementwise_divergence(Y, W @ H, beta).sum()
    for _ in range(5):
        C, D = upd.h_terms(Y, W, H, W @ H, beta)
        H = upd.constrained_h_step(H, C, D, beta, constraint)
        sums = H.sum(axis=1) if constraint == "rows" else H.sum(axis=0)
        np.testing.assert_allclose(sums, 1.0, atol=1e-12)
        after = elementwise_divergence(Y, W @ H, beta).sum()
        assert after <= before * (1 + 1e-13)
        before = after


def test_minvol_last_layer_step_is_an_mm_step():
    rng = np.random.default_rng(7)
    Y = rng.random((30, 20))
    W = rng.random((30, 3))
    W /= W.sum(axis=0)
    H = rng.random((3, 20)) * 10
    a, delta = 0.7, 1.0

    def objective(W):
        V = W @ H
        kl = np.sum(Y * np.log(Y / V) - Y + V)
        return kl + a * np.linalg.slogdet(W.T @ W + delta * np.eye(3))[1]

    mu = np.zeros(3)
    value = objective(W)
    for _ in range(10):
        W, mu = minvol_updates.minvol_w_last(W, H, (Y / (W @ H)) @ H.T, a, delta, mu)
        np.testing.assert_allclose(W.sum(axis=0), 1.0, atol=1e-12)
        new = objective(W)
        assert new <= value + 1e-12 * abs(value)
        value = new


@pytest.mark.parametrize("beta", [1.5, 2.0])
def test_h_step_stays_mm_when_the_multiplier_is_positive(beta):
    # Y far below W H makes Σ_j H C / D < 1, i.e. μ > 0, where H C / (D − μ) (the
    # authors' rule) can increase D_β; the step then uses H (C + μ) / D instead.
    rng = np.random.default_rng(15)
    for _ in range(20):
        Y = 0.1 * rng.random((20, 15))
        W = rng.random((20, 3))
        H = rng.random((3, 15))
        H /= H.sum(axis=1, keepdims=True)
        C, D = upd.h_terms(Y, W, H, W @ H, beta)
        assert ((H * C / D).sum(axis=1) < 1).any()
        H_new = upd.constrained_h_step(H, C, D, beta, "rows")
        np.testing.assert_allclose(H_new.sum(axis=1), 1.0, atol=1e-12)
        before = elementwise_divergence(Y, W @ H, beta).sum()
        assert elementwise_divergence(Y, W @ H_new, beta).sum() <= before
