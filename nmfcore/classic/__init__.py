"""Classic NMF: min D_β(X | W H) + penalties over W ≥ 0, H ≥ 0.

:func:`nmf` is the functional API; :class:`NMF` is the scikit-learn estimator over it.
MU and HALS update rules live in :mod:`~nmfcore.classic.mu` and
:mod:`~nmfcore.classic.hals`, their compiled passes in private kernel modules.
"""

from nmfcore.classic.divergence import beta_divergence
from nmfcore.classic.estimator import NMF
from nmfcore.classic.fit import nmf
from nmfcore.classic.init import initialize

__all__ = ["NMF", "beta_divergence", "initialize", "nmf"]
