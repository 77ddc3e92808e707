import numpy as np
import pytest
import scipy.sparse as sp

from nmfcore.judge.separable import snpa, spa


def _separable(seed, m=30, n=120, rank=5, noise=0.0):
    rng = np.random.default_rng(seed)
    W = rng.random((m, rank))
    mixed = rng.dirichlet(0.5 * np.ones(rank), size=n - rank).T * 0.95
    order = rng.permutation(n)
    X = (W @ np.hstack([np.eye(rank), mixed]))[:, order]
    X += noise * rng.random(X.shape)
    return X, set(np.flatnonzero(order < rank).tolist())


@pytest.mark.parametrize("method", [spa, snpa])
@pytest.mark.parametrize("seed", [0, 1])
def test_finds_the_pure_columns_of_separable_data(method, seed):
    X, pure = _separable(seed)
    result = method(X, 5)
    assert set(result.extra["indices"].tolist()) == pure
    assert result.relative_error < 1e-6
    assert np.allclose(result.W, X[:, result.extra["indices"]])
    assert np.all(result.H >= 0) and result.H.shape == (5, 120)
    assert np.all(np.diff(result.loss) <= 1e-9) and result.loss[-1] < 1e-6 * result.loss[0]
    assert result.params["model"] == method.__name__ and result.layers()[0].W.shape == (30, 5)


@pytest.mark.parametrize("method", [spa, snpa])
def test_sparse_input_gives_the_same_columns_and_noise_is_tolerated(method):
    X, pure = _separable(2, noise=0.01)
    dense = method(X, 5, normalize=True)
    sparse = method(sp.csr_matrix(X), 5, normalize=True)
    assert set(dense.extra["indices"].tolist()) == pure
    assert np.array_equal(dense.extra["indices"], sparse.extra["indices"])
    assert sparse.relative_error == pytest.approx(dense.relative_error, rel=1e-4)


def test_snpa_finds_more_vertices_than_the_dimension_where_spa_cannot():
    # four corners of a square in the plane z = 1 of R^3: W has rank 3 < r = 4
    corners = np.array([[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1.0]]).T + 0.1
    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(4), size=60).T
    X = np.hstack([corners, corners @ weights])
    assert set(snpa(X, 4).extra["indices"].tolist()) == {0, 1, 2, 3}
    assert set(spa(X, 4).extra["indices"].tolist()) != {0, 1, 2, 3}


@pytest.mark.parametrize("kwargs, word", [({"rank": 0}, "rank"), ({"rank": 2, "normalize": "yes"}, "normalize")])
def test_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        spa(np.ones((4, 5)), **kwargs)
    with pytest.raises(ValueError, match="nonnegative"):
        snpa(-np.ones((4, 5)), 2)
