"""The pages under the server's limits: the shared queue, per-session caps, isolated parsing.

The Model page over the queue (queued place and Cancel, memory refusal, two sessions
at once), the caps on kept results and uploaded bytes, and uploads parsed in a child
process, whose crash costs one upload a message. Each test gives the pages its own
queue or limits by replacing ``pages._state.fit_queue`` or ``pages._state.limits`` (the
functions every page calls), so that the process-wide queue other tests use stays as
it is.
"""

from __future__ import annotations

import functools
import os
import signal
import sys

import pytest

from streamlit.testing.v1 import AppTest

from _app_helpers import APP, TIMEOUT, fit_from_model_page, load_sample_page, no_exception
from nmfcore.app import sources
from nmfcore.app.limits import Limits
from nmfcore.app.queue import FitQueue
from test_queue import WAIT, _job

MB = 1 << 20


def _state_module():
    return sys.modules["pages._state"]


@pytest.fixture
def page_queue(monkeypatch):
    """Replace the server's queue by a one-slot queue for the test."""
    queues: list[FitQueue] = []

    def install(**kwargs) -> FitQueue:
        kwargs.setdefault("max_running", 1)
        kwargs.setdefault("memory_budget", 10_000 * MB)
        kwargs.setdefault("rss", lambda: 100 * MB)
        queue = FitQueue(**kwargs)
        queues.append(queue)
        monkeypatch.setattr(_state_module(), "fit_queue", lambda: queue)
        return queue

    yield install
    for queue in queues:
        queue.close()


def _limits(**changes) -> Limits:
    base = Limits(max_fits=2, memory_budget=10_000 * MB, max_results=20, max_upload_bytes=200 * MB,
                  session_grace=120.0)
    return Limits(**{**base.__dict__, **changes})


def _model_page(at, iterations: int = 20) -> None:
    at.switch_page("pages/model.py").run()
    at.number_input(key="nmf_iter").set_value(iterations).run()
    no_exception(at)


def test_a_queued_fit_shows_its_place_and_can_be_cancelled(page_queue):
    at = load_sample_page("faces")
    queue = page_queue()
    blocker, gate, started = _job("someone else's fit")
    queue.submit("another session", blocker, MB)
    assert started.wait(WAIT)
    _model_page(at)
    at.button(key="run_fit").click().run()
    no_exception(at)
    job = at.session_state["job"]
    assert job.progress().state == "pending"
    assert any("Queued: position 1 of 1" in i.value for i in at.info), [i.value for i in at.info]
    assert at.button(key="run_fit").disabled
    at.button(key="cancel_fit").click().run()
    no_exception(at)
    assert job.finished and job.progress().state == "cancelled"
    assert any("Cancelled" in i.value for i in at.info)
    assert not at.session_state["results"] and queue.status().queued == 0
    gate.set()
    assert queue.wait_idle(WAIT)
    at.button(key="run_fit").click().run()  # the slot is free again: the fit runs
    assert at.session_state["job"].wait(WAIT) is not None
    at.run()
    assert len(at.session_state["results"]) == 1 and any("Done:" in s.value for s in at.success)


def test_a_fit_over_the_memory_budget_is_refused_with_a_message(page_queue):
    at = load_sample_page("faces")
    page_queue(memory_budget=101 * MB)  # the app "takes" 100 MB; a faces fit needs more than 1 MB
    _model_page(at)
    at.button(key="run_fit").click().run()
    no_exception(at)
    assert at.session_state["job"] is None
    assert at.error and "cannot run here" in at.error[0].value
    assert not at.session_state["results"]


def test_the_oldest_result_is_dropped_past_the_cap_with_a_message(monkeypatch):
    at = load_sample_page("faces")
    monkeypatch.setattr(_state_module(), "limits", lambda: _limits(max_results=2))
    first = fit_from_model_page(at, "NMF", {"nmf_iter": 5})
    assert not any("replaces the oldest" in c.value for c in at.caption)
    second = fit_from_model_page(at, "NMF", {"nmf_iter": 6})
    assert any("replaces the oldest" in c.value and "NMF" in c.value for c in at.caption)
    third = fit_from_model_page(at, "NMF", {"nmf_iter": 7})
    assert list(at.session_state["results"]) == [second, third]
    assert first not in at.session_state["result_info"]
    assert first not in at.session_state["fit_cache"].values()
    assert any("keeps at most 2 results" in s.value and "was dropped" in s.value for s in at.success)


def test_two_sessions_fit_at_once_through_one_queue_and_keep_their_own_results(page_queue):
    queue = page_queue(max_running=2)
    pages = [load_sample_page("faces"), load_sample_page("text")]
    for at in pages:
        _model_page(at, 15)
        at.button(key="run_fit").click().run()
    jobs = [at.session_state["job"] for at in pages]
    assert all(job.wait(WAIT) is not None for job in jobs)
    assert queue.wait_idle(WAIT)
    for at, kind in zip(pages, ("images", "text")):
        at.run()
        (name,) = at.session_state["results"]
        assert at.session_state["result_info"][name].dataset.kind == kind
        assert at.session_state["session_key"].startswith("local:")
    assert pages[0].session_state["session_key"] != pages[1].session_state["session_key"]
    assert sys.modules["pages._server"].session_alive(pages[0].session_state["session_key"]) is None  # never reaped


def test_an_upload_over_the_session_cap_is_refused_with_a_message(monkeypatch):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    monkeypatch.setattr(_state_module(), "limits", lambda: _limits(max_upload_bytes=100))
    text = "\n".join(",".join(["0.5"] * 10) for _ in range(20)).encode()
    assert len(text) > 100
    at.file_uploader(key="data_upload_False").set_value(("big.csv", text, "text/csv")).run()
    no_exception(at)
    assert at.error and "more than the 100 B of data files" in at.error[0].value.replace("\\", "")
    assert at.session_state["dataset"] is None
    monkeypatch.setattr(_state_module(), "limits", lambda: _limits(max_upload_bytes=len(text)))
    at.file_uploader(key="data_upload_False").set_value(("fits.csv", text, "text/csv")).run()
    no_exception(at)
    assert not at.error and at.session_state["dataset"].shape == (20, 10)


def crashing_parser(source, kind=None, **options):
    """Stands for a compiled reader that a file drives into a segmentation fault."""
    os.kill(os.getpid(), signal.SIGSEGV)


def test_a_parser_that_crashes_costs_the_upload_a_message_not_the_server(monkeypatch):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    text = "\n".join(",".join(["0.5"] * 6) for _ in range(8)).encode()
    crashing = functools.partial(sources.load_isolated, parser=crashing_parser)
    monkeypatch.setattr(sources, "load_isolated", crashing)
    at.file_uploader(key="data_upload_False").set_value(("evil.csv", text, "text/csv")).run()
    no_exception(at)
    message = at.error[0].value.replace("\\", "")
    assert "evil.csv" in message and "could not be parsed safely" in message and "SIGSEGV" in message
    assert at.session_state["dataset"] is None
    monkeypatch.undo()
    at.file_uploader(key="data_upload_False").set_value(("good.csv", text, "text/csv")).run()
    no_exception(at)
    assert not at.error and at.session_state["dataset"].shape == (8, 6)
