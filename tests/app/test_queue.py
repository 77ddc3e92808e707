"""The shared fit queue: slots, order, per-session and memory refusals, cancel, gone sessions.

Fake fits follow the callback contract and block on events, so each state is reached
on purpose; the named cases (a fit that raises, a fit stopped while its kernels
compile, a session closed mid-fit) also run with real ``nmf`` fits.
"""

from __future__ import annotations

import random
import threading
import time
from types import SimpleNamespace

import numba
import numpy as np
import pytest

import nmfcore
from nmfcore.app import jobs
from nmfcore.app.jobs import FitJob
from nmfcore.app.limits import Limits, parse_bytes
from nmfcore.app.queue import FitQueue, QueueRefusal

WAIT = 30
MB = 1 << 20


def _gated(X, rank, *, max_iter=10, callback=None, gate=None, started=None):
    """A fit that reports ``started``, waits for ``gate``, then iterates until told to stop."""
    if started is not None:
        started.set()
    if gate is not None:
        gate.wait(WAIT)
    for it in range(1, max_iter + 1):
        if callback(it, None, None, 1.0 / it) is False:
            return SimpleNamespace(stopped=True, n_iter=it)
    return SimpleNamespace(stopped=False, n_iter=max_iter)


def _job(name="fit", **kwargs) -> tuple[FitJob, threading.Event, threading.Event]:
    gate, started = threading.Event(), threading.Event()
    return FitJob(_gated, None, 2, max_iter=5, name=name, gate=gate, started=started, **kwargs), gate, started


def _queue(**kwargs) -> FitQueue:
    kwargs.setdefault("max_running", 2)
    kwargs.setdefault("memory_budget", 1000 * MB)
    kwargs.setdefault("rss", lambda: 100 * MB)
    return FitQueue(**kwargs)


def _consistent(queue: FitQueue) -> None:
    """Nothing left queued or running, and nothing reserved."""
    assert queue.wait_idle(WAIT)
    status = queue.status()
    assert (status.running, status.queued, status.reserved_bytes) == (0, 0, 0)


# ----------------------------------------------------------------------------- slots and order


def test_at_most_max_running_start_and_the_rest_wait_in_order():
    queue = _queue(max_running=2)
    made = [_job(f"fit{i}") for i in range(4)]
    tickets = [queue.submit(f"s{i}", job, MB) for i, (job, _, _) in enumerate(made)]
    assert made[0][2].wait(WAIT) and made[1][2].wait(WAIT)
    assert [t.state for t in tickets] == ["running", "running", "queued", "queued"]
    assert [queue.position(t) for t in tickets] == [None, None, 1, 2]
    assert queue.status().running == 2 and queue.status().queued == 2
    assert made[2][0].progress().state == "pending" and not made[2][2].is_set()
    made[1][1].set()  # the second ends: the first queued one starts, the other moves up
    assert made[2][2].wait(WAIT)
    assert queue.position(tickets[3]) == 1 and tickets[1].state == "ended"
    for _, gate, _ in made:
        gate.set()
    _consistent(queue)
    assert all(job.wait(WAIT).n_iter == 5 for job, _, _ in made)


def test_one_fit_per_session_queued_or_running():
    queue = _queue(max_running=1)
    first, gate1, started = _job("first")
    queue.submit("a", first, MB)
    assert started.wait(WAIT)
    with pytest.raises(QueueRefusal, match="'first' is running.*one fit per session"):
        queue.submit("a", _job()[0], MB)
    other, gate2, _ = _job("other")
    queue.submit("b", other, MB)
    with pytest.raises(QueueRefusal, match="is queued at position 1 of 1"):
        queue.submit("b", _job()[0], MB)
    gate1.set()
    first.wait(WAIT)
    again, gate3, _ = _job("again")
    assert queue.submit("a", again, MB).state == "queued"  # a's first fit ended, so a may run again
    gate2.set()
    gate3.set()
    _consistent(queue)


def test_submit_checks_its_arguments():
    queue = _queue()
    job, gate, _ = _job()
    with pytest.raises(ValueError, match="memory_estimate"):
        queue.submit("a", job, -1)
    gate.set()
    job.start().wait(WAIT)
    with pytest.raises(ValueError, match="has not started"):
        queue.submit("a", job, 1)
    with pytest.raises(ValueError, match="max_running"):
        FitQueue(0, 10)
    with pytest.raises(ValueError, match="memory_budget"):
        FitQueue(1, 0)


# ----------------------------------------------------------------------------- memory


def test_a_fit_bigger_than_the_budget_is_refused_before_it_starts():
    queue = _queue(memory_budget=500 * MB, rss=lambda: 100 * MB)
    job, _, _ = _job()
    with pytest.raises(QueueRefusal, match=r"would need about 472 MB.*budget is 524 MB.*cannot run here"):
        queue.submit("a", job, 450 * MB)
    assert job.progress().state == "pending" and queue.status().queued == 0


def test_memory_held_by_running_and_queued_fits_counts_until_they_end():
    queue = _queue(max_running=1, memory_budget=1000 * MB, rss=lambda: 100 * MB)
    big, gate_big, started = _job("big")
    queue.submit("a", big, 500 * MB)
    assert started.wait(WAIT)
    queued, gate_queued, _ = _job("queued")
    queue.submit("b", queued, 300 * MB)  # 100 + 500 + 300 fits the budget
    assert queue.status().reserved_bytes == 800 * MB
    with pytest.raises(QueueRefusal, match="Not enough memory free right now"):
        queue.submit("c", _job()[0], 200 * MB)
    gate_big.set()
    gate_queued.set()
    _consistent(queue)
    late, gate_late, _ = _job("late")
    gate_late.set()
    queue.submit("c", late, 200 * MB)
    assert late.wait(WAIT) is not None
    _consistent(queue)


def test_the_process_footprint_counts_when_it_exceeds_the_reservations():
    footprint = [100 * MB]
    queue = _queue(max_running=2, memory_budget=1000 * MB, rss=lambda: footprint[0])
    job, gate, started = _job()
    queue.submit("a", job, 100 * MB)
    assert started.wait(WAIT)
    footprint[0] = 900 * MB  # sessions loaded data meanwhile
    with pytest.raises(QueueRefusal, match="Not enough memory"):
        queue.submit("b", _job()[0], 200 * MB)
    gate.set()
    _consistent(queue)


# ----------------------------------------------------------------------------- cancel and end


def test_cancel_a_queued_fit_ends_it_cancelled_and_frees_its_place():
    queue = _queue(max_running=1)
    running, gate, started = _job("running")
    queue.submit("a", running, 10 * MB)
    assert started.wait(WAIT)
    waiting, _, waiting_started = _job("waiting")
    behind, gate_behind, _ = _job("behind")
    t_waiting = queue.submit("b", waiting, 10 * MB)
    t_behind = queue.submit("c", behind, 10 * MB)
    assert queue.cancel(t_waiting)
    assert waiting.finished and waiting.wait(0) is None and waiting.progress().state == "cancelled"
    assert waiting.progress().finished and waiting.progress().fraction == 1.0
    assert queue.position(t_behind) == 1 and queue.status().reserved_bytes == 20 * MB
    assert not queue.cancel(t_waiting)  # once only
    gate.set()
    gate_behind.set()
    _consistent(queue)
    assert not waiting_started.is_set()
    assert t_waiting.state == "cancelled" and t_behind.state == "ended"


def test_cancel_a_running_fit_stops_it_and_keeps_the_partial_result():
    queue = _queue(max_running=1)
    job, gate, started = _job()
    ticket = queue.submit("a", job, MB)
    assert started.wait(WAIT)
    assert queue.cancel(ticket)
    assert job.stopping and queue.status().running == 1  # its thread runs until the fit sees the stop
    gate.set()
    result = job.wait(WAIT)
    assert result.stopped and result.n_iter == 1 and job.progress().state == "stopped" and not job.stopping
    _consistent(queue)
    assert not queue.cancel(ticket)


def test_a_fit_that_raises_frees_its_slot_and_the_next_one_starts():
    def broken(X, rank, *, callback=None, max_iter=1):
        callback(1, None, None, 1.0)
        raise FloatingPointError("overflow in the update")

    queue = _queue(max_running=1)
    failing = FitJob(broken, None, 2, max_iter=3, name="broken")
    t_fail = queue.submit("a", failing, MB)
    nxt, gate, _ = _job("next")
    gate.set()
    queue.submit("b", nxt, MB)
    assert failing.wait(WAIT) is None and "overflow" in failing.progress().error
    assert nxt.wait(WAIT).n_iter == 5
    _consistent(queue)
    assert t_fail.state == "ended"
    again, gate, _ = _job()
    gate.set()
    queue.submit("a", again, MB)  # the session that failed may run again
    assert again.wait(WAIT) is not None


def test_a_job_whose_thread_cannot_start_ends_failed_and_the_queue_goes_on(monkeypatch):
    class NoThread:
        def __init__(self, *args, **kwargs):
            pass

        def start(self):
            raise RuntimeError("can't start new thread")

    queue = _queue(max_running=1)
    job, _, _ = _job()
    monkeypatch.setattr(jobs, "threading", SimpleNamespace(Thread=NoThread))
    ticket = queue.submit("a", job, MB)
    monkeypatch.undo()
    assert job.finished and job.progress().state == "failed" and "can't start" in job.progress().error
    assert ticket.state == "ended"
    _consistent(queue)


def test_stop_while_compiling_is_seen_after_the_compile_and_counted_once():
    compiled = threading.Event()

    def compiling(X, rank, *, max_iter=5, callback=None, gate=None, started=None):
        started.set()
        gate.wait(WAIT)  # "compiling": the fit cannot look at the stop request here
        compiled.set()
        return _gated(X, rank, max_iter=max_iter, callback=callback)

    queue = _queue(max_running=1)
    gate, started = threading.Event(), threading.Event()
    job = FitJob(compiling, None, 2, max_iter=5, gate=gate, started=started)
    ticket = queue.submit("a", job, MB)
    behind, gate_behind, behind_started = _job("behind")
    queue.submit("b", behind, MB)
    assert started.wait(WAIT)
    assert queue.cancel(ticket) and queue.cancel(ticket)  # asked twice while it compiles
    time.sleep(0.2)
    assert not behind_started.is_set(), "the slot stays taken while the stopped fit still runs"
    assert queue.status().running == 1 and queue.status().queued == 1
    gate.set()
    assert job.wait(WAIT).stopped and compiled.is_set()
    assert behind_started.wait(WAIT)
    assert queue.status().running == 1  # not 0 (counted out twice) and not 2 (never counted out)
    gate_behind.set()
    _consistent(queue)


def test_close_session_cancels_its_queued_fits_and_stops_its_running_one_only():
    queue = _queue(max_running=1)
    mine, gate_mine, started = _job("mine")
    queue.submit("closing", mine, MB)
    assert started.wait(WAIT)
    theirs, gate_theirs, _ = _job("theirs")
    t_theirs = queue.submit("staying", theirs, MB)
    assert queue.close_session("closing") == 1
    assert queue.close_session("nobody") == 0
    gate_mine.set()
    assert mine.wait(WAIT).stopped
    gate_theirs.set()
    assert not theirs.wait(WAIT).stopped and t_theirs.state == "ended"
    _consistent(queue)


# ----------------------------------------------------------------------------- gone sessions


def test_a_session_gone_for_the_grace_period_is_closed_by_reap():
    alive = {"a": True, "b": None}
    queue = _queue(max_running=2, liveness=alive.get, grace=10.0, reap_interval=60)
    job_a, gate_a, started_a = _job("a")
    job_b, gate_b, started_b = _job("b")
    queue.submit("a", job_a, MB)
    queue.submit("b", job_b, MB)
    assert started_a.wait(WAIT) and started_b.wait(WAIT)
    assert queue.reap(now=0.0) == 0
    alive["a"] = False
    assert queue.reap(now=1.0) == 0  # gone, but not for long enough: it may reconnect
    alive["a"] = True
    assert queue.reap(now=5.0) == 0
    alive["a"] = False
    assert queue.reap(now=6.0) == 0
    assert queue.reap(now=15.0) == 0  # the clock restarted when it came back
    assert queue.reap(now=16.5) == 1
    gate_a.set()
    assert job_a.wait(WAIT).stopped
    assert queue.reap(now=1000.0) == 0  # "b" cannot be told alive or gone: kept
    gate_b.set()
    assert not job_b.wait(WAIT).stopped
    _consistent(queue)


def test_the_reaper_thread_cancels_the_fits_of_a_gone_session_by_itself():
    alive = {"gone": True}
    queue = _queue(max_running=1, liveness=alive.get, grace=0.1, reap_interval=0.05)
    job, gate, started = _job("orphan")
    queued, _, _ = _job("queued orphan")
    queue.submit("gone", job, MB)
    assert started.wait(WAIT)
    alive["gone"] = False
    deadline = time.monotonic() + WAIT
    while not job.stopping and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job.stopping
    gate.set()
    assert job.wait(WAIT).stopped
    _consistent(queue)
    queue.close()
    with pytest.raises(QueueRefusal, match="shutting down"):
        queue.submit("x", queued, MB)


def test_close_cancels_everything_and_refuses_new_fits():
    queue = _queue(max_running=1)
    running, gate, started = _job()
    waiting, _, _ = _job()
    queue.submit("a", running, MB)
    queue.submit("b", waiting, MB)
    assert started.wait(WAIT)
    gate.set()
    queue.close()
    assert waiting.progress().state == "cancelled" and running.finished
    _consistent(queue)


# ----------------------------------------------------------------------------- many threads


def test_many_threads_never_exceed_the_bound_and_everything_ends():
    lock, now, peak = threading.Lock(), [0], [0]

    def counted(X, rank, *, max_iter=3, callback=None, fail=False):
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        try:
            time.sleep(0.002)
            if fail:
                raise ValueError("planned")
            for it in range(1, max_iter + 1):
                if callback(it, None, None, 1.0) is False:
                    return SimpleNamespace(stopped=True)
            return SimpleNamespace(stopped=False)
        finally:
            with lock:
                now[0] -= 1

    queue = _queue(max_running=3, memory_budget=10_000 * MB)
    made: list[FitJob] = []
    refused = [0]

    def client(seed: int) -> None:
        rng = random.Random(seed)
        for k in range(40):
            job = FitJob(counted, None, 2, max_iter=3, fail=rng.random() < 0.2)
            try:
                ticket = queue.submit(f"s{seed}-{k % 3}", job, MB)
            except QueueRefusal:
                with lock:
                    refused[0] += 1
                continue
            with lock:
                made.append(job)
            if rng.random() < 0.3:
                queue.cancel(ticket)

    threads = [threading.Thread(target=client, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    _consistent(queue)
    assert peak[0] <= 3
    assert all(job.finished for job in made) and len(made) + refused[0] == 8 * 40
    assert {job.progress().state for job in made} <= {"done", "stopped", "failed", "cancelled"}


# ----------------------------------------------------------------------------- limits


def test_limits_come_from_the_environment_with_defaults():
    limits = Limits.from_env({})
    assert limits.max_fits >= 1 and limits.memory_budget > 0
    assert (limits.max_results, limits.max_upload_bytes, limits.session_grace) == (20, 200 * MB, 120.0)
    limits = Limits.from_env({"NMFCORE_MAX_FITS": "2", "NMFCORE_MEMORY_BUDGET": "1.5G",
                              "NMFCORE_MAX_RESULTS": "3", "NMFCORE_MAX_UPLOAD_BYTES": "800k",
                              "NMFCORE_SESSION_GRACE": "2.5"})
    assert limits == Limits(2, int(1.5 * 1024 * MB), 3, 800 * 1024, 2.5)
    assert parse_bytes("123") == 123 and parse_bytes("2 MiB") == 2 * MB and parse_bytes("1gb") == 1024 * MB
    for name, value in (("NMFCORE_MAX_FITS", "0"), ("NMFCORE_MAX_RESULTS", "many"),
                        ("NMFCORE_MEMORY_BUDGET", "lots"), ("NMFCORE_SESSION_GRACE", "-1")):
        with pytest.raises(ValueError, match=name):
            Limits.from_env({name: value})
    queue = FitQueue.from_limits(limits)
    assert (queue.max_running, queue.memory_budget, queue.grace) == (2, limits.memory_budget, 2.5)
    limits.check_upload(800 * 1024)
    with pytest.raises(ValueError, match=r"This upload is 819,201 bytes, more than the 819,200 bytes"):
        limits.check_upload(800 * 1024 + 1)
    with pytest.raises(ValueError, match=r"This upload is 1.05 MB, more than the 819 kB of data files"):
        limits.check_upload(MB)


# ----------------------------------------------------------------------------- real fits

X_REAL = np.random.default_rng(0).random((60, 40))


def _real(max_iter: int, **kwargs) -> FitJob:
    return FitJob(nmfcore.nmf, X_REAL, 4, max_iter=max_iter, tol=0.0, random_state=0, **kwargs)


def test_real_fits_run_through_the_queue():
    queue = _queue(max_running=1)
    jobs_ = [_real(30, name=f"real{i}") for i in range(3)]
    for i, job in enumerate(jobs_):
        queue.submit(f"s{i}", job, MB)
    results = [job.wait(WAIT) for job in jobs_]
    _consistent(queue)
    direct = nmfcore.nmf(X_REAL, 4, max_iter=30, tol=0.0, random_state=0)
    for result in results:
        assert result.n_iter == 30 and not result.stopped
        np.testing.assert_allclose(result.W, direct.W)


def test_real_fit_that_raises_leaves_the_queue_consistent():
    queue = _queue(max_running=1)
    failing = FitJob(nmfcore.nmf, X_REAL, 4, max_iter=10, beta=2, solver="no-such-solver", name="bad")
    good = _real(10)
    queue.submit("a", failing, MB)
    queue.submit("b", good, MB)
    assert failing.wait(WAIT) is None and "solver" in failing.progress().error
    assert good.wait(WAIT).n_iter == 10
    _consistent(queue)


def test_real_fit_stopped_while_its_kernels_compile_leaves_the_queue_consistent():
    release, compiling = threading.Event(), threading.Event()

    def fresh_kernel_then_nmf(X, rank, *, callback=None, max_iter=10, **kwargs):
        @numba.njit(cache=False)
        def column_sums(A):  # a new function: numba compiles it now, on the first call
            out = np.zeros(A.shape[1])
            for j in range(A.shape[1]):
                for i in range(A.shape[0]):
                    out[j] += A[i, j]
            return out

        compiling.set()
        release.wait(WAIT)
        assert column_sums(X).shape == (X.shape[1],)
        return nmfcore.nmf(X, rank, callback=callback, max_iter=max_iter, **kwargs)

    queue = _queue(max_running=1)
    job = FitJob(fresh_kernel_then_nmf, X_REAL, 4, max_iter=10_000, tol=0.0, random_state=0)
    ticket = queue.submit("a", job, MB)
    behind = _real(10)
    queue.submit("b", behind, MB)
    assert compiling.wait(WAIT)
    assert queue.cancel(ticket)
    release.set()
    result = job.wait(WAIT)
    assert result.stopped and result.n_iter <= 1
    assert behind.wait(WAIT).n_iter == 10
    _consistent(queue)


def test_real_session_closed_mid_fit_leaves_the_queue_consistent():
    alive = {"closing": True, "staying": True}
    queue = _queue(max_running=1, liveness=alive.get, grace=0.0, reap_interval=0.05)
    seen = threading.Event()
    long_fit = _real(1_000_000, callback=lambda it, *state: seen.set() if it >= 3 else None)
    queue.submit("closing", long_fit, MB)
    after = _real(20)
    queue.submit("staying", after, MB)
    assert seen.wait(WAIT)
    alive["closing"] = False  # the browser went away mid-fit
    result = long_fit.wait(WAIT)
    assert result is not None and result.stopped and 3 <= result.n_iter < 1_000_000
    assert after.wait(WAIT).n_iter == 20
    _consistent(queue)
    queue.close()
