"""Dask sees the real size of a prepared chunk and of a visit's terms, so it never takes X for free to move."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from dask.sizeof import sizeof

import nmfcore.distributed.chunk_tasks  # noqa: F401  (the tasks' module registers the sizes)
from nmfcore.classic.blocks import DataBlock
from nmfcore.classic.online_solver import BatchTerms


def _csr_bytes(X: sp.csr_matrix) -> int:
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def test_a_prepared_chunk_weighs_its_data():
    rng = np.random.default_rng(0)
    dense = rng.random((50, 400))
    sparse = sp.random(50, 4000, density=0.05, format="csr", random_state=0)
    assert dense.nbytes <= sizeof(DataBlock(dense)) <= dense.nbytes + 1024
    assert _csr_bytes(sparse) <= sizeof(DataBlock(sparse)) <= _csr_bytes(sparse) + 1024


def test_a_visits_terms_weigh_their_arrays():
    gram, cross = np.ones((5, 5)), np.ones((300, 5))
    terms = BatchTerms(n_items=10, gram=gram, cross=cross, partials=None, loss=1.0, penalty=0.0)
    assert sizeof(terms) >= gram.nbytes + cross.nbytes
