"""Deep β-NMF and minimum-volume deep KL-NMF (Leplat, Hien, Onwunta & Gillis 2024)."""

from nmfcore.deep.model import DeepNMFResult, deep_nmf, multilayer_nmf

__all__ = ["DeepNMFResult", "deep_nmf", "multilayer_nmf"]
