"""This session's rank scan job: submitted to the server's queue, watched, harvested.

A scan (:func:`nmfcore.app.scan.scan_job`) shares the queue with the Model page's fits
and, like them, counts as this session's one fit: the queue refuses a scan while a
fit of the session is queued or running, and the other way round. The keys in
``st.session_state`` are ``"scan_job"`` (the job, with the data set's name in its
``meta``), ``"scan_ticket"`` and ``"scan_message"``; the finished scan itself is kept
with :func:`pages._state.set_rank_scan`.
"""

from __future__ import annotations

import streamlit as st

from nmfcore.app.jobs import FitJob
from nmfcore.app.queue import QueueStatus
from nmfcore.app.text import literal
from pages import _state
from pages._server import fit_queue


def job() -> FitJob | None:
    """The scan job of this session, queued, running or finished, if any."""
    return st.session_state.get("scan_job")


def start(job_: FitJob, data_name: str, memory_bytes: int) -> None:
    """Submit ``job_`` to the server's queue, to be kept as the rank scan of ``data_name``.

    Raises
    ------
    nmfcore.app.queue.QueueRefusal
        When the queue will not take the scan; the message is for the user.
    """
    state = st.session_state
    job_.meta.update(data_name=data_name, harvested=False)
    state["scan_ticket"] = fit_queue().submit(_state.session_key(), job_, int(memory_bytes))
    state["scan_job"], state["scan_message"] = job_, None


def place() -> tuple[int, QueueStatus] | None:
    """(position, the queue's status) while the scan waits for a slot, else None."""
    return _state.place_of(st.session_state.get("scan_ticket"))


def cancel() -> None:
    """Withdraw the queued scan, or ask the running one to stop after its current fit."""
    _state.cancel_ticket(st.session_state.get("scan_ticket"))


def message() -> tuple[str, str] | None:
    """The last message about a scan: (streamlit function name, text), or None."""
    return st.session_state.get("scan_message")


def harvest() -> None:
    """Keep a finished scan's result as the data set's rank scan, or say why there is none."""
    job_ = job()
    if job_ is None or not job_.finished or job_.meta.get("harvested", True):
        return
    job_.meta["harvested"] = True
    state, progress = st.session_state, job_.progress()
    scan = job_.result
    if progress.state == "cancelled":
        state["scan_message"] = ("info", "Cancelled the rank scan before it started.")
    elif scan is None:
        state["scan_message"] = ("error", f"The rank scan failed: {literal(progress.error)}")
    elif not len(scan.ranks):
        state["scan_message"] = ("info", "Stopped before the first rank had two runs: nothing to show.")
    else:
        _state.set_rank_scan(job_.meta["data_name"], scan)
        if scan.stopped:
            done = ", ".join(str(r) for r in scan.ranks)
            state["scan_message"] = ("info", f"Stopped: the scan shows the ranks it finished ({done}).")
