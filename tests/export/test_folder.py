"""The export folder of a server: where chunked exports are written, and their downloads."""

from __future__ import annotations

import io
import zipfile

import anndata
import dask.array as da
import numpy as np
import pytest

import nmfcore
from nmfcore import export
from nmfcore.export import folder


@pytest.fixture(scope="module")
def lazy_result():
    X = da.from_array(np.random.default_rng(0).random((12, 300)), chunks=(12, 100))
    return nmfcore.nmf(X, 2, max_iter=3)


def test_export_dir_is_the_operators_folder_or_a_temporary_one(tmp_path, monkeypatch):
    monkeypatch.setenv(folder.EXPORT_DIR_VARIABLE, str(tmp_path))
    assert export.export_dir() == tmp_path
    monkeypatch.setenv(folder.EXPORT_DIR_VARIABLE, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="not an existing folder; create it, or unset the variable"):
        export.export_dir()
    monkeypatch.delenv(folder.EXPORT_DIR_VARIABLE)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(folder.tempfile, "tempdir", None)
    assert export.export_dir() == tmp_path / "nmfcore-exports" and (tmp_path / "nmfcore-exports").is_dir()


def test_each_export_gets_a_new_name(lazy_result, tmp_path):
    first = export.write_export(lazy_result, "nmf_cells", ".h5ad", folder=tmp_path)
    second = export.write_export(lazy_result, "nmf_cells", ".h5ad", folder=tmp_path)
    assert first.path != second.path and first.path.parent == tmp_path
    assert first.path.name.startswith("nmf_cells-") and first.path.suffix == ".h5ad"
    assert first.size == first.path.stat().st_size and first.downloadable
    assert export.download_bytes(first) == first.path.read_bytes()
    with pytest.raises(ValueError, match="must be letters, digits and _"):
        export.write_export(lazy_result, "../up", ".h5ad", folder=tmp_path)
    with pytest.raises(ValueError, match="suffix must be one of"):
        export.write_export(lazy_result, "nmf", ".npz", folder=tmp_path)


def test_a_zarr_export_downloads_as_a_zip_of_its_folder(lazy_result, tmp_path):
    written = export.write_export(lazy_result, "nmf", ".zarr", folder=tmp_path)
    assert written.size == sum(f.stat().st_size for f in written.path.rglob("*") if f.is_file())
    assert written.download_name == written.path.name + ".zip"
    with zipfile.ZipFile(io.BytesIO(export.download_bytes(written))) as archive:
        archive.extractall(tmp_path / "unzipped")
    adata = anndata.read_zarr(tmp_path / "unzipped" / written.path.name)
    np.testing.assert_array_equal(adata.obsm["X_nmf"], lazy_result.H.compute().T)


def test_large_exports_are_not_offered_for_download(lazy_result, tmp_path, monkeypatch):
    written = export.write_export(lazy_result, "nmf", ".h5ad", folder=tmp_path)
    monkeypatch.setattr(folder, "MAX_DOWNLOAD_BYTES", written.size - 1)
    assert not written.downloadable
