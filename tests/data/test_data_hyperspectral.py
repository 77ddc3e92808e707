"""Hyperspectral scenes: .mat (bands x pixels with nRow/nCol, or rows x cols x bands), .npy,
ENVI header + raw data, multi-page TIFF; pixels always end up in C order."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.io
from PIL import Image

import nmfcore
from _bad_files import mat_v5, npy, zip_bytes

ROWS, COLS, BANDS = 4, 6, 5


def _cube(seed=0):
    return np.random.default_rng(seed).random((ROWS, COLS, BANDS))


def _neighbour_correlation(image: np.ndarray) -> float:
    return float(np.corrcoef(image[:, :-1].ravel(), image[:, 1:].ravel())[0, 1])


def test_samson_pixels_follow_the_documented_column_major_convention(shared_dataset):
    ds = nmfcore.load(shared_dataset("samson.mat"))
    V = scipy.io.loadmat(shared_dataset("samson.mat"))["V"]
    assert ds.kind == "hyperspectral" and ds.spatial_shape == (95, 95) and ds.shape == (156, 9025)
    for p in (0, 1, 95, 4000, 9024):  # pixel p is row p % 95, column p // 95
        row, col = p % 95, p // 95
        np.testing.assert_allclose(ds.X[:, row * 95 + col], V[:, p])


def test_samson_abundance_map_looks_like_the_scene(shared_dataset):
    ds = nmfcore.load(shared_dataset("samson.mat"))
    A = scipy.io.loadmat(shared_dataset("samson_groundtruth.mat"))["A"]
    reordered = A.reshape(3, 95, 95, order="F").reshape(3, -1)  # the same reordering as X
    water = reordered[2].reshape(ds.spatial_shape)
    scrambled = np.random.default_rng(0).permutation(reordered[2]).reshape(ds.spatial_shape)
    assert _neighbour_correlation(water) > 0.9 > 0.1 > abs(_neighbour_correlation(scrambled))
    band = ds.X[100].reshape(ds.spatial_shape)  # an NIR band: water is dark where A says water
    assert np.corrcoef(band.ravel(), water.ravel())[0, 1] < -0.8


def test_moffett_loads_as_a_smooth_50_by_50_scene(shared_dataset):
    ds = nmfcore.load(shared_dataset("Moffet.mat"), kind="hyperspectral")
    assert ds.spatial_shape == (50, 50) and ds.shape == (159, 2500)
    image = ds.X[80].reshape(ds.spatial_shape)
    wrong = nmfcore.load(shared_dataset("Moffet.mat"), kind="hyperspectral", spatial_shape=(25, 100))
    scrambled = wrong.X[80].reshape(wrong.spatial_shape)
    assert min(_neighbour_correlation(image), _neighbour_correlation(image.T)) > 0.9
    assert _neighbour_correlation(scrambled) < 0


def test_mat_rows_cols_bands_cube_with_wavelengths_and_max_value():
    cube = np.random.default_rng(0).integers(0, 4000, size=(ROWS, COLS, BANDS)).astype(np.uint16)
    wl = np.linspace(400, 900, BANDS)
    ds = nmfcore.load(mat_v5(cube=cube, wavelength=wl, maxValue=4000.0), name="scene.mat")
    assert ds.kind == "hyperspectral" and ds.spatial_shape == (ROWS, COLS)
    np.testing.assert_allclose(ds.X[:, 2 * COLS + 3], cube[2, 3] / 4000)
    np.testing.assert_allclose(ds.wavelengths, wl)
    assert ds.feature_names[0] == "400 nm"
    assert any("4000 (the file's maximum value)" in s for s in ds.meta["steps"])


def test_npy_cube_and_bad_band_dropping():
    cube = _cube()
    cube[:, :, 1] = np.nan
    ds = nmfcore.load(npy(cube), name="c.npy", kind="hyperspectral", drop_bad_bands=True, drop_bands=[4])
    assert ds.shape == (3, ROWS * COLS)
    np.testing.assert_allclose(ds.X[:, 7], cube[1, 1, [0, 2, 3]])
    assert ds.feature_names.tolist() == ["band 0", "band 2", "band 3"]


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_envi_header_and_data_in_a_zip(interleave):
    cube = (1000 * _cube()).astype("<u2")
    data = {"bsq": cube.transpose(2, 0, 1), "bil": cube.transpose(0, 2, 1), "bip": cube}[interleave]
    header = (
        f"ENVI\nsamples = {COLS}\nlines = {ROWS}\nbands = {BANDS}\nheader offset = 0\n"
        f"data type = 12\ninterleave = {interleave}\nbyte order = 0\n"
        "wavelength = {410, 420.5, 430, 440, 450}\nbbl = {1, 1, 0, 1, 1}\n"
    )
    archive = zip_bytes({"scene.hdr": header.encode(), "scene.img": data.tobytes()})
    ds = nmfcore.load(archive, name="scene.zip", drop_bad_bands=True)
    assert ds.kind == "hyperspectral" and ds.spatial_shape == (ROWS, COLS) and ds.shape[0] == 4
    np.testing.assert_allclose(ds.X[:, COLS + 2], cube[1, 2, [0, 1, 3, 4]] / cube.max())
    np.testing.assert_allclose(ds.wavelengths, [410, 420.5, 440, 450])


def test_envi_header_beside_its_data_file(tmp_path):
    cube = _cube().astype("<f4")
    (tmp_path / "s.hdr").write_text(
        f"ENVI\nsamples = {COLS}\nlines = {ROWS}\nbands = {BANDS}\ndata type = 4\ninterleave = bip\n")
    (tmp_path / "s.dat").write_bytes(cube.tobytes())
    ds = nmfcore.load(tmp_path / "s.hdr")
    np.testing.assert_allclose(ds.X[:, 0], cube[0, 0], rtol=1e-6)


def test_multipage_tiff_pages_are_bands():
    cube = (65535 * _cube()).astype(np.uint16)
    pages = [Image.fromarray(cube[:, :, b]) for b in range(BANDS)]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    ds = nmfcore.load(buffer.getvalue(), name="scene.tif")
    assert ds.kind == "hyperspectral" and ds.spatial_shape == (ROWS, COLS) and ds.shape[0] == BANDS
    np.testing.assert_allclose(ds.X[:, 5], cube[0, 5] / cube.max())
