"""The Export page with a lazy result: chunked files written on the server, downloaded when small."""

from __future__ import annotations

import anndata
import dask.array as da
import numpy as np
from streamlit.testing.v1 import AppTest

import nmfcore
from _app_helpers import APP, TIMEOUT, no_exception
from nmfcore.export import folder


def _export_page_with_lazy_result() -> tuple[AppTest, object]:
    X = da.from_array(np.random.default_rng(0).random((20, 400)), chunks=(20, 100))
    result = nmfcore.nmf(X, 3, max_iter=3)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    no_exception(at)
    at.session_state["results"] = {"NMF · lazy cells": result}
    at.switch_page("pages/export.py").run()
    no_exception(at)
    return at, result


def test_a_lazy_result_is_written_chunk_by_chunk_and_offered_when_small(tmp_path, monkeypatch):
    monkeypatch.setenv(folder.EXPORT_DIR_VARIABLE, str(tmp_path))
    at, result = _export_page_with_lazy_result()
    assert any("400 items in 4 chunks" in i.value for i in at.info)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download recipe (JSON)"]  # no in-memory .npz, CSV, .h5ad or PNG

    at.button(key="write_.h5ad").click().run()
    no_exception(at)
    written = sorted(tmp_path.glob("nmf___lazy_cells-*.h5ad"))
    assert len(written) == 1 and at.code[0].value == str(written[0])
    assert [b.label for b in at.get("download_button")][-1] == f"Download {written[0].name}"
    np.testing.assert_array_equal(anndata.read_h5ad(written[0]).obsm["X_nmf"], result.H.compute().T)

    at.button(key="write_.zarr").click().run()
    no_exception(at)
    stores = list(tmp_path.glob("nmf___lazy_cells-*.zarr"))
    assert len(stores) == 1 and stores[0].is_dir()
    assert f"Download {stores[0].name}.zip" in [b.label for b in at.get("download_button")]


def test_a_large_export_says_where_it_is_on_the_server(tmp_path, monkeypatch):
    monkeypatch.setenv(folder.EXPORT_DIR_VARIABLE, str(tmp_path))
    monkeypatch.setattr(folder, "MAX_DOWNLOAD_BYTES", 1000)
    at, _ = _export_page_with_lazy_result()
    at.button(key="write_.h5ad").click().run()
    no_exception(at)
    (path,) = tmp_path.glob("*.h5ad")
    assert at.code[0].value == str(path)
    assert any("too large to download through the browser" in i.value for i in at.info)
    assert [b.label for b in at.get("download_button")] == ["Download recipe (JSON)"]
