"""Where the app fits (nmfcore.app.cluster): a Dask cluster named by $NMFCORE_DASK_SCHEDULER for
lazy data, else this server's threads; the Model page says which, keeps progress and Stop, and
reports an unreachable scheduler without a traceback."""

from __future__ import annotations

from pathlib import Path

import anndata
import distributed
import numpy as np
import pytest
import scipy.sparse as sp
from streamlit.testing.v1 import AppTest

import nmfcore
from _app_helpers import APP, TIMEOUT, fit_from_model_page, no_exception
from nmfcore.app import cluster
from nmfcore.app.datadir import ENV_VARIABLE as DATA_DIR
from nmfcore.app.jobs import fit_job
from nmfcore.app.text import literal
from nmfcore.data.lazy_checks import is_lazy_array

UNREACHABLE = "tcp://127.0.0.1:1"  # nothing listens on port 1


@pytest.fixture(scope="module")
def local_cluster():
    """A LocalCluster of one in-process worker with one thread."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                                  silence_logs=40) as lc:
        yield lc


@pytest.fixture
def atlas(tmp_path: Path, monkeypatch) -> Path:
    """A data folder holding cells.h5ad (80 cells x 30 genes, sparse counts)."""
    X = sp.random(80, 30, density=0.3, format="csr", random_state=0, dtype=np.float32)
    X.data = np.round(X.data * 10) + 1
    anndata.AnnData(X).write_h5ad(tmp_path / "cells.h5ad")
    monkeypatch.setenv(DATA_DIR, str(tmp_path))
    return tmp_path / "cells.h5ad"


def _transitions(lc) -> int:
    return lc.scheduler.transition_counter


def test_placement_without_a_cluster(monkeypatch):
    monkeypatch.delenv(cluster.ENV_VARIABLE, raising=False)
    assert cluster.scheduler_address() is None
    where = cluster.placement(True)
    assert not where.on_cluster and where.error is None and where.describe() == "on this server's threads"
    assert cluster.lazy_fit(nmfcore.nmf, where) is nmfcore.nmf
    monkeypatch.setenv(cluster.ENV_VARIABLE, "  ")
    assert cluster.scheduler_address() is None
    monkeypatch.setenv(cluster.ENV_VARIABLE, UNREACHABLE)
    assert cluster.placement(False) == cluster.Placement()  # in-memory data is fitted where it is


def test_only_classic_nmf_fits_lazy_data():
    reasons = cluster.lazy_families()
    assert reasons["nmf"] is None
    assert reasons["deep_nmf"] == "Deep β-NMF needs X dense in memory"
    assert reasons["gnmf"] == "GNMF builds a graph over all items in memory"
    assert set(reasons) == set(nmfcore.models.APP_FAMILIES)


def test_a_lazy_fit_runs_on_the_cluster_with_progress_and_stop(local_cluster, atlas):
    ds = nmfcore.load(atlas, lazy=True)
    where = cluster.placement(True, local_cluster.scheduler_address)
    assert where.on_cluster and where.workers == 1
    assert where.describe() == f"on the Dask cluster at {local_cluster.scheduler_address}, 1 worker"
    assert cluster.connect(local_cluster.scheduler_address) is where.client  # one client per address
    assert cluster.lazy_fit_memory(ds, 4, 2.0, where) < cluster.lazy_fit_memory(ds, 4, 2.0, cluster.Placement())

    before = _transitions(local_cluster)
    params = {"rank": 4, "max_iter": 50, "tol": 0.0, "solver": "mu", "callback": lambda it, *state: it < 3}
    job = fit_job("nmf", ds.X, params, fit=cluster.lazy_fit(nmfcore.nmf, where)).start()
    result = job.wait(TIMEOUT)
    progress = job.progress()
    assert progress.state == "stopped" and progress.iteration == 3 and progress.losses.size == 3, progress.error
    assert result.W.shape == (30, 4) and is_lazy_array(result.H)
    assert _transitions(local_cluster) > before  # its tasks went through the cluster's scheduler


def test_an_unreachable_scheduler_is_a_message(monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 0.5)
    where = cluster.placement(True, UNREACHABLE)
    assert not where.on_cluster and where.address == UNREACHABLE
    assert f"cannot use the Dask cluster at {UNREACHABLE!r}" in where.error and cluster.ENV_VARIABLE in where.error
    assert cluster.placement(True, UNREACHABLE).error == where.error  # remembered, not waited for again
    with pytest.raises(ConnectionError, match="cannot use the Dask cluster"):
        cluster.lazy_fit(nmfcore.nmf, where)


def _open_atlas() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.selectbox(key="datadir_file").set_value("cells.h5ad").run()
    at.button(key="datadir_open").click().run()
    no_exception(at)
    assert is_lazy_array(at.session_state["dataset"].X)
    at.switch_page("pages/model.py").run()
    no_exception(at)
    return at


def test_the_model_page_names_the_cluster_and_fits_there(local_cluster, atlas, monkeypatch):
    address = local_cluster.scheduler_address
    monkeypatch.setenv(cluster.ENV_VARIABLE, address)
    at = _open_atlas()
    assert any(literal(f"on the Dask cluster at {address}, 1 worker") in c.value for c in at.caption)
    before = _transitions(local_cluster)
    name = fit_from_model_page(at, "NMF", {"nmf_iter": 5})
    assert is_lazy_array(at.session_state["results"][name].H)
    assert _transitions(local_cluster) > before

    at.switch_page("pages/data.py").run()
    at.button(key="sample_faces").click().run()  # in memory: fitted here, and the page says so
    at.switch_page("pages/model.py").run()
    no_exception(at)
    assert any(literal(f"on this server's threads (the Dask cluster at {address} fits only data opened lazily")
               in c.value for c in at.caption), [c.value for c in at.caption]


def test_the_model_page_reports_an_unreachable_scheduler(atlas, monkeypatch):
    address = "tcp://127.0.0.1:2"
    monkeypatch.setenv(cluster.ENV_VARIABLE, address)
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 0.5)
    at = _open_atlas()
    assert any(literal(f"cannot use the Dask cluster at {address!r}") in e.value for e in at.error), \
        [e.value for e in at.error]
    assert at.button(key="run_fit").disabled
