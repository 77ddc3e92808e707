"""Deep β-NMF and minimum-volume deep KL-NMF (Leplat, Hien, Onwunta & Gillis 2024).

Modules: :mod:`~nmfcore.deep.model` (:func:`deep_nmf`), :mod:`~nmfcore.deep.multilayer`
(:func:`multilayer_nmf`, also deep NMF's start), :mod:`~nmfcore.deep.result`
(:class:`DeepNMFResult`), :mod:`~nmfcore.deep.state` (the iteration state),
:mod:`~nmfcore.deep.updates` and :mod:`~nmfcore.deep.minvol_updates` (the MM steps),
:mod:`~nmfcore.deep.newton` and :mod:`~nmfcore.deep.omega` (the multipliers and the
Wright omega function they use), :mod:`~nmfcore.deep.losses` and
:mod:`~nmfcore.deep.checks`; ``_kernels`` holds the compiled passes.
"""

from nmfcore.deep.model import deep_nmf
from nmfcore.deep.multilayer import multilayer_nmf
from nmfcore.deep.result import DeepNMFResult

__all__ = ["DeepNMFResult", "deep_nmf", "multilayer_nmf"]
