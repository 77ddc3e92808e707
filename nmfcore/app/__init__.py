"""What the app needs beyond the models, free of Streamlit.

Modules: :mod:`~nmfcore.app.jobs` (background fits of registry families, with progress
and a clean stop), :mod:`~nmfcore.app.queue` (the server's one queue of fits: slots,
order, memory budget, gone sessions), :mod:`~nmfcore.app.limits` (the server's limits
from ``NMFCORE_*`` variables), :mod:`~nmfcore.app.cost` (memory and time before a fit),
:mod:`~nmfcore.app.presets` (per-kind defaults over the registry's),
:mod:`~nmfcore.app.inputs` (typed parameters), :mod:`~nmfcore.app.sources` (loading what
a page remembers of a data set), :mod:`~nmfcore.app.reproduce` (the Python that reruns a
fit), :mod:`~nmfcore.app.views` (what the pages show, computed),
:mod:`~nmfcore.app.text` (text from data shown literally) and
:mod:`~nmfcore.app.lessons` (the Learn page's computations).
"""

from nmfcore.app.cost import FitEstimate, estimate_fit
from nmfcore.app.jobs import FitJob, JobProgress, fit_key
from nmfcore.app.presets import default_params

__all__ = ["FitEstimate", "FitJob", "JobProgress", "default_params", "estimate_fit", "fit_key"]
