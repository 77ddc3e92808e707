"""gnmf and pnmf as fits of the package: argument names, dtype, seed record and the result protocol."""

import numpy as np
import pytest
import scipy.sparse as sp

from nmfcore.results import FitResult, relative_error
from nmfcore.topology.graph_nmf import gnmf
from nmfcore.topology.persistent import pnmf


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((10, 4)) @ rng.random((4, 30)) + 0.05 * rng.random((10, 30))


def test_old_parameter_names_are_refused_with_the_new_one():
    X = _data()
    with pytest.raises(TypeError, match=r"lam was renamed lambdas; pass lambdas=2\.0"):
        gnmf(X, 2, lam=2.0)
    with pytest.raises(TypeError, match=r"max_sweeps was renamed max_iter; pass max_iter=10"):
        pnmf(X, 2, max_sweeps=10)
    for fit in (gnmf, pnmf):
        with pytest.raises(TypeError, match=rf"{fit.__name__}\(\) got an unexpected keyword argument 'n_sweeps'"):
            fit(X, 2, n_sweeps=3)


def test_params_use_the_new_names_and_replay():
    X = _data(1)
    g = gnmf(X, 2, lambdas=3.0, max_iter=20, random_state=0)
    assert g.params["lambdas"] == 3.0 and "lam" not in g.params
    params = dict(g.params)
    params.pop("model")
    replay = gnmf(X, params.pop("rank"), **params)
    np.testing.assert_array_equal(replay.H, g.H)
    p = pnmf(X, 2, n_scales=4, max_iter=3, tol=0, random_state=0)
    assert p.params["max_iter"] == 3 == p.n_sweeps and "max_sweeps" not in p.params


def test_gnmf_lambdas_is_one_nonnegative_number():
    X = _data(2)
    for bad in (-1.0, (1.0, 2.0), "big"):
        with pytest.raises(ValueError, match="lambdas"):
            gnmf(X, 2, lambdas=bad)


def test_gnmf_dtype_follows_the_data_or_the_argument():
    X = _data(3)
    double = gnmf(X, 3, max_iter=50, tol=0, random_state=1)
    single = gnmf(X.astype(np.float32), 3, max_iter=50, tol=0, random_state=1)
    assert double.W.dtype == double.H.dtype == np.float64 and double.params["dtype"] == "float64"
    assert single.W.dtype == single.H.dtype == np.float32 and single.params["dtype"] == "float32"
    np.testing.assert_allclose(single.loss, double.loss, rtol=1e-4)
    np.testing.assert_allclose(single.H, double.H, rtol=1e-2, atol=1e-3)
    forced = gnmf(X, 3, max_iter=50, tol=0, random_state=1, dtype=np.float32)
    assert forced.H.dtype == np.float32 and forced.params["dtype"] == "float32"
    widened = gnmf(X.astype(np.float32), 3, max_iter=5, random_state=1, dtype=np.float64)
    assert widened.H.dtype == np.float64
    sparse = gnmf(sp.csr_matrix(X.astype(np.float32)), 3, max_iter=5, random_state=1)
    assert sparse.H.dtype == np.float32
    with pytest.raises(ValueError, match="dtype"):
        gnmf(X, 3, dtype=np.int64)


@pytest.mark.parametrize("fit", [gnmf, pnmf])
def test_seed_record_is_an_int_that_replays_the_fit(fit):
    X = _data(4)
    kwargs = {"max_iter": 3}
    numpy_int = fit(X, 2, random_state=np.int64(5), **kwargs)
    assert numpy_int.params["random_state"] == 5 and type(numpy_int.params["random_state"]) is int
    np.testing.assert_array_equal(numpy_int.H, fit(X, 2, random_state=5, **kwargs).H)
    drawn = fit(X, 2, random_state=np.random.default_rng(7), **kwargs)
    seed = drawn.params["random_state"]
    assert type(seed) is int
    np.testing.assert_array_equal(fit(X, 2, random_state=seed, **kwargs).H, drawn.H)
    assert fit(X, 2, random_state=None, **kwargs).params["random_state"] is None


def test_results_follow_the_fit_result_protocol_and_report_relative_errors():
    X = _data(5)
    g = gnmf(X, 2, max_iter=30, random_state=0)
    p = pnmf(X, 2, n_scales=4, max_iter=3, random_state=0)
    for result, model in ((g, "gnmf"), (p, "pnmf")):
        assert isinstance(result, FitResult)
        assert result.params["model"] == model
        assert result.loss.shape == result.times.shape and not result.stopped
        assert all(layer.W.shape == (10, 2) and layer.H.shape == (2, 30) for layer in result.layers())
    assert g.relative_error == pytest.approx(relative_error(X, g.W, g.H), rel=1e-8)
    expected = [relative_error(X, p.W[t], p.H[t]) for t in range(p.n_scales)]
    np.testing.assert_allclose(p.extra["relative_errors"], expected, rtol=1e-8)

