"""The shared result protocol and the one definition of the relative error."""

import numpy as np
import pytest
import scipy.sparse as sp

from nmfcore.classic import nmf
from nmfcore.deep import deep_nmf
from nmfcore.judge import spa
from nmfcore.results import (
    FitResult,
    Layer,
    relative_error,
    relative_error_from_sums,
    residual_sums,
)
from nmfcore.topology import gnmf, pnmf


def _factors(seed=0, m=15, n=12, r=3):
    rng = np.random.default_rng(seed)
    return rng.random((m, n)), rng.random((m, r)), rng.random((r, n))


def test_relative_error_of_dense_and_sparse_x_is_the_direct_formula():
    X, W, H = _factors()
    direct = np.linalg.norm(X - W @ H) / np.linalg.norm(X)
    assert relative_error(X, W, H) == pytest.approx(direct, rel=1e-12)
    Xs = sp.random(15, 12, density=0.3, random_state=0, format="csr")
    direct = np.linalg.norm(Xs.toarray() - W @ H) / np.linalg.norm(Xs.toarray())
    assert relative_error(Xs, W, H) == pytest.approx(direct, rel=1e-10)
    assert relative_error(Xs.tocsc(), W, H) == pytest.approx(direct, rel=1e-10)


def test_masked_relative_error_counts_only_observed_entries():
    X, W, H = _factors(1)
    mask = (np.random.default_rng(1).random(X.shape) < 0.7).astype(float)
    direct = np.linalg.norm(mask * (X - W @ H)) / np.linalg.norm(mask * X)
    assert relative_error(X, W, H, mask) == pytest.approx(direct, rel=1e-12)
    missing = np.where(mask > 0, X, np.nan)  # missing entries may hold NaN
    assert relative_error(missing, W, H, mask) == pytest.approx(direct, rel=1e-12)
    residual2, norm2 = residual_sums(X, W, H, mask)
    assert residual2 == pytest.approx(np.sum((mask * (X - W @ H)) ** 2))
    assert norm2 == pytest.approx(np.sum((mask * X) ** 2))
    with pytest.raises(ValueError, match="dense"):
        relative_error(sp.csr_matrix(X), W, H, mask)


def test_relative_error_of_an_all_zero_x_is_nan():
    _, W, H = _factors(2)
    assert np.isnan(relative_error(np.zeros((15, 12)), W, H))
    assert np.isnan(relative_error(sp.csr_matrix((15, 12)), W, H))


def test_relative_error_from_sums():
    assert relative_error_from_sums(9.0, 16.0) == 0.75
    assert relative_error_from_sums(-1e-18, 4.0) == 0.0  # rounding below zero is clipped
    assert np.isnan(relative_error_from_sums(1.0, 0.0))
    X, W, H = _factors(3)
    assert relative_error_from_sums(*residual_sums(X, W, H)) == relative_error(X, W, H)


@pytest.mark.parametrize(
    "fit",
    [
        lambda X: nmf(X, 3, max_iter=5, random_state=0),
        lambda X: deep_nmf(X, [3, 2], max_iter=3, init_iter=5, random_state=0),
        lambda X: gnmf(X, 3, max_iter=5, random_state=0),
        lambda X: pnmf(X, 3, n_scales=3, random_state=0),
        lambda X: spa(X, 3),
    ],
    ids=["nmf", "deep_nmf", "gnmf", "pnmf", "spa"],
)
def test_every_family_returns_a_fit_result(fit):
    X = np.random.default_rng(4).random((10, 16)) + 0.1
    result = fit(X)
    assert isinstance(result, FitResult)
    assert isinstance(result.params["model"], str)
    assert result.loss.ndim == 1 and result.loss.shape == result.times.shape
    assert isinstance(result.stopped, bool)
    layers = result.layers()
    assert layers and all(isinstance(layer, Layer) for layer in layers)
    for layer in layers:
        assert layer.H.shape[1] == 16 and layer.W.shape[1] == layer.H.shape[0]
    assert layers[0].W.shape[0] == 10
