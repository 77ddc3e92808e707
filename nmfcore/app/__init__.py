"""What the app needs beyond the models, free of Streamlit: background fits, cost
estimates, per-kind defaults and the lessons' computations."""

from nmfcore.app.cost import FitEstimate, estimate_fit
from nmfcore.app.jobs import FitJob, JobProgress, fit_key
from nmfcore.app.presets import default_params

__all__ = ["FitEstimate", "FitJob", "JobProgress", "default_params", "estimate_fit", "fit_key"]
