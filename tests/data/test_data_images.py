"""Image collections: files, ZIPs, .npy/.npz stacks and .mat arrays become pixels x images."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.io
from PIL import Image

import nmfcore
from _bad_files import mat_v5, npy, npz, png, zip_bytes


def _pictures(n=4, shape=(6, 5), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=shape, dtype=np.uint8) for _ in range(n)]


def _named(data: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def test_several_png_files_become_columns_in_c_order(tmp_path):
    pictures = _pictures()
    paths = []
    for i, pixels in enumerate(pictures):
        path = tmp_path / f"img{i}.png"
        path.write_bytes(png(pixels))
        paths.append(path)
    ds = nmfcore.load(paths)
    assert ds.kind == "images" and ds.image_shape == (6, 5) and ds.shape == (30, 4)
    for j, pixels in enumerate(pictures):
        np.testing.assert_allclose(ds.X[:, j].reshape(ds.image_shape), pixels / 255.0)
    assert list(ds.item_names) == [f"img{i}.png" for i in range(4)]
    assert "images" in ds.meta["detected"]


@pytest.mark.parametrize("fmt, suffix", [("JPEG", ".jpg"), ("BMP", ".bmp"), ("GIF", ".gif"), ("TIFF", ".tif")])
def test_other_image_formats_load_as_grey_in_unit_range(fmt, suffix):
    pictures = _pictures(2)
    uploads = []
    for i, pixels in enumerate(pictures):
        upload = io.BytesIO(png(pixels, fmt))
        upload.name = f"p{i}{suffix}"
        uploads.append(upload)
    ds = nmfcore.load(uploads)
    assert ds.shape == (30, 2) and 0 <= ds.X.min() and ds.X.max() <= 1
    tolerance = 0.1 if fmt == "JPEG" else 1e-12
    assert np.abs(ds.X[:, 0] - pictures[0].ravel() / 255).mean() < tolerance


def test_colour_images_are_converted_to_grey():
    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    rgb[..., 1] = 200
    ds = nmfcore.load([_named(png(rgb), "a.png"), _named(png(rgb), "b.png")])
    expected = round(0.587 * 200) / 255  # ITU-R 601 luma of pure green
    np.testing.assert_allclose(ds.X, expected, atol=1 / 255)


def test_zip_of_images_resizes_to_most_common_size_and_labels_by_folder():
    small, large = _pictures(3, (6, 5)), _pictures(1, (12, 10), seed=1)
    members = {f"cats/c{i}.png": png(p) for i, p in enumerate(small[:2])}
    members["dogs/d0.png"] = png(small[2])
    members["dogs/big.png"] = png(large[0])
    ds = nmfcore.load(zip_bytes(members), name="pets.zip")
    assert ds.image_shape == (6, 5) and ds.shape == (30, 4)
    assert any("resized to 6 x 5 (the most common size)" in s for s in ds.meta["steps"])
    assert sorted(ds.labels) == ["cats", "cats", "dogs", "dogs"]
    chosen = nmfcore.load(zip_bytes(members), name="pets.zip", size=(3, 4))
    assert chosen.image_shape == (3, 4) and chosen.shape == (12, 4)


def test_npy_stack_is_read_as_images_and_scaled():
    stack = np.arange(3 * 4 * 5, dtype=np.float64).reshape(3, 4, 5)
    ds = nmfcore.load(npy(stack), name="stack.npy")
    assert ds.kind == "images" and ds.image_shape == (4, 5) and ds.shape == (20, 3)
    np.testing.assert_allclose(ds.X[:, 2].reshape(4, 5), stack[2] / stack.max())


def test_npz_uint8_stack_divides_by_255():
    stack = np.full((2, 3, 3), 51, dtype=np.uint8)
    stack[1] = 255
    ds = nmfcore.load(npz(X=stack), name="s.npz", kind="images")
    np.testing.assert_allclose(ds.X[:, 0], 0.2)
    np.testing.assert_allclose(ds.X[:, 1], 1.0)


def test_mat_pixel_columns_use_matlab_column_major_order():
    images = np.random.default_rng(0).random((3, 4, 5))  # n x h x w
    columns = np.stack([im.ravel(order="F") for im in images], axis=1)  # as MATLAB's X(:, j) = im(:)
    ds = nmfcore.load(mat_v5(X=columns), name="faces.mat", kind="images", image_shape=(4, 5))
    for j in range(3):
        np.testing.assert_allclose(ds.X[:, j].reshape(4, 5), images[j])


def test_mat_three_d_array_is_height_width_images():
    cube = np.random.default_rng(0).random((4, 5, 3))  # MATLAB h x w x n
    ds = nmfcore.load(mat_v5(faces=cube), name="f.mat", kind="images")
    np.testing.assert_allclose(ds.X[:, 1].reshape(4, 5), cube[:, :, 1])


def test_cbcl_mat_loads_as_square_faces(shared_dataset):
    path = shared_dataset("CBCL.mat")
    ds = nmfcore.load(path, kind="images")
    raw = scipy.io.loadmat(path)["X"]
    assert ds.image_shape == (19, 19) and ds.shape == (361, 2429)
    np.testing.assert_allclose(ds.X[:, 7].reshape(19, 19), raw[:, 7].reshape(19, 19, order="F"))


def test_detection_of_a_plain_mat_suggests_images(shared_dataset):
    ds = nmfcore.load(shared_dataset("Swimmer.mat"))
    assert ds.kind == "matrix" and "kind='images'" in ds.meta["detected"]
    swim = nmfcore.load(shared_dataset("Swimmer.mat"), kind="images", image_shape=(20, 11))
    assert set(np.unique(swim.X)) == {0.0, 1.0}  # 0/1 data is not rescaled


def test_float_tiff_images_are_divided_by_their_maximum():
    pictures = [np.full((3, 4), 10.0, dtype=np.float32), np.full((3, 4), 40.0, dtype=np.float32)]
    uploads = []
    for i, pixels in enumerate(pictures):
        buffer = io.BytesIO()
        Image.fromarray(pixels, mode="F").save(buffer, format="TIFF")
        uploads.append(_named(buffer.getvalue(), f"f{i}.tif"))
    ds = nmfcore.load(uploads, kind="images")
    np.testing.assert_allclose(ds.X[:, 0], 0.25)
    np.testing.assert_allclose(ds.X[:, 1], 1.0)
