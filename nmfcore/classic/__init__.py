"""Classic NMF: min D_β(X | W H) + penalties over W ≥ 0, H ≥ 0.

:func:`nmf` is the functional API; :class:`NMF` is the scikit-learn estimator over it.
The MU and HALS update rules are plain functions on one block of the data
(:mod:`~nmfcore.classic.mu_rules`, :mod:`~nmfcore.classic.hals_rules`, over the
tiles and partial sums of :mod:`~nmfcore.classic.blocks`), so that a chunked-array
driver can map them over blocks and reduce their m x r and r x r partials; the
in-memory solvers (:mod:`~nmfcore.classic.mu`, :mod:`~nmfcore.classic.hals`) run
the same functions over row and column blocks on threads. Their compiled passes
live in private kernel modules.
"""

from typing import Any

from nmfcore.classic.divergence import beta_divergence
from nmfcore.classic.fit import nmf
from nmfcore.classic.init import initialize

__all__ = ["MiniBatchNMF", "NMF", "beta_divergence", "initialize", "nmf"]


def __getattr__(name: str) -> Any:
    """The estimators on first use: they import scikit-learn's estimator machinery (a
    second), which a fit does not need."""
    if name == "NMF":
        from nmfcore.classic.estimator import NMF as value
    elif name == "MiniBatchNMF":
        from nmfcore.classic.minibatch import MiniBatchNMF as value
    else:
        raise AttributeError(f"module 'nmfcore.classic' has no attribute {name!r}")
    globals()[name] = value
    return value
