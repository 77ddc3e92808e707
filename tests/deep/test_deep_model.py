"""Deep and multilayer NMF fits: monotone objective, constraints, the result's API, params replay, argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from nmfcore.deep import DeepNMFResult, deep_nmf, multilayer_nmf
from nmfcore.results import FitResult


def _low_rank(m=40, n=35, r=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((m, r)) @ rng.random((r, n)) + 0.01 * rng.random((m, n))


def _recording_callback(log):
    def callback(iteration, W, H, loss):
        if iteration > 0:
            log.append(([w.copy() for w in W], [h.copy() for h in H], loss))

    return callback


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
    from nmfcore.deep.losses import _CHUNK, _kl_ratio_sum

    rng = np.random.default_rng(11)
    Y = rng.random((3 * _CHUNK // 100 + 7, 100)) + 0.01  # several blocks and a partial one
    V = rng.random(Y.shape) + 0.01
    R = np.empty_like(Y)
    value = _kl_ratio_sum(Y, V, R, np.empty(_CHUNK))
    assert value == pytest.approx(np.sum(Y * np.log(Y / V)), rel=1e-12)
    np.testing.assert_array_equal(R, Y / V)

def test_multilayer_nmf_alone():
    X = _low_rank(seed=10)
    result = multilayer_nmf(X, [6, 3], max_iter=30, random_state=0)
    assert result.params["model"] == "multilayer_nmf" and result.n_iter == 0
    np.testing.assert_allclose(result.H[0].sum(axis=1), 1.0, atol=1e-12)
    params = dict(result.params)
    params.pop("model")
    np.testing.assert_allclose(multilayer_nmf(X, **params).W[1], result.W[1])


def test_multilayer_init_iter_was_renamed_max_iter():
    X = _low_rank(m=20, n=30, seed=14)
    with pytest.raises(TypeError, match="multilayer_nmf's init_iter was renamed max_iter; pass max_iter=30"):
        multilayer_nmf(X, [4, 2], init_iter=30)
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_iter'"):
        multilayer_nmf(X, [4, 2], n_iter=30)
    result = multilayer_nmf(X, [4, 2], max_iter=7, dtype=np.float32, random_state=0)
    assert result.params["max_iter"] == 7 and "init_iter" not in result.params
    assert result.params["dtype"] == "float32" and result.W[0].dtype == np.float32
    assert len(result.extra["layer_losses"][0]) == 8  # the layer's NMF ran max_iter iterations


def test_the_initialisation_records_multilayer_params_that_replay_it():
    X = _low_rank(seed=10)
    for kwargs in ({}, {"constraint": "cols"}, {"min_volume": [0.3, 0.3]}):
        result = deep_nmf(X, [6, 3], init_iter=15, max_iter=3, random_state=4, **kwargs)
        params = dict(result.init.params)
        assert params.pop("model") == "multilayer_nmf"
        assert params["max_iter"] == 15 and params["random_state"] == 4
        again = multilayer_nmf(X, **params)
        for W, W_again in zip(result.init.W, again.W):
            np.testing.assert_array_equal(W, W_again)


def test_results_follow_the_fit_result_protocol():
    X = _low_rank(seed=8)
    deep = deep_nmf(X, [6, 3], init_iter=10, max_iter=5, random_state=0)
    multi = multilayer_nmf(X, [6, 3], max_iter=10, random_state=0)
    for result in (deep, deep.init, multi):
        assert isinstance(result, FitResult)
        assert result.params["model"] in ("deep_nmf", "multilayer_nmf")
        assert result.loss.shape == result.times.shape
        assert result.stopped is False
        assert [layer.H.shape for layer in result.layers()] == [(6, 35), (3, 35)]


@pytest.mark.parametrize("fit", ["deep", "multilayer"])
def test_seed_record_replays_generator_and_numpy_integer_seeds(fit):
    X = _low_rank(seed=16)

    def run(**kwargs):
        if fit == "deep":
            return deep_nmf(X, [6, 3], init_iter=10, max_iter=5, **kwargs)
        return multilayer_nmf(X, [6, 3], max_iter=10, **kwargs)

    result = run(random_state=np.random.default_rng(3))
    seed = result.params["random_state"]
    assert type(seed) is int
    np.testing.assert_array_equal(run(random_state=seed).W[1], result.W[1])
    assert run(random_state=np.int64(7)).params["random_state"] == 7
    assert type(run(random_state=np.int64(7)).params["random_state"]) is int
    assert run(random_state=None).params["random_state"] is None
    with pytest.raises(ValueError, match="random_state"):
        run(random_state="seed")


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

