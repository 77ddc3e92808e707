"""What the app needs beyond the models, free of Streamlit.

Modules: :mod:`~nmfcore.app.jobs` (background fits of registry families, with progress
and a clean stop), :mod:`~nmfcore.app.queue` (the server's one queue of fits: slots,
order, memory budget, gone sessions), :mod:`~nmfcore.app.scan` (a rank scan as a queued
job, and its cost), :mod:`~nmfcore.app.limits` (the server's limits
from ``NMFCORE_*`` variables), :mod:`~nmfcore.app.cost` (memory and time before a fit),
:mod:`~nmfcore.app.presets` (per-kind defaults over the registry's),
:mod:`~nmfcore.app.inputs` (typed parameters), :mod:`~nmfcore.app.sources` (loading what
a page remembers of a data set), :mod:`~nmfcore.app.reproduce` (the Python that reruns a
fit), :mod:`~nmfcore.app.views` (what the pages show, computed),
:mod:`~nmfcore.app.text` (text from data shown literally),
:mod:`~nmfcore.app.datadir` (the operator's data folder, ``NMFCORE_DATA_DIR``),
:mod:`~nmfcore.app.cluster` (the Dask cluster of ``NMFCORE_DASK_SCHEDULER``) and
:mod:`~nmfcore.app.lessons` (the Learn page's computations).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "FitEstimate": "nmfcore.app.cost", "estimate_fit": "nmfcore.app.cost",
    "FitJob": "nmfcore.app.jobs", "JobProgress": "nmfcore.app.jobs", "fit_key": "nmfcore.app.jobs",
    "default_params": "nmfcore.app.presets",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """Import a name on first use (PEP 562): a page that needs only :mod:`~nmfcore.app.text`
    does not pay for the registry, its families and their compiled kernels."""
    if name not in _HOME:
        raise AttributeError(f"module 'nmfcore.app' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
