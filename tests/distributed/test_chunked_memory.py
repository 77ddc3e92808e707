"""A lazy .h5ad larger than the memory a fit may use is fitted on Dask's local threads without reading
X whole: the peak of traced memory stays a fraction of X's size."""

from __future__ import annotations

import gc
import tracemalloc

import anndata
import numpy as np
import scipy.sparse as sp

from nmfcore.data.lazy import open_lazy
from nmfcore.distributed import fit_chunked

CELLS, GENES, DENSITY = 20_000, 1000, 0.1


def _write_atlas(path) -> int:
    """A cells x genes CSR .h5ad of planted counts; returns the bytes of its X (values, indices, pointers)."""
    rng = np.random.default_rng(0)
    X = sp.random(CELLS, GENES, density=DENSITY, format="csr", random_state=rng, dtype=np.float32,
                  data_rvs=lambda k: rng.integers(1, 30, size=k).astype(np.float32))
    X = sp.csr_matrix(X + sp.csr_matrix((np.ones(CELLS, np.float32), (np.arange(CELLS), np.arange(CELLS) % GENES)),
                                        shape=X.shape))
    anndata.AnnData(X=X).write_h5ad(path)
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def test_lazy_h5ad_larger_than_the_limit_fits_in_bounded_memory(tmp_path):
    path = tmp_path / "atlas.h5ad"
    x_bytes = _write_atlas(path)
    gc.collect()
    limit = x_bytes // 2  # the fit may use half of X's size: X cannot be read whole
    dataset = open_lazy(path, chunk_items=500)
    assert dataset.X.shape == (GENES, CELLS) and dataset.X.numblocks == (1, 40)
    options = dict(beta=1, init="random", tol=0, random_state=0, client="threads", threads=1)
    fit_chunked(dataset.X[:, :2000], 5, max_iter=1, **options)  # imports and compiled kernels, before tracing
    tracemalloc.start()
    try:
        result = fit_chunked(dataset.X, 5, max_iter=2, memory_limit=limit, **options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not result.extra["persisted"]
    print(f"peak traced memory {peak / 2**20:.1f} MiB for an X of {x_bytes / 2**20:.1f} MiB")
    assert peak < x_bytes / 3, (peak, x_bytes)
    assert result.W.shape == (GENES, 5) and result.H.shape == (5, CELLS)
    assert np.all(np.diff(result.loss) < 0) and 0 < result.relative_error < 1
