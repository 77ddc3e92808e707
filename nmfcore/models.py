"""The model registry: one entry per family, read by everything that runs fits by name.

The app's family list, the per-kind defaults (:mod:`nmfcore.app.presets`), the cost
estimate (:mod:`nmfcore.app.cost`), background jobs, rank scans and
:func:`nmfcore.export.replay` all look families up here, so a new family is added in
one place: its package, plus one :class:`ModelFamily` in :data:`FAMILIES`.

Every fit function takes ``(X, rank_or_ranks, *, max_iter=..., random_state=...,
callback=..., dtype=..., **options)`` and returns a :class:`nmfcore.results.FitResult`
whose ``params["model"]`` is the ``model`` of its entry. Reading the registry imports
no family: an entry's :attr:`ModelFamily.fit` imports its package when first asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class ModelFamily:
    """How to run one model family.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"min_vol_deep_nmf"``.
    label : str
        Name shown to people, e.g. ``"Min-vol deep KL-NMF"``.
    load_fit : callable
        Imports the family's package and returns its fit function (:attr:`fit`), so
        that reading the registry (labels, defaults, the app's family list) loads no
        family and none of their compiled kernels.
    model : str
        ``params["model"]`` of its results (several entries may share a fit function:
        minimum-volume deep NMF is :func:`~nmfcore.deep_nmf` with ``min_volume``).
    rank_keyword : {"rank", "ranks"}
        Whether the second argument is one rank or a list of ranks, one per layer.
    iteration_label : str
        What one of its ``max_iter`` iterations is called ("iteration", "sweep").
    dense_only : bool
        True when the fit needs a dense X (its later layers are dense anyway).
    cost_model : str
        Name of its per-iteration cost model in :func:`nmfcore.app.cost.estimate_fit`.
    defaults : mapping
        Keyword arguments a user interface starts from, before per-kind adjustments.
    fixed : mapping
        Keyword arguments the family always passes (e.g. KL for minimum volume).
    summary : str
        One line on what the family does.
    """

    name: str
    label: str
    load_fit: Callable[[], Callable[..., Any]]
    model: str
    rank_keyword: str
    iteration_label: str
    dense_only: bool
    cost_model: str
    defaults: Mapping[str, Any]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "fixed", MappingProxyType(dict(self.fixed)))

    @property
    def fit(self) -> Callable[..., Any]:
        """The family's fit function (its package is imported on first use)."""
        return self.load_fit()


# each family's package is imported when its fit is first asked for: reading the registry
# (the app's first page does) must not load numba's kernels, SciPy's solvers or scikit-learn
def _nmf() -> Callable[..., Any]:
    from nmfcore.classic import nmf

    return nmf


def _deep_nmf() -> Callable[..., Any]:
    from nmfcore.deep import deep_nmf

    return deep_nmf


def _multilayer_nmf() -> Callable[..., Any]:
    from nmfcore.deep import multilayer_nmf

    return multilayer_nmf


def _gnmf() -> Callable[..., Any]:
    from nmfcore.topology import gnmf

    return gnmf


def _pnmf() -> Callable[..., Any]:
    from nmfcore.topology import pnmf

    return pnmf


FAMILIES: Mapping[str, ModelFamily] = MappingProxyType({
    family.name: family
    for family in (
        ModelFamily(
            "nmf", "NMF", _nmf, "nmf", "rank", "iteration", False, "nmf",
            {"beta": 2.0, "solver": "auto", "init": "nndsvda", "max_iter": 200, "tol": 1e-4,
             "alpha_W": 0.0, "alpha_H": 0.0, "l1_ratio": 0.0},
            summary="One factorisation X ≈ WH under a β-divergence.",
        ),
        ModelFamily(
            "deep_nmf", "Deep β-NMF", _deep_nmf, "deep_nmf", "ranks", "iteration", True, "deep_nmf",
            {"beta": 1.0, "constraint": "rows", "init_iter": 100, "max_iter": 100},
            summary="Layers of ever coarser factors, W_{l-1} ≈ W_l H_l, fitted jointly.",
        ),
        ModelFamily(
            "min_vol_deep_nmf", "Min-vol deep KL-NMF", _deep_nmf, "deep_nmf", "ranks", "iteration", True,
            "deep_nmf", {"init_iter": 100, "max_iter": 100}, fixed={"beta": 1.0},
            summary="Deep KL-NMF with a minimum-volume penalty on every layer's basis.",
        ),
        ModelFamily(
            "multilayer_nmf", "Multilayer NMF", _multilayer_nmf, "multilayer_nmf", "ranks", "iteration",
            True, "deep_nmf", {"beta": 1.0, "constraint": "rows", "max_iter": 100},
            summary="Layer-by-layer NMF, the sequential baseline of deep NMF.",
        ),
        ModelFamily(
            "gnmf", "GNMF", _gnmf, "gnmf", "rank", "iteration", False, "gnmf",
            {"lambdas": 1.0, "n_neighbors": 8, "max_iter": 200},
            summary="NMF whose coefficients are smooth over a kNN graph of the items.",
        ),
        ModelFamily(
            "pnmf", "pNMF", _pnmf, "pnmf", "rank", "sweep", False, "pnmf",
            {"lambdas": (1.0, 1.0, 1.0), "n_scales": 10, "max_iter": 10},
            summary="One factorisation per topological scale, tied across scales.",
        ),
    )
})
"""Every family, by registry name."""

APP_FAMILIES = ("nmf", "deep_nmf", "min_vol_deep_nmf", "gnmf", "pnmf")
"""The families the app offers, in the order it shows them."""


def get(name: str) -> ModelFamily:
    """The registry entry of a family.

    Parameters
    ----------
    name : str
        A key of :data:`FAMILIES`.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    try:
        return FAMILIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model family {name!r}; choose one of {sorted(FAMILIES)}") from None


def family_of(result: Any) -> ModelFamily:
    """The registry entry that made a result, from ``result.params["model"]``.

    Minimum-volume deep NMF is told apart from deep β-NMF by its ``min_volume`` parameter.
    """
    params = result.params
    model = params.get("model")
    if model == "deep_nmf" and params.get("min_volume") is not None:
        return FAMILIES["min_vol_deep_nmf"]
    return get(model)
