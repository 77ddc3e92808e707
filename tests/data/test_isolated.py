"""``load_isolated``: the same Dataset as ``nmfcore.load``, parsed in a child process whose
crash, hang or runaway allocation becomes a DataError instead of ending the caller."""

from __future__ import annotations

import io

import anndata
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import _isolated_parsers as parsers
import nmfcore
from nmfcore.data import DataError, load_isolated
from _bad_files import counts, npy, png


def _same(isolated, direct):
    assert isolated.kind == direct.kind and isolated.shape == direct.shape
    assert sp.issparse(isolated.X) == sp.issparse(direct.X)
    left = isolated.X.toarray() if sp.issparse(isolated.X) else isolated.X
    right = direct.X.toarray() if sp.issparse(direct.X) else direct.X
    np.testing.assert_array_equal(left, right)
    assert isolated.X.dtype == direct.X.dtype
    assert list(isolated.feature_names) == list(direct.feature_names)
    assert list(isolated.item_names) == list(direct.item_names)
    assert isolated.image_shape == direct.image_shape and isolated.spatial_shape == direct.spatial_shape
    for left, right in ((isolated.labels, direct.labels), (isolated.wavelengths, direct.wavelengths)):
        assert (left is None) == (right is None)
        if left is not None:
            assert list(left) == list(right)
    assert {k: list(v) for k, v in isolated.label_options.items()} == \
        {k: list(v) for k, v in direct.label_options.items()}
    assert isolated.meta == direct.meta


def test_files_load_as_they_do_in_process(tmp_path):
    obs = pd.DataFrame({"cell_type": pd.Categorical(["T", "B"] * 20)}, index=[f"c{i}" for i in range(40)])
    adata = anndata.AnnData(X=counts(), obs=obs, var=pd.DataFrame(index=[f"G{i}" for i in range(30)]))
    adata.write_h5ad(tmp_path / "cells.h5ad")
    _same(load_isolated(tmp_path / "cells.h5ad"), nmfcore.load(tmp_path / "cells.h5ad"))
    matrix = np.arange(1.0, 13.0).reshape(3, 4)
    _same(load_isolated(npy(matrix), name="m.npy", transpose=True),
          nmfcore.load(npy(matrix), name="m.npy", transpose=True))
    faces = [io.BytesIO(png(np.full((6, 5), 40 * i, dtype=np.uint8))) for i in range(1, 4)]
    for i, face in enumerate(faces):
        face.name = f"face{i}.png"
    _same(load_isolated(faces), nmfcore.load(faces))


def test_a_bad_file_gives_the_readers_own_data_error():
    content = b"%%MatrixMarket matrix coordinate real general\n3 3 4000000001\n1 1 1.0\n"
    with pytest.raises(DataError) as direct:
        nmfcore.load(content, name="m.mtx", max_bytes=64 * 2**30)
    with pytest.raises(DataError) as isolated:
        load_isolated(content, name="m.mtx", max_bytes=64 * 2**30)
    assert str(isolated.value) == str(direct.value)
    with pytest.raises(ValueError, match="unknown option"):
        load_isolated(content, name="m.mtx", colour=True)


@pytest.mark.parametrize("parser, words", [
    (parsers.segfault, ["'m.npy' could not be parsed safely", "signal 11 (SIGSEGV)"]),
    (parsers.hang, ["did not finish within 2 s", "was stopped"]),
    (parsers.allocate, ["needed more than 256.0 MiB of memory"]),
])
def test_a_crash_a_hang_or_a_runaway_allocation_becomes_a_data_error(parser, words):
    with pytest.raises(DataError) as info:
        load_isolated(npy(np.ones((3, 3))), name="m.npy", parser=parser, timeout=2, memory=256 * 2**20)
    for word in words:
        assert word in str(info.value)


def test_a_bug_in_the_child_is_not_disguised_as_a_bad_file():
    with pytest.raises(RuntimeError, match="KeyError: 'a bug in the reader'"):
        load_isolated(npy(np.ones((3, 3))), name="m.npy", parser=parsers.broken)
