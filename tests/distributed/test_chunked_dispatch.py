"""nmfcore.nmf hands a Dask array to the chunked driver (issue 13): same fit as fit_chunked."""

from __future__ import annotations

import dask.array as da
import pytest

import nmfcore
from _chunked import RANK, assert_same_fit, chunked, problem, start_point
from nmfcore.distributed import fit_chunked


def test_nmf_dispatches_dask_arrays_to_fit_chunked():
    X = chunked(problem("sparse"))
    W0, H0 = start_point()
    result = nmfcore.nmf(X, RANK, beta=1, init=(W0, H0), max_iter=8, tol=0)
    assert isinstance(result.H, da.Array)
    assert_same_fit(result, fit_chunked(X, RANK, beta=1, init=(W0, H0), max_iter=8, tol=0))
    with pytest.raises(ValueError, match="mask is not supported for a Dask array"):
        nmfcore.nmf(X, RANK, mask=X > 0)
