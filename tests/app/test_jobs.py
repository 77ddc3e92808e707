"""Background fit runner: progress, ETA, partial loss curve, clean stop, errors."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest

import nmfcore
from nmfcore.app.jobs import FitJob


def _gated_fit(X, rank, *, max_iter=20, callback=None, gate=None, reached=None, pause_at=5):
    """A fit that follows the callback contract and pauses at ``pause_at`` until ``gate`` opens."""
    n_iter = 0
    for it in range(1, max_iter + 1):
        n_iter = it
        if it == pause_at and gate is not None:
            reached.set()
            gate.wait(5)
        if callback(it, None, None, 100.0 / it) is False:
            return SimpleNamespace(n_iter=n_iter, stopped=True)
    return SimpleNamespace(n_iter=n_iter, stopped=False)


def test_progress_snapshot_while_running_then_done():
    gate, reached = threading.Event(), threading.Event()
    job = FitJob(_gated_fit, None, 2, max_iter=20, gate=gate, reached=reached).start()
    assert reached.wait(5)
    snap = job.progress()
    assert snap.state == "running"
    assert snap.iteration == 4
    np.testing.assert_allclose(snap.losses, [100.0, 50.0, 100 / 3, 25.0])
    assert snap.times.shape == (4,) and np.all(np.diff(snap.times) >= 0)
    assert snap.fraction == pytest.approx(4 / 20)
    assert snap.eta is not None and snap.eta > 0
    assert not job.finished
    gate.set()
    result = job.wait(5)
    final = job.progress()
    assert result.n_iter == 20 and not result.stopped
    assert final.state == "done" and final.finished and final.fraction == 1.0 and final.eta == 0.0
    assert final.losses.size == 20 and final.loss == pytest.approx(5.0)


def test_stop_ends_cleanly_and_keeps_partial_result():
    gate, reached = threading.Event(), threading.Event()
    job = FitJob(_gated_fit, None, 2, max_iter=1000, gate=gate, reached=reached).start()
    assert reached.wait(5)
    job.stop()
    gate.set()
    result = job.wait(5)
    assert job.finished
    assert result.stopped and result.n_iter == 5
    assert job.progress().state == "stopped"


def test_failure_is_recorded_not_raised():
    def broken(X, rank, *, callback=None, max_iter=1):
        raise ValueError("rank=99 is out of range")

    job = FitJob(broken, None, 99, max_iter=3).start()
    assert job.wait(5) is None
    snap = job.progress()
    assert snap.state == "failed" and "rank=99" in snap.error
    assert isinstance(job.error, ValueError)


def test_user_callback_is_chained_and_can_stop():
    seen = []

    def user_callback(iteration, W, H, loss):
        seen.append(iteration)
        return iteration < 3

    job = FitJob(_gated_fit, None, 2, max_iter=50, callback=user_callback).start()
    result = job.wait(5)
    assert seen == [1, 2, 3]
    assert result.stopped and result.n_iter == 3


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="fit must be a callable"):
        FitJob("nmf", None, 2)
    with pytest.raises(ValueError, match="max_iter must be a positive integer"):
        FitJob(_gated_fit, None, 2, max_iter=0)
    job = FitJob(_gated_fit, None, 2, max_iter=2).start()
    job.wait(5)
    with pytest.raises(ValueError, match="already started"):
        job.start()


def test_real_nmf_stops_with_a_consistent_partial_result():
    rng = np.random.default_rng(0)
    X = rng.random((60, 3)) @ rng.random((3, 50))

    def stop_after_four(iteration, W, H, loss):
        return iteration < 4

    job = FitJob(nmfcore.nmf, X, 3, max_iter=500, tol=0.0, random_state=0, callback=stop_after_four).start()
    result = job.wait(30)
    assert job.progress().state == "stopped"
    assert result.stopped and result.n_iter == 4
    assert result.loss.shape == (5,)
    np.testing.assert_allclose(job.progress().losses, result.loss[1:])
    assert result.W.shape == (60, 3) and result.H.shape == (3, 50)


def test_fingerprint_follows_values_not_layout():
    import scipy.sparse as sp

    from nmfcore.app.jobs import fit_key
    from nmfcore.data import data_fingerprint

    X = np.arange(12.0).reshape(3, 4)
    assert data_fingerprint(X) == data_fingerprint(np.asfortranarray(X))
    changed = X.copy()
    changed[2, 3] += 1e-9
    assert data_fingerprint(changed) != data_fingerprint(X)
    assert data_fingerprint(sp.csr_matrix(X)) == data_fingerprint(sp.csc_matrix(X))
    assert data_fingerprint(sp.csr_matrix(X)) != data_fingerprint(X)
    fp = data_fingerprint(X)
    key = fit_key(fp, "nmf", {"rank": 2, "beta": 1.0})
    assert key == fit_key(fp, "nmf", {"beta": 1.0, "rank": 2})
    assert key != fit_key(fp, "nmf", {"rank": 3, "beta": 1.0})
    assert key != fit_key(fp, "gnmf", {"rank": 2, "beta": 1.0})
    W = np.ones((3, 2))
    assert fit_key(fp, "nmf", {"init": (W, W.T)}) != fit_key(fp, "nmf", {"init": (2 * W, W.T)})


def test_fit_job_runs_a_registry_family_with_its_renamed_parameters():
    from nmfcore.app.jobs import fit_job, fit_label

    rng = np.random.default_rng(1)
    X = rng.random((15, 3)) @ rng.random((3, 24)) + 0.01
    job = fit_job("pnmf", X, {"rank": 2, "max_iter": 2, "n_scales": 3, "random_state": 0}, name="p")
    assert job.max_iter == 2 and job.name == "p"
    result = job.start().wait(60)
    assert result is not None, job.progress().error
    assert result.params["model"] == "pnmf" and result.params["max_iter"] == 2
    graph = fit_job("gnmf", X, {"rank": 2, "lambdas": 0.5, "n_neighbors": 3, "max_iter": 3}).start().wait(60)
    assert graph.params["lambdas"] == 0.5
    minvol = fit_job("min_vol_deep_nmf", X, {"ranks": [3, 2], "min_volume": [0.1, 0.1], "init_iter": 2,
                                             "max_iter": 1}).start().wait(60)
    assert minvol.params["beta"] == 1.0 and minvol.params["min_volume"] is not None  # the entry's fixed β
    assert fit_label("deep_nmf", {"ranks": [4, 2], "beta": 1.0}) == "Deep β-NMF r=[4, 2] β=1"
    assert fit_label("pnmf", {"rank": 3}) == "pNMF r=3"


def test_progress_line_names_the_iteration():
    job = FitJob(_gated_fit, None, 2, max_iter=4).start()
    job.wait(5)
    line = job.progress().describe("pNMF r=2", "sweep")
    assert line.startswith("pNMF r=2: sweep 4/4 · loss 25 · ETA 0")
    pending = FitJob(_gated_fit, None, 2, max_iter=4).progress()
    assert pending.describe("x") == "x: iteration 0/4 · loss … · ETA …"
