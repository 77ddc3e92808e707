"""What a chunk's tasks hold: a prepared chunk shares the read chunk's structure, a batch is cut from the
chunk's transpose, and the H handed back is the blocks themselves."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from nmfcore.classic.blocks import DataBlock
from nmfcore.distributed.backend import LocalBackend
from nmfcore.distributed.chunk_tasks import Prep, prepared
from nmfcore.distributed.online_tasks import batch_block


def _chunk(dtype=np.float32) -> sp.csr_matrix:
    return sp.random(40, 300, density=0.1, format="csr", random_state=0, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_prepared_sparse_chunk_scales_only_the_values(dtype):
    raw = _chunk()
    before = raw.copy()
    block = prepared(raw, Prep(1 / 0.3, np.dtype(dtype)))
    expected = raw.multiply(1 / 0.3).astype(dtype)
    assert block.X.dtype == dtype and (block.X != expected).nnz == 0
    assert np.shares_memory(block.X.indices, raw.indices) and np.shares_memory(block.X.indptr, raw.indptr)
    assert (raw != before).nnz == 0 and raw.data.dtype == np.float32  # the read chunk is left as it was


def test_a_sparse_batch_is_the_chunks_columns_with_its_own_transpose():
    block = DataBlock(_chunk())
    for cols in (slice(0, 128), slice(128, 256), slice(256, 300)):
        batch = batch_block(block, cols)
        expected = block.X[:, cols].toarray()
        assert sp.isspmatrix_csr(batch.X) and batch.X.has_sorted_indices
        assert np.array_equal(batch.X.toarray(), expected)
        assert np.array_equal(batch.XT.toarray(), expected.T)


def test_a_data_block_refuses_a_transpose_of_another_shape():
    X = _chunk()
    with pytest.raises(ValueError, match="transpose"):
        DataBlock(X, XT=X)
    with pytest.raises(ValueError, match="transpose"):
        DataBlock(X.toarray(), XT=sp.csr_matrix(X.T))


def test_H_as_a_dask_array_holds_the_blocks_themselves():
    """No copy of H per callback: the array's graph holds the solver's blocks."""
    blocks = [np.arange(6.0).reshape(2, 3), np.ones((2, 4))]
    H = LocalBackend([None, None], 1).as_dask_array(blocks, [(2, 3), (2, 4)], np.dtype(np.float64))
    assert H.shape == (2, 7) and H.chunks == ((2,), (3, 4)) and H.dtype == np.float64
    assert np.array_equal(H.compute(), np.hstack(blocks))
    held = list(H.__dask_graph__().values())
    assert all(any(value is block for value in held) for block in blocks)
