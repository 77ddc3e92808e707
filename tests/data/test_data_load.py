"""``nmfcore.load`` itself: sources (path, bytes, uploads, lists), MATLAB v5 and v7.3, choosing a
variable, plain matrices, detection notes and the memory limit."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nmfcore
from nmfcore.data import DataError
from _bad_files import mat_v5, mat_v73, npy, zip_bytes

MATRIX = np.arange(1.0, 13.0).reshape(3, 4)


def test_path_bytes_and_upload_give_the_same_dataset(tmp_path):
    path = tmp_path / "m.npy"
    path.write_bytes(npy(MATRIX))
    upload = io.BytesIO(npy(MATRIX))
    upload.name = "folder/m.npy"
    for source, name in ((path, None), (str(path), None), (npy(MATRIX), "m.npy"), (upload, None)):
        ds = nmfcore.load(source, name=name)
        assert ds.kind == "matrix" and ds.meta["source"] == "m.npy"
        np.testing.assert_array_equal(ds.X, MATRIX)


def test_missing_path_and_folder_are_explained(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        nmfcore.load(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        nmfcore.load(tmp_path)


def test_plain_csv_matrix_keeps_columns_as_items_or_transposes():
    content = b"1.5,2,3\n4,5,6\n"
    ds = nmfcore.load(content, name="m.csv")
    assert ds.kind == "matrix" and ds.shape == (2, 3) and ds.X[0, 0] == 1.5
    assert "columns are the items" in ds.meta["detected"]
    flipped = nmfcore.load(content, name="m.csv", transpose=True)
    np.testing.assert_array_equal(flipped.X, ds.X.T)
    assert flipped.meta["steps"] == ["transposed"]


def test_mat_v5_picks_the_largest_matrix_and_offers_the_others():
    content = mat_v5(small=np.ones((2, 2)), big=MATRIX, n=3.0)
    ds = nmfcore.load(content, name="d.mat")
    np.testing.assert_array_equal(ds.X, MATRIX)
    assert "'big', the largest" in ds.meta["variable"] and "'small'" in ds.meta["variable"]
    chosen = nmfcore.load(content, name="d.mat", variable="small")
    assert chosen.shape == (2, 2)
    with pytest.raises(DataError, match="choose one of"):
        nmfcore.load(content, name="d.mat", variable="missing")


def test_mat_v73_dense_and_sparse_through_h5py(tmp_path):
    dense = np.random.default_rng(0).random((5, 7))
    counts = sp.random(6, 9, density=0.4, random_state=1, format="csr")
    path = mat_v73(tmp_path / "v73.mat", X=dense, D=counts, title="words")
    ds = nmfcore.load(path, variable="X")
    assert "v7.3" in ds.meta["detected"]
    np.testing.assert_allclose(ds.X, dense)
    text = nmfcore.load(path, variable="D")
    assert text.kind == "text" and sp.issparse(text.X)
    np.testing.assert_allclose(text.X.toarray(), counts.toarray().T)


def test_mat_label_vector_is_offered_as_labels(shared_dataset):
    import scipy.io

    path = shared_dataset("3D_concentric_circles.mat")
    ds = nmfcore.load(path, transpose=True)
    assert ds.shape == (100, 80)
    np.testing.assert_array_equal(ds.labels, scipy.io.loadmat(path)["Y"].ravel())
    assert np.bincount(ds.labels).tolist() == [20, 20, 20, 20]


def test_memory_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("NMFCORE_MAX_BYTES", "64")
    with pytest.raises(DataError, match="above the limit of 64.0 B"):
        nmfcore.load(npy(MATRIX), name="m.npy")
    assert nmfcore.load(npy(MATRIX), name="m.npy", max_bytes=10_000).shape == (3, 4)
    with pytest.raises(ValueError, match="max_bytes must be a positive integer"):
        nmfcore.load(npy(MATRIX), name="m.npy", max_bytes=0)


def test_kind_that_a_format_cannot_give_is_explained():
    with pytest.raises(DataError, match="cannot be read as kind='text'"):
        nmfcore.load(zip_bytes({"s.hdr": b"ENVI\n", "s.img": b"\x00"}), name="s.zip", kind="text")
    with pytest.raises(DataError, match="single-cell data must come as .h5ad"):
        nmfcore.load(npy(MATRIX), name="m.npy", kind="scrna")


def test_envi_header_and_data_uploaded_as_two_files():
    cube = np.random.default_rng(0).random((3, 4, 2)).astype("<f4")
    header = io.BytesIO(b"ENVI\nsamples = 4\nlines = 3\nbands = 2\ndata type = 4\ninterleave = bip\n")
    header.name = "scene.hdr"
    data = io.BytesIO(cube.tobytes())
    data.name = "scene.raw"
    ds = nmfcore.load([header, data])
    assert ds.spatial_shape == (3, 4)
    np.testing.assert_allclose(ds.X[:, 5], cube[1, 1])


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 6), st.integers(2, 6)),
              elements=st.floats(0, 1e6, allow_subnormal=False)).filter(lambda a: a.any()))
def test_csv_and_npy_round_trip_any_nonnegative_matrix(matrix):
    text = "\n".join(",".join(repr(float(v)) for v in row) for row in matrix).encode()
    np.testing.assert_array_equal(nmfcore.load(text, name="m.csv").X, matrix)
    np.testing.assert_array_equal(nmfcore.load(npy(matrix), name="m.npy").X, matrix)
