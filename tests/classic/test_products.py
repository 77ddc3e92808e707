"""Products that never densify a sparse X: the sampled product, row blocks, pattern reuse."""

import numpy as np
import pytest
import scipy.sparse as sp

import nmfcore.classic.products as products
from nmfcore.classic.products import row_blocks, sampled_product, sparse_with_data


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_sampled_product_is_w_h_at_the_non_zeros_in_storage_order(dtype, rtol):
    rng = np.random.default_rng(0)
    X = sp.random(60, 45, density=0.1, random_state=0, format="csr", dtype=dtype)
    W = rng.random((60, 7)).astype(dtype)
    H = rng.random((7, 45)).astype(dtype)
    values = sampled_product(W, H, X)
    assert values.shape == (X.nnz,) and values.dtype == dtype
    rows = np.repeat(np.arange(60), np.diff(X.indptr))
    np.testing.assert_allclose(values, (W @ H)[rows, X.indices], rtol=rtol)
    out = np.empty(X.nnz, dtype=dtype)
    assert sampled_product(W, np.asfortranarray(H), X, out=out) is out
    np.testing.assert_array_equal(out, values)


def test_sampled_product_of_an_empty_pattern_is_empty():
    X = sp.csr_matrix((5, 4))
    assert sampled_product(np.ones((5, 2)), np.ones((2, 4)), X).shape == (0,)


@pytest.mark.parametrize("m, n", [(1, 1), (10, 3), (1000, 7000), (3, 1 << 23)])
def test_row_blocks_cover_the_rows_in_order_with_bounded_slabs(m, n):
    parts = row_blocks(m, n)
    assert np.array_equal(np.concatenate([np.arange(m)[p] for p in parts]), np.arange(m))
    for part in parts:
        assert (part.stop - part.start) * n <= products._BLOCK_ENTRIES or part.stop - part.start == 1


def test_row_blocks_split_a_large_product_into_several_slabs():
    assert len(row_blocks(1000, 7000)) > 1
    assert row_blocks(10, 3) == [slice(0, 10)]


def test_sparse_with_data_keeps_the_pattern_without_copying_it():
    X = sp.random(20, 15, density=0.3, random_state=1, format="csr")
    data = np.arange(X.nnz, dtype=float) + 1.0
    Y = sparse_with_data(X, data)
    assert Y.shape == X.shape and Y.nnz == X.nnz
    assert np.shares_memory(Y.indices, X.indices) and np.shares_memory(Y.indptr, X.indptr)
    np.testing.assert_array_equal(Y.data, data)
    np.testing.assert_array_equal((Y != 0).toarray(), (X != 0).toarray())
