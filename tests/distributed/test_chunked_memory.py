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


def test_nndsvd_start_holds_its_blocks_in_the_fit_dtype_only():
    """The chunked NNDSVD keeps Qᵀ X_b (k x n) in the fit's dtype and never all of Vᵀ; MU then holds two H's.

    Few features and many items, so that the item-side blocks dominate (X is not kept):
    the start and two iterations stay under 100 bytes an item in float32 (k = 15, r = 5:
    B is 60 bytes an item, an H 20), where float64 blocks with Vᵀ beside them took 180.
    """
    import dask.array as da

    m, n, rank = 30, 200_000, 5
    X = sp.random(m, n, density=0.1, format="csr", random_state=0, dtype=np.float32) + \
        sp.csr_matrix((np.ones(n, np.float32), (np.arange(n) % m, np.arange(n))), shape=(m, n))
    lazy = da.from_array(sp.csr_matrix(X), chunks=(m, 10_000), asarray=False)
    options = dict(beta=1, init="nndsvda", tol=0, random_state=0, client="threads", threads=1, dtype=np.float32,
                   persist=False)
    fit_chunked(lazy[:, :20_000], rank, max_iter=1, **options)  # imports and kernels, before tracing
    gc.collect()
    tracemalloc.start()
    try:
        result = fit_chunked(lazy, rank, max_iter=2, **options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"peak traced memory {peak / n:.0f} bytes an item")
    assert result.H.dtype == np.float32 and np.all(np.diff(result.loss) < 0)
    assert peak < 100 * n, peak / n
