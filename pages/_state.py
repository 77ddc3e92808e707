"""Per-session state shared by the pages: the data set, fits kept, the running job.

Everything lives in ``st.session_state``, so each browser session sees only its own
uploads and results. ``st.session_state["results"]`` maps a result's name to the
result object (with ``.layers()`` and ``.params``); the "Rank & compare" page reads
it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from nmfcore.app.jobs import FitJob
from nmfcore.data import data_fingerprint


@dataclass
class ResultInfo:
    """What the views need besides the result: where it came from."""

    family: str
    dataset: Any  # nmfcore Dataset the fit ran on, or None for an uploaded result
    fingerprint: str | None
    key: str | None
    source: str


def _init() -> None:
    state = st.session_state
    state.setdefault("results", {})
    state.setdefault("result_info", {})
    state.setdefault("fit_cache", {})
    state.setdefault("job", None)
    state.setdefault("dataset", None)
    state.setdefault("dataset_label", None)
    state.setdefault("fingerprint", None)
    state.setdefault("selected_result", None)
    state.setdefault("custom_init", None)
    state.setdefault("barcodes", {})
    state.setdefault("job_message", None)


def dataset() -> Any:
    """The current Dataset, or None."""
    _init()
    return st.session_state["dataset"]


def set_dataset(ds: Any, label: str) -> None:
    """Make ``ds`` the current data set and remember its fingerprint."""
    _init()
    st.session_state["dataset"] = ds
    st.session_state["dataset_label"] = label
    st.session_state["fingerprint"] = data_fingerprint(ds.X)


def results() -> dict[str, Any]:
    """Results kept in this session, by name, oldest first."""
    _init()
    return st.session_state["results"]


def info(name: str) -> ResultInfo | None:
    """Provenance of a kept result."""
    _init()
    return st.session_state["result_info"].get(name)


def add_result(result: Any, family: str, *, ds: Any, key: str | None, source: str) -> str:
    """Keep ``result`` under a new unique name, select it, and return the name."""
    _init()
    base = f"{family} · {source}"
    name, k = base, 2
    while name in st.session_state["results"]:
        name, k = f"{base} ({k})", k + 1
    fingerprint = None if ds is None else data_fingerprint(ds.X)
    st.session_state["results"][name] = result
    st.session_state["result_info"][name] = ResultInfo(family, ds, fingerprint, key, source)
    if key is not None:
        st.session_state["fit_cache"][key] = name
    st.session_state["selected_result"] = name
    return name


def cached(key: str) -> str | None:
    """Name of a kept result fitted with this cache key, if any."""
    _init()
    name = st.session_state["fit_cache"].get(key)
    return name if name in st.session_state["results"] else None


def job() -> FitJob | None:
    """The job started from the Model page, running or finished, if any."""
    _init()
    return st.session_state["job"]


def start_job(job_: FitJob, family: str, ds: Any, key: str, label: str) -> None:
    """Start ``job_`` in the background and remember what to do with its result."""
    _init()
    job_.meta.update(family=family, dataset=ds, key=key, label=label, harvested=False)
    st.session_state["job"] = job_.start()


def harvest_job() -> None:
    """Move a finished job's result into the kept results (called on every rerun)."""
    _init()
    job_ = st.session_state["job"]
    if job_ is None or not job_.finished or job_.meta.get("harvested", True):
        return
    job_.meta["harvested"] = True
    progress = job_.progress()
    meta = job_.meta
    if job_.result is None:
        st.session_state["job_message"] = ("error", f"The fit failed: {progress.error}")
        return
    stopped = progress.state == "stopped"
    name = add_result(job_.result, meta["family"], ds=meta["dataset"],
                      key=None if stopped else meta["key"],
                      source=meta["label"] + (" (stopped)" if stopped else ""))
    verb = "Stopped early; kept the partial result" if stopped else "Done"
    st.session_state["job_message"] = (
        "success", f"{verb}: **{name}** after {progress.iteration} iterations in {progress.elapsed:.1f} s."
    )


def select_result(label: str = "Result", key: str | None = None) -> str | None:
    """Selectbox over the kept results (newest selected by default); returns the name."""
    names = list(results())
    if not names:
        return None
    current = st.session_state.get("selected_result")
    index = names.index(current) if current in names else len(names) - 1
    name = st.selectbox(label, names, index=index, key=key,
                        help="Every fit of this session is kept; pick one to view.")
    st.session_state["selected_result"] = name
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
