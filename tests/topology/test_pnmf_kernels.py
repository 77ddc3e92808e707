"""The compiled kernels of persistent NMF against plain NumPy formulas, float64 and float32."""

import numpy as np
import pytest

from nmfcore.topology import _kernels as k

DTYPES = [np.float64, np.float32]
# the kernels use fastmath: agreement to rounding of the working precision
RTOL = {np.float64: 1e-10, np.float32: 2e-5}


def _item_rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random item rows like ScaleGraphs': (indptr, neighbour, D²), D² ascending in each row.

    Some rows are empty; neighbours are arbitrary other items.
    """
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 12, n)
    sizes[::7] = 0
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    nbr = np.concatenate([rng.choice(np.delete(np.arange(n), a), size, replace=False) for a, size in enumerate(sizes)])
    nd2 = np.concatenate([np.sort(rng.random(size) * 4.0) for size in sizes])
    return indptr, nbr.astype(np.int32), nd2


def _scales(c: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Squared scale limits and 1 / ε^1.5 of c scales between 0.5 and 2."""
    eps = np.sort(np.random.default_rng(seed).uniform(0.5, 2.0, c))
    return eps**2, 1.0 / eps**1.5


def _adjacency(indptr, nbr, nd2, limit: float, inv: float) -> np.ndarray:
    """Dense A with A[a, b] = exp(-D²_ab / ε^1.5) for the neighbours b of a with D² < limit."""
    n = indptr.size - 1
    A = np.zeros((n, n))
    for a in range(n):
        for p in range(indptr[a], indptr[a + 1]):
            if nd2[p] < limit:
                A[a, nbr[p]] += np.exp(-nd2[p] * inv)
    return A


def _dealt(kernel, n_jobs: int, *args, stride: int = 3) -> None:
    """Run a kernel's jobs dealt to ``stride`` workers, one after another."""
    assert n_jobs > stride
    for offset in range(stride):
        kernel(*args, offset, stride)


def test_item_jobs_counts_blocks_of_items():
    assert k.item_jobs(3, 1) == 3
    assert k.item_jobs(2, k._ITEM_BLOCK) == 2
    assert k.item_jobs(2, k._ITEM_BLOCK + 1) == 4
    assert k.item_jobs(5, 10 * k._ITEM_BLOCK - 3) == 50


def test_prefix_is_a_left_bisection():
    nd2 = np.array([0.0, 0.1, 0.1, 0.5, 0.9, 0.2, 0.3, 0.3, 1.0])
    for start, stop in ((0, 5), (5, 9), (3, 3), (0, 0)):
        for limit in (-1.0, 0.0, 0.1, 0.15, 0.3, 0.9, 2.0):
            expected = start + int(np.searchsorted(nd2[start:stop], limit, side="left"))
            assert k._prefix(nd2, start, stop, limit) == expected


@pytest.mark.parametrize("dtype", DTYPES)
def test_weighted_degrees_are_row_sums_of_the_adjacency(dtype):
    n, c = 150, 4
    indptr, nbr, nd2 = _item_rows(n, 0)
    limits, inv = _scales(c, 1)
    out = np.full((c, n), np.nan, dtype=dtype)
    _dealt(k.weighted_degrees, k.item_jobs(c, n), indptr, nd2, limits, inv.astype(dtype), out)
    expected = np.stack([_adjacency(indptr, nbr, nd2, limits[s], inv[s]).sum(axis=1) for s in range(c)])
    np.testing.assert_allclose(out, expected, rtol=RTOL[dtype], atol=RTOL[dtype])
    assert np.all(out[:, ::7] == 0)  # empty rows


@pytest.mark.parametrize("dtype", DTYPES)
def test_graph_products_are_h_times_the_adjacency(dtype):
    n, c, r = 150, 3, 4
    indptr, nbr, nd2 = _item_rows(n, 2)
    limits, inv = _scales(c, 3)
    H = np.random.default_rng(4).random((c, r, n)).astype(dtype)
    out = np.full_like(H, np.nan)
    _dealt(k.graph_products, k.item_jobs(c, n), indptr, nbr, nd2, limits, inv.astype(dtype), H, out)
    for s in range(c):
        A = _adjacency(indptr, nbr, nd2, limits[s], inv[s])
        # column a of the product sums the weights of row a of the item rows
        np.testing.assert_allclose(out[s], H[s].astype(np.float64) @ A.T, rtol=RTOL[dtype], atol=RTOL[dtype])
    assert out.dtype == dtype


def _unit_passes_reference(W, XHt, HHt, n_passes):
    """Cyclic HALS over the columns of W[s] on the unit sphere, in float64."""
    W = W.astype(np.float64)
    c, m, r = W.shape
    for s in range(c):
        for _ in range(n_passes):
            for j in range(r):
                v = XHt[:, s * r + j] - W[s] @ HHt[s][:, j] + W[s][:, j] * HHt[s][j, j]
                v = np.maximum(v, 0.0)
                norm = np.linalg.norm(v)
                if norm > 1e-16:
                    W[s][:, j] = v / norm
    return W


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_passes", [1, 3])
def test_unit_column_passes_are_exact_hals_on_the_sphere(dtype, n_passes):
    rng = np.random.default_rng(5)
    c, m, r, n = 4, 20, 3, 30
    X = rng.random((m, n))
    H = rng.random((c, r, n))
    W = rng.random((c, m, r))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    XHt = np.concatenate([X @ H[s].T for s in range(c)], axis=1)
    HHt = H @ H.transpose(0, 2, 1)
    # one column with v <= 0 everywhere keeps its value
    XHt[:, 1] = -1e3
    expected = _unit_passes_reference(W, XHt, HHt, n_passes)
    out = W.astype(dtype)
    _dealt(k.unit_column_passes, c, out, XHt.astype(dtype), HHt.astype(dtype), n_passes, stride=2)
    np.testing.assert_allclose(out, expected, rtol=50 * RTOL[dtype], atol=50 * RTOL[dtype])
    np.testing.assert_allclose(out[0][:, 1], W[0][:, 1].astype(dtype))
    np.testing.assert_allclose(np.linalg.norm(out[1:], axis=1), 1.0, rtol=10 * RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiplicative_h_is_the_coupled_update(dtype):
    rng = np.random.default_rng(6)
    T, r, n = 6, 3, 25
    l1, l2, l3, eps = 0.7, 1.3, 0.2, 1e-16
    H_all = rng.random((T, r, n)).astype(dtype)
    idx = np.array([0, 2, 5])  # the first and the last scale have one neighbour
    c = idx.size
    H = H_all[idx].copy()
    WtX = rng.random((c, r, n)).astype(dtype)
    Wb = rng.random((c, 10, r))
    WtW = (Wb.transpose(0, 2, 1) @ Wb).astype(dtype)
    HA = rng.random((c, r, n)).astype(dtype)
    deg = rng.random((c, n)).astype(dtype)
    expected = np.empty((c, r, n))
    for s, t in enumerate(idx):
        a = l2 if t > 0 else 0.0
        b = l2 if t < T - 1 else 0.0
        Hs = H[s].astype(np.float64)
        num = WtX[s] + l1 * HA[s] + a * H_all[max(t - 1, 0)] + b * H_all[min(t + 1, T - 1)]
        den = WtW[s] @ Hs + (l1 * deg[s] + a + b + l3) * Hs
        expected[s] = Hs * num / np.maximum(den, eps)
    _dealt(k.multiplicative_h, c, H, WtX, WtW, HA, deg, H_all, idx, l1, l2, l3, eps, stride=2)
    np.testing.assert_allclose(H, expected, rtol=10 * RTOL[dtype])
    assert H.dtype == dtype
