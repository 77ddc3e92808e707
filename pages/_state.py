"""Per-session state shared by the pages: the data set, fits kept, the running job.

Everything lives in ``st.session_state``, so each browser session sees only its own
uploads and results; pages reach it only through the functions here. The keys are
stable (tests read them): ``"dataset"``, ``"dataset_label"``, ``"fingerprint"``,
``"results"`` (a result's name -> the result, a :class:`~nmfcore.results.FitResult`),
``"result_info"``, ``"fit_cache"``, ``"job"``, ``"selected_result"``, ``"custom_init"``.

What the sessions share, the server's queue of fits and its limits, lives in
:mod:`pages._server`. A fit is submitted to the queue under this session's
:func:`session_key` (Streamlit's session id), and the queue starts it when a slot is
free, or cancels it once the session has been gone a while.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Mapping

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from nmfcore.app.jobs import FitJob
from nmfcore.app.queue import QueueStatus, Ticket
from nmfcore.app.text import literal
from nmfcore.data import data_fingerprint
from pages._server import LOCAL, fit_queue, limits, session_alive

_DEFAULTS: dict[str, Callable[[], Any]] = {
    "results": dict,
    "result_info": dict,
    "fit_cache": dict,
    "memo": dict,
    "job": lambda: None,
    "dataset": lambda: None,
    "dataset_label": lambda: None,
    "fingerprint": lambda: None,
    "selected_result": lambda: None,
    "custom_init": lambda: None,
    "job_message": lambda: None,
    "data_source": lambda: None,
    "data_options": dict,
    "data_error": lambda: None,
    "upload_signatures": dict,
    "result_upload_outcome": lambda: (None, None),
    "rank_scan": lambda: None,
    "ticket": lambda: None,
    "dropped_results": list,
}


@dataclass
class ResultInfo:
    """What the views need besides the result: where it came from."""

    family: str
    dataset: Any  # nmfcore Dataset the fit ran on, or None for an uploaded result
    fingerprint: str | None
    key: str | None
    source: str


def _state() -> Any:
    state = st.session_state
    for key, make in _DEFAULTS.items():
        if key not in state:
            state[key] = make()
    return state


# ----------------------------------------------------------------------------- server


def session_key() -> str:
    """This session's name in the queue: Streamlit's session id on a server, else a random one."""
    state = _state()
    if "session_key" not in state:
        ctx = get_script_run_ctx()
        live = ctx is not None and session_alive(ctx.session_id) is True
        state["session_key"] = ctx.session_id if live else LOCAL + uuid.uuid4().hex
    return state["session_key"]


# ----------------------------------------------------------------------------- data


def dataset() -> Any:
    """The current Dataset, or None."""
    return _state()["dataset"]


def dataset_label() -> str | None:
    """How the current data set is named on the pages, e.g. ``"sample faces"``."""
    return _state()["dataset_label"]


def fingerprint() -> str | None:
    """Fingerprint of the current data set's X (see :func:`nmfcore.data.data_fingerprint`)."""
    state = _state()
    if state["fingerprint"] is None and state["dataset"] is not None:
        state["fingerprint"] = data_fingerprint(state["dataset"].X)
    return state["fingerprint"]


def set_dataset(ds: Any, label: str, fingerprint: str | None = None) -> None:
    """Make ``ds`` the current data set and remember its fingerprint (computed when not given)."""
    fingerprint = data_fingerprint(ds.X) if fingerprint is None else fingerprint
    state = _state()
    state["dataset"] = ds
    state["dataset_label"] = label
    state["fingerprint"] = fingerprint


def relabel_dataset(ds: Any) -> None:
    """Replace the current data set by one with the same X (other item labels)."""
    _state()["dataset"] = ds


def data_source() -> tuple[dict | None, dict]:
    """Where the current data came from (a sample or uploaded bytes) and its loader options."""
    state = _state()
    return state["data_source"], dict(state["data_options"])


def set_data_source(source: dict, options: dict) -> None:
    """Remember where the current data came from, to reload it with other options."""
    state = _state()
    state["data_source"], state["data_options"] = source, dict(options)


def data_error() -> tuple[str, dict] | None:
    """The message of the last failed load and the source it failed on, or None."""
    return _state()["data_error"]


def set_data_error(error: tuple[str, dict] | None) -> None:
    """Remember (or clear, with None) why a load failed."""
    _state()["data_error"] = error


def new_upload(slot: str, signature: Hashable) -> bool:
    """True the first time ``signature`` (names and sizes of uploaded files) is seen in ``slot``.

    Streamlit reruns the page on every interaction; this keeps an upload from being
    read again while it stays the same.
    """
    seen = _state()["upload_signatures"]
    if seen.get(slot) == signature:
        return False
    seen[slot] = signature
    return True


def check_upload(source: Mapping[str, Any]) -> None:
    """Refuse uploaded files larger together than the session's cap (see :meth:`Limits.check_upload`)."""
    limits().check_upload(sum(len(payload) for _, payload in source.get("files", ())))


# ----------------------------------------------------------------------------- results


def results() -> dict[str, Any]:
    """Results kept in this session, by name, oldest first."""
    return _state()["results"]


def info(name: str) -> ResultInfo | None:
    """Provenance of a kept result."""
    return _state()["result_info"].get(name)


def add_result(result: Any, family: str, *, ds: Any, key: str | None, source: str) -> str:
    """Keep ``result`` under a new unique name, select it, and return the name."""
    state = _state()
    base = f"{family} · {source}"
    name, k = base, 2
    while name in state["results"]:
        name, k = f"{base} ({k})", k + 1
    fingerprint_ = None if ds is None else data_fingerprint(ds.X)
    state["results"][name] = result
    state["result_info"][name] = ResultInfo(family, ds, fingerprint_, key, source)
    if key is not None:
        state["fit_cache"][key] = name
    state["selected_result"] = name
    state["dropped_results"] = []
    while len(state["results"]) > limits().max_results:
        oldest = next(iter(state["results"]))
        _drop_result(oldest)
        state["dropped_results"].append(oldest)
    return name


def _drop_result(name: str) -> None:
    state = _state()
    del state["results"][name]
    del state["result_info"][name]
    for key in [k for k, kept in state["fit_cache"].items() if kept == name]:
        del state["fit_cache"][key]


def dropped_results() -> list[str]:
    """Names the last :func:`add_result` dropped, oldest first, to keep the session's cap."""
    return list(_state()["dropped_results"])


def results_to_drop() -> list[str]:
    """The results the next :func:`add_result` would drop (the cap is ``NMFCORE_MAX_RESULTS``)."""
    kept = list(results())
    return kept[: max(0, len(kept) + 1 - limits().max_results)]


def cached(key: str) -> str | None:
    """Name of a kept result fitted with this cache key, if any."""
    state = _state()
    name = state["fit_cache"].get(key)
    return name if name in state["results"] else None


def select(name: str) -> None:
    """Make ``name`` the result the views show first."""
    _state()["selected_result"] = name


def custom_init() -> tuple[np.ndarray, np.ndarray] | None:
    """Factors (W, H) uploaded to start an NMF fit from, or None."""
    return _state()["custom_init"]


def set_custom_init(W: np.ndarray, H: np.ndarray) -> None:
    """Offer (W, H) as the 'uploaded factors' initialisation of the Model page."""
    _state()["custom_init"] = (W, H)


def result_upload() -> tuple[str | None, str | None]:
    """Outcome of the last result upload: (name it is kept under, error message)."""
    return _state()["result_upload_outcome"]


def set_result_upload(name: str | None = None, error: str | None = None) -> None:
    """Remember the outcome of a result upload."""
    _state()["result_upload_outcome"] = (name, error)


def source_of(name: str) -> tuple[dict | None, dict]:
    """Where the data of a kept result came from, when it is the data loaded now.

    Returns
    -------
    source, options
        ``source`` is None when the result was uploaded or fitted on other data.
    """
    meta = info(name)
    if meta is None or meta.dataset is None or meta.fingerprint != fingerprint():
        return None, {}
    return data_source()


# ----------------------------------------------------------------------------- job


def job() -> FitJob | None:
    """The job started from the Model page, running or finished, if any."""
    return _state()["job"]


def start_job(job_: FitJob, family: str, ds: Any, key: str, label: str, memory_bytes: int) -> None:
    """Submit ``job_`` to the server's queue and remember what to do with its result.

    Parameters
    ----------
    memory_bytes : int
        The fit's memory estimate, for the queue's budget.

    Raises
    ------
    nmfcore.app.queue.QueueRefusal
        When the queue will not take the fit; the message is for the user.
    """
    state = _state()
    job_.meta.update(family=family, dataset=ds, key=key, label=label, harvested=False)
    ticket = fit_queue().submit(session_key(), job_, int(memory_bytes))
    state["job"], state["ticket"] = job_, ticket
    state["job_message"] = None


def place_of(ticket: Ticket | None) -> tuple[int, QueueStatus] | None:
    """(position, the queue's status) while the job of ``ticket`` waits for a slot, else None."""
    if ticket is None:
        return None
    queue = fit_queue()
    position = queue.position(ticket)
    return None if position is None else (position, queue.status())


def cancel_ticket(ticket: Ticket | None) -> None:
    """Withdraw the job of ``ticket`` if it is queued, or ask it to stop if it runs."""
    if ticket is not None:
        fit_queue().cancel(ticket)


def queue_place() -> tuple[int, QueueStatus] | None:
    """(position, the queue's status) while this session's fit waits for a slot, else None."""
    return place_of(_state()["ticket"])


def cancel_job() -> None:
    """Withdraw this session's queued fit, or ask its running one to stop."""
    cancel_ticket(_state()["ticket"])


def job_message() -> tuple[str, str] | None:
    """The last message about a fit: (streamlit function name, text), or None."""
    return _state()["job_message"]


def set_job_message(kind: str, text: str) -> None:
    """Show ``text`` with ``st.<kind>`` (info, success, error) on the Model page."""
    _state()["job_message"] = (kind, text)


def harvest_job() -> None:
    """Move a finished job's result into the kept results (called on every rerun)."""
    job_ = job()
    if job_ is None or not job_.finished or job_.meta.get("harvested", True):
        return
    job_.meta["harvested"] = True
    progress = job_.progress()
    meta = job_.meta
    if progress.state == "cancelled":
        set_job_message("info", f"Cancelled **{literal(job_.name)}** before it started.")
        return
    if job_.result is None:
        set_job_message("error", f"The fit failed: {literal(progress.error)}")
        return
    stopped = progress.state == "stopped"
    name = add_result(job_.result, meta["family"], ds=meta["dataset"],
                      key=None if stopped else meta["key"],
                      source=meta["label"] + (" (stopped)" if stopped else ""))
    verb = "Stopped early; kept the partial result" if stopped else "Done"
    text = f"{verb}: **{literal(name)}** after {progress.iteration} iterations in {progress.elapsed:.1f} s."
    dropped = dropped_results()
    if dropped:
        text += (f" This session keeps at most {limits().max_results} results, so the oldest, "
                 + ", ".join(f"**{literal(d)}**" for d in dropped) + ", was dropped.")
    set_job_message("success", text)


# ----------------------------------------------------------------------------- other pages


def rank_scan(data_name: str) -> Any:
    """The last rank scan of the Rank page, when it was run on ``data_name``; else None."""
    stored = _state()["rank_scan"]
    return stored[1] if stored is not None and stored[0] == data_name else None


def set_rank_scan(data_name: str, scan: Any) -> None:
    """Keep a rank scan of ``data_name`` for the next reruns."""
    _state()["rank_scan"] = (data_name, scan)


def memo(store: str, key: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per session for each ``(store, key)``, e.g. barcodes per fingerprint."""
    values = _state()["memo"].setdefault(store, {})
    if key not in values:
        values[key] = compute()
    return values[key]


# ----------------------------------------------------------------------------- widgets


def widget_default(key: str, default: Any, context: Hashable) -> None:
    """Give widget ``key`` the value ``default`` when first drawn and whenever ``context`` changes.

    Call before drawing the widget, and draw it without a ``value`` (it reads its
    value from here, and the browser is told of a new one). A value the user set
    stays while ``context`` (e.g. the data the widget is for) stays.
    """
    state = _state()
    contexts = state["memo"].setdefault("widget_context", {})
    if key not in state or contexts.get(key, context) != context:
        state[key] = default
    contexts[key] = context


def select_result(label: str = "Result", key: str | None = None) -> str | None:
    """Selectbox over the kept results (newest selected by default); returns the name."""
    names = list(results())
    if not names:
        return None
    current = _state()["selected_result"]
    index = names.index(current) if current in names else len(names) - 1
    name = st.selectbox(label, names, index=index, key=key,
                        help="Every fit of this session is kept; pick one to view.")
    select(name)
    return name


def require_dataset() -> Any:
    """The current data set, or a message with a link to the Data page and ``st.stop()``."""
    ds = dataset()
    if ds is None:
        st.info("No data yet: load a sample or upload a file on the Data page first.")
        st.page_link("pages/data.py", label="Go to Data", icon=":material/upload_file:")
        st.stop()
    return ds


def dataset_for(name: str) -> Any:
    """The data set a result was fitted on, or the current one when shapes agree."""
    meta = info(name)
    if meta is not None and meta.dataset is not None:
        return meta.dataset
    ds = dataset()
    layer = results()[name].layers()[0]
    if ds is not None and ds.shape == (layer.W.shape[0], layer.H.shape[1]):
        return ds
    return None


def labels_of(ds: Any) -> np.ndarray | None:
    """The item labels of a data set, when it has some."""
    return None if ds is None or ds.labels is None else np.asarray(ds.labels)
