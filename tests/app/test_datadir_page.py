"""The Data page's data folder ($NMFCORE_DATA_DIR): listing, opening lazily or in memory, refusing
paths that leave the folder; and a lazy data set fitted from the Model page."""

from __future__ import annotations

import os
from pathlib import Path

import anndata
import numpy as np
import pytest
import scipy.sparse as sp
from streamlit.testing.v1 import AppTest

import nmfcore
from _app_helpers import APP, TIMEOUT, fit_from_model_page, no_exception
from nmfcore.app.datadir import ENV_VARIABLE
from nmfcore.app.sources import lazy_summary, load_source, source_label
from nmfcore.data import DataError
from nmfcore.data.fingerprint import lazy_windows
from nmfcore.data.lazy_checks import is_lazy_array


def _counts(cells: int, genes: int, seed: int) -> sp.csr_matrix:
    X = sp.random(cells, genes, density=0.3, format="csr", random_state=seed, dtype=np.float32)
    X.data = np.round(X.data * 10) + 1
    return X


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    """A data folder with an .h5ad of 60 cells x 40 genes and a CSV, a link out of it and a folder beside it."""
    root, outside = tmp_path / "data", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    anndata.AnnData(_counts(60, 40, 0)).write_h5ad(root / "cells.h5ad")
    (root / "small.csv").write_text("1,2,3\n4,5,6\n")
    anndata.AnnData(_counts(10, 5, 1)).write_h5ad(outside / "secret.h5ad")
    os.symlink(outside / "secret.h5ad", root / "leak.h5ad")
    monkeypatch.setenv(ENV_VARIABLE, str(root))
    return root


def _data_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    no_exception(at)
    return at


def test_data_page_lists_the_folder_and_opens_an_h5ad_lazily(folder):
    at = _data_page()
    assert "Open from the server's data folder" in [s.value for s in at.subheader]
    box = at.selectbox(key="datadir_file")
    assert [o.split(" · ")[0] for o in box.options] == ["cells.h5ad", "small.csv"]  # the link out is not listed
    assert box.options[0].endswith(" · lazy") and box.options[1] == "small.csv · 12.0 B"
    box.set_value("cells.h5ad").run()
    at.button(key="datadir_open").click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    ds = at.session_state["dataset"]
    assert is_lazy_array(ds.X) and ds.shape == (40, 60)
    assert at.session_state["dataset_label"] == "data folder cells.h5ad"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Features × items"] == "40 × 60" and metrics["Storage"] == "sparse, on disk"
    assert metrics["Zeros"] == f"{lazy_summary(ds)['zeros']:.1%}"

    at.switch_page("pages/model.py").run()
    no_exception(at)
    assert at.radio(key="family").options == ["NMF"]
    assert any("read lazily from disk, so only NMF" in c.value for c in at.caption)
    assert any("The fit runs on this server's threads" in c.value for c in at.caption)
    name = fit_from_model_page(at, "NMF", {"nmf_iter": 10})
    result = at.session_state["results"][name]
    assert result.W.shape == (40, result.params["rank"]) and is_lazy_array(result.H)
    assert np.isfinite(result.loss[-1])


def test_opening_lazy_data_reads_only_a_few_chunks(folder, monkeypatch):
    # a negative count is found only when its chunk is read: opening and summarising the file
    # (its fingerprint reads the chunks of three windows of items) must leave the others unread
    monkeypatch.setenv("NMFCORE_MAX_BYTES", str(400 * 2**10))  # chunks of about 100 KiB: 7 of them
    X = _counts(1000, 300, 2)
    anndata.AnnData(X).write_h5ad(folder / "big.h5ad")
    X_lazy = nmfcore.load(folder / "big.h5ad", lazy=True).X
    ends = np.cumsum(X_lazy.chunks[1])
    read = {int(np.searchsorted(ends, item, side="right")) for start, stop in lazy_windows(1000)
            for item in (start, stop - 1)}
    unread = next(j for j in range(len(ends)) if j not in read)
    X.data[X.indptr[ends[unread] - 1]] = -1.0  # the last cell of a chunk no window touches
    anndata.AnnData(X).write_h5ad(folder / "big.h5ad")

    at = _data_page()
    at.selectbox(key="datadir_file").set_value("big.h5ad").run()
    at.button(key="datadir_open").click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["dataset"].X.numblocks[1] == len(ends) > 3
    assert {m.label: m.value for m in at.metric}["Features × items"] == "300 × 1000"
    at.switch_page("pages/model.py").run()
    at.number_input(key="nmf_iter").set_value(5).run()
    at.button(key="run_fit").click().run()
    assert at.session_state["job"].wait(TIMEOUT) is None
    at.run()
    no_exception(at)
    assert any("negative values" in e.value for e in at.error), [e.value for e in at.error]

    X.data[0] = -1.0  # now in the first window: opening reports it, and the data set stays unchanged
    anndata.AnnData(X).write_h5ad(folder / "big.h5ad")
    before = at.session_state["dataset"]
    at.switch_page("pages/data.py").run()
    at.button(key="datadir_open").click().run()
    no_exception(at)
    assert any("negative values" in e.value for e in at.error), [e.value for e in at.error]
    assert at.session_state["dataset"] is before


def test_a_file_opened_in_memory_and_a_link_out_refused_with_a_message(folder):
    at = _data_page()
    at.selectbox(key="datadir_file").set_value("small.csv").run()
    at.button(key="datadir_open").click().run()
    no_exception(at)
    ds = at.session_state["dataset"]
    assert not is_lazy_array(ds.X) and ds.shape == (2, 3)

    # the file opened becomes a link out of the folder: it is no longer listed, and reloading it
    # (with preprocessing options) is refused with a message
    (folder / "small.csv").unlink()
    (folder.parent / "outside" / "secret.csv").write_text("7,8\n9,10\n")
    os.symlink(folder.parent / "outside" / "secret.csv", folder / "small.csv")
    at.run()
    assert [o.split(" · ")[0] for o in at.selectbox(key="datadir_file").options] == ["cells.h5ad"]
    at.selectbox(key="pre_negative").set_value("clip")
    at.button(key="apply_pre").click().run()
    no_exception(at)
    assert any("leads outside the data folder" in e.value for e in at.error), [e.value for e in at.error]
    assert at.session_state["dataset"] is ds


def test_load_source_refuses_paths_out_of_the_folder_and_large_files(folder):
    for bad, reason in (("../outside/secret.h5ad", "'..' component"), (str(folder / "cells.h5ad"), "absolute"),
                        ("leak.h5ad", "leads outside the data folder"), ("missing.h5ad", "does not exist")):
        with pytest.raises(ValueError, match=reason):
            load_source({"datadir": bad, "kind": None})
    with pytest.raises(ValueError, match="more than the 4.0 B this server reads into memory"):
        load_source({"datadir": "small.csv", "kind": None}, max_file_bytes=4)
    lazy = load_source({"datadir": "cells.h5ad", "kind": None}, max_file_bytes=4)  # lazy: X is not read
    assert is_lazy_array(lazy.X)
    assert source_label({"datadir": "cells.h5ad"}) == "data folder cells.h5ad"


def test_load_source_without_a_data_folder(monkeypatch):
    monkeypatch.delenv(ENV_VARIABLE, raising=False)
    with pytest.raises(DataError, match="no data folder"):
        load_source({"datadir": "cells.h5ad", "kind": None})
    at = _data_page()
    assert "Open from the server's data folder" not in [s.value for s in at.subheader]
