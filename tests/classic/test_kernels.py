"""The compiled HALS sweep against a plain coordinate-descent loop."""

import numpy as np
import pytest

from nmfcore.classic._kernels import HALS_BLOCK, HALS_TILE, extrapolate, hals_columns, hals_sweeps


def reference_sweeps(F, A, B, l1, l2, n_sweeps):
    """Coordinate descent, one column at a time, entries in order, gradients recomputed."""
    F = F.copy()
    for j in range(F.shape[1]):
        for _ in range(n_sweeps):
            for k in range(F.shape[0]):
                grad = A[k, j] - B[k] @ F[:, j]
                F[k, j] = max(F[k, j] + (grad - l1 - l2 * F[k, j]) / (B[k, k] + l2), 0.0)
    return F


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-3)])
@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (0.3, 0.5)])
def test_hals_columns_matches_plain_coordinate_descent(dtype, tol, l1, l2):
    # r and p not multiples of the block and tile sizes, so the padded tails are exercised
    rng = np.random.default_rng(0)
    r, p, m = HALS_BLOCK + 3, 2 * HALS_TILE + 5, 40
    W = rng.random((m, r))
    B = W.T @ W
    A = W.T @ rng.random((m, p)) * 2.0
    F0 = rng.random((r, p))
    expected = reference_sweeps(F0, A, B, l1, l2, n_sweeps=3)
    F = F0.astype(dtype)
    R = (A - B @ F0).astype(dtype)
    hals_columns(F, R, B.astype(dtype), l1, l2, 3, 0.0)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(F, expected, atol=tol * scale)
    # R is kept equal to the residual gradient A - B F
    np.testing.assert_allclose(R, A - B @ F.astype(np.float64), atol=tol * np.abs(A).max())
    assert F.min() >= 0.0


def test_hals_columns_stops_sweeping_once_a_tile_settles():
    rng = np.random.default_rng(1)
    W = rng.random((30, 4))
    B = W.T @ W
    H_true = rng.random((4, HALS_TILE))
    A = B @ H_true  # the unconstrained minimiser is H_true >= 0
    F = np.zeros_like(H_true)
    R = A.copy()
    hals_columns(F, R, B, 0.0, 0.0, 10_000, 0.5)
    one_more = F.copy()
    hals_columns(one_more, R.copy(), B, 0.0, 0.0, 1, 0.0)
    # with delta = 0.5 the loop ends long before 10,000 sweeps and far from convergence
    assert np.abs(F - H_true).max() > 1e-6
    assert np.abs(one_more - F).max() > 0.0


def test_hals_sweeps_from_a_separate_start_with_extrapolation():
    rng = np.random.default_rng(2)
    r, p = 11, HALS_TILE + 9
    W = rng.random((30, r))
    B = W.T @ W
    A = W.T @ rng.random((30, p))
    start = rng.random((r, p))
    previous = rng.random((r, p))
    expected = start.copy()
    R_expected = A - B @ start
    hals_columns(expected, R_expected, B, 0.1, 0.2, 2, 0.0)
    F, F_ext, R = np.empty_like(start), np.empty_like(start), A - B @ start
    untouched = start.copy()
    hals_sweeps(start, R, B, 0.1, 0.2, 2, 0.0, F, previous, 0.7, F_ext)
    np.testing.assert_array_equal(start, untouched)
    np.testing.assert_allclose(F, expected, rtol=1e-13)
    np.testing.assert_allclose(R, R_expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F_ext, np.maximum(F + 0.7 * (F - previous), 0.0), rtol=1e-13)
    assert (F_ext == 0).any()  # the projection is exercised


def test_extrapolate_matches_numpy():
    rng = np.random.default_rng(3)
    new, previous, out = rng.random((7, 5)), rng.random((7, 5)), np.empty((7, 5))
    extrapolate(new, previous, 1.3, out)
    np.testing.assert_allclose(out, np.maximum(new + 1.3 * (new - previous), 0.0), rtol=1e-14)
