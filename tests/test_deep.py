"""Deep β-NMF: MM steps, constraints, multipliers, Wright omega, paper shapes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from scipy.optimize import brentq
from scipy.special import wrightomega

from conftest import shared_path
from nmfcore.deep import updates as upd
from nmfcore.deep.model import DeepNMFResult, deep_nmf, multilayer_nmf
from nmfcore.judge.metrics import spectral_angle_distance


def _low_rank(m=40, n=35, r=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((m, r)) @ rng.random((r, n)) + 0.01 * rng.random((m, n))


def _recording_callback(log):
    def callback(iteration, W, H, loss):
        if iteration > 0:
            log.append(([w.copy() for w in W], [h.copy() for h in H], loss))

    return callback


# --------------------------------------------------------------------------- Wright omega


def test_wright_omega_matches_scipy_over_a_wide_range():
    z = np.concatenate([np.linspace(-50, 50, 2001), np.logspace(0, 250, 60)])
    np.testing.assert_allclose(upd.wright_omega(z), wrightomega(z).real, rtol=1e-13)


def test_wright_omega_extremes_stay_finite():
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        w = upd.wright_omega(np.array([-1e6, -800.0, 800.0, 1e200]))
    assert np.all(np.isfinite(w))
    assert w[0] < 1e-300 and w[1] < 1e-300
    np.testing.assert_allclose(w[2:], wrightomega(np.array([800.0, 1e200])).real, rtol=1e-13)


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
    mu, steps = upd.newton_multipliers(C, D, H, upd.newton_start(C, D, H))
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
    _, steps = upd.newton_gaps(C, D, H, upd.newton_start(C, D, H))
    assert steps <= 2



def test_kl_row_step_closed_form_equals_newton():
    rng = np.random.default_rng(8)
    W = rng.random((30, 6))
    H = rng.random((6, 25))
    H /= H.sum(axis=1, keepdims=True)
    C, D = upd.h_terms(rng.random((30, 25)), W, H, W @ H, 1.0)
    fast = upd.constrained_h_step(H, C, D, 1.0, "rows")
    gap, _ = upd.newton_gaps(C, np.asarray(D), H, upd.newton_start(C, np.asarray(D), H))
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
    from nmfcore.classic.divergence import elementwise_divergence

    before = elementwise_divergence(Y, W @ H, beta).sum()
    for _ in range(5):
        C, D = upd.h_terms(Y, W, H, W @ H, beta)
        H = upd.constrained_h_step(H, C, D, beta, constraint)
        sums = H.sum(axis=1) if constraint == "rows" else H.sum(axis=0)
        np.testing.assert_allclose(sums, 1.0, atol=1e-12)
        after = elementwise_divergence(Y, W @ H, beta).sum()
        assert after <= before * (1 + 1e-13)
        before = after


# --------------------------------------------------------------------------- monotonicity


@pytest.mark.parametrize("beta", [1, 1.5, 2])
@pytest.mark.parametrize("constraint", ["rows", "cols"])
def test_deep_objective_never_increases_and_constraints_hold(beta, constraint):
    X = _low_rank(seed=5)
    log = []
    result = deep_nmf(X, [7, 4, 2], beta=beta, constraint=constraint, init_iter=30, max_iter=40,
                      tol=0, random_state=0, callback=_recording_callback(log))
    increases = np.diff(result.loss)
    assert increases.max() <= 1e-12 * result.loss[0]
    assert result.loss[-1] < 0.9 * result.loss[0]
    assert len(log) == 40
    for _, Hs, _ in log:
        for H in Hs:
            sums = H.sum(axis=1) if constraint == "rows" else H.sum(axis=0)
            assert np.abs(sums - 1).max() < 1e-8


def test_minvol_objective_never_increases_and_w_columns_sum_to_one():
    X = _low_rank(m=50, n=60, r=5, seed=6)
    log = []
    result = deep_nmf(X, [5, 3], min_volume=[0.3, 0.3], init_iter=40, max_iter=40, tol=0,
                      random_state=0, callback=_recording_callback(log))
    assert np.diff(result.loss).max() <= 1e-12 * abs(result.loss[0])
    assert result.loss[-1] < result.loss[0]
    assert result.alphas is not None and np.all(result.alphas > 0)
    for Ws, _, _ in log:
        for W in Ws:
            assert np.abs(W.sum(axis=0) - 1).max() < 1e-8


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
        W, mu = upd.minvol_w_last(W, H, (Y / (W @ H)) @ H.T, a, delta, mu)
        np.testing.assert_allclose(W.sum(axis=0), 1.0, atol=1e-12)
        new = objective(W)
        assert new <= value + 1e-12 * abs(value)
        value = new


def test_monotone_on_real_samson_pixels():
    data = scipy.io.loadmat(shared_path("samson.mat"))
    X = data["V"][:, ::20].astype(float)  # 156 bands x 452 pixels
    for kwargs in ({"beta": 1}, {"beta": 1.5}, {"min_volume": [0.2, 0.2]}):
        result = deep_nmf(X, [3, 2], init_iter=40, max_iter=30, tol=0, random_state=0, **kwargs)
        assert np.diff(result.loss).max() <= 1e-12 * abs(result.loss[0]), kwargs


# --------------------------------------------------------------------------- API


def test_layers_coefficients_and_params_replay():
    X = _low_rank(seed=8)
    result = deep_nmf(X, [6, 3], init_iter=20, max_iter=10, random_state=0)
    assert isinstance(result, DeepNMFResult)
    layers = result.layers()
    assert [layer.name for layer in layers] == ["layer 1", "layer 2"]
    assert layers[1].W.shape == (40, 3) and layers[1].H.shape == (3, 35)
    np.testing.assert_allclose(result.coefficients(2), result.H[1] @ result.H[0])
    assert result.basis(2) is result.W[1]
    assert result.layer_errors.shape == (result.n_iter + 1, 2)
    assert result.loss.shape == result.times.shape == (result.n_iter + 1,)
    params = dict(result.params)
    assert params.pop("model") == "deep_nmf"
    again = deep_nmf(X, **params)
    np.testing.assert_allclose(again.W[1], result.W[1])
    np.testing.assert_allclose(again.loss, result.loss)
    with pytest.raises(ValueError, match="layer"):
        result.coefficients(3)
    assert result.init.params["model"] == "multilayer_nmf"


def test_layer_errors_are_in_data_units():
    X = _low_rank(seed=9)
    result = deep_nmf(X * 1000.0, [6, 3], beta=1, init_iter=20, max_iter=5, random_state=0)
    V = result.W[0] @ result.H[0]
    Y = X * 1000.0
    kl = np.sum(Y * np.log(Y / V) - Y + V)
    assert result.layer_errors[-1, 0] == pytest.approx(kl, rel=1e-9)
    np.testing.assert_allclose(result.lambdas * result.layer_errors[0], 1.0, rtol=1e-9)



def test_blocked_kl_sum_equals_the_direct_formula():
    from nmfcore.deep.model import _CHUNK, _kl_ratio_sum

    rng = np.random.default_rng(11)
    Y = rng.random((3 * _CHUNK // 100 + 7, 100)) + 0.01  # several blocks and a partial one
    V = rng.random(Y.shape) + 0.01
    R = np.empty_like(Y)
    value = _kl_ratio_sum(Y, V, R, np.empty(_CHUNK))
    assert value == pytest.approx(np.sum(Y * np.log(Y / V)), rel=1e-12)
    np.testing.assert_array_equal(R, Y / V)

def test_multilayer_nmf_alone():
    X = _low_rank(seed=10)
    result = multilayer_nmf(X, [6, 3], init_iter=30, random_state=0)
    assert result.params["model"] == "multilayer_nmf" and result.n_iter == 0
    np.testing.assert_allclose(result.H[0].sum(axis=1), 1.0, atol=1e-12)
    params = dict(result.params)
    params.pop("model")
    np.testing.assert_allclose(multilayer_nmf(X, **params).W[1], result.W[1])


def test_tree_assigns_every_factor_once():
    X = _low_rank(seed=11)
    result = deep_nmf(X, [6, 3, 2], init_iter=20, max_iter=10, random_state=0)
    tree = result.tree()
    assert sorted(tree) == [2, 3]
    assert sorted(j for children in tree[2] for j in children) == list(range(6))
    assert sorted(j for children in tree[3] for j in children) == list(range(3))
    shares = result.merge_shares(2)
    np.testing.assert_allclose(shares.sum(axis=0), 1.0)
    for k, children in enumerate(tree[2]):
        for j in children:
            assert shares[k, j] == shares[:, j].max()


def test_callback_stops_cleanly():
    X = _low_rank(seed=12)
    seen = []

    def callback(iteration, W, H, loss):
        seen.append(iteration)
        return iteration < 3 or iteration == 0

    result = deep_nmf(X, [6, 3], init_iter=10, max_iter=50, tol=0, random_state=0, callback=callback)
    assert result.stopped and result.n_iter == 3 and len(result.loss) == 4
    assert seen.count(0) == 20  # progress during the initialisation


def test_float32_option():
    X = _low_rank(seed=13).astype(np.float32)
    result = deep_nmf(X, [6, 3], init_iter=20, max_iter=10, random_state=0)
    assert result.W[0].dtype == np.float32 and result.params["dtype"] == "float32"
    assert np.diff(result.loss).max() <= 1e-5 * result.loss[0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"beta": 0.5}, "beta"),
        ({"beta": "is"}, "beta"),
        ({"ranks": [3, 5]}, "decreasing"),
        ({"ranks": [50, 3]}, "ranks"),
        ({"ranks": []}, "ranks"),
        ({"constraint": "both"}, "constraint"),
        ({"min_volume": [0.1]}, "min_volume"),
        ({"min_volume": [0.1, 0.1], "beta": 2}, "min_volume"),
        ({"lambdas": [1.0, -1.0]}, "lambdas"),
        ({"init": "random"}, "init"),
        ({"delta": 0.0}, "delta"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, message):
    X = _low_rank(m=20, n=30, seed=14)
    args = {"ranks": [4, 2], **kwargs}
    ranks = args.pop("ranks")
    with pytest.raises(ValueError, match=message):
        deep_nmf(X, ranks, init_iter=2, max_iter=1, **args)


def test_sparse_input_is_refused_not_densified():
    with pytest.raises(ValueError, match="dense"):
        deep_nmf(sp.random(30, 20, density=0.3, format="csr", random_state=0), [4, 2])


# --------------------------------------------------------------------------- paper


def test_cbcl_deep_layers_beat_multilayer():
    X = scipy.io.loadmat(shared_path("CBCL.mat"))["X"].T.copy()
    result = deep_nmf(X, [80, 40, 20], beta=1, init_iter=60, max_iter=60, tol=0, random_state=0)
    ratio = result.layer_errors[-1] / result.layer_errors[0]
    # The paper's shape: deeper layers fit far better than multilayer's, the first
    # about as well (with this few multilayer iterations it still improves).
    assert ratio[0] < 1.3
    assert ratio[1] < 0.6
    assert ratio[2] < 0.3


def _samson():
    data = scipy.io.loadmat(shared_path("samson.mat"))
    truth = scipy.io.loadmat(shared_path("samson_groundtruth.mat"))
    return data["V"].astype(float), truth["M"]


def test_samson_minvol_has_the_lowest_sad_and_layer_two_merges_materials():
    X, truth = _samson()
    X = X[:, ::4]  # 2257 of the 9025 pixels keep the test fast
    deep = deep_nmf(X, [3, 2], init_iter=60, max_iter=60, tol=0, random_state=0)
    minvol = deep_nmf(X, [3, 2], min_volume=[10.0, 10.0], init_iter=60, max_iter=60, tol=0,
                      random_state=0)
    sad = {
        "multilayer": spectral_angle_distance(deep.init.W[0], truth)[0],
        "deep": spectral_angle_distance(deep.W[0], truth)[0],
        "minvol": spectral_angle_distance(minvol.W[0], truth)[0],
    }
    assert sad["minvol"] < min(sad["multilayer"], sad["deep"]) - 2.0, sad
    # Layer 2 splits vegetation from non-vegetation: the tree endmember (truth column 1)
    # stays alone while soil and water merge.
    _, _, perm = spectral_angle_distance(minvol.W[0], truth)
    children = minvol.tree()[2]
    assert sorted(len(c) for c in children) == [1, 2]
    assert [int(perm[1])] in children
    assert minvol.coefficients(2).shape == (2, X.shape[1])


@pytest.mark.parametrize("beta", [1.5, 2.0])
def test_h_step_stays_mm_when_the_multiplier_is_positive(beta):
    # Y far below W H makes Σ_j H C / D < 1, i.e. μ > 0, where H C / (D − μ) (the
    # authors' rule) can increase D_β; the step then uses H (C + μ) / D instead.
    from nmfcore.classic.divergence import elementwise_divergence

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
