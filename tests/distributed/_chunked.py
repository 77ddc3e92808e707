"""Small problems for the chunked-fit tests, cut into uneven item chunks, and fit comparisons."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

M, N, RANK = 40, 300, 4
#: Uneven item chunks of the problems.
BOUNDS = (0, 70, 100, 220, 300)


def problem(kind: str, seed: int = 0) -> np.ndarray | sp.csr_matrix:
    """A nonnegative M x N matrix of rank about RANK plus noise: dense, or sparse with every item non-empty."""
    rng = np.random.default_rng(seed)
    if kind == "dense":
        return rng.random((M, RANK)) @ rng.random((RANK, N)) + 0.1 * rng.random((M, N))
    X = sp.random(M, N, density=0.3, random_state=seed, format="csr")
    every = sp.csr_matrix((np.ones(N), (np.arange(N) % M, np.arange(N))), shape=(M, N))
    return sp.csr_matrix(X + every)


def chunked(X, bounds=BOUNDS):
    """X as a Dask array with the item chunks ``bounds`` (ndarray or CSR chunks)."""
    import dask.array as da

    return da.concatenate([da.from_array(X[:, a:b], chunks=X[:, a:b].shape, asarray=False)
                           for a, b in zip(bounds[:-1], bounds[1:])], axis=1)


def start_point(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((M, RANK)) + 0.1, rng.random((RANK, N)) + 0.1


def assert_same_fit(ours, theirs, rtol: float = 1e-8) -> None:
    """Factors, losses and counts of two fits agree to ``rtol`` (relative to each array's largest entry)."""
    H = np.asarray(ours.H.compute()) if hasattr(ours.H, "compute") else ours.H
    for name, a, b in (("W", ours.W, theirs.W), ("H", H, theirs.H), ("loss", ours.loss, theirs.loss)):
        assert a.shape == b.shape, name
        scale = np.abs(b).max()
        assert np.abs(a - b).max() <= rtol * scale, f"{name} differs by {np.abs(a - b).max() / scale:.2e}"
    assert ours.n_iter == theirs.n_iter
    assert ours.converged == theirs.converged
    assert ours.relative_error == pytest.approx(theirs.relative_error, rel=max(rtol, 1e-8))
